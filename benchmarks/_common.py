"""Helpers the delivery benchmarks share: a sandbox process and a timed `notify` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from notify.sandbox.config import SandboxAddress

ROOT = Path(__file__).resolve().parents[1]

# The update every delivery benchmark sends.
SEND_ARGS = [
    "send",
    "investigating",
    "--title",
    "Checkout errors",
    "--message",
    "Card payments fail.",
]


class SandboxProcess:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._sandbox_process", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())

    @property
    def address(self) -> SandboxAddress:
        """Where it serves, for the channels.yaml generator."""
        return SandboxAddress(self.info["url"], self.info["smtp_host"], self.info["smtp_port"])

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        self.proc.wait(timeout=30)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Run:
    seconds: float
    started: float  # time.time() when the process was started
    peak_rss_mb: float
    code: int
    document: dict[str, Any]
    stderr: str


def run_notify(args: list[str], cwd: Path, *, profile: str | None = None) -> Run:
    """Run `python -m notify ARGS` and measure its wall time and peak memory (RSS).

    The peak is that process's own (wait4), not the largest child so far: a sandbox of an
    earlier run, gone by now, must not count. With `profile`, the run is under cProfile, its
    stats written to that file (slower: for finding where the time goes, not for the numbers)."""
    env = {**os.environ, "HOME": str(cwd)}
    profiler = ["-m", "cProfile", "-o", str(Path(profile).resolve())] if profile else []
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *profiler, "-m", "notify", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    read: dict[str, str] = {}

    def drain(name: str, stream: IO[str]) -> None:
        read[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    stdout, stderr = read.get("out", ""), read.get("err", "")
    document = json.loads(stdout) if stdout.strip().startswith("{") else {}
    return Run(seconds, started, usage.ru_maxrss / 1024, proc.returncode, document, stderr)
