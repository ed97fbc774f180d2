"""Smoke test of benchmarks/refresh.py at a tiny size: it runs to the end and the warm pass costs fewer bytes.

No timing checks: times on a shared machine say nothing at this size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "refresh.py"
GROUPS = 5


def test_a_tiny_run_measures_every_pass_and_the_warm_one_transfers_less(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    command = [
        sys.executable,
        str(SCRIPT),
        "--groups",
        str(GROUPS),
        "--delay",
        "0.01",
        "--repeat",
        "1",
        "--no-sweep",
        "--no-write",
    ]

    done = subprocess.run([*command, "--json", str(report_path)], cwd=ROOT, capture_output=True, timeout=120)

    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(report_path.read_text(encoding="utf-8"))
    cold, warm = report["cold"], report["warm"]
    assert warm["traffic"]["body_bytes"] < cold["traffic"]["body_bytes"]
    assert warm["traffic"]["not_modified"] == GROUPS + 1
    assert warm["events"] == cold["events"] > 0
    for run in [report["baseline"], cold, warm, *report["sweep"]]:
        assert run["traffic"]["requests"] == GROUPS + 1
        assert run["failed"] == []
        # Each pass ran in its own process, which measured its own CPU time and memory.
        assert run["cpu"] > 0 and run["peak_kib"] > 0
    assert b"cold vs baseline" in done.stdout
