"""The printer back-ends against real transports on this machine: loopback TCP, a pty, files."""

from __future__ import annotations

import os
import select
import time
import tty
from pathlib import Path

import pytest

from kiosk.config import PrinterConfig
from kiosk.devices.escpos_decode import decode
from kiosk.devices.printer import (
    CLEAN,
    FilePrinter,
    NetworkPrinter,
    NoStatusAnswer,
    PreviewPrinter,
    PrinterError,
    SerialPrinter,
    UsbPrinter,
    create_printer,
)
from kiosk.devices.ticket_layout import FS_CHINESE_OFF, FS_CHINESE_ON, TicketPrint, render_ticket
from tests.peers import PtyPrinter

from .conftest import PAYLOAD

TIMEOUT = 0.5


def _large_job(ticket: TicketPrint) -> bytes:
    """Four raster-QR tickets: more than the stub's kernel receive buffer can swallow."""
    return render_ticket(ticket, native_qr=False) * 4


def test_network_printer_delivers_a_ticket(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer()
    data = render_ticket(ticket)

    NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(data)

    received = stub.next_job()
    assert received == data
    assert FS_CHINESE_ON + "咨询".encode("gb18030") + FS_CHINESE_OFF in received
    doc = decode(received)
    assert "A012" in doc.text and "咨询" in doc.text
    assert doc.qr_payloads == [PAYLOAD]
    assert doc.cut


def test_network_printer_delivers_a_raster_qr_ticket(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer()
    data = render_ticket(ticket, native_qr=False)

    NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(data)

    doc = decode(stub.next_job())
    assert b"\x1d(k" not in data
    assert len(doc.images) == 1
    assert doc.qr_payloads == [PAYLOAD]
    assert doc.cut


def test_each_job_is_one_connection(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer()
    printer = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT)
    first = render_ticket(ticket)
    second = render_ticket(ticket, cut="full")

    printer.send(first)
    printer.send(second)

    # Each connection is recorded by its own thread, so the two may arrive in either order.
    assert sorted([stub.next_job(), stub.next_job()]) == sorted([first, second])


def test_printer_down_raises_printer_error(closed_port: int, ticket: TicketPrint) -> None:
    printer = NetworkPrinter("127.0.0.1", closed_port, TIMEOUT)
    with pytest.raises(PrinterError, match=f"127.0.0.1:{closed_port}"):
        printer.send(render_ticket(ticket))


def test_printer_that_never_reads_raises_printer_error(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer("never_read", rcvbuf=1024)
    with pytest.raises(PrinterError, match="not acknowledged|timed out"):
        NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(_large_job(ticket))


def test_huge_job_to_a_printer_that_never_reads_times_out(tcp_printer) -> None:
    stub = tcp_printer("never_read", rcvbuf=1024)
    with pytest.raises(PrinterError, match="TimeoutError") as excinfo:
        NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(b"\x1b@" + b"x" * 16_000_000)
    assert excinfo.value.reason == "not_responding"  # a send that blocks: no answer, not "offline"


def test_printer_closing_mid_job_raises_printer_error(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer("close_mid_job", rcvbuf=1024)
    with pytest.raises(PrinterError):
        NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(_large_job(ticket))


def test_network_printer_works_again_after_a_failure(tcp_printer, closed_port: int,
                                                     ticket: TicketPrint) -> None:
    data = render_ticket(ticket)
    with pytest.raises(PrinterError):
        NetworkPrinter("127.0.0.1", closed_port, TIMEOUT).send(data)
    stub = tcp_printer()
    printer = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT)
    printer.send(data)
    assert stub.next_job() == data


def test_file_printer_writes_the_same_bytes_as_the_network(tmp_path: Path, tcp_printer,
                                                           ticket: TicketPrint) -> None:
    data = render_ticket(ticket)
    stub = tcp_printer()
    NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(data)
    printer = FilePrinter(tmp_path / "lp0")

    printer.send(data)
    printer.close()

    assert (tmp_path / "lp0").read_bytes() == stub.next_job() == data


def test_file_printer_keeps_the_device_open_between_jobs(tmp_path: Path) -> None:
    printer = FilePrinter(tmp_path / "lp0")
    printer.send(b"one\n")
    printer.send(b"two\n")
    printer.close()
    assert (tmp_path / "lp0").read_bytes() == b"one\ntwo\n"


def test_missing_file_device_raises_printer_error(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="lp0"):
        FilePrinter(tmp_path / "no-such-dir" / "lp0").send(b"x")


def test_serial_printer_writes_to_the_port(ticket: TicketPrint) -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    printer = SerialPrinter(os.ttyname(slave), 19200, TIMEOUT)
    data = render_ticket(ticket)
    try:
        printer.send(data)
        received = b""
        while len(received) < len(data) and select.select([master], [], [], 5)[0]:
            received += os.read(master, 65536)
    finally:
        printer.close()
        os.close(master)
        os.close(slave)
    assert received == data


def test_missing_serial_port_raises_printer_error(tmp_path: Path) -> None:
    with pytest.raises(PrinterError, match="serial"):
        SerialPrinter(str(tmp_path / "ttyUSB9"), 19200, TIMEOUT).send(b"x")


def test_usb_printer_without_device_raises_printer_error() -> None:
    printer = UsbPrinter(0x0416, 0x5011, TIMEOUT)
    with pytest.raises(PrinterError) as excinfo:
        printer.send(b"x")
    try:
        import usb  # noqa: F401
    except ImportError:
        assert "pyusb" in str(excinfo.value)
    printer.close()


def test_preview_printer_writes_one_file_per_job(tmp_path: Path, ticket: TicketPrint) -> None:
    printer = PreviewPrinter(tmp_path / "prints")
    jobs = [render_ticket(ticket, cut=cut) for cut in ("partial", "full", "none")]

    for job in jobs:
        printer.send(job)

    files = printer.list_jobs(10)
    assert [f.read_bytes() for f in files] == jobs[::-1]
    assert all(f.suffix == ".bin" for f in files)
    assert sorted(p.name for p in (tmp_path / "prints").iterdir()) == sorted(f.name for f in files)
    assert printer.list_jobs(1) == files[:1]


def test_preview_printer_fails_on_demand(tmp_path: Path) -> None:
    printer = PreviewPrinter(tmp_path / "prints")
    printer.fail_next(2)
    for _ in range(2):
        with pytest.raises(PrinterError, match="simulated"):
            printer.send(b"job")
    printer.send(b"job")
    printer.set_offline(True)
    with pytest.raises(PrinterError, match="offline"):
        printer.send(b"job")
    printer.set_offline(False)
    printer.send(b"job")
    assert len(printer.list_jobs()) == 2


def test_preview_printer_keeps_only_the_newest_jobs(tmp_path: Path) -> None:
    printer = PreviewPrinter(tmp_path / "prints", keep=3)
    for i in range(5):
        printer.send(f"job {i}".encode())
    assert [f.read_bytes() for f in printer.list_jobs()] == [b"job 4", b"job 3", b"job 2"]


def test_preview_printer_lists_nothing_before_the_first_job(tmp_path: Path) -> None:
    assert PreviewPrinter(tmp_path / "prints").list_jobs() == []


@pytest.mark.parametrize("backend, kind", [
    ("preview", PreviewPrinter), ("network", NetworkPrinter), ("serial", SerialPrinter),
    ("usb", UsbPrinter), ("file", FilePrinter),
])
def test_create_printer_chooses_the_back_end(tmp_path: Path, backend: str, kind: type) -> None:
    printer = create_printer(PrinterConfig(backend=backend), tmp_path)
    assert isinstance(printer, kind)
    assert printer.name.startswith(backend)


def test_create_printer_previews_into_the_data_directory(tmp_path: Path) -> None:
    printer = create_printer(PrinterConfig(backend="preview"), tmp_path)
    printer.send(b"job")
    assert [p.parent for p in printer.list_jobs()] == [tmp_path / "prints"]


# -- status queries (DLE EOT) per back-end ------------------------------------------------

STATUS_TIMEOUT = 0.5


def test_network_job_is_framed_by_status_queries_and_counts_only_with_the_answer(tcp_printer,
                                                                                ticket: TicketPrint) -> None:
    stub = tcp_printer()
    data = render_ticket(ticket)

    state = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(data, status_timeout=STATUS_TIMEOUT)

    assert state == CLEAN
    assert stub.next_job() == data  # the status requests are answered, not printed
    assert stub.status_queries == 8  # DLE EOT 1..4 before the job and after it


@pytest.mark.parametrize("fault, reason", [("paper_end", "paper_out"), ("cover_open", "cover_open"),
                                           ("error", "printer_error")])
def test_network_printer_that_cannot_print_is_not_sent_the_job(tcp_printer, ticket: TicketPrint,
                                                               fault: str, reason: str) -> None:
    stub = tcp_printer()
    stub.set_fault(fault)

    state = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(render_ticket(ticket), status_timeout=STATUS_TIMEOUT)

    assert state is not None and state.reason == reason and not state.prints
    assert stub.status_queries == 4
    assert stub.printed == [] and stub.refused == []  # not even the bytes were sent


def test_network_paper_near_end_prints_and_says_so(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer()
    stub.set_fault("paper_near_end")
    data = render_ticket(ticket)

    state = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(data, status_timeout=STATUS_TIMEOUT)

    assert state is not None and state.prints and state.reason == "paper_low"
    assert stub.next_job() == data


@pytest.mark.parametrize("fault, reason", [("hang", "not_responding"), ("no_status", "not_responding"),
                                           ("reset", "offline")])
def test_network_printer_without_an_answer_fails_with_the_reason(tcp_printer, ticket: TicketPrint,
                                                                 fault: str, reason: str) -> None:
    stub = tcp_printer()
    stub.set_fault(fault)
    started = time.monotonic()
    with pytest.raises(PrinterError) as excinfo:
        NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(render_ticket(ticket), status_timeout=STATUS_TIMEOUT)
    assert excinfo.value.reason == reason
    assert time.monotonic() - started < STATUS_TIMEOUT + TIMEOUT
    assert stub.printed == []


def test_network_slow_answer_within_the_timeout_counts(tcp_printer, ticket: TicketPrint) -> None:
    stub = tcp_printer()
    stub.slow_s = 0.05
    stub.set_fault("slow")
    assert NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(render_ticket(ticket), status_timeout=1.0) == CLEAN
    stub.slow_s = 0.6
    with pytest.raises(NoStatusAnswer):
        NetworkPrinter("127.0.0.1", stub.port, TIMEOUT).send(render_ticket(ticket), status_timeout=STATUS_TIMEOUT)


def test_network_query_status_sends_no_job(tcp_printer) -> None:
    stub = tcp_printer()
    printer = NetworkPrinter("127.0.0.1", stub.port, TIMEOUT)
    assert printer.query_status(STATUS_TIMEOUT) == CLEAN
    stub.set_fault("paper_end")
    assert printer.query_status(STATUS_TIMEOUT).reason == "paper_out"
    assert stub.status_queries == 8 and stub.printed == [] and stub.refused == []


def test_network_query_status_of_a_printer_that_is_off_is_offline(closed_port: int) -> None:
    with pytest.raises(PrinterError) as excinfo:
        NetworkPrinter("127.0.0.1", closed_port, TIMEOUT).query_status(STATUS_TIMEOUT)
    assert excinfo.value.reason == "offline"


def test_serial_printer_reads_the_status_answer_over_a_pty(ticket: TicketPrint) -> None:
    peer = PtyPrinter()
    printer = SerialPrinter(peer.path, 19200, TIMEOUT)
    data = render_ticket(ticket)
    try:
        assert printer.send(data, status_timeout=STATUS_TIMEOUT) == CLEAN
        _wait_for(lambda: bytes(peer.printed) == data)
        peer.set_fault("paper_near_end")
        assert printer.query_status(STATUS_TIMEOUT).reason == "paper_low"
        peer.set_fault("paper_end")
        state = printer.send(data, status_timeout=STATUS_TIMEOUT)
        assert state is not None and state.reason == "paper_out"
        peer.set_fault("no_status")
        with pytest.raises(NoStatusAnswer):
            printer.query_status(STATUS_TIMEOUT)
        peer.set_fault(None)
        assert printer.query_status(STATUS_TIMEOUT) == CLEAN
    finally:
        printer.close()
        peer.close()
    assert bytes(peer.printed) == data and bytes(peer.refused) == b""


def test_file_printer_on_a_character_device_reads_the_status_answer(ticket: TicketPrint) -> None:
    peer = PtyPrinter()  # a tty stands in for /dev/usb/lp0: both are character devices
    printer = FilePrinter(peer.path, TIMEOUT)
    data = render_ticket(ticket)
    try:
        assert printer.can_query_status()
        assert printer.send(data, status_timeout=STATUS_TIMEOUT) == CLEAN
        peer.set_fault("cover_open")
        assert printer.query_status(STATUS_TIMEOUT).reason == "cover_open"
        _wait_for(lambda: bytes(peer.printed) == data)
    finally:
        printer.close()
        peer.close()


def test_missing_device_file_is_offline_and_not_created() -> None:
    path = Path("/dev/kiosk-test-no-such-printer")
    with pytest.raises(PrinterError) as excinfo:
        FilePrinter(path).send(b"x")
    assert excinfo.value.reason == "offline"
    assert not path.exists()  # escpos' File would have made a plain file in /dev


def test_file_printer_on_a_plain_file_cannot_answer(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    path.write_bytes(b"")
    assert not FilePrinter(path).can_query_status()


def test_preview_printer_answers_at_once_and_plays_faults(tmp_path: Path) -> None:
    printer = PreviewPrinter(tmp_path / "prints")
    assert printer.send(b"one", status_timeout=STATUS_TIMEOUT) == CLEAN
    printer.set_fault("paper_low")
    state = printer.send(b"two", status_timeout=STATUS_TIMEOUT)
    assert state is not None and state.reason == "paper_low"
    for fault, reason in (("paper_out", "paper_out"), ("cover_open", "cover_open")):
        printer.set_fault(fault)
        state = printer.send(b"lost", status_timeout=STATUS_TIMEOUT)
        assert state is not None and state.reason == reason
    printer.set_fault("not_responding")
    with pytest.raises(NoStatusAnswer):
        printer.query_status(STATUS_TIMEOUT)
    printer.set_fault(None)
    assert printer.query_status(STATUS_TIMEOUT) == CLEAN
    assert [f.read_bytes() for f in printer.list_jobs()] == [b"two", b"one"]
    with pytest.raises(ValueError):
        printer.set_fault("on_fire")


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
