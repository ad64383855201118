"""Hostile input through the real CLI: YAML alias bombs in every YAML notify reads, and templates
that would render forever or produce gigabytes, are refused with exit 2 in seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cli.hostile import webhook_config
from tests.conftest import invoke_process

SEND = ["send", "investigating", "--title", "Search down", "--message", "Looking", "--yes"]

# "Billion laughs": nine levels of nine aliases, 9**9 (387 million) values from 700 bytes.
LAUGHS = """a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _refused_quickly(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run notify in its own process (a regression hangs it, not the suite): exit 2 within
    seconds, one line on stderr. Returns stderr."""
    started = time.monotonic()
    result = invoke_process(["--config", "channels.yaml", *args], cwd=folder, env=env, timeout=90)
    seconds = time.monotonic() - started
    assert result.code == 2, result.output
    assert seconds < 15, f"{seconds:.1f} s"
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def test_an_alias_bomb_in_channels_yaml_is_refused(tmp_path: Path) -> None:
    config = (
        webhook_config("http://127.0.0.1:9/hook") + "x-bomb:\n  " + LAUGHS.replace("\n", "\n  ")
    )
    (tmp_path / "channels.yaml").write_text(config)
    stderr = _refused_quickly(tmp_path, "check")
    assert "channels.yaml:" in stderr and "aliases expand" in stderr


def test_an_alias_bomb_in_vars_is_refused_before_the_journal(tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_text(webhook_config("http://127.0.0.1:9/hook"))
    (tmp_path / "vars.yaml").write_text(LAUGHS)
    stderr = _refused_quickly(tmp_path, *SEND, "--vars", "vars.yaml")
    assert "vars.yaml:" in stderr and "aliases expand" in stderr
    assert not (tmp_path / ".notify" / "journal.db").exists() or "lol" not in (
        tmp_path / ".notify" / "journal.db"
    ).read_bytes().decode("latin-1")


def test_an_alias_bomb_in_a_yaml_audience_is_refused(tmp_path: Path) -> None:
    config = webhook_config("http://127.0.0.1:9/hook").replace(
        "channels:\n",
        "channels:\n  mail:\n    type: email\n    host: 127.0.0.1\n    port: 9\n"
        "    security: none\n    from: status@acme.example\n    to: people.yaml\n",
    )
    (tmp_path / "channels.yaml").write_text(config)
    laughs = "".join(f"  {line}\n" for line in LAUGHS.splitlines())
    (tmp_path / "people.yaml").write_text(f"- email: ann@acme.example\n{laughs}")
    stderr = _refused_quickly(tmp_path, "preview", "investigating", "--title", "t")
    assert "people.yaml:" in stderr and "aliases expand" in stderr


TEMPLATES = {
    # Nested loops that print nothing: only a deadline stops them.
    "loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    # Nested loops over a literal list: no call, no output, 10**8 iterations.
    "literal": "{% set l = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] %}"
    + "{% for a in l %}" * 8
    + "{% endfor %}" * 8,
    # One C-level operation asking for a gigabyte.
    "gigabyte": "{{ 'x' * 10**9 }}",
    "power": "{{ 10 ** 100000000 }}",
    # Output that grows without end.
    "flood": "{% for a in range(100000) %}{% for b in range(100000) %}xxxxxxxx{% endfor %}"
    "{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_a_runaway_template_is_stopped_naming_it(tmp_path: Path, name: str) -> None:
    (tmp_path / "channels.yaml").write_text(
        webhook_config("http://127.0.0.1:9/hook") + "templates: templates\n"
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / f"{name}.j2").write_text(
        "---\nstatus: investigating\n---\n{% block short %}x{% endblock %}\n"
        f"{{% block body %}}{TEMPLATES[name]}{{% endblock %}}\n"
    )
    stderr = _refused_quickly(
        tmp_path, "preview", name, "--title", "t", env={"NOTIFY_TEMPLATE_TIMEOUT": "1"}
    )
    assert f"templates/{name}.j2:" in stderr and "stopped" in stderr, stderr
