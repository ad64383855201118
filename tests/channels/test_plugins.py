"""Channel plugins, as a user meets them: a separate package installed with pip.

examples/notify-pagerduty is built and installed into a folder of its own, then `python -m notify`
runs with that folder on PYTHONPATH, as it would after `pip install notify-pagerduty`. A tiny
PagerDuty Events API v2 stand-in on 127.0.0.1 records what the plugin sent. A second, broken
plugin installed beside it shows that one bad package costs a warning, never the other channels.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from notify.channels import registry
from notify.channels.base import (
    Channel,
    ChannelSpec,
    DeliveryContext,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from tests.conftest import ROOT, CliResult, invoke_process

EXAMPLE = ROOT / "examples" / "notify-pagerduty"
ROUTING_KEY = "R0ut1ngKeyFromPagerDuty000000042"  # 32 characters, like a real Integration Key
BUILTINS = ("email", "sms", "slack", "teams", "discord", "telegram", "mastodon", "bluesky", "x")
BUILTINS += ("webhook",)

BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "notify-broken"
version = "0.3.0"

[project.entry-points."notify.channels"]
broken = "notify_broken:BrokenChannel"

[tool.setuptools]
py-modules = ["notify_broken"]
"""
# What a plugin whose own dependency is missing does at import.
BROKEN_MODULE = "import notify_broken_missing_sdk  # never installed\n"
BROKEN_ERROR = "ModuleNotFoundError: No module named 'notify_broken_missing_sdk'"


# --- installing packages the way a user does ---------------------------------------------------


def pip_install(project: Path, target: Path) -> None:
    """`pip install` one project into `target`, offline: no index, no build isolation."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not available to this Python, so no plugin package can be installed")
    # Built from a copy: a setuptools build leaves build/ and *.egg-info beside its sources.
    source = target.parent / f"{project.name}-src"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
    }
    command = [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps"]
    command += ["--quiet", "--target", str(target), str(source)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, f"pip install {project.name} failed:\n{proc.stderr}"


@pytest.fixture(scope="module")
def pagerduty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where notify-pagerduty is installed."""
    site = tmp_path_factory.mktemp("pagerduty") / "site"
    pip_install(EXAMPLE, site)
    return site


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where notify-broken is installed: the module its entry point names fails to import."""
    root = tmp_path_factory.mktemp("broken")
    project = root / "notify-broken"
    project.mkdir()
    (project / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (project / "notify_broken.py").write_text(BROKEN_MODULE)
    site = root / "site"
    pip_install(project, site)
    return site


# --- a PagerDuty Events API v2 stand-in ---------------------------------------------------------


@dataclass
class PagerDuty:
    """Records each accepted event and answers as PagerDuty does: 202 with the dedup_key, 400 with
    its reasons for an invalid event. `script` holds statuses to answer first (429, 500, ...)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, event: Any) -> tuple[int, dict[str, Any]]:
        self.paths.append(path)
        if path != "/v2/enqueue":
            return 404, {"status": "not found"}
        if self.script:
            status = self.script.pop(0)
            return status, {"status": "throttled" if status == 429 else "error"}
        errors = invalid(event)
        if errors:
            return 400, {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
        self.events.append(event)
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": event["dedup_key"],
        }


