"""`schedule:` in channels.yaml: typed when right, one line with where and how to fix when not."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from notify.config import InvalidConfig, load_config_text
from notify.config.schedule import DEFAULT_LATE_LIMIT, Schedule, parse_span

BASE = """\
version: 1
channels:
  ops-hook:
    type: webhook
    url: https://hooks.acme.example/ops
  status-hook:
    type: webhook
    url: https://hooks.acme.example/status
groups:
  internal: [ops-hook]
"""


def load(schedule: str, tmp_path: Path) -> Schedule | None:
    text = BASE + textwrap.dedent(schedule)
    return load_config_text(text, name="channels.yaml", base_dir=tmp_path).schedule


def problems(schedule: str, tmp_path: Path) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        load(schedule, tmp_path)
    return caught.value.problems


def test_the_contract_sample_loads_typed(tmp_path: Path) -> None:
    schedule = load(
        """\
        schedule:
          reminders_to: internal
          remind_before: 5m
          maintenance_reminders: [1h, 24h]
          maintenance_auto: true
          feedback_after: 2h
          late_limit: 15m
        """,
        tmp_path,
    )
    assert schedule == Schedule(
        reminders_to="internal",
        remind_before=timedelta(minutes=5),
        maintenance_reminders=(timedelta(hours=24), timedelta(hours=1)),  # longest first
        maintenance_auto=True,
        feedback_after=timedelta(hours=2),
        late_limit=timedelta(minutes=15),
    )


def test_no_schedule_is_none_and_an_empty_one_does_nothing(tmp_path: Path) -> None:
    assert load("", tmp_path) is None
    empty = load("schedule: {}\n", tmp_path)
    assert empty == Schedule() and not empty.reminds
    assert empty.late_limit == DEFAULT_LATE_LIMIT
    assert load("schedule:\n  reminders_to: ops-hook\n", tmp_path) == Schedule("ops-hook")


def test_each_mistake_has_its_line_and_a_suggestion(tmp_path: Path) -> None:
    found = problems(
        """\
        schedule:
          reminders_to: internl
          remind_before: 5
          maintenance_reminders: [24h, soon]
          maintenance_auto: yes please
          feedback_after: 2 hours
          late_limt: 15m
        """,
        tmp_path,
    )
    assert found == [
        "channels.yaml:12: schedule.reminders_to: reminders_to 'internl' is neither a channel "
        "nor a group. did you mean 'internal'?",
        "channels.yaml:13: schedule.remind_before: remind_before 5 is not a duration. "
        "give it a unit: 5m or 5h",
        "channels.yaml:14: schedule.maintenance_reminders[1]: maintenance_reminders: 'soon' is "
        "not a duration. write a list of durations before the start, like [24h, 1h]",
        "channels.yaml:15: schedule.maintenance_auto: expected true or false, got 'yes please'",
        "channels.yaml:16: schedule.feedback_after: feedback_after '2 hours' is not a duration. "
        "write a duration like 5m, 1h, 1h30m or 2d",
        "channels.yaml:17: schedule.late_limt: unknown key 'late_limt' in schedule. "
        "did you mean 'late_limit'?",
    ]


def test_schedule_must_be_a_mapping_and_reminders_need_a_target(tmp_path: Path) -> None:
    assert problems("schedule: [5m]\n", tmp_path)[0].startswith(
        "channels.yaml:11: schedule: expected a mapping"
    )
    assert problems("schedule:\n  remind_before: 5m\n", tmp_path) == [
        "channels.yaml:12: schedule.remind_before: remind_before needs reminders_to, the team's "
        "channel or group. add `reminders_to: <a channel or group of the team>`"
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("45s", 45), ("1d", 86400), ("10min", 600)],
)
def test_spans(text: str, seconds: int) -> None:
    assert parse_span(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0m", "5", "h", "soon", "5m later", "-5m"])
def test_not_spans(text: str) -> None:
    assert parse_span(text) is None
