"""Issue 10: `voting backup` and `voting restore` carry a meeting, its signed ballots, certificates and
hash chains into an empty database of either kind (SQLite and PostgreSQL, both ways) unchanged; a
database with data, a damaged file or another organization key is refused with nothing written."""

from __future__ import annotations

import gzip
import itertools
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from ballots.record import verify_record
from ballots.signatures import OrgKey
from tests.voting.chair_helpers import open_vote, phone_for, staff_device
from voting.extensions import Base, db, write_intent
from voting.models import Ballot, Meeting, Member, Vote, VoteState
from voting.services import attendance, casting, record_export, roster
from voting.services import meetings as meeting_service
from voting.services.audit import verify_audit_chain

PG_URL = os.environ.get("VOTING_TEST_DATABASE_URL")
DIALECTS = ["sqlite", "postgresql"]


def run_cli(app: Any, *args: str) -> Any:
    """Run a `voting` command against this app (its context on top, whatever else is pushed)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def contents(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, by primary key, with SQL NULL told apart from JSON null."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    reader = write_intent.set(False)
    with app.app_context(), db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            flags = [c.is_(None) for c in table.columns if c.type.__class__.__name__ == "JSON"]
            rows = conn.execute(select(*table.columns, *flags).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    write_intent.reset(reader)
    return out


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """New empty databases: "sqlite" (a new file) or "postgresql" (a new database beside the test one)."""
    counter = itertools.count(1)
    made: list[str] = []
    admin = None
    base = make_url(PG_URL) if PG_URL else None

    def make(kind: str) -> str:
        nonlocal admin
        n = next(counter)
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'restored-{n}.sqlite'}"
        if base is None:
            pytest.skip("restoring into PostgreSQL needs VOTING_TEST_DATABASE_URL")
        name = f"{base.database}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_restore{n}"
        admin = admin or create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def other_app(app: Any, app_config: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """Another instance of the app on another database (same organization key unless told)."""
    from voting import create_app

    made: list[Any] = []

    def make(url: str, **config: Any) -> Any:
        other = create_app({**app_config, "DATABASE_URL": url, **config})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.remove()
            db.engine.dispose()


@pytest.fixture
def assembly(app: Any, session: Any, make_member: Any, make_staff: Any) -> dict[str, Any]:
    """A General Assembly with four members present on enrolled phones: a motion voted, closed and
    certified, a second motion still open with one ballot, a suspended member and a non-voting delegate."""
    meeting = meeting_service.create_meeting({
        "key": "ga-2031", "title": "8th General Assembly", "body": "ga", "rule_set": "wego-2017",
        "starts_at": "2031-09-01T09:00+09:00", "ends_at": "2031-09-03T18:00+09:00"})
    first = meeting_service.add_agenda_item(meeting, {"number": "1", "title": "Budget 2032", "decision": "motion"})
    second = meeting_service.add_agenda_item(meeting, {"number": "2", "title": "Work plan 2032", "decision": "motion"})
    session.commit()
    members = [make_member(f"Backup City {n}", joined_on="2015-05-01") for n in range(4)]
    make_member("Lapsed City", status="suspended", status_effective_on="2031-01-01")
    phones = []
    for member in members:
        rep = roster.add_delegate(member, {"display_name": f"{member.name} delegate", "email": f"d@{member.id}.example",
                                           "phone": "+82 2 0000 0000", "voting": "yes"})
        roster.add_delegate(member, {"display_name": f"{member.name} adviser", "email": f"a@{member.id}.example",
                                     "voting": "no"})
        attendance.set_presence(meeting, rep, True, via="desk")
        session.commit()
        phones.append((rep, phone_for(app, session, rep)))
    chair = staff_device(app, make_staff, "chair")

    budget = open_vote(chair, first.id, "Does the General Assembly adopt the budget for 2032?")
    for _rep, phone in phones[:3]:
        phone.vote(budget, "yes")
    rep, phone = phones[3]
    signed = phone.ballot(budget, "no")  # the last one straight through the casting service
    casting.cast(budget, signed["ballot"], signed["signature"], rep)
    session.commit()
    assert chair.client.post(f"/chair/votes/{budget}/close").status_code == 302
    chair.certify(budget)
    plan = open_vote(chair, second.id, "Does the General Assembly adopt the work plan for 2032?")
    phones[0][1].vote(plan, "abstain")
    session.commit()
    session.expire_all()
    assert session.get(Vote, budget).state == VoteState.CERTIFIED
    session.commit()  # SQLite: end the fixture's writing transaction (it holds the write lock)
    return {"meeting_key": meeting.key, "budget": budget, "plan": plan}


def _record(app: Any, meeting_key: str) -> dict[str, Any]:
    with app.app_context():
        meeting = db.session.scalars(select(Meeting).where(Meeting.key == meeting_key)).one()
        record = record_export.build_record(meeting, certified_only=True)
        db.session.rollback()
        return record


def _check_restored(app: Any, source: dict[str, list[tuple[Any, ...]]], meeting_key: str,
                    record: dict[str, Any]) -> None:
    assert contents(app) == source
    verified = run_cli(app, "audit", "verify")
    assert verified.exit_code == 0 and "Audit chain holds" in verified.output, verified.output
    with app.app_context():
        assert verify_audit_chain() is None
        for ballot in db.session.scalars(select(Ballot)):
            import hashlib

            assert hashlib.sha256(ballot.bytes).hexdigest() == ballot.bytes_sha256
        db.session.rollback()
    restored = _record(app, meeting_key)
    assert restored == record  # the published record, byte for byte as a value
    report = verify_record(restored)
    assert report.ok, report.to_text()
    assert sum(len(i["votes"]) for i in restored["items"]) == 1 and restored["registry"]


@pytest.mark.parametrize("target", DIALECTS)
def test_backup_restores_into_an_empty_database_and_back(
        app: Any, session: Any, assembly: dict[str, Any], empty_database: Any, other_app: Any, tmp_path: Path,
        target: str) -> None:
    source_kind = make_url(app.config["DATABASE_URL"]).get_backend_name()
    source = contents(app)
    record = _record(app, assembly["meeting_key"])
    assert verify_record(record).ok

    out = tmp_path / "wego.jsonl.gz"
    made = run_cli(app, "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert f"Wrote {out}" in made.output and "password hashes" in made.output
    assert out.stat().st_mode & 0o777 == 0o600
    assert not out.with_name(out.name + ".partial").exists()

    restored = other_app(empty_database(target))
    loaded = run_cli(restored, "restore", str(out))
    assert loaded.exit_code == 0, loaded.output
    assert "Audit chain holds" in loaded.output and "Created the database schema first" in loaded.output
    _check_restored(restored, source, assembly["meeting_key"], record)

    # ... and back again, through a second backup made from the restored database.
    again = tmp_path / "again.jsonl.gz"
    assert run_cli(restored, "backup", "--out", str(again)).exit_code == 0
    back = other_app(empty_database(source_kind))
    assert run_cli(back, "restore", str(again)).exit_code == 0
    _check_restored(back, source, assembly["meeting_key"], record)

    # New rows take fresh ids after the restored ones (PostgreSQL sequences were moved on).
    with restored.app_context():
        before = db.session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1))
        member = roster.create_member({"name": "After Restore", "country": "Testland", "region": "Europe",
                                       "category": "full"})
        db.session.commit()
        assert member.id == before + 1


def test_restoring_into_a_database_with_data_is_refused(
        app: Any, session: Any, assembly: dict[str, Any], empty_database: Any, other_app: Any, tmp_path: Path) -> None:
    out = tmp_path / "wego.jsonl.gz"
    assert run_cli(app, "backup", "--out", str(out)).exit_code == 0
    before = contents(app)
    refused = run_cli(app, "restore", str(out))
    assert refused.exit_code == 1
    assert "already holds data" in refused.output and "empty database" in refused.output, refused.output
    assert contents(app) == before

    # A single member is enough to refuse.
    other = other_app(empty_database("sqlite"))
    with other.app_context():
        from voting import migrate

        migrate.upgrade(db.engine)
        roster.create_member({"name": "Only One", "country": "Testland", "region": "Europe", "category": "full"})
        db.session.commit()
    refused = run_cli(other, "restore", str(out))
    assert refused.exit_code == 1 and "member: 1 rows" in refused.output, refused.output

    # A migrated database without rows (only the migrations' genesis chain heads) is empty.
    migrated = other_app(empty_database("sqlite"))
    with migrated.app_context():
        from voting import migrate

        migrate.upgrade(db.engine)
    loaded = run_cli(migrated, "restore", str(out))
    assert loaded.exit_code == 0 and "Created the database schema" not in loaded.output, loaded.output
    assert contents(migrated) == before


def _rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(change(lines))))


def _alter_a_ballot(lines: list[bytes]) -> list[bytes]:
    """Well-formed JSON, wrong content: the first ballot's leaf index changed."""
    import json

    columns = next(t["columns"] for t in json.loads(lines[0])["tables"] if t["name"] == "ballot")
    at = lines.index(b'{"table":"ballot"}\n') + 1
    row = json.loads(lines[at])
    row[[c[0] for c in columns].index("leaf_index")] += 1000
    lines[at] = json.dumps(row, separators=(",", ":")).encode() + b"\n"
    return lines


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "garbled": lambda p: p.write_bytes((lambda b: b[:len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF]) + b[len(b) // 2 + 1:])(
        p.read_bytes())),
    "altered row": lambda p: _rewrite(p, _alter_a_ballot),
    "last line lost": lambda p: _rewrite(p, lambda lines: lines[:-1]),
    "rows dropped": lambda p: _rewrite(p, lambda lines: lines[:5] + lines[9:]),
    "uncompressed and cut": lambda p: p.write_bytes(gzip.decompress(p.read_bytes())[:-40]),
    "not a backup": lambda p: p.write_text("name,country\nSeoul,Korea\n"),
    "empty": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_backup_is_refused_and_nothing_is_written(
        app: Any, session: Any, assembly: dict[str, Any], empty_database: Any, other_app: Any, tmp_path: Path,
        damage: str) -> None:
    out = tmp_path / "wego.jsonl.gz"
    assert run_cli(app, "backup", "--out", str(out)).exit_code == 0
    DAMAGE[damage](out)
    target = other_app(empty_database("sqlite"))
    refused = run_cli(target, "restore", str(out))
    assert refused.exit_code == 1, refused.output
    assert "Nothing was restored" in refused.output, refused.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []  # not even the schema