def invalid(event: Any) -> list[str]:
    """What PagerDuty would refuse in an event (the Events API v2 rules the plugin meets)."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    if len(str(event.get("routing_key") or "")) != 32:
        return ["Invalid routing key"]
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        return ["'event_action' is missing or blank"]
    if action != "trigger":
        return [] if event.get("dedup_key") else ["'dedup_key' is missing or blank"]
    payload = event.get("payload") or {}
    errors = [
        f"'payload.{k}' is missing or blank" for k in ("summary", "source") if not payload.get(k)
    ]
    if payload.get("severity") not in ("critical", "error", "warning", "info"):
        errors.append("'payload.severity' must be one of critical, error, warning or info")
    if len(str(payload.get("summary") or "")) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    return errors


@pytest.fixture
def pagerduty() -> Iterator[PagerDuty]:
    state = PagerDuty()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            status, body = state.answer(self.path, event)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests read `state`, not a request log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- a user's folder ----------------------------------------------------------------------------


@dataclass
class Folder:
    """A folder with a channels.yaml, where `notify` runs with the plugin folders on PYTHONPATH."""

    path: Path
    sites: list[Path]

    def config(self, *channels: str) -> None:
        (self.path / "channels.yaml").write_text(
            "version: 1\n"
            "organization:\n"
            "  name: Acme Cloud\n"
            "  status_url: https://status.acme.example\n"
            "journal: .notify/journal.db\n"
            "channels:\n" + "".join(channels)
        )

    def notify(self, command_line: str) -> CliResult:
        """`python -m notify <command_line>`, as typed in a shell."""
        paths = [str(s) for s in self.sites]
        if os.environ.get("PYTHONPATH"):
            paths.append(os.environ["PYTHONPATH"])
        env = {"PYTHONPATH": os.pathsep.join(paths), "PD_ROUTING_KEY": ROUTING_KEY}
        result = invoke_process(shlex.split(command_line), cwd=self.path, env=env)
        assert "Traceback" not in result.stderr, result.stderr
        assert ROUTING_KEY not in result.output  # a secret: in no output of any command
        return result


def pagerduty_channel(url: str, *, name: str = "oncall", source: str = "payments-api") -> str:
    return (
        f"  {name}:\n"
        "    type: pagerduty\n"
        "    routing_key: ${PD_ROUTING_KEY}\n"
        f"    base_url: {url}\n"
        f"    source: {source}\n"
    )


@pytest.fixture
def folder(tmp_path: Path, pagerduty_site: Path) -> Folder:
    return Folder(tmp_path, [pagerduty_site])


# --- the plugin is found and listed -------------------------------------------------------------


def test_channels_types_lists_the_plugin_with_its_package(folder: Folder) -> None:
    result = folder.notify("channels --types --json")

    assert result.code == 0, result.stderr
    doc = result.json()
    sources = {t["type"]: t["source"] for t in doc["types"]}
    assert sources["pagerduty"] == "notify-pagerduty 0.1.0"
    assert {name: sources[name] for name in BUILTINS} == dict.fromkeys(BUILTINS, "built-in")
    pagerduty = next(t for t in doc["types"] if t["type"] == "pagerduty")
    routing_key = next(f for f in pagerduty["fields"] if f["name"] == "routing_key")
    assert routing_key["required"] and routing_key["secret"]
    assert "dedup_key" in pagerduty["threading"]
    assert doc["problems"] == []
    assert result.stderr == ""


def test_channels_types_table_shows_where_each_type_came_from(folder: Folder) -> None:
    result = folder.notify("channels --types")

    assert result.code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "pagerduty" in line)
    assert "notify-pagerduty 0.1.0" in line
    assert "problems" not in result.stdout


def test_the_plugins_own_tests_pass(pagerduty_site: Path) -> None:
    """The example's unit tests (httpx.MockTransport), which plugin authors copy, stay green."""
    source = pagerduty_site.parent / "notify-pagerduty-src"  # the copy pip built from

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- sending through it --------------------------------------------------------------------------


def test_updates_of_one_incident_trigger_then_resolve_one_alert(
    folder: Folder, pagerduty: PagerDuty
) -> None:
    folder.config(pagerduty_channel(pagerduty.url))

    first = folder.notify(
        "send investigating --incident pay-1 --title 'Payments API errors' --impact major"
        " --message 'Card payments fail for about 30% of requests.' --yes --json"
    )
    last = folder.notify(
        "send resolved --incident pay-1 --message 'A bad deploy was rolled back.' --yes --json"
    )

    assert (first.code, last.code) == (0, 0), first.stderr + last.stderr
    (delivery,) = first.json()["deliveries"]
    assert (delivery["status"], delivery["provider_message_id"]) == ("sent", "pay-1")
    assert pagerduty.paths == ["/v2/enqueue", "/v2/enqueue"]
    trigger, resolve = pagerduty.events
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == "pay-1"
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    payload = trigger["payload"]
    assert "Payments API errors" in payload["summary"]
    assert (payload["source"], payload["severity"]) == ("payments-api", "error")
    details = payload["custom_details"]
    assert "Card payments fail for about 30% of requests." in details["message"]
    assert details["status"] == "investigating"
    assert details["link"] == "https://status.acme.example"

    shown = folder.notify("show pay-1 --json").json()
    deliveries = [d for update in shown["updates"] for d in update["deliveries"]]
    assert [(d["channel"], d["status"]) for d in deliveries] == [("oncall", "sent")] * 2
    assert ROUTING_KEY.encode() not in (folder.path / ".notify" / "journal.db").read_bytes()


