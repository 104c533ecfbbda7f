"""The memory of a long-running `kiosk serve`: kept flat, and looked into.

`setup()` runs first thing in `kiosk serve`:
- glibc gives each thread that allocates concurrently its own malloc arena (up to eight
  per core), and memory freed in one arena is not reused by the others, so with 30-odd
  web threads the resident size creeps up; two arenas are plenty on a 2-4 core box.
- With `KIOSK_TRACEMALLOC=DIR` in the environment the server traces allocations
  (tracemalloc) and, on each SIGUSR1, writes a snapshot to DIR (`snapshot-<n>.pickle`)
  and the sites that grew most since the first one (`growth-<n>.txt`). `bench/soak.py --trace` does
  this at the end of its warm-up and at the end of the run. Tracing costs CPU and memory
  of its own: its figures are for finding growth, not for the README's curve. It sees
  Python's allocations only; SQLite's page caches and malloc's arenas (see above and
  kiosk/store/db.py READER_CACHE_KIB) show only in the resident size."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
import tracemalloc
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "KIOSK_TRACEMALLOC"
FRAMES = 12
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def setup() -> None:
    limit_malloc_arenas()
    install_from_env()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """At most `arenas` malloc arenas (glibc's mallopt M_ARENA_MAX), unless MALLOC_ARENA_MAX
    is set in the environment; before the threads start. False where libc is not glibc."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def top_growth(first: tracemalloc.Snapshot, later: tracemalloc.Snapshot, limit: int = 15,
               key: str = "traceback") -> list[str]:
    """The `limit` allocation sites that grew most from `first` to `later`, as text."""
    ignored = (tracemalloc.Filter(False, tracemalloc.__file__),
               tracemalloc.Filter(False, "<frozen importlib._bootstrap>"))
    stats = later.filter_traces(ignored).compare_to(first.filter_traces(ignored), key)
    lines = []
    for stat in stats[:limit]:
        lines.append(f"{stat.size_diff / 1024:+.1f} KiB ({stat.count_diff:+d} blocks)")
        lines.extend(f"    {frame}" for frame in stat.traceback.format()[-8:])
    return lines


def install_from_env() -> bool:
    """Start tracing and take a snapshot on every SIGUSR1 when KIOSK_TRACEMALLOC names a
    folder; from the main thread (signal handlers can only be set there)."""
    folder = os.environ.get(ENV)
    if not folder:
        return False
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    state: dict[str, tracemalloc.Snapshot] = {}
    lock = threading.Lock()

    def snap() -> None:
        with lock:
            snapshot = tracemalloc.take_snapshot()
            n = len(list(out.glob("snapshot-*.pickle")))
            snapshot.dump(str(out / f"snapshot-{n}.pickle"))
            if "first" not in state:
                state["first"] = snapshot
                log.info("tracemalloc: first snapshot written to %s", out)
                return
            report = "\n".join(top_growth(state["first"], snapshot))
            (out / f"growth-{n}.txt").write_text(f"grew most since the first snapshot:\n{report}\n")
            log.info("tracemalloc: snapshot %d; grew most since the first:\n%s", n, report)

    # the snapshot walks every traced block: off the signal handler, so requests go on
    signal.signal(signal.SIGUSR1, lambda signum, frame: threading.Thread(target=snap, daemon=True).start())
    log.info("tracemalloc on (%d frames); send SIGUSR1 for a snapshot in %s", FRAMES, out)
    return True