def test_the_organization_key_must_match_unless_forced(
        app: Any, session: Any, assembly: dict[str, Any], empty_database: Any, other_app: Any, tmp_path: Path) -> None:
    out = tmp_path / "wego.jsonl.gz"
    assert run_cli(app, "backup", "--out", str(out)).exit_code == 0
    with app.app_context():
        from voting.keys import org_key

        ours = org_key().key_id

    stranger = tmp_path / "stranger.pem"
    OrgKey.generate().save_pem(stranger)
    other = other_app(empty_database("sqlite"), ORG_KEY_FILE=str(stranger))
    refused = run_cli(other, "restore", str(out))
    assert refused.exit_code == 1 and ours in refused.output and "signed by" in refused.output, refused.output
    with other.app_context():
        assert inspect(db.engine).get_table_names() == []
    forced = run_cli(other, "restore", "--force", str(out))
    assert forced.exit_code == 0 and "differs from the backup's" in forced.output, forced.output

    missing = tmp_path / "none" / "org.pem"
    bare = other_app(empty_database("sqlite"), ORG_KEY_FILE=str(missing))
    refused = run_cli(bare, "restore", str(out))
    assert refused.exit_code == 1 and "no organization signing key" in refused.output, refused.output
    assert not missing.exists()


def test_a_backup_with_keys_installs_the_key_on_a_new_instance(
        app: Any, session: Any, assembly: dict[str, Any], empty_database: Any, other_app: Any, tmp_path: Path) -> None:
    out = tmp_path / "wego-with-key.jsonl.gz"
    made = run_cli(app, "backup", "--with-keys", "--out", str(out))
    assert made.exit_code == 0 and "PRIVATE SIGNING KEY" in made.output, made.output
    record = _record(app, assembly["meeting_key"])

    key_file = tmp_path / "new-instance" / "org_signing_key.pem"
    fresh = other_app(empty_database("sqlite"), ORG_KEY_FILE=str(key_file))
    loaded = run_cli(fresh, "restore", str(out))
    assert loaded.exit_code == 0 and "Installed the backup's organization signing key" in loaded.output, loaded.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert _record(fresh, assembly["meeting_key"]) == record and verify_record(record).ok