def test_severity_follows_impact_unless_the_channel_fixes_it(
    folder: Folder, pagerduty: PagerDuty
) -> None:
    fixed = pagerduty_channel(pagerduty.url, name="db-pager", source="payments-db")
    folder.config(pagerduty_channel(pagerduty.url), fixed + "    severity: critical\n")

    result = folder.notify(
        "send investigating --title 'Slow receipts' --message 'Receipts are late.'"
        " --impact minor --yes"
    )

    assert result.code == 0, result.stderr
    severity = {e["payload"]["source"]: e["payload"]["severity"] for e in pagerduty.events}
    assert severity == {"payments-api": "warning", "payments-db": "critical"}


def test_a_throttled_event_is_sent_again(folder: Folder, pagerduty: PagerDuty) -> None:
    folder.config(pagerduty_channel(pagerduty.url))
    pagerduty.script = [429]

    result = folder.notify(
        "send investigating --title 'Login errors' --message 'Logins fail.' --yes --json"
    )

    assert result.code == 0, result.stderr
    (delivery,) = result.json()["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("sent", 2)
    assert len(pagerduty.events) == 1


def test_an_event_pagerduty_refuses_fails_with_its_reason(
    folder: Folder, pagerduty: PagerDuty
) -> None:
    folder.config(pagerduty_channel(pagerduty.url + "/wrong-prefix"))

    result = folder.notify(
        "send investigating --title 'Login errors' --message 'Logins fail.' --yes --json"
    )

    assert result.code == 1
    (delivery,) = result.json()["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)  # a 404 is not retried
    assert "404" in delivery["error"] and "base_url" in delivery["error"]
    assert pagerduty.events == []


# --- check and preview read the plugin's declared fields ---------------------------------------


def test_check_accepts_the_plugin_channel_and_sends_nothing(
    folder: Folder, pagerduty: PagerDuty
) -> None:
    folder.config(pagerduty_channel(pagerduty.url))

    result = folder.notify("check")

    assert result.code == 0, result.stderr
    assert pagerduty.paths == []


def test_check_suggests_the_nearest_key_for_a_typo(folder: Folder, pagerduty: PagerDuty) -> None:
    folder.config(pagerduty_channel(pagerduty.url) + "    sevrity: critical\n")

    result = folder.notify("check")

    assert result.code == 2
    assert "sevrity" in result.stderr and "severity" in result.stderr
    assert "channels.yaml:12" in result.stderr


def test_check_names_a_missing_routing_key(folder: Folder, pagerduty: PagerDuty) -> None:
    channel = pagerduty_channel(pagerduty.url)
    folder.config(channel.replace("    routing_key: ${PD_ROUTING_KEY}\n", ""))

    result = folder.notify("check")

    assert result.code == 2
    assert "routing_key" in result.stderr
    assert "Integration Key" in result.stderr  # the field's help says where to find one


def test_check_rejects_a_routing_key_of_the_wrong_shape(
    folder: Folder, pagerduty: PagerDuty
) -> None:
    channel = pagerduty_channel(pagerduty.url)
    folder.config(channel.replace("${PD_ROUTING_KEY}", "${PD_ROUTING_KEY}-extra"))

    result = folder.notify("check")

    assert result.code == 2
    assert "routing_key" in result.stderr and "32 characters" in result.stderr
    assert ROUTING_KEY[:12] not in result.stderr


def test_preview_renders_the_alert_and_sends_nothing(folder: Folder, pagerduty: PagerDuty) -> None:
    folder.config(pagerduty_channel(pagerduty.url))

    result = folder.notify(
        "preview investigating --title 'Payments API errors' --message 'Failing.' --json"
    )

    assert result.code == 0, result.stderr
    (delivery,) = result.json()["deliveries"]
    assert "Payments API errors" in delivery["rendered"]["subject"]
    assert pagerduty.paths == []


# --- a broken plugin costs a warning, nothing else ---------------------------------------------


@pytest.fixture
def beside_broken(folder: Folder, broken_site: Path) -> Folder:
    folder.sites.append(broken_site)
    return folder


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("notify: warning:")]


def test_a_broken_plugin_is_listed_under_problems(beside_broken: Folder) -> None:
    result = beside_broken.notify("channels --types --json")

    assert result.code == 0
    doc = result.json()
    expected = {"type": "broken", "source": "notify-broken 0.3.0", "error": BROKEN_ERROR}
    assert doc["problems"] == [expected]
    assert "pagerduty" in {t["type"] for t in doc["types"]}
    (warning,) = warnings_in(result.stderr)
    assert "'broken'" in warning and "notify-broken 0.3.0" in warning

    table = beside_broken.notify("channels --types")
    problems = table.stdout[table.stdout.index("problems") :]
    assert "broken from notify-broken 0.3.0" in problems


def test_every_command_works_beside_a_broken_plugin(
    beside_broken: Folder, pagerduty: PagerDuty
) -> None:
    beside_broken.config(pagerduty_channel(pagerduty.url))

    results = {
        command: beside_broken.notify(command)
        for command in (
            "check",
            "channels",
            "templates",
            "preview investigating --title 'Database failover' --message 'Writes are paused.'",
            "send investigating --incident db-1 --title 'Database failover' --message 'Paused.'"
            " --yes",
            "send resolved --incident db-1 --message 'Writes are back.' --yes",
            "retry",
        )
    }

    for command, result in results.items():
        assert result.code == 0, f"{command}: {result.stderr}"
        (warning,) = warnings_in(result.stderr)
        assert "channel plugin 'broken' from notify-broken 0.3.0 failed to load" in warning
        assert BROKEN_ERROR in warning
    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty.events] == [
        ("trigger", "db-1"),
        ("resolve", "db-1"),
    ]


