"""`make bench`: run every bench/*.py module's `main()` in turn.

Each module runs in its own process (each sets Django up against its own
database). A module that is missing or has no `main` is skipped; a failing
module is reported and the others still run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"run_all", "common", "__init__", "loadtest"}  # loadtest: `make loadtest`
# Run first when present; the rest follow in name order.
PREFERRED = ("ingest",)


# Imports bench.<name> with the project root on sys.path and calls its main(); a main
# may return an exit code or anything else (a result table), which counts as success.
_RUNNER = """
import importlib, sys
sys.path.insert(0, sys.argv[1])
name = sys.argv[2]
sys.argv = [name]  # each benchmark parses its own (empty) command line
module = importlib.import_module("bench." + name)
main = getattr(module, "main", None)
if main is None:
    print("no main(), skipped")
    sys.exit(0)
result = main()
sys.exit(result if isinstance(result, int) else 0)
"""


def modules() -> list[str]:
    found = sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")
    )
    return [m for m in PREFERRED if m in found] + [m for m in found if m not in PREFERRED]


def main() -> int:
    failed = []
    for name in modules():
        print(f"\n===== bench/{name}.py =====", flush=True)
        proc = subprocess.run([sys.executable, "-c", _RUNNER, str(HERE.parent), name], check=False)
        if proc.returncode != 0:
            failed.append(name)
            print(f"bench/{name}.py failed (exit {proc.returncode})", flush=True)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
