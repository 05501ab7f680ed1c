"""CSV import and export of the roster, through the service, the page and the `voting roster` CLI:
a file is imported whole or not at all, and every bad row is named with its line and reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from voting.extensions import db, writing
from voting.models import AuditEvent, Delegate, Member
from voting.services import roster

MEMBERS_CSV = (
    "name,country,region,category,status,status_effective_on,fee_paid_through,joined_on,notes\n"
    "Seoul,Republic of Korea,Asia-Pacific,full,,,2017,2010-09-01,founding member\n"
    'Kazan,Russia,Europe,full,withdrawn,2017-06-27,,,"left in 2017, by letter"\n'
    "Jeonju,Republic of Korea,asia-pacific,friendship,,,,,\n"
)
DELEGATES_CSV = (
    "member,country,display_name,email,phone,voting\n"
    "Seoul,Republic of Korea,Seoul representative 1,Rep1@Seoul.example,+82 2 1234,yes\n"
    "Seoul,Republic of Korea,Seoul representative 2,rep2@seoul.example,,yes\n"
    "Seoul,Republic of Korea,Seoul attendee 1,att1@seoul.example,,no\n"
    "Jeonju,Republic of Korea,Jeonju attendee 1,att1@jeonju.example,,\n"
)
HEADER = "name,country,region,category\n"
GOOD = "Seoul,Republic of Korea,Asia-Pacific,full\n"

# (case, file bytes, [(line, words of the reason)])
MEMBER_CASES = [
    ("missing column", b"name,country,category\nSeoul,Republic of Korea,full\n",
     [(1, "missing column(s): region")]),
    ("unknown column", b"name,country,region,category,mayor\nSeoul,Republic of Korea,Asia-Pacific,full,Oh\n",
     [(1, "unknown column(s): mayor")]),
    ("unknown category", (HEADER + GOOD + "Ufa,Russia,Europe,honorary\n").encode(),
     [(3, "Unknown category 'honorary'; use one of: full, associate, friendship, corporate.")]),
    ("unknown region", (HEADER + GOOD + "Ufa,Russia,Atlantis,full\n").encode(),
     [(3, "Unknown region 'Atlantis'")]),
    ("duplicate within the file", (HEADER + GOOD + "Ufa,Russia,Europe,full\nseoul,REPUBLIC OF KOREA,Asia-Pacific,full\n").encode(),
     [(4, "seoul (REPUBLIC OF KOREA) is also on line 2")]),
    ("not UTF-8", HEADER.encode() + GOOD.encode() + "Bogotá,Colombia,Latin America,full\n".encode("cp1252"),
     [(3, "the file is not UTF-8 text; save it as 'CSV UTF-8'")]),
    ("empty file", b"", [(1, "the file is empty; the first line must name the columns")]),
    ("extra fields", (HEADER + GOOD + "Ufa,Russia,Europe,full,surplus\n").encode(),
     [(3, "more fields than columns")]),
    ("several bad rows", (HEADER + "Ufa,Russia,Atlantis,full\n" + GOOD + ",Russia,Europe,full\nOsh,Kyrgyzstan,Asia-Pacific,x\n").encode(),
     [(2, "Unknown region 'Atlantis'"), (4, "Name is required."), (5, "Unknown category 'x'")]),
]


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def reasons(err: roster.ImportRejected) -> list[tuple[int, str]]:
    return [(e.line, e.reason) for e in err.errors]


def assert_rejected(err: roster.ImportRejected, expected: list[tuple[int, str]]) -> None:
    got = reasons(err)
    assert len(got) == len(expected), got
    for (line, reason), (want_line, want) in zip(got, expected, strict=True):
        assert line == want_line and want in reason, (got, expected)


@pytest.fixture
def seoul(make_member: Any) -> Member:
    return make_member("Seoul", country="Republic of Korea")


def upload(client: Any, kind: str, data: bytes, filename: str = "roster.csv") -> Any:
    return client.post("/roster/import", data={"kind": kind, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


# ---------------------------------------------------------------- through the service


def test_import_members_then_delegates(session: Any) -> None:
    created = roster.import_members(MEMBERS_CSV.encode())
    assert [m.name for m in created] == ["Seoul", "Kazan", "Jeonju"]
    kazan = created[1]
    assert kazan.status.value == "withdrawn" and kazan.status_effective_on.isoformat() == "2017-06-27"
    assert kazan.notes == "left in 2017, by letter" and created[2].region == "Asia-Pacific"
    delegates = roster.import_delegates(DELEGATES_CSV.encode())
    assert [(d.member.name, d.email, d.is_voting) for d in delegates] == [
        ("Seoul", "rep1@seoul.example", True), ("Seoul", "rep2@seoul.example", True),
        ("Seoul", "att1@seoul.example", False), ("Jeonju", "att1@jeonju.example", False)]
    assert [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))] == (
        ["member.import"] * 3 + ["delegate.import"] * 4)


def test_import_accepts_a_byte_order_mark_and_any_column_order(session: Any) -> None:
    data = "\ufeffcategory,region,country,name\nfull,Europe,Russia,Kazan\n".encode()
    assert [m.display for m in roster.import_members(data)] == ["Kazan (Russia)"]


@pytest.mark.parametrize("case,data,expected", MEMBER_CASES, ids=[c[0] for c in MEMBER_CASES])
def test_bad_member_file_writes_nothing(session: Any, case: str, data: bytes, expected: list[tuple[int, str]]) -> None:
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_members(data)
    assert_rejected(exc.value, expected)
    assert "nothing was changed" in exc.value.message
    assert count(Member) == 0 and count(AuditEvent) == 0


def test_member_already_on_the_roster(session: Any, seoul: Member) -> None:
    events = count(AuditEvent)
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_members((HEADER + "Ufa,Russia,Europe,full\nSEOUL,Republic of Korea,Asia-Pacific,full\n").encode())
    assert_rejected(exc.value, [(3, "SEOUL (Republic of Korea) is already on the roster")])
    assert count(Member) == 1 and count(AuditEvent) == events


def _delegate_rows(*rows: str) -> bytes:
    return ("member,country,display_name,email,phone,voting\n" + "".join(r + "\n" for r in rows)).encode()


def test_third_voting_representative_counts_existing_ones(session: Any, seoul: Member) -> None:
    for n in (1, 2):
        roster.add_delegate(seoul, {"display_name": f"Rep {n}", "email": f"rep{n}@seoul.example", "is_voting": True})
    session.commit()
    events = count(AuditEvent)
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_delegates(_delegate_rows(
            "Seoul,Republic of Korea,Attendee,att@seoul.example,,no",
            "Seoul,Republic of Korea,Rep 3,rep3@seoul.example,,yes"))
    assert_rejected(exc.value, [(3, "Seoul would have 3 voting representatives; at most 2 are allowed")])
    assert count(Delegate) == 2 and count(AuditEvent) == events


def test_third_voting_representative_counts_earlier_rows(session: Any, seoul: Member) -> None:
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_delegates(_delegate_rows(
            "Seoul,Republic of Korea,Rep 1,rep1@seoul.example,,yes",
            "Seoul,Republic of Korea,Rep 2,rep2@seoul.example,,Y",
            "Seoul,Republic of Korea,Attendee,att@seoul.example,,",
            "Seoul,Republic of Korea,Rep 3,rep3@seoul.example,,voting"))
    assert_rejected(exc.value, [(5, "Seoul would have 3 voting representatives; at most 2 are allowed")])
    assert count(Delegate) == 0


@pytest.mark.parametrize("row,reason", [
    ("Busan,Republic of Korea,Rep,rep@busan.example,,yes", "no member 'Busan' (Republic of Korea) on the roster; import members first"),
    ("Seoul,Republic of Korea,Rep,not-an-address,,yes", "'not-an-address' is not an e-mail address."),
    ("Seoul,Republic of Korea,Rep,rep@seoul.example,,perhaps", "Voting must be yes or no, not 'perhaps'."),
    ("Seoul,Republic of Korea,Rep,rep@seoul.example,,yes,extra", "more fields than columns"),
])
def test_bad_delegate_rows(session: Any, seoul: Member, row: str, reason: str) -> None:
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_delegates(_delegate_rows("Seoul,Republic of Korea,Good,good@seoul.example,,no", row))
    assert_rejected(exc.value, [(3, reason)])
    assert count(Delegate) == 0


def test_duplicate_delegate_email(session: Any, seoul: Member) -> None:
    with pytest.raises(roster.ImportRejected) as exc:
        roster.import_delegates(_delegate_rows(
            "Seoul,Republic of Korea,A,a@seoul.example,,no", "Seoul,Republic of Korea,B,A@seoul.example,,no"))
    assert_rejected(exc.value, [(3, "a@seoul.example is also on line 2 for Seoul")])


# ---------------------------------------------------------------- through the page


def test_import_page_documents_the_columns(client: Any, login: Any) -> None:
    login("secretariat")
    body = client.get("/roster/import").get_data(as_text=True)
    for column in [*roster.MEMBER_COLUMNS, *roster.DELEGATE_COLUMNS]:
        assert f"<code>{column}</code>" in body
    assert "Asia-Pacific" in body and 'href="/roster/members.csv"' in body and 'href="/roster/delegates.csv"' in body


def test_import_page_imports_members_then_delegates(client: Any, session: Any, login: Any) -> None:
    login("secretariat")
    resp = upload(client, "members", MEMBERS_CSV.encode())
    assert resp.status_code == 302
    assert "Imported 3 members." in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = upload(client, "delegates", DELEGATES_CSV.encode())
    assert resp.status_code == 302
    assert "Imported 4 delegates." in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert count(Member) == 3 and count(Delegate) == 4
    actors = set(session.scalars(select(AuditEvent.actor).where(AuditEvent.action.like("%.import"))))
    assert actors == {"staff:secretariat-user"}


@pytest.mark.parametrize("case,data,expected", MEMBER_CASES, ids=[c[0] for c in MEMBER_CASES])
def test_import_page_lists_every_bad_row(client: Any, session: Any, login: Any, case: str, data: bytes,
                                         expected: list[tuple[int, str]]) -> None:
    login("secretariat")
    events = count(AuditEvent)
    resp = upload(client, "members", data)
    assert resp.status_code == 422
    body = resp.get_data(as_text=True).replace("&#39;", "'")
    assert "The file was not imported; nothing was changed." in body
    assert f"Rows to correct ({len(expected)})" in body
    for line, reason in expected:
        assert f"<tr><td>{line}</td><td>{reason}" in body, (line, reason)
    assert count(Member) == 0 and count(AuditEvent) == events


def test_import_page_third_voter_and_roster_duplicate(client: Any, session: Any, login: Any, seoul: Member) -> None:
    login("secretariat")
    resp = upload(client, "delegates", _delegate_rows(
        "Seoul,Republic of Korea,Rep 1,rep1@seoul.example,,yes",
        "Seoul,Republic of Korea,Rep 2,rep2@seoul.example,,yes",
        "Seoul,Republic of Korea,Rep 3,rep3@seoul.example,,yes"))
    assert resp.status_code == 422
    assert "<tr><td>4</td><td>Seoul would have 3 voting representatives" in resp.get_data(as_text=True)
    resp = upload(client, "members", (HEADER + "Seoul,Republic of Korea,Asia-Pacific,full\n").encode())
    assert resp.status_code == 422
    assert "<tr><td>2</td><td>Seoul (Republic of Korea) is already on the roster" in resp.get_data(as_text=True)
    assert count(Delegate) == 0 and count(Member) == 1


def test_import_page_without_a_file(client: Any, login: Any) -> None:
    login("secretariat")
    resp = client.post("/roster/import", data={"kind": "members"}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Choose a CSV file to import." in resp.get_data(as_text=True)


def test_export_downloads(client: Any, session: Any, login: Any) -> None:
    roster.import_members(MEMBERS_CSV.encode())
    roster.import_delegates(DELEGATES_CSV.encode())
    session.commit()
    login("secretariat")
    for name, columns in (("members", roster.MEMBER_COLUMNS), ("delegates", roster.DELEGATE_COLUMNS)):
        resp = client.get(f"/roster/{name}.csv")
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert resp.headers["Content-Disposition"] == f'attachment; filename="{name}.csv"'
        assert resp.get_data(as_text=True).splitlines()[0] == ",".join(columns)


def _fresh_app(tmp_path: Path) -> Any:
    """A second app on its own, empty, migrated SQLite database."""
    from voting import create_app, migrate
    from voting.extensions import make_engine

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "other", "WTF_CSRF_ENABLED": False,
                       "RATELIMIT_ENABLED": False, "ORG_KEY_FILE": str(tmp_path / "org2.pem")})


def test_export_then_import_into_an_empty_database_round_trips(client: Any, session: Any, login: Any,
                                                               tmp_path: Path) -> None:
    roster.import_members(MEMBERS_CSV.encode())
    roster.import_delegates(DELEGATES_CSV.encode())
    session.commit()
    login("secretariat")
    members_csv = client.get("/roster/members.csv").data
    delegates_csv = client.get("/roster/delegates.csv").data

    other = _fresh_app(tmp_path)
    try:
        with other.app_context(), writing():
            assert count(Member) == 0
            roster.import_members(members_csv)
            roster.import_delegates(delegates_csv)
            db.session.commit()
            assert roster.export_members().encode() == members_csv
            assert roster.export_delegates().encode() == delegates_csv
            assert count(Member) == 3 and count(Delegate) == 4
    finally:
        with other.app_context():
            db.remove()
            db.engine.dispose()


# ---------------------------------------------------------------- through the CLI


def test_cli_import_and_export(app: Any, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    members = tmp_path / "members.csv"
    members.write_text(MEMBERS_CSV, encoding="utf-8")
    delegates = tmp_path / "delegates.csv"
    delegates.write_text(DELEGATES_CSV, encoding="utf-8")

    result = runner.invoke(args=["roster", "import", str(members)])
    assert result.exit_code == 0, result.output
    assert "Imported 3 members." in result.output
    result = runner.invoke(args=["roster", "import", str(delegates)])  # kind guessed from the header
    assert result.exit_code == 0 and "Imported 4 delegates." in result.output

    result = runner.invoke(args=["roster", "export"])
    assert result.exit_code == 0
    with app.app_context():
        assert result.output == roster.export_members()
        assert count(Member) == 3 and count(Delegate) == 4
        assert {e.actor.split(":")[0] for e in db.session.scalars(select(AuditEvent))} == {"cli"}
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["roster", "export", "--kind", "delegates", "--out", str(out)])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").startswith("member,country,display_name")


def test_cli_import_prints_every_bad_line_and_writes_nothing(app: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + "Ufa,Russia,Atlantis,full\n" + GOOD + "Osh,Kyrgyzstan,Asia-Pacific,x\n").encode())
    result = app.test_cli_runner().invoke(args=["roster", "import", str(bad)])
    assert result.exit_code == 1
    assert "nothing was changed" in result.output
    assert "line 2: Unknown region 'Atlantis'" in result.output
    assert "line 4: Unknown category 'x'" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "Bogotá,Colombia,Latin America,full\n".encode("cp1252"))
    result = app.test_cli_runner().invoke(args=["roster", "import", "--kind", "members", str(latin)])
    assert result.exit_code == 1 and "line 2: the file is not UTF-8 text" in result.output
    with app.app_context():
        assert count(Member) == 0 and count(AuditEvent) == 0
