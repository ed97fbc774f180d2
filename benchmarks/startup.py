"""Benchmark: start-up. `twir-events --help` against a bare `python -c pass`, and the README's demo `run` against it.

Every command runs in its own process, the three taking turns; the demo runs on a fresh copy of examples/demo each
time (a newcomer's first run). Also lists which heavy libraries each command loads. From the repo root:
`python benchmarks/startup.py [--repeat N] [--no-write]`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from measure import Runs, arguments, load_average, machine, publish, ratio_range, run_process

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Start-up (benchmarks/startup.py)"
REPEAT = 10
HELP_TARGET, DEMO_TARGET = 8.0, 2.0
DEMO_DATE = "2026-11-25"
# Libraries a command should load only when it needs them.
HEAVY = ("apscheduler", "requests", "requests_cache", "jwt", "extruct", "rdflib", "html5lib", "mf2py", "lxml", "jinja2")
PROBE = """
import sys
from aggregator.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))), file=sys.__stderr__)
"""


def twir_events() -> str:
    found = shutil.which("twir-events", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("twir-events is not installed next to this Python: pip install -e . first")
    return found


def demo_copy(temp: Path, number: int) -> Path:
    folder = temp / f"demo-{number}"
    shutil.copytree(ROOT / "examples" / "demo", folder, ignore=shutil.ignore_patterns(".twir-events", "public"))
    return folder


def loaded(args: Sequence[str], cwd: Path) -> str:
    """The heavy libraries a command imports, by running it under a probe."""
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(__doc__, REPEAT, "each command").parse_args(argv)
    command = twir_events()
    demo = [command, "run", "--config", "config.toml", "--date", DEMO_DATE, "--quiet"]
    runs = {"python -c pass": Runs(), "twir-events --help": Runs(), "demo run": Runs()}
    with tempfile.TemporaryDirectory(prefix="twir-startup-") as directory:
        temp = Path(directory)
        run_process([sys.executable, "-c", "pass"])  # untimed: warm the file cache for all three
        run_process([command, "--help"])
        run_process(demo, cwd=str(demo_copy(temp, 0)))
        before = load_average()
        for number in range(1, args.repeat + 1):
            for name, one in (
                ("python -c pass", lambda: run_process([sys.executable, "-c", "pass"])),
                ("twir-events --help", lambda: run_process([command, "--help"])),
                ("demo run", lambda n=number: run_process(demo, cwd=str(demo_copy(temp, n)))),
            ):
                result = one()
                runs[name].wall += result.wall
                runs[name].cpu += result.cpu
                runs[name].peak_kib += result.peak_kib
        load = (before, load_average())
        imports = {
            "twir-events --help": loaded(["--help"], ROOT),
            "demo run": loaded(demo[1:], demo_copy(temp, args.repeat + 1)),
        }
    bare, helped, ran = runs["python -c pass"], runs["twir-events --help"], runs["demo run"]
    help_ratio, demo_ratio = helped.median / bare.median, ran.median / helped.median
    lines = [
        HEADING,
        "",
        f"{machine(load)}, with",
        "",
        "    python benchmarks/startup.py" + (f" --repeat {args.repeat}" if args.repeat != REPEAT else ""),
        "",
        f"Each command is its own process, the three taking turns, {args.repeat} runs each after one untimed run; "
        f"the demo is the README's first command (`twir-events run --config examples/demo/config.toml --date "
        f"{DEMO_DATE}`, with `--quiet`) on a fresh copy of `examples/demo`, so every run starts with an empty store.",
        "",
        "| command | median s | runs min - max s | median CPU s | peak RSS MiB | heavy libraries loaded |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for name, found in runs.items():
        heavy = imports.get(name, "")
        lines.append(
            f"| {name} | {found.median:.3f} | {found.spread(3)} | {found.median_cpu:.3f} | {found.peak_mib:.0f} "
            f"| {heavy or ('none' if name in imports else '-')} |"
        )
    lines += [
        "",
        f"**`--help`: {ratio_range(helped, bare)} `python -c pass`** (target at most {HELP_TARGET:.0f}x, "
        f"{'met' if help_ratio <= HELP_TARGET else '**not met**'}). "
        f"**Demo run: {ratio_range(ran, helped)} `--help`** (target at most {DEMO_TARGET:.0f}x, "
        f"{'met' if demo_ratio <= DEMO_TARGET else '**not met**'}). "
        "Commands import their libraries when they run: APScheduler only in `schedule` (and to check a configured "
        "`[schedule]`), requests and requests-cache at the first network request, PyJWT only to sign in to the "
        "Meetup API, each source module only when the config has such a source; JSON-LD is read with lxml.",
        "",
    ]
    publish(HEADING, "\n".join(lines), not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