def test_trust_proxy_hops_takes_the_client_from_the_proxy_headers(app_config: dict[str, Any], app: Any) -> None:
    """Deployment (docs/deploy.md): behind nginx, TRUST_PROXY_HOPS = 1 makes the forwarded client
    address, scheme and host the request's; without it the headers are ignored."""
    from flask import request

    from voting import create_app

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "vote.we-gov.org"}
    seen = []
    for hops in (0, 1):
        proxied = create_app({**app_config, "TRUST_PROXY_HOPS": hops})
        proxied.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme} {request.host}")
        seen.append(proxied.test_client().get("/_whoami", headers=headers).get_data(as_text=True))
        with proxied.app_context():
            db.engine.dispose()
    assert seen == ["127.0.0.1 http localhost", "203.0.113.7 https vote.we-gov.org"]


def test_backup_records_schema_and_key(app: Any, session: Any, assembly: dict[str, Any], tmp_path: Path) -> None:
    import json

    from voting.backup import check_backup, head_revision

    out = tmp_path / "wego.jsonl.gz"
    assert run_cli(app, "backup", "--out", str(out)).exit_code == 0
    backup = check_backup(out)
    with app.app_context():
        from voting.keys import org_key

        assert backup.header["alembic_revision"] == head_revision(db.engine)
        assert backup.header["organization"]["public_key"] == org_key().public_spki_b64()
    assert backup.header["signing_key_pem"] is None and b"PRIVATE KEY" not in gzip.decompress(out.read_bytes())
    assert [t["name"] for t in backup.header["tables"]] == [t.name for t in Base.metadata.sorted_tables]
    assert backup.rows["ballot"] == 5 and backup.rows["certificate"] == 1
    first = json.loads(gzip.decompress(out.read_bytes()).splitlines()[0])
    assert first["format"] == "wego-voting-backup" and first["version"] == 1
    assert date.fromisoformat(first["created_at"][:10])


def test_values_keep_sql_null_apart_from_json_null() -> None:
    from sqlalchemy import JSON
    from sqlalchemy.sql.elements import Null

    from voting.backup import _decode, _encode

    assert _encode("json", None, True) is None and _encode("json", None, False) == [None]
    assert isinstance(_decode("json", None), Null) and _decode("json", [None]) is JSON.NULL
    assert _decode("json", [{"a": [1, None]}]) == {"a": [1, None]}
    assert _encode("binary", b"\x00\xff") == "AP8=" and _decode("binary", "AP8=") == b"\x00\xff"
    with pytest.raises(ValueError):
        _decode("binary", "not base64!")
    with pytest.raises(ValueError):
        _decode("int", True)
