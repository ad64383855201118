"""Startup time of `notify --help` and `notify --version`, against `python -c "import click"`.

Prints the median wall time of each over several runs and the ratio to the floor (a bare Python
that imports click, which any click CLI must pay). Target: `notify --help` within 1.3x the floor,
which holds only while httpx, rich and jinja2 are imported lazily, by the commands that use them.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    floor = median_wall([python, "-c", "import click"], args.runs)
    print(f"floor   python -c 'import click'   {floor * 1000:7.1f} ms")
    for label, argv in (("notify --help", ["--help"]), ("notify --version", ["--version"])):
        t = median_wall([python, "-m", "notify", *argv], args.runs)
        print(f"{label:<33}{t * 1000:7.1f} ms   {t / floor:4.2f}x the floor (target <= 1.30x)")


if __name__ == "__main__":
    main()
