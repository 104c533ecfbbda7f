"""The long fuzz run for before a release: schemathesis with every check, every phase
(examples, coverage, fuzzing, stateful) and many examples per operation, over every
operation of /api/v1/openapi.json, as the manager (bearer token) and anonymously, against
a real `kiosk serve` on 127.0.0.1 with a throw-away data directory and the preview printer
(tests/served.py). `make test` runs the short seeded version (tests/web/test_fuzz_api.py).

    .venv/bin/python bench/fuzz.py [--max-examples 200] [--seed 20261204] [--workers 2] [--max-time S]

Prints, per auth mode, schemathesis's own summary, and at the end the failures found and
what the server logged as errors. Exit status 0 only when both runs passed and the server
logged no error. Reports (JUnit XML, a pytest file reproducing each failure) go to
--report-dir.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.served import ServedKiosk

#: An event stream never ends: each request reads it for a second, with fewer examples.
SCHEMATHESIS_TOML = """
[[operations]]
include-path = "/api/v1/events"
request-timeout = 1
max-stream-events = 1
generation.max-examples = 10
"""


def run(server: ServedKiosk, label: str, headers: list[str], args, report_dir: Path, config: Path) -> tuple[int, str]:
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run",
           f"{server.url}/api/v1/openapi.json", "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
           "--max-examples", str(args.max_examples), "--seed", str(args.seed), "--workers", str(args.workers),
           "--request-timeout", "10", "--report", "junit,pytest", "--report-dir", str(report_dir / label),
           "--no-color"]
    if args.max_time:
        cmd += ["--max-time", str(args.max_time)]
    for header in headers:
        cmd += ["--header", header]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    output = done.stdout + done.stderr
    print(f"== {label}: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    summary = output[output.rfind("SUMMARY"):] if "SUMMARY" in output else output[-4000:]
    print(summary.strip()[-6000:])
    return done.returncode, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-time", type=int, default=None, help="seconds per auth mode")
    parser.add_argument("--report-dir", default="var/fuzz-report")
    args = parser.parse_args()
    report_dir = Path(args.report_dir).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(SCHEMATHESIS_TOML)
        server = ServedKiosk(Path(tmp) / "kiosk").start()
        try:
            manager = server.token("manager")
            results = [run(server, "manager", [f"Authorization: Bearer {manager}"], args, report_dir, config),
                       run(server, "anonymous", [], args, report_dir, config)]
        finally:
            server.stop()
            logged = server.errors_logged()
    print("== summary")
    for label, (code, output) in zip(("manager", "anonymous"), results, strict=True):
        failures = sorted(set(re.findall(r"^_+ (\w+ /\S+) _+$", output, re.M)))
        print(f"{label}: {'passed' if code == 0 else 'FAILED'}; operations with failures: {len(failures)}")
        for op in failures:
            print(f"  {op}")
    print(f"server errors logged: {len(logged)}")
    for line in logged[:20]:
        print(f"  {line}")
    print(f"reports: {report_dir}")
    return 0 if all(code == 0 for code, _ in results) and not logged else 1


if __name__ == "__main__":
    sys.exit(main())
