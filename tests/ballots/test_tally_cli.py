"""`python -m ballots.tally CASE.json`: exit 0 with the outcome as JSON, exit 2 for a bad case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ballots.rules import RULESETS_DIR

ROOT = Path(__file__).resolve().parents[2]
EXCOM = [f"c{i:02d}" for i in range(14)]
GA = [f"g{i:02d}" for i in range(20)]


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "ballots.tally", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, case: dict[str, Any], name: str = "case.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(case), encoding="utf-8")
    return str(path)


# One case per decision kind, with the decision the CLI must print.
CASES = {
    "motion": ({"rule_set": "wego-2017", "decision": "motion", "body": "excom", "members": EXCOM[:13],
                "present": EXCOM[:4], "ballots": {"c00": "yes", "c01": "yes", "c02": "no", "c03": "abstain"}},
               "adopted"),
    "special-session": ({"rule_set": "wego-2014", "decision": "special-session", "members": EXCOM,
                         "present": EXCOM, "ballots": {m: "yes" for m in EXCOM[:13]}}, "not_adopted"),
    "dissolve-regional-office": ({"rule_set": "wego-2014", "decision": "dissolve-regional-office",
                                  "members": EXCOM[:15], "present": EXCOM[:5],
                                  "ballots": {m: "yes" for m in EXCOM[:4]}}, "adopted"),
    "dissolve-in-writing": ({"rule_set": "wego-2014", "decision": "dissolve-regional-office", "members": EXCOM,
                             "answers": {m: "consent" for m in EXCOM}, "deadline_passed": False}, "adopted"),
    "regional-office-bid": ({"rule_set": "wego-2017", "decision": "regional-office-bid", "members": EXCOM,
                             "present": EXCOM, "options": ["nairobi", "kigali"],
                             "ballots": {**{m: "nairobi" for m in EXCOM[:5]}, **{m: "kigali" for m in EXCOM[5:10]}},
                             "casting_vote": "kigali"}, "winner"),
    "written-consent": ({"rule_set": "wego-2017", "decision": "written-consent", "members": EXCOM,
                         "answers": [{"member": m, "answer": "consent", "at": f"2017-06-20T10:{i:02d}:00+09:00"}
                                     for i, m in enumerate(EXCOM[:8])],
                         "deadline_passed": False}, "adopted"),
    "host-city": ({"rule_set": "wego-2017", "decision": "host-city", "body": "excom", "members": EXCOM,
                   "present": EXCOM[:12], "options": ["sejong", "hanoi"],
                   "ballots": [{m: ("sejong" if i < 6 else "hanoi") for i, m in enumerate(EXCOM[:12])}]},
                  "awaiting_casting_vote"),
    "excom-election": ({"rule_set": "wego-2017", "decision": "excom-election", "members": GA, "present": GA,
                        "candidates": ["a", "b", "c"], "seats": 2, "regions": {"a": "Asia", "b": "Africa", "c": "Asia"},
                        "ballots": {m: ["a", "b"] if i < 12 else ["c"] for i, m in enumerate(GA)}}, "elected"),
    "president": ({"rule_set": "wego-2017", "decision": "president", "members": GA, "present": GA,
                   "candidates": ["seoul"], "ballots": {m: "yes" for m in GA[:15]}}, "elected"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_decision_kind_prints_json_and_exits_0(tmp_path, name):
    case, decision = CASES[name]
    result = run([write(tmp_path, case)])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    outcome = json.loads(result.stdout)
    assert outcome["decision"] == decision
    for key in ("decision", "quorum", "counts", "winners", "remaining", "tied", "explanation"):
        assert key in outcome
    assert outcome["explanation"] and all(step["article"] for step in outcome["explanation"])


def test_output_is_deterministic(tmp_path):
    case, _ = CASES["excom-election"]
    first = run([write(tmp_path, case, "a.json")]).stdout
    reordered = {**case, "ballots": dict(reversed(list(case["ballots"].items())))}
    second = run([write(tmp_path, reordered, "b.json")]).stdout
    assert first == second


def test_reads_standard_input():
    case, decision = CASES["motion"]
    result = run(["-"], stdin=json.dumps(case))
    assert result.returncode == 0 and json.loads(result.stdout)["decision"] == decision


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"rule_set": "wego-2017", "decision": "motion", "body": "excom", "members": ["a"], "present": ["a"], '
     '"ballots": {"b": "yes"}}', "'b' is not a voting member"),
    ('{"rule_set": "wego-2017", "decision": "motion", "body": "excom", "members": ["a"], "present": ["a"], '
     '"ballots": {"a": "yes", "a": "no"}}', "'a' appears twice"),
    ("{not json", "not valid JSON"),
    ('{"rule_set": "nope", "decision": "motion"}', "no rule set 'nope'"),
])
def test_bad_case_exits_2_with_the_reason_on_stderr(tmp_path, text, fragment):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    result = run([str(path)])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("bad case: ")
    assert fragment in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = run([str(tmp_path / "absent.json")])
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_rulesets_directory_option(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (RULESETS_DIR / "wego-2017.toml").read_text(encoding="utf-8")
    text = text.replace('id = "wego-2017"', 'id = "acme-2030"').replace('ga = "1/4"', 'ga = "1/2"')
    (rules / "acme-2030.toml").write_text(text, encoding="utf-8")
    case = {"rule_set": "acme-2030", "decision": "motion", "body": "ga", "members": GA, "present": GA[:9],
            "ballots": {m: "yes" for m in GA[:9]}}
    result = run([write(tmp_path, case), "--rulesets", str(rules)])
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["rule_set"] == "acme-2030"
    assert outcome["quorum"] == {"present": 9, "total": 20, "required": 10, "met": False}
