"""The audience issue's acceptance scenario at 2,000 rows (benchmarks/customers.py runs 50,000):
bad rows, opt-outs and two locales, through SMS and email, every customer's messages checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.customers import run, write_scenario


def test_a_customer_list_goes_out_correctly_on_sms_and_email(tmp_path: Path, sandbox: Any) -> None:
    sandbox.reset()
    scenario = write_scenario(tmp_path, 2_000, sandbox)
    result = run(scenario, sandbox)
    assert result["sms"] == 2_000 - len(scenario.bad_phone_rows) - len(scenario.opted_out)
    assert result["emails"] == 2_000 - len(scenario.bad_email_rows)
    assert result["sendgrid_requests"] == 2  # 1,000 recipients a request
    assert result["totals"]["skipped"] == len(scenario.opted_out)
