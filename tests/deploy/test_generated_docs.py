"""The files generated from the config schema are committed up to date, and the example
config is one the kiosk accepts and that suits an installed box. Regenerate with `make docs`."""

from __future__ import annotations

import tomllib

from kiosk import config as cfgmod
from kiosk.deploy import config_example, config_reference
from tests.deploy.conftest import REPO, kiosk_cli

EXAMPLE = REPO / "deploy" / "kiosk.toml.example"
REFERENCE = REPO / "docs" / "config-reference.md"


def test_config_reference_is_up_to_date():
    assert REFERENCE.read_text() == config_reference(), "docs/config-reference.md is stale: run `make docs`"
    assert kiosk_cli("config", "reference").stdout == config_reference()


def test_example_config_is_up_to_date():
    assert EXAMPLE.read_text() == config_example(), "deploy/kiosk.toml.example is stale: run `make docs`"
    assert kiosk_cli("config", "example").stdout == config_example()


def test_every_key_is_documented_in_both():
    reference, example = REFERENCE.read_text(), EXAMPLE.read_text()
    for dotted, _, help_text in cfgmod.describe():
        key = dotted.rsplit(".", 1)[1]
        assert f"| `{key}` |" in reference and help_text.replace("|", "&#124;") in reference, dotted
        assert f"# {key} = " in example or f"\n{key} = " in example, dotted


def test_kiosk_config_show_accepts_the_example_and_it_points_at_the_data_directory():
    result = kiosk_cli("config", "show", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    shown = tomllib.loads(result.stdout)
    assert shown["database"]["path"] == "/var/lib/kiosk/kiosk.db"
    # everything else is the default: the example only documents
    expected = cfgmod.to_dict(cfgmod.Config())
    expected["database"]["path"] = "/var/lib/kiosk/kiosk.db"
    assert shown == tomllib.loads(cfgmod.to_toml(cfgmod.from_dict(expected)))
    # uncommenting a documented line gives a valid config too
    text = EXAMPLE.read_text().replace('# port = "sim"', 'port = "/dev/kiosk-modem"')
    assert cfgmod.from_dict(tomllib.loads(text)).phone.port == "/dev/kiosk-modem"


def test_operator_guide_covers_the_essentials():
    guide = (REPO / "docs" / "operator-guide.md").read_text()
    for needle in ("sudo make install", "curl -s http://127.0.0.1:8080/healthz", "journalctl -u kiosk",
                   "config-reference.md", "kiosk restore", "/dev/kiosk-printer", "/dev/kiosk-modem",
                   "9100", "80 mm", "touchscreen", "caller-ID modem", "camera", "printer offline",
                   "kiosk purge", "DESTDIR", "SKIP_VENV"):
        assert needle in guide, needle
