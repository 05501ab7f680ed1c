"""`python -m ballots.verify`: the report, the exit codes, and that it runs with only cryptography and rfc8785."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ballots.signatures import OrgKey
from tests.ballots.record_factory import excom_meeting, ga_meeting

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VERIFY_VENV", "/tmp/verifyvenv"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    org = OrgKey.generate()
    excom, ga = excom_meeting(org), ga_meeting(org)
    folder = tmp_path_factory.mktemp("records")
    paths = {}
    for name, value in (("excom", excom.record()), ("ga", ga.record()),
                        ("receipt", excom.vote("v2").receipts[3]), ("ga_receipt", ga.vote("v101").receipts[0])):
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
    tampered = excom.record()
    ballot = tampered["items"][0]["votes"][0]["ballots"][6]
    ballot["ballot"] = ballot["ballot"].replace('"choice":"yes"', '"choice":"no"')
    paths["tampered"] = folder / "tampered.json"
    paths["tampered"].write_text(json.dumps(tampered), encoding="utf-8")
    return paths


def run(*args: object, python: str = sys.executable, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "ballots.verify", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def test_a_sound_record_exits_0_with_a_line_per_vote(files):
    done = run(files["excom"])
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "WeGO election record: meeting excom-2025-seoul “Executive Committee Meeting, Seoul 2025” " \
                       "(Executive Committee)"
    assert any(line.startswith("Agenda 3, vote v1 (round 1): 11 ballots, root ") and line.endswith(
        "recount: adopted — OK") for line in lines)
    assert any(line.startswith("Agenda 4, vote v3 (round 2): 12 ballots") and "winner: hanoi — OK" in line
               for line in lines)
    assert lines[-1].startswith("RESULT: OK: all ")


def test_a_changed_ballot_exits_1_and_is_named(files):
    done = run(files["tampered"])
    assert done.returncode == 1
    assert "Agenda 3, vote v1 (round 1): 11 ballots" in done.stdout and "FAILED (" in done.stdout
    assert "  agenda 3, vote v1, ballot 6 (member m7): The signature does not verify under the key" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("RESULT: FAILED: ")


def test_receipts(files):
    good = run(files["excom"], "--receipt", files["receipt"])
    assert good.returncode == 0, good.stdout
    assert "RECEIPT: OK: the ballot at leaf 3 of vote v2 (code " in good.stdout
    other = run(files["excom"], "--receipt", files["ga_receipt"])
    assert other.returncode == 1
    assert "RECEIPT: FAILED" in other.stdout and "holds no vote v101" in other.stdout


def test_unreadable_files_exit_2(files, tmp_path):
    missing = run(tmp_path / "nothing.json")
    assert missing.returncode == 2 and "Cannot verify: cannot read" in missing.stderr and not missing.stdout
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert run(tmp_path / "bad.json").returncode == 2
    (tmp_path / "twice.json").write_text('{"v": 1, "v": 1}', encoding="utf-8")
    twice = run(tmp_path / "twice.json")
    assert twice.returncode == 2 and "appears twice" in twice.stderr
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    assert run(tmp_path / "latin1.json").returncode == 2
    assert run(files["excom"], "--receipt", tmp_path / "nothing.json").returncode == 2


def test_a_json_value_that_is_no_record_exits_1(tmp_path):
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    done = run(tmp_path / "list.json")
    assert done.returncode == 1 and "record: The record is not a JSON object." in done.stdout


def test_the_verifier_imports_nothing_of_the_app():
    code = ("import sys, ballots.verify, ballots.record; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlalchemy', 'voting', 'werkzeug'}); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _minimal_venv() -> Path | None:
    """A venv holding only cryptography and rfc8785 (built once; CI builds it the same way)."""
    python = VENV / "bin" / "python"
    probe = "import cryptography, rfc8785"
    if python.exists() and subprocess.run([python, "-c", probe], capture_output=True, timeout=60).returncode == 0:
        return python
    base = getattr(sys, "_base_executable", None) or shutil.which("python3")
    try:
        subprocess.run([base, "-m", "venv", "--clear", VENV], check=True, capture_output=True, timeout=120)
        subprocess.run([python, "-m", "pip", "install", "-q", "cryptography", "rfc8785"], check=True,
                       capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError):
        return None
    return python


def test_it_runs_with_only_cryptography_and_rfc8785(files):
    python = _minimal_venv()
    if python is None:
        pytest.skip(f"could not build a venv with only cryptography and rfc8785 at {VENV} (no package index?); "
                    "CI builds it")
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                            timeout=60)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert names <= {"cryptography", "rfc8785", "cffi", "pycparser", "pip", "setuptools", "wheel"}, names
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    for name in ("excom", "ga"):
        done = run(files[name], python=str(python), env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    assert run(files["tampered"], python=str(python), env=env).returncode == 1
    assert run(files["excom"], "--receipt", files["receipt"], python=str(python), env=env).returncode == 0