def test_a_channel_of_the_broken_type_is_an_unknown_type(
    beside_broken: Folder, pagerduty: PagerDuty
) -> None:
    beside_broken.config("  pager:\n    type: broken\n")

    result = beside_broken.notify("check")

    assert result.code == 2
    assert "unknown channel type 'broken'" in result.stderr
    assert len(warnings_in(result.stderr)) == 1


# --- what the registry refuses to load, in-process ----------------------------------------------


class _Misnamed(Channel):
    """A plugin whose spec.type disagrees with its entry point's name."""

    spec = ChannelSpec(type="pager", fields=(), part="body", format="webhook")

    def measure(self, message: Message) -> Length | None:
        return None

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        return Receipt(ok=True)


def _registered(*pairs: tuple[str, str]) -> list[EntryPoint]:
    return [EntryPoint(name, value, registry.GROUP) for name, value in pairs]


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    registry.reset()
    yield
    monkeypatch.undo()
    registry.reset()


@pytest.mark.usefixtures("fresh_registry")
def test_plugins_that_cannot_serve_their_name_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = _registered(
        ("slack", f"{__name__}:_Misnamed"),  # a built-in's name
        ("pagerduty", f"{__name__}:_Misnamed"),  # spec.type says "pager"
        ("teapot", f"{__name__}:BROKEN_MODULE"),  # not a Channel class
    )
    monkeypatch.setattr(registry, "entry_points", lambda group: plugins)

    with pytest.warns(registry.PluginWarning) as warned:
        types = registry.channel_types()

    assert types["slack"].source == "built-in"
    assert "pagerduty" not in types and "teapot" not in types
    errors = {p.type: p.error for p in registry.problems()}
    assert "taken by built-in" in errors["slack"]
    assert "spec.type is 'pager'" in errors["pagerduty"]
    assert "not a subclass of notify.channels.base.Channel" in errors["teapot"]
    assert len(warned) == 3
