"""Benchmark: start-up. `twir-events --help` against a bare `python -c pass`, and the README's demo `run` against it.

Every command runs in its own process, the four taking turns; the demo runs on a fresh copy of examples/demo each
time (a newcomer's first run). The fourth command imports, and does nothing else with, the libraries the demo run
cannot do without: with `--help`'s start-up, the floor under any demo run. Also lists which heavy libraries each
command loads. From the repo root:
`python benchmarks/startup.py [--repeat N] [--no-write]`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from measure import Runs, arguments, installed_env, load_average, machine, publish, ratio_range, run_process

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Start-up (benchmarks/startup.py)"
REPEAT = 10
HELP_TARGET, DEMO_TARGET = 8.0, 2.0
DEMO_DATE = "2026-11-25"
# Libraries a command should load only when it needs them.
HEAVY = ("apscheduler", "requests", "requests_cache", "jwt", "extruct", "rdflib", "html5lib", "mf2py", "lxml", "jinja2")
# What the demo needs whatever the code around them: reading and writing iCalendar, expanding recurrences (and
# the X-WR-TIMEZONE fix it applies), the page's templates and the store.
NEEDED = ("icalendar", "recurring_ical_events", "x_wr_timezone", "jinja2", "sqlite3")
LIBRARIES = "libraries the demo needs, imported alone"
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


def loaded(args: Sequence[str], cwd: Path, names: Sequence[str] = HEAVY) -> str:
    """The libraries of `names` a command imports, by running it under a probe."""
    code = f"HEAVY = {tuple(names)!r}\n{PROBE}"
    command = [sys.executable, "-c", code, *args]
    done = subprocess.run(command, cwd=cwd, env=installed_env(), capture_output=True, text=True, check=False)
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(__doc__, REPEAT, "each command").parse_args(argv)
    command = twir_events()
    demo = [command, "run", "--config", "config.toml", "--date", DEMO_DATE, "--quiet"]
    libraries = [sys.executable, "-c", f"import {', '.join(NEEDED)}"]
    runs = {"python -c pass": Runs(), "twir-events --help": Runs(), LIBRARIES: Runs(), "demo run": Runs()}
    with tempfile.TemporaryDirectory(prefix="twir-startup-") as directory:
        temp = Path(directory)
        # Untimed: warm the file cache and write the bytecode for all four.
        run_process([sys.executable, "-c", "pass"])
        run_process([command, "--help"])
        run_process(libraries)
        run_process(demo, cwd=str(demo_copy(temp, 0)))
        before = load_average()
        for number in range(1, args.repeat + 1):
            for name, one in (
                ("python -c pass", lambda: run_process([sys.executable, "-c", "pass"])),
                ("twir-events --help", lambda: run_process([command, "--help"])),
                (LIBRARIES, lambda: run_process(libraries)),
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
        used = loaded(demo[1:], demo_copy(temp, args.repeat + 2), NEEDED).split()
    if sorted(used) != sorted(NEEDED):
        raise SystemExit(f"the demo run no longer imports {sorted(set(NEEDED) - set(used))}: update NEEDED")
    imports[LIBRARIES] = ", ".join(NEEDED)
    bare, helped, ran = runs["python -c pass"], runs["twir-events --help"], runs["demo run"]
    needed = runs[LIBRARIES]
    floor = helped.median + needed.median - bare.median
    help_ratio, demo_ratio = helped.median / bare.median, ran.median / helped.median
    lines = [
        HEADING,
        "",
        f"{machine(load)}, with",
        "",
        "    python benchmarks/startup.py" + (f" --repeat {args.repeat}" if args.repeat != REPEAT else ""),
        "",
        f"Each command is its own process, the four taking turns, {args.repeat} runs each after one untimed run; "
        f"the demo is the README's first command (`twir-events run --config examples/demo/config.toml --date "
        f"{DEMO_DATE}`, with `--quiet`) on a fresh copy of `examples/demo`, so every run starts with an empty store. "
        "Bytecode is cached as after `pip install .` (the untimed run writes it to a scratch `PYTHONPYCACHEPREFIX`, "
        "`PYTHONDONTWRITEBYTECODE` unset), so no timed run compiles the project's modules. "
        f"`{LIBRARIES}` is `python -c 'import {', '.join(NEEDED)}'`: the libraries the demo run loads and cannot do "
        "without (reading and writing iCalendar, expanding recurrences, the page's templates, the store), "
        "the script checks that the run loads each of them.",
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
        f"The floor: `--help`'s start-up plus importing the libraries the demo needs (their row less `python -c "
        f"pass`) is {floor:.3f} s, **{floor / helped.median:.2f}x `--help`**, before the run reads a byte of the "
        "calendar; the target would leave "
        f"{max(0.0, DEMO_TARGET * helped.median - floor) * 1000:.0f} ms to read, expand, normalize, merge and store "
        "it and write every output file. "
        "Commands import their libraries when they run: APScheduler only in `schedule` (and to check a configured "
        "`[schedule]`), requests and requests-cache at the first network request, PyJWT only to sign in to the "
        "Meetup API, each source module only when the config has such a source; JSON-LD is read with lxml.",
        "",
    ]
    publish(HEADING, "\n".join(lines), not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
