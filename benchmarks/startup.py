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


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    python = sys.executable
    commands = {
        "floor": [python, "-c", "import click"],
        "notify --help": [python, "-m", "notify", "--help"],
        "notify --version": [python, "-m", "notify", "--version"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    # Interleaved, so a busy moment on the machine weighs on the floor and notify alike.
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    floor = statistics.median(times.pop("floor"))
    print(f"floor   python -c 'import click'   {floor * 1000:7.1f} ms")
    for label, samples in times.items():
        t = statistics.median(samples)
        print(f"{label:<33}{t * 1000:7.1f} ms   {t / floor:4.2f}x the floor (target <= 1.30x)")


if __name__ == "__main__":
    main()
