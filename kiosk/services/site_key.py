"""The site key: made on first start under the data directory (mode 0600), never in the
repo. It signs resident cards and visitor passes and keys the hash of ID numbers, so
losing it invalidates every card (and every stored ID hash) of the site."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "site_key"


def load_site_key(data_dir: Path) -> bytes:
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return bytes.fromhex(path.read_text().strip())
