"""The CLI's surface: version, help, global options on both sides, exit codes one by one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from notify import __version__
from notify.exitcodes import ExitCode
from tests.conftest import invoke, invoke_process


def test_exit_code_values_are_the_contract() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("DELIVERY_FAILED", 1),
        ("INVALID_INPUT", 2),
        ("INTERNAL_ERROR", 3),
        ("JOURNAL_FAILED", 4),
        ("INTERRUPTED", 130),
    ]


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    result = invoke_process(["--version"], cwd=tmp_path)
    assert result.code == 0
    assert result.stdout.strip() == f"notify {__version__}"


def test_help_lists_every_contract_command() -> None:
    result = invoke(["--help"])
    assert result.code == 0
    for command in (
        "send",
        "preview",
        "check",
        "retry",
        "incidents",
        "show",
        "log",
        "channels",
        "templates",
        "init",
        "suppress",
        "sandbox",
        "demo",
        "tick",
    ):
        assert f"  {command} " in result.stdout


def test_help_does_not_import_heavy_libraries(tmp_path: Path) -> None:
    code = (
        "import sys; from notify.cli import run; "
        "rc = run(['--help']); "
        "print(sorted(m for m in ('httpx', 'rich', 'jinja2', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    """`notify --help` lists the commands from the lazy table, without importing their modules."""
    code = (
        "import sys; from notify.cli import run; "
        "rc = run(['--help']); "
        "print(sorted(m for m in sys.modules if m.startswith('notify.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "['notify.cli.options']"


def test_command_help_imports_no_stage_and_no_heavy_library(tmp_path: Path) -> None:
    """`notify send --help` (and every other command's) reads the command's options: the stages
    it runs (config, journal, render, channels, delivery) load when it runs, not for its help."""
    code = (
        "import sys; from notify.cli import COMMANDS, run; "
        "codes = {run([name, '--help']) for name in COMMANDS}; "
        "print(codes, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'rich', 'jinja2', 'yaml') or m.split('.')[:2] in "
        "(['notify', 'config'], ['notify', 'journal'], ['notify', 'render'], "
        "['notify', 'channels'], ['notify', 'sandbox']) or "
        "(m.startswith('notify.delivery.') and m != 'notify.delivery.inputs')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip().splitlines()[-1] == "{0} []"


def test_lazy_command_table_matches_the_commands() -> None:
    """Each table entry names a module holding a command of that name, and the help sentence
    the table lists is the command's own."""
    from notify.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (module, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command), (name, module)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == summary, name


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_help_lists_commands_as_click_would_after_importing_them(width: int) -> None:
    """The lazy listing is word for word click's own, which imports and asks every command."""
    from notify.cli import cli

    ctx = click.Context(cli, terminal_width=width, max_content_width=100)
    lazy = click.HelpFormatter(width=width, max_width=100)
    cli.format_commands(ctx, lazy)
    eager = click.HelpFormatter(width=width, max_width=100)
    click.Group.format_commands(cli, ctx, eager)
    assert lazy.getvalue() == eager.getvalue()
    assert lazy.getvalue().count("\n") == 1 + len(cli.list_commands(ctx))


@pytest.mark.skipif(
    not hasattr(click.exceptions, "NoSuchCommand"), reason="click < 8.4 suggests no command"
)
def test_a_mistyped_command_suggests_the_lazy_one() -> None:
    result = invoke(["sendd"])
    assert result.code == ExitCode.INVALID_INPUT
    assert result.stderr.strip().splitlines() == [
        "notify: error: No such command 'sendd'. Did you mean 'send'? See `notify --help`."
    ]


def test_entry_point_is_the_package_main() -> None:
    """pyproject's `notify = "notify.cli:main"`, which installed scripts call."""
    import tomllib

    from notify import cli

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"notify": "notify.cli:main"}
    assert callable(cli.main)


def test_exit_0_when_everything_is_fine(workspace) -> None:  # type: ignore[no-untyped-def]
    result = workspace.run("check")
    assert result.code == ExitCode.OK, result.stderr


def test_exit_2_for_usage_errors_with_one_line() -> None:
    result = invoke(["send"])  # TEMPLATE missing
    assert result.code == ExitCode.INVALID_INPUT
    assert "Missing argument 'TEMPLATE'" in result.stderr
    assert "Traceback" not in result.output


def test_exit_2_for_config_errors_names_file_and_fix(tmp_path: Path) -> None:
    config = tmp_path / "channels.yaml"
    config.write_text(
        "version: 1\nchannels:\n  ops:\n    type: webhook\n    url: https://x.example\n"
        "    secrte: abc\n",
        encoding="utf-8",
    )
    result = invoke(["--config", str(config), "check"])
    assert result.code == ExitCode.INVALID_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "channels.yaml:6" in lines[0] and "channels.ops.secrte" in lines[0]
    assert "did you mean 'secret'?" in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_says_to_run_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["check"])
    assert result.code == ExitCode.INVALID_INPUT
    assert "notify init" in result.stderr


