"""The deployment files: the workflow, the systemd units, the crontab line and the README agree with the tool."""

from __future__ import annotations

import argparse
import configparser
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger

from aggregator.cli import build_parser
from aggregator.config import load_config
from aggregator.regions import REGIONS
from aggregator.schedule import add_parser
from output.ics import slug

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SYSTEMD = DEPLOY / "systemd"
CONFIG = "/etc/twir-events/config.toml"


def parse_command(words: list[str]) -> argparse.Namespace:
    """Parse a twir-events command line the way the installed CLI (plus the schedule command) would."""
    if words[0] == "schedule":
        parser = argparse.ArgumentParser()
        add_parser(parser.add_subparsers(dest="command", required=True))
        return parser.parse_args(words)
    return build_parser().parse_args(words)


def workflow() -> dict[Any, Any]:
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load((DEPLOY / "github-actions" / "refresh.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def steps(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A job's steps by the action they use, or by their run command."""
    return {step.get("uses", "").split("@")[0] or step["run"]: step for step in job["steps"]}


def test_workflow_runs_on_a_valid_schedule_and_by_hand() -> None:
    # YAML 1.1 reads the bare key `on` as True.
    triggers = workflow()[True]
    assert "workflow_dispatch" in triggers
    [entry] = triggers["schedule"]
    CronTrigger.from_crontab(entry["cron"], timezone="UTC")


def test_workflow_restores_refreshes_saves_and_publishes_in_order() -> None:
    flow = workflow()
    assert flow["permissions"] == {"contents": "read"}
    assert flow["concurrency"]["cancel-in-progress"] is False
    refresh = flow["jobs"]["refresh"]
    by_use = steps(refresh)
    order = list(by_use)
    assert by_use["actions/setup-python"]["with"]["python-version"] == "3.11"
    assert "pip install ." in by_use
    restore, save = by_use["actions/cache/restore"]["with"], by_use["actions/cache/save"]["with"]
    assert restore["path"] == save["path"] == ".twir-events"
    assert restore["key"] == save["key"]
    assert "${{ github.run_id }}" in restore["key"]
    assert restore["key"].startswith(restore["restore-keys"])
    assert by_use["actions/cache/save"]["if"] == "always()"
    [run] = [command for command in order if "twir-events run" in command]
    words = shlex.split(run.split(">")[0])
    assert parse_command(words[1:]).quiet
    collect = next(command for command in order if "_site" in command)
    # The whole output set goes up (feeds, block, records, the readers' page and its per-event files).
    assert shlex.split(collect) == ["cp", "-RL", "public/.", "_site/"]
    assert by_use["actions/upload-pages-artifact"]["with"]["path"] == "_site"
    expected = [
        "actions/checkout",
        "actions/setup-python",
        "pip install .",
        "actions/cache/restore",
        run,
        "actions/cache/save",
        collect,
        "actions/upload-pages-artifact",
    ]
    assert order == expected
    assert all(re.fullmatch(r"v\d+", step["uses"].split("@")[1]) for step in refresh["steps"] if "uses" in step)
    for name in ("MEETUP_CLIENT_KEY", "MEETUP_MEMBER_ID", "MEETUP_PRIVATE_KEY"):
        assert refresh["env"][name] == f"${{{{ secrets.{name} }}}}"


def test_workflow_deploys_pages_with_only_the_permissions_it_needs() -> None:
    deploy = workflow()["jobs"]["deploy"]
    assert deploy["needs"] == "refresh"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    [step] = deploy["steps"]
    assert step["uses"] == "actions/deploy-pages@v4"
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text())
    return parser


def readme_config(tmp_path: Path) -> Path:
    """The TOML the README tells systemd users to put in their config."""
    [block] = re.findall(r"```toml\n(.*?)```", (DEPLOY / "README.md").read_text(), re.DOTALL)
    path = tmp_path / "config.toml"
    path.write_text(block)
    return path


@pytest.mark.parametrize(
    ("name", "command"), [("twir-events.service", "run"), ("twir-events-scheduler.service", "schedule")]
)
def test_units_run_the_tool_with_the_etc_config(name: str, command: str, tmp_path: Path) -> None:
    service = unit(name)["Service"]
    program, *words = shlex.split(service["ExecStart"])
    assert program.endswith("/bin/twir-events")
    args = parse_command(words)
    assert (args.command, args.config, args.quiet) == (command, Path(CONFIG), True)
    assert service["User"] == service["Group"] == "twir-events"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    assert Path("/var/lib") / service["StateDirectory"] in writable
    config = load_config(readme_config(tmp_path))
    assert config.http.cache is not None
    for needed in (config.store_path.parent, config.http.cache.parent, config.output_dir):
        assert any(needed.is_relative_to(place) for place in writable), needed


def test_the_timer_starts_the_oneshot_service_every_six_hours() -> None:
    assert unit("twir-events.service")["Service"]["Type"] == "oneshot"
    assert unit("twir-events.service")["Service"]["SuccessExitStatus"] == "75"
    timer = unit("twir-events.timer")["Timer"]
    assert timer["Persistent"] == "true"
    assert "RandomizedDelaySec" in timer
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    shown = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=5", timer["OnCalendar"]],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    hours = [int(h) for h in re.findall(r"(?:Next elapse|Iter\. #\d): \w+ \S+ (\d\d):17:00", shown)]
    assert len(hours) == 5 and all(h % 6 == 0 for h in hours)


def test_the_scheduler_unit_waits_for_a_refresh_on_stop() -> None:
    service = unit("twir-events-scheduler.service")["Service"]
    assert service.get("KillSignal", "SIGTERM") in {"SIGTERM", "SIGINT"}
    assert service["TimeoutStopSec"] == "30min"
    assert service["RestartPreventExitStatus"] == "2"


def test_the_crontab_line_is_a_valid_quiet_run_with_escaped_percents() -> None:
    [line] = [line for line in (DEPLOY / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    fields = line.split(None, 5)
    CronTrigger.from_crontab(" ".join(fields[:5]), timezone="UTC")
    command = fields[5]
    # cron turns an unescaped % into a newline.
    assert "%" not in command.replace("\\%", "")
    run = re.search(r"twir-events (run [^>;)]*)", command)
    assert run is not None
    assert parse_command(shlex.split(run.group(1))).quiet
    assert ">>" in command and "2>&1" in command


def test_readme_lists_every_region_feed_and_each_calendar_app() -> None:
    text = (DEPLOY / "README.md").read_text()
    listed = re.search(r"with `<region>` one of (.*?)\.", text, re.DOTALL)
    assert listed is not None
    assert re.findall(r"`([a-z-]+)`", listed.group(1)) == [slug(region) for region in REGIONS]
    for phrase in ("webcal://", "From URL", "New Calendar Subscription", "Subscribe from web", "On the Network"):
        assert phrase in text
