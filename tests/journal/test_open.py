"""open_journal picks a backend by the location's scheme; the journal package keeps to its layer."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from notify import secrets
from notify.errors import JournalError
from notify.journal import ALIASES, BACKENDS, PLANNED, Journal, open_journal
from notify.journal.sqlite import SqliteJournal

PACKAGE = Path(__file__).resolve().parents[2] / "notify" / "journal"
# The journal knows nothing of providers, rendering or delivery (DESIGN.md).
ALLOWED = ("notify.journal", "notify.model", "notify.errors", "notify.secrets")


@pytest.mark.parametrize(
    "location",
    [
        lambda tmp: tmp / "a" / "journal.db",
        lambda tmp: str(tmp / "a" / "journal.db"),
        lambda tmp: f"sqlite://{tmp / 'a' / 'journal.db'}",
        lambda tmp: f"SQLite://{tmp / 'a' / 'journal.db'}",
    ],
    ids=["Path", "str", "sqlite-url", "scheme-in-capitals"],
)
def test_a_path_or_a_sqlite_url_opens_a_sqlite_file(tmp_path: Path, location: object) -> None:
    journal = open_journal(location(tmp_path))  # type: ignore[operator]
    assert isinstance(journal, SqliteJournal)
    assert journal.path == tmp_path / "a" / "journal.db"
    assert journal.path.exists()
    journal.close()


def test_a_sqlite_url_without_a_path_is_refused() -> None:
    with pytest.raises(JournalError) as err:
        open_journal("sqlite://")
    assert "file path" in str(err.value)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_a_postgresql_url_opens_the_postgresql_backend_and_its_password_is_never_shown(
    scheme: str,
) -> None:
    # Nothing listens on port 1: the backend was picked, and says it can't reach the server.
    location = f"{scheme}://notify:hunter2-pw@127.0.0.1:1/notify"
    with pytest.raises(JournalError) as err:
        open_journal(location)
    text = str(err.value)
    assert "cannot reach the PostgreSQL server at 127.0.0.1:1" in text
    assert "hunter2-pw" not in text
    assert f"{scheme.lower()}://notify:***@127.0.0.1:1/notify" in text
    assert secrets.redact("password hunter2-pw") == "password ***"


def test_an_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(JournalError) as err:
        open_journal("mysql://root:pw-of-root@localhost/notify")
    assert "no journal backend for mysql://" in str(err.value)
    assert "pw-of-root" not in str(err.value)


def test_every_registered_backend_is_a_package_that_opens_locations() -> None:
    assert set(ALIASES.values()) <= set(BACKENDS) | set(PLANNED)
    for scheme, module_name in BACKENDS.items():
        backend = importlib.import_module(module_name)
        assert callable(backend.open_location), scheme
        assert Path(backend.__file__ or "").name == "__init__.py", f"{module_name}: a package"
        assert module_name.startswith("notify.journal.")


def test_the_journal_imports_only_the_model_errors_and_secrets() -> None:
    for file in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(file.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name == "notify" or not name.startswith("notify."):
                    continue
                assert name.startswith(ALLOWED), f"{file.relative_to(PACKAGE)} imports {name}"


def test_every_journal_module_says_its_job_and_stays_short() -> None:
    for file in sorted(PACKAGE.rglob("*.py")):
        source = file.read_text()
        doc = ast.get_docstring(ast.parse(source))
        assert doc and doc.splitlines()[0].strip(), f"{file.name}: no one-line docstring"
        assert len(source.splitlines()) <= 400, f"{file.name} is over 400 lines"


def test_the_interface_declares_batch_claims() -> None:
    assert callable(Journal.claim_many) and callable(Journal.finish_many)
