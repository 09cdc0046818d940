"""Run every benchmark under benchmarks/ (each ``*/run.py``) and print its figures.

Benchmarks print figures and ratios against baselines measured in the same run;
they never decide a pass or a fail. Latest figures: docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("*/run.py"))
    if not scripts:
        print("no benchmarks found")
        return 0
    failed = 0
    for script in scripts:
        print(f"==> {script.relative_to(HERE.parent)}", flush=True)
        failed += subprocess.call([sys.executable, str(script)], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
