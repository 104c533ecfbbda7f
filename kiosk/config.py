"""The typed configuration: one TOML file, every key defaulted and documented.

Each section is a dataclass; each field carries a help text in its metadata so the
operator guide and `kiosk config show` can be generated from this one place. Unknown
sections or keys are rejected with a message that names them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_origin, get_type_hints

import tomli_w


class ConfigError(ValueError):
    """The configuration file is unreadable or has an unknown or ill-typed key."""


def _f(default: Any, help: str) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class SiteConfig:
    id: str = _f("demo-site", "Site identifier; part of every sync key and QR token.")
    name: str = _f("示范物业服务中心", "Site name printed on tickets and shown on screens.")
    timezone: str = _f("Asia/Shanghai", "IANA time zone; the daily ticket numbers reset at its midnight.")
    locale: str = _f("zh_CN", "Default UI language: zh_CN or en.")
    public_url: str = _f("", "Base of the phone pages that ticket and case QR codes open (http://host:port, "
                             "reachable from the residents' Wi-Fi). Empty: the box's LAN address and "
                             "server.port, which needs server.host = \"0.0.0.0\" or that address.")


@dataclass
class ServerConfig:
    host: str = _f("127.0.0.1", "Address the web service listens on.")
    port: int = _f(8080, "TCP port of the web service.")
    threads: int = _f(32, "Worker threads for ordinary requests (pages, API). The live event streams do not "
                          "use them: one asyncio loop serves every open stream.")
    streams_per_address: int = _f(10, "Most live event streams (public and staff together) one client address may "
                                      "hold open; one more is answered 429 with Retry-After.")
    max_body_bytes: int = _f(65536, "Largest accepted request body; larger ones get 413.")
    https: bool = _f(False, "Pages are served over HTTPS (e.g. behind a TLS proxy): session cookies get the Secure "
                            "flag. Keep false on plain http://, where browsers would drop them and logins fail.")
    kiosk_addresses: list[str] = _f(["127.0.0.1", "::1"],
                                    "Addresses (or networks, e.g. 192.168.1.0/28) whose requests count as an enrolled "
                                    "kiosk named 'local': the box's own kiosk browser. [] = only devices enrolled with "
                                    "`kiosk device add` may file tickets, check-ins, cases and ratings.")
    session_idle_minutes: int = _f(30, "A staff login ends after this many minutes without a request.")
    session_max_hours: int = _f(12, "A staff login ends this many hours after signing in, however busy.")


@dataclass
class LimitsConfig:
    """Abuse limits (Flask-Limiter notation: "N per second|minute|hour", several separated by ";").
    Each anonymous write is counted per enrolled device, or per address for others; staff
    logins and bearer tokens are not counted. The defaults sit well above what a busy hall does
    (one person at a kiosk needs 15 s or more per ticket)."""

    enabled: bool = _f(True, "false = no request limits (the print-job cap and the login lockout still apply).")
    tickets: str = _f("10 per 15 seconds;30 per minute", "Tickets per kiosk or address (a burst of 10, 30 a minute).")
    checkins: str = _f("10 per 15 seconds;30 per minute", "Check-ins per kiosk or address.")
    scans: str = _f("20 per 15 seconds;60 per minute", "Scanner codes per kiosk or address.")
    checkouts: str = _f("20 per 15 seconds;60 per minute", "Visitor-pass check-outs per kiosk or address.")
    cases: str = _f("5 per 15 seconds;15 per minute", "Cases filed at the kiosk per kiosk or address.")
    surveys: str = _f("10 per 15 seconds;30 per minute", "Ratings per kiosk, tablet or address.")
    questionnaire: str = _f("5 per 15 seconds;15 per minute", "Questionnaire answers per kiosk, tablet or address.")
    prompts: str = _f("10 per 15 seconds;40 per minute", "Elder mode's spoken prompts (one per screen shown) per "
                                                         "kiosk, tablet or address.")
    pairing: str = _f("10 per minute", "Pairing-page requests per address.")
    login_per_address: str = _f("30 per minute;200 per hour", "Login form posts per address.")
    login_free_failures: int = _f(5, "Wrong passwords in a row (per user name, and 4x this per address) before a "
                                     "lockout.")
    login_lockout_s: int = _f(30, "First lockout, in seconds; it doubles with each further wrong password.")
    login_lockout_max_s: int = _f(3600, "Longest lockout, in seconds.")
    max_pending_prints: int = _f(200, "Print jobs waiting for the printer at most; past it tickets and slips are "
                                      "refused with 429 until the printer catches up (paper is not wasted on a flood).")


@dataclass
class DatabaseConfig:
    path: str = _f("var/kiosk.db", "SQLite file; its folder is the data directory (prints, keys).")


@dataclass
class PrinterConfig:
    backend: str = _f("preview", "preview | network | usb | serial | file.")
    host: str = _f("127.0.0.1", "network: printer address.")
    port: int = _f(9100, "network: printer TCP port.")
    path: str = _f("/dev/usb/lp0", "file: device or file the bytes are written to.")
    device: str = _f("/dev/ttyUSB1", "serial: serial device of the printer.")
    baudrate: int = _f(19200, "serial: line speed.")
    usb_vendor_id: int = _f(0x0416, "usb: USB vendor id.")
    usb_product_id: int = _f(0x5011, "usb: USB product id.")
    profile: str = _f("default", "python-escpos capability profile, e.g. default, TM-T88V, POS-5890.")
    native_qr: bool = _f(True, "Send QR codes as the printer's own GS ( k command instead of a raster image.")
    cut: str = _f("partial", "partial | full | none: the cut sent at the end of each ticket.")
    timeout_s: float = _f(3.0, "Connect and write timeout for network/serial printers.")
    wait_s: float = _f(1.5, "How long a ticket request waits for its print before answering 'queued'.")
    status: str = _f("auto", "auto | dle_eot | none: how a printed ticket is confirmed. dle_eot: the printer is "
                             "asked its real-time status (ESC/POS DLE EOT) before and after every job; a job "
                             "counts as printed only when a clean answer (or paper near end) arrives, else it "
                             "stays queued. none: bytes accepted = printed (health 'unconfirmed'). auto: ask at "
                             "start and when the printer comes back; a printer that answered once is dle_eot "
                             "for the run, one that never answers is none.")
    status_timeout_s: float = _f(2.0, "How long to wait for the printer's status answer; no answer = not "
                                      "responding: the job stays queued and is retried.")


@dataclass
class CameraConfig:
    source: str = _f("sim", "sim | '' (off) | integer index | rtsp/http URL | video file path.")
    decoder: str = _f("pyzbar", "pyzbar | zxing.")
    fps: float = _f(10.0, "Frames per second read and decoded (a video file or sim is paced to this).")
    repeat_s: float = _f(30.0, "A code seen again within this many seconds of its last sighting is ignored "
                               "(one check-in per card held up).")
    snapshot_quality: int = _f(80, "JPEG quality of the check-in snapshots (1-100).")


@dataclass
class PhoneConfig:
    port: str = _f("sim", "sim | '' (off) | serial device or pyserial URL of the caller-ID modem.")
    baudrate: int = _f(9600, "Modem line speed.")
    init: list[str] = _f(["ATZ", "AT+VCID=1"], "Commands sent at start; each must answer OK.")
    ok_timeout_s: float = _f(3.0, "Seconds to wait for the modem's OK to each init command before the phone "
                                  "shows down and the port is retried.")
    retry_max_s: float = _f(30.0, "Longest wait between attempts to reopen a missing or silent modem "
                                  "(back-off doubles from 0.25 s up to this).")


@dataclass
class ScannerConfig:
    port: str = _f("", "Serial barcode scanner; keyboard-wedge scanners work in the browser.")


@dataclass
class TtsConfig:
    enabled: bool = _f(True, "Speak call announcements.")
    output: str = _f("speaker", "speaker | wav:<dir> | off.")
    voice_zh: str = _f("sit/cmn-latn-pinyin", "espeak-ng voice for Mandarin.")
    voice_en: str = _f("en", "espeak-ng voice for English.")
    rate: int = _f(150, "Speech rate in words per minute.")


@dataclass
class SyncConfig:
    url: str = _f("", "Base URL of the central system; empty disables sync.")
    secret: str = _f("", "Shared HMAC secret; never commit it.")
    interval_s: float = _f(5, "Seconds between sync rounds when the outbox is empty.")
    batch_size: int = _f(500, "Records per batch.")


@dataclass
class RetentionConfig:
    snapshots_days: int = _f(90, "Camera snapshots older than this are deleted.")
    visits_days: int = _f(365, "Visit records older than this are deleted.")
    purge_hour: int = _f(3, "Local hour at which the service applies these rules every day.")


@dataclass
class CheckinConfig:
    card_days: int = _f(365, "Validity of a new resident QR card, in days (`kiosk qr issue --days` overrides).")
    pass_hours: int = _f(24, "Validity of a visitor pass (its QR code checks the visitor out).")
    photo_notice_zh: str = _f("签到时摄像头将为访客记录拍摄一张照片，照片保存 {days} 天后自动删除。",
                              "Notice shown before a snapshot is taken (personal-information law); "
                              "{days} = retention.snapshots_days.")
    photo_notice_en: str = _f("A photo is taken at check-in for the visit log and deleted after {days} days.",
                              "The same notice in English.")


@dataclass
class DevicesConfig:
    printer_usb: str = _f("", "udev: USB id vvvv:pppp[:serial] of the ticket printer, linked as /dev/kiosk-printer; "
                              "empty = printer.usb_vendor_id:usb_product_id.")
    modem_usb: str = _f("", "udev: USB id vvvv:pppp[:serial] of the caller-ID modem, linked as /dev/kiosk-modem; "
                            "empty = no rule.")
    scanner_usb: str = _f("", "udev: USB id vvvv:pppp[:serial] of a serial barcode scanner, linked as "
                              "/dev/kiosk-scanner; empty = no rule.")


@dataclass
class BackupConfig:
    dir: str = _f("", "Folder of the nightly database backups; empty = backups/ in the data directory.")
    keep: int = _f(14, "How many backups `kiosk backup` keeps in its folder (0 = all); older ones are deleted.")


@dataclass
class QueueConfig:
    default_service_s: int = _f(300, "Assumed service time before any ticket of a service was finished.")
    estimate_window: int = _f(20, "How many recent finished tickets the wait estimate looks at.")
    reinstate_minutes: int = _f(15, "How long a no-show ticket can be put back in the queue.")


@dataclass
class CasesConfig:
    inquiry_minutes: int = _f(5, "Deadline of an inquiry's first answer, in minutes from the ticket's issue "
                                 "(or the case's creation when it has no ticket).")
    complaint_minutes: int = _f(1440, "Deadline of a complaint's feedback to the resident, in minutes.")
    repair_minutes: int = _f(2880, "Deadline of a repair's feedback to the resident, in minutes.")
    other_minutes: int = _f(1440, "Deadline of any other case, in minutes.")
    due_soon_fraction: float = _f(0.2, "A case is 'due soon' when less than this share of its time is left.")
    due_soon_max_minutes: int = _f(120, "...but never earlier than this many minutes before its deadline.")
    watch_interval_s: float = _f(15.0, "Seconds between two rounds of the deadline watcher.")
    inquiry_service: str = _f("A", "Letter of the inquiry service whose waiting tickets are watched "
                                   "against the inquiry deadline; empty = do not watch tickets.")


@dataclass
class SurveyConfig:
    questionnaire_id: str = _f("2026-q4", "Identifier of the current questionnaire; change it when the "
                                         "questions change so answers of different versions are kept apart.")
    questions: list[str] = _f(["Overall, how satisfied are you with the service centre?",
                               "How satisfied are you with the cleanliness of the estate?",
                               "How satisfied are you with how repairs are handled?"],
                              "Questions of the periodic questionnaire the kiosk offers on its idle screen "
                              "(each answered 1-5); English text, translated on screen when a translation exists.")
    questions_zh: list[str] = _f(["总体而言，您对物业服务中心满意吗？", "您对小区的清洁卫生满意吗？",
                                  "您对报修处理满意吗？"],
                                 "The same questions in Chinese, one per entry of `questions`.")
    idle_prompt_s: int = _f(60, "Seconds of kiosk inactivity after which the questionnaire is offered; 0 = never.")


@dataclass
class ServiceDef:
    letter: str = _f("A", "Ticket prefix letter, unique.")
    name_zh: str = _f("", "Chinese name.")
    name_en: str = _f("", "English name.")


@dataclass
class CounterDef:
    id: str = _f("1", "Counter number as announced.")
    services: list[str] = _f([], "Letters of the services this counter serves.")


DEFAULT_SERVICES: list[dict[str, Any]] = [
    {"letter": "A", "name_zh": "咨询", "name_en": "Inquiry"},
    {"letter": "B", "name_zh": "报修", "name_en": "Repair"},
    {"letter": "C", "name_zh": "投诉", "name_en": "Complaint"},
    {"letter": "D", "name_zh": "缴费", "name_en": "Payment"},
    {"letter": "E", "name_zh": "快递/物品", "name_en": "Parcels"},
    {"letter": "F", "name_zh": "访客", "name_en": "Visitor"},
]
DEFAULT_COUNTERS: list[dict[str, Any]] = [
    {"id": "1", "services": ["A", "B", "C", "D", "E", "F"]},
    {"id": "2", "services": ["A", "B", "C", "D", "E", "F"]},
]


@dataclass
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    phone: PhoneConfig = field(default_factory=PhoneConfig)
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    checkin: CheckinConfig = field(default_factory=CheckinConfig)
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    cases: CasesConfig = field(default_factory=CasesConfig)
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    services: list[ServiceDef] = field(default_factory=lambda: [ServiceDef(**s) for s in DEFAULT_SERVICES])
    counters: list[CounterDef] = field(default_factory=lambda: [CounterDef(**c) for c in DEFAULT_COUNTERS])

    @property
    def data_dir(self) -> Path:
        return Path(self.database.path).resolve().parent

    def service(self, letter: str) -> ServiceDef | None:
        return next((s for s in self.services if s.letter == letter), None)

    def counter(self, counter_id: str) -> CounterDef | None:
        return next((c for c in self.counters if c.id == counter_id), None)


_LIST_ITEM_TYPES = {"services": ServiceDef, "counters": CounterDef}


def _coerce(where: str, value: Any, typ: Any) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    origin = get_origin(typ) or typ
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return list(value)
    if origin is bool or typ is int:
        if type(value) is not typ:
            raise ConfigError(f"{where}: expected {typ.__name__}, got {value!r}")
        return value
    if isinstance(typ, type) and not isinstance(value, typ):
        raise ConfigError(f"{where}: expected {typ.__name__}, got {value!r}")
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key {where}.{unknown[0]} (known: {', '.join(sorted(known))})")
    return cls(**{k: _coerce(f"{where}.{k}", v, hints[k]) for k, v in data.items()})


def from_dict(data: dict[str, Any]) -> Config:
    """Build a Config from parsed TOML, rejecting unknown keys and wrong types."""
    sections = {f.name: f for f in dataclasses.fields(Config)}
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(f"unknown section [{name}] (known: {', '.join(sections)})")
        if name in _LIST_ITEM_TYPES:
            if not isinstance(value, list):
                raise ConfigError(f"[[{name}]] must be an array of tables")
            kwargs[name] = [_build(_LIST_ITEM_TYPES[name], v, f"{name}[{i}]") for i, v in enumerate(value)]
        else:
            kwargs[name] = _build(get_type_hints(Config)[name], value, name)
    config = Config(**kwargs)
    validate(config)
    return config


def validate(config: Config) -> None:
    letters = [s.letter for s in config.services]
    if not letters:
        raise ConfigError("at least one [[services]] entry is needed")
    for letter in letters:
        if len(letter) != 1 or not letter.isalpha() or not letter.isupper():
            raise ConfigError(f"service letter {letter!r} must be one upper-case letter")
    if len(set(letters)) != len(letters):
        raise ConfigError("service letters must be unique")
    ids = [c.id for c in config.counters]
    if len(set(ids)) != len(ids):
        raise ConfigError("counter ids must be unique")
    for c in config.counters:
        for letter in c.services:
            if letter not in letters:
                raise ConfigError(f"counter {c.id} serves unknown service {letter!r}")
    if config.printer.backend not in ("preview", "network", "usb", "serial", "file"):
        raise ConfigError(
            f"printer.backend {config.printer.backend!r} is not one of preview, network, usb, serial, file")
    if config.printer.cut not in ("partial", "full", "none"):
        raise ConfigError("printer.cut must be partial, full or none")
    if config.printer.status not in ("auto", "dle_eot", "none"):
        raise ConfigError(f"printer.status {config.printer.status!r} is not one of auto, dle_eot, none")
    if not config.printer.status_timeout_s > 0:
        raise ConfigError("printer.status_timeout_s must be more than 0")
    out = config.tts.output
    if not (out in ("speaker", "off") or out.startswith("wav:")):
        raise ConfigError(f"tts.output {out!r} must be speaker, off or wav:<dir>")
    if config.camera.decoder not in ("pyzbar", "zxing"):
        raise ConfigError("camera.decoder must be pyzbar or zxing")
    url = config.site.public_url
    if url and not (url.startswith(("http://", "https://")) and "?" not in url and "#" not in url
                    and len(url) <= 100 and url.isascii() and " " not in url):
        raise ConfigError("site.public_url must be an http:// or https:// address of at most 100 characters "
                          "without a query, e.g. http://192.168.1.20:8080")
    if config.site.locale not in ("zh_CN", "en"):
        raise ConfigError("site.locale must be zh_CN or en")
    if len(config.survey.questions_zh) != len(config.survey.questions):
        raise ConfigError("survey.questions_zh must have one entry per survey.questions entry")
    _validate_access(config)
    if not 0 < config.cases.due_soon_fraction < 1:
        raise ConfigError("cases.due_soon_fraction must be between 0 and 1")


def _validate_access(config: Config) -> None:
    import ipaddress

    from limits import parse_many

    for address in config.server.kiosk_addresses:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise ConfigError(f"server.kiosk_addresses: {address!r} is not an IP address or network") from None
    if config.server.session_idle_minutes < 1 or config.server.session_max_hours < 1:
        raise ConfigError("server.session_idle_minutes and server.session_max_hours must be at least 1")
    for f in dataclasses.fields(LimitsConfig):
        value = getattr(config.limits, f.name)
        if isinstance(value, str):
            try:
                parse_many(value)
            except ValueError:
                raise ConfigError(f"limits.{f.name}: {value!r} is not a limit like '30 per minute'") from None
    limits = config.limits
    if min(limits.login_free_failures, limits.login_lockout_s, limits.max_pending_prints) < 1:
        raise ConfigError("limits.login_free_failures, login_lockout_s and max_pending_prints must be at least 1")


def load(path: str | os.PathLike | None = None) -> Config:
    """Load the config from `path`, else $KIOSK_CONFIG, else the built-in defaults."""
    path = path or os.environ.get("KIOSK_CONFIG")
    if not path:
        return Config()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return from_dict(data)


def to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def to_toml(config: Config) -> str:
    return tomli_w.dumps(to_dict(config))


def describe() -> list[tuple[str, Any, str]]:
    """(dotted key, default, help) for every key: the source of the config reference."""
    rows = []
    for section in dataclasses.fields(Config):
        cls = _LIST_ITEM_TYPES.get(section.name) or get_type_hints(Config)[section.name]
        prefix = f"[[{section.name}]]" if section.name in _LIST_ITEM_TYPES else section.name
        for f in dataclasses.fields(cls):
            default: Any = f.default
            if default is dataclasses.MISSING and callable(f.default_factory):
                default = f.default_factory()
            rows.append((f"{prefix}.{f.name}", default, f.metadata.get("help", "")))
    return rows
