"""Print-job layouts by kind: which payload type a stored job's `kind` holds and which
function turns that payload into ESC/POS bytes. Pure: no I/O, no clock.

The services build the payload types and hand them to `kiosk.services.printing.enqueue`;
the print spooler reads each job back with `payload_from_dict` and prints `render`'s
bytes. A kind missing here is refused with `UnknownJobKind`, so a new kind is a payload
type and a layout added to `LAYOUTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from kiosk.config import PrinterConfig
from kiosk.devices.slips import (
    CaseSlipPrint,
    ResidentCardPrint,
    VisitorPassPrint,
    render_case_slip,
    render_resident_card,
    render_visitor_pass,
)
from kiosk.devices.ticket_layout import TicketPrint, render_ticket


class PrintPayload(Protocol):
    """What a print job prints, as a frozen dataclass; `to_dict` is the stored JSON object."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self: ...


P = TypeVar("P", bound=PrintPayload)


@dataclass(frozen=True)
class Layout(Generic[P]):
    payload: type[P]
    render: Callable[[P, PrinterConfig], bytes]


class UnknownJobKind(ValueError):
    """A print job whose kind has no layout: it can never be printed."""

    def __init__(self, kind: object) -> None:
        super().__init__(f"unknown print job kind {kind!r}; the kinds are {', '.join(LAYOUTS)}")
        self.kind = kind


def _render_ticket(ticket: TicketPrint, cfg: PrinterConfig) -> bytes:
    return render_ticket(ticket, profile=cfg.profile, native_qr=cfg.native_qr, cut=cfg.cut)


LAYOUTS: Mapping[str, Layout[Any]] = MappingProxyType({layout.payload.kind: layout for layout in (
    Layout(TicketPrint, _render_ticket),
    Layout(CaseSlipPrint, render_case_slip),
    Layout(VisitorPassPrint, render_visitor_pass),
    Layout(ResidentCardPrint, render_resident_card),
)})


def layout(kind: object) -> Layout[Any]:
    """The layout of `kind`, or `UnknownJobKind`."""
    found = LAYOUTS.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise UnknownJobKind(kind)
    return found


def payload_from_dict(data: Mapping[str, Any]) -> PrintPayload:
    """The typed payload of a stored job, from the JSON object its `payload` column holds."""
    payload: PrintPayload = layout(data.get("kind")).payload.from_dict(data)
    return payload


def render(job: PrintPayload, cfg: PrinterConfig) -> bytes:
    """The ESC/POS bytes of `job` for the printer `cfg` describes (profile, QR mode, cut)."""
    data: bytes = layout(job.kind).render(job, cfg)
    return data
