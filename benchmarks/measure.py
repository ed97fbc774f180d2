"""What every benchmark here shares: timing a command in its own process, the spread of runs, the machine line."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from output.files import update_markdown_section

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
PYCACHE = Path(tempfile.gettempdir()) / "twir-events-benchmarks-pycache"


def installed_env(**extra: str) -> dict[str, str]:
    """This environment as an installed package sees it: bytecode cached (pip compiles it at install), here in a
    scratch folder that the first run fills, so a timed run never compiles the project's modules."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(PYCACHE), **extra}


@dataclass
class Runs:
    """Repeated measurements of one thing: wall seconds, CPU seconds and peak RSS (KiB) per run."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_kib: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def peak_mib(self) -> float:
        return max(self.peak_kib) / 1024

    def spread(self, digits: int = 2) -> str:
        """`min - max` of the wall times."""
        return f"{min(self.wall):.{digits}f} - {max(self.wall):.{digits}f}"


def run_process(command: Sequence[str], cwd: str | None = None, env: dict[str, str] | None = None) -> Runs:
    """Run a command to completion in its own process (`installed_env` unless told); wall, CPU time and peak RSS."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env or installed_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {stderr.strip()[-400:]}")
    # ru_maxrss is KiB on Linux, where these benchmarks run.
    return Runs([wall], [usage.ru_utime + usage.ru_stime], [usage.ru_maxrss])


def alternate(commands: dict[str, Sequence[str]], repeat: int, cwd: str | None = None) -> dict[str, Runs]:
    """Each command `repeat` times, taking turns so that a change in the machine's load hits all of them alike."""
    results = {name: Runs() for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            one = run_process(command, cwd=cwd)
            results[name].wall += one.wall
            results[name].cpu += one.cpu
            results[name].peak_kib += one.peak_kib
    return results


def ratio_range(numerator: Runs, denominator: Runs) -> str:
    """The ratio of two medians, and the range of the run-by-run ratios (runs paired in the order they were taken)."""
    pairs = [a / b for a, b in zip(numerator.wall, denominator.wall, strict=True)]
    return f"{numerator.median / denominator.median:.2f}x (runs {min(pairs):.2f}x - {max(pairs):.2f}x)"


def machine(load: tuple[float, float]) -> str:
    """Where and when the figures were measured, with the load around them."""
    return (
        f"Measured {date.today()} on {platform.system()} {platform.machine()}, nproc {len(os.sched_getaffinity(0))}, "
        f"Python {platform.python_version()} (1-minute load average {load[0]:.1f} before the runs, {load[1]:.1f} after)"
    )


def load_average() -> float:
    return os.getloadavg()[0]


def self_peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def arguments(doc: str | None, repeat: int, what: str) -> argparse.ArgumentParser:
    """The options every benchmark here takes: how many runs, and whether to leave BENCHMARKS.md alone."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--repeat", "-n", type=int, default=repeat, help=f"runs of {what} (default {repeat})")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    return parser


def publish(heading: str, text: str, write: bool) -> None:
    """Print a benchmark's section and, unless told not to, put it in BENCHMARKS.md under its heading."""
    print(text)
    if write:
        update_markdown_section(BENCHMARKS_MD, heading, text)
        print(f"updated {BENCHMARKS_MD}")