def test_exit_1_when_a_delivery_fails(workspace) -> None:  # type: ignore[no-untyped-def]
    workspace.sandbox.fail("slack", 400, times=1)
    result = workspace.run(
        "send",
        "investigating",
        "--title",
        "Checkout errors",
        "--message",
        "Errors.",
        "--to",
        "ops-slack",
        "--yes",
    )
    assert result.code == ExitCode.DELIVERY_FAILED, result.output
    assert "notify retry" in result.stderr


def test_exit_130_when_interrupted(workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import notify.delivery.service

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(notify.delivery.service, "record_plan", interrupted)
    result = workspace.run(
        "send", "investigating", "--title", "Checkout errors", "--message", "Errors.", "--yes"
    )
    assert result.code == ExitCode.INTERRUPTED
    assert "notify retry" in result.stderr


def test_exit_3_for_a_bug_names_it_without_traceback(
    workspace, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import notify.delivery.service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(notify.delivery.service, "record_plan", broken)
    args = ("send", "investigating", "--title", "T", "--message", "M", "--yes")
    result = workspace.run(*args)
    assert result.code == ExitCode.INTERNAL_ERROR
    assert "RuntimeError: boom" in result.stderr and "Traceback" not in result.stderr
    verbose = workspace.run(*args, "-v")
    assert "Traceback" in verbose.stderr


def test_global_options_after_the_command(workspace) -> None:  # type: ignore[no-untyped-def]
    before = invoke(["--json", "--config", str(workspace.config), "channels"])
    after = invoke(["channels", "--config", str(workspace.config), "--json"])
    assert before.code == after.code == 0
    assert before.json() == after.json()


def test_json_output_is_only_json_on_stdout(workspace) -> None:  # type: ignore[no-untyped-def]
    result = workspace.run(
        "preview", "investigating", "--title", "Checkout errors", "--message", "Errors.", "--json"
    )
    assert result.code == 0, result.stderr
    document = result.json()
    assert set(document) >= {"incident", "update", "dry_run", "deliveries", "totals"}


def test_brackets_in_user_text_are_printed_as_written(workspace) -> None:  # type: ignore[no-untyped-def]
    title = "Errors in [EU] region [/] [bold]"
    preview = workspace.run("preview", "investigating", "--title", title, "--message", "m")
    assert preview.code == 0, preview.stderr
    assert title in preview.stdout
    sent = workspace.run(
        "send", "investigating", "--title", title, "--message", "m", "--to", "ops-slack", "--yes"
    )
    assert sent.code == 0, sent.stderr
    incident = workspace.run("incidents", "--json").json()["incidents"][0]["id"]
    shown = workspace.run("show", incident)
    assert title in shown.stdout


def test_init_writes_a_starter_that_checks_and_previews(tmp_path: Path) -> None:
    result = invoke(["init", str(tmp_path)])
    assert result.code == 0, result.stderr
    config = tmp_path / "channels.yaml"
    text = config.read_text(encoding="utf-8")
    assert "${SLACK_BOT_TOKEN" in text  # credentials come from the environment, not the file
    assert sorted(p.name for p in (tmp_path / "templates").glob("*.j2")) == sorted(
        f"{name}.j2"
        for name in (
            "investigating",
            "identified",
            "monitoring",
            "update",
            "resolved",
            "maintenance-scheduled",
            "maintenance-started",
            "maintenance-completed",
            "maintenance-reminder",
            "reminder",
            "feedback",
        )
    )
    assert invoke(["--config", str(config), "check"]).code == 0
    preview = invoke(
        [
            "--config",
            str(config),
            "preview",
            "investigating",
            "--title",
            "Checkout errors",
            "--message",
            "Some payments fail.",
            "--json",
        ]
    )
    assert preview.code == 0, preview.stderr
    # `resolved` updates an incident: on a fresh config there is none to update.
    update = ["preview", "resolved", "--incident", "x", "--message", "Payments work again."]
    refused = invoke(["--config", str(config), *update])
    assert refused.code == 2 and "no incident 'x'" in refused.stderr, refused.output
    channels = {d["channel"] for d in preview.json()["deliveries"]}
    assert {"status-email", "customers-sms", "ops-slack"} <= channels
    assert not (tmp_path / ".notify").exists()  # preview records nothing
    again = invoke(["init", str(tmp_path)])
    assert again.code == 2 and "--force" in again.stderr


def test_retry_reads_the_config_once(workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import notify.config

    workspace.sandbox.fail("slack", 400, times=1)
    args = ("investigating", "--title", "T", "--message", "M", "--to", "ops-slack", "--yes")
    assert workspace.run("send", *args).code == ExitCode.DELIVERY_FAILED
    loads: list[object] = []
    load_config = notify.config.load_config

    def counted(*args: object, **kwargs: object) -> object:
        loads.append(args[0])
        return load_config(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(notify.config, "load_config", counted)
    result = workspace.run("retry", "--yes", "--json")
    assert result.code == ExitCode.OK, result.stderr
    assert result.json()["totals"]["sent"] == 1
    assert loads == [workspace.config]
