"""The domain errors every layer raises and the web layer maps to HTTP in one place
(kiosk/web/errors.py).

The raiser picks the class, and the class carries the HTTP status: a refusal is never
turned into a status by looking at its code string. `code` is the stable word clients
switch on (`not_found`, `invalid_transition`, ...); `message` is for people.

No imports of Flask or any I/O: the pure rule packages raise these too.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A request the domain refuses; subclasses fix the HTTP status."""

    status: ClassVar[int] = 500

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class Invalid(DomainError):
    """Input that is malformed or names something that does not exist as an option."""

    status = 400


class Unauthorized(DomainError):
    """No credentials, or credentials that are not valid."""

    status = 401


class Forbidden(DomainError):
    """Valid credentials or input, but not allowed (wrong role, forged or expired card)."""

    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """Well-formed, but the current state refuses it (a transition, a duplicate)."""

    status = 409


class Unsupported(DomainError):
    """A body in a media type the endpoint does not take."""

    status = 415


class TooMany(DomainError):
    """A limit was reached; `retry_after` says in how many seconds to try again."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, int(retry_after))


class Unavailable(DomainError):
    """A device or dependency needed for the request is not there right now."""

    status = 503
