"""Secret ballots (issue 9) over HTTP: envelopes in the ballot log, sealed choices apart, the sealed
log written in tracker order at the close, the tellers' key on or off the server, and nothing in the
database, the server's log lines or the published record that joins a member to a choice."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ballots.client import VotingClient
from ballots.sealed import ENVELOPE_CHOICE, TellerKey, seal, tracker
from ballots.signatures import b64url_decode, b64url_encode
from tests.voting import casting_fixtures
from tests.voting.casting_fixtures import CANDIDATES, HOST_CITY_OPTIONS, Scenario, fresh, writes
from tests.voting.chair_helpers import staff_client
from tests.voting.helpers import csrf_from
from tests.voting.privacy import all_rows, assert_only_sealed_ballots_hold, row_text

db_context, live_server, scenario = casting_fixtures.db_context, casting_fixtures.live_server, casting_fixtures.scenario

VOTERS = ("A1", "B1", "C1", "D1")


def _cities() -> list[str]:
    return [i for i, _ in HOST_CITY_OPTIONS]


def _sealed_rows(vote_id: int) -> list[Any]:
    from voting.models import SealedBallot

    return list(fresh().scalars(select(SealedBallot).where(SealedBallot.vote_id == vote_id)).all())


def _submit_sealed(phone: VotingClient, vote_id: int, choice: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    signed = phone.seal_choice(phone.vote_info(vote_id), choice)
    status, answer = phone.submit(vote_id, signed)
    return status, answer, signed


def _refused(sc: Scenario, phone: VotingClient, vote_id: int, signed: dict[str, Any], reason: str, status: int,
             *words: str) -> dict[str, Any]:
    before = (sc.stored(vote_id), len(_sealed_rows(vote_id)))
    code, answer = phone.submit(vote_id, signed)
    assert (code, answer.get("reason")) == (status, reason), answer
    for word in words:
        assert word.lower() in answer["message"].lower(), (word, answer["message"])
    assert (sc.stored(vote_id), len(_sealed_rows(vote_id))) == before, "a refused ballot changed what is stored"
    return answer


def _close(sc: Scenario, vote_id: int) -> None:
    sc.close(vote_id)


def _tally(vote_id: int) -> Any:
    from voting.models import Vote
    from voting.services import results

    with writes() as s:
        return results.tally_item(s.get(Vote, vote_id).agenda_item)


# ---------------------------------------------------------------- opening a secret vote


def test_a_secret_vote_freezes_the_tellers_key_and_a_fixed_sealed_size(scenario: Scenario) -> None:
    from flask import current_app

    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    definition = json.loads(phone.vote_info(vote_id)["definition"])
    secret = definition["secret"]
    assert set(secret) == {"teller_key", "teller_key_id", "suite", "plaintext_bytes"}
    key = TellerKey.from_b64(secret["teller_key"])
    assert key.key_id == secret["teller_key_id"]
    assert secret["plaintext_bytes"] % 128 == 0
    # The private key is in instance/, readable by the server's user only.
    path = Path(current_app.instance_path) / "teller-keys" / f"{key.key_id}.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # A second secret vote of the meeting uses the same key; an open vote says secret: false.
    second = scenario.open("president", secret=True)
    assert json.loads(phone.vote_info(second)["definition"])["secret"]["teller_key_id"] == key.key_id
    public = scenario.open("motion")
    assert json.loads(phone.vote_info(public)["definition"])["secret"] is False
    assert phone.vote_info(public)["secret"] is None


def test_elections_are_secret_by_default_where_the_meeting_says_so(scenario: Scenario) -> None:
    from voting.models import Meeting

    assert scenario.vote(scenario.open("host-city")).is_secret is False
    with writes() as s:
        s.get(Meeting, scenario.meeting_id).secret_elections = True
    assert scenario.vote(scenario.open("host-city")).is_secret is True
    assert scenario.vote(scenario.open("excom-approval")).is_secret is True
    assert scenario.vote(scenario.open("motion")).is_secret is False
    assert scenario.vote(scenario.open("host-city", secret=False)).is_secret is False


def test_every_choice_of_a_vote_seals_to_the_same_length(scenario: Scenario) -> None:
    """A ciphertext's length must say nothing of the choice."""
    phone = scenario.client("A1")
    vote_id = scenario.open("excom-block", options=CANDIDATES, seats=3, secret=True)
    info = phone.vote_info(vote_id)
    ids = [c for c, _ in CANDIDATES]
    lengths = {len(b64url_decode(phone.seal_choice(info, choice)["sealed"])) for choice in ([], ids[:1], ids[:3])}
    assert len(lengths) == 1


# ---------------------------------------------------------------- casting


def test_a_secret_ballot_is_an_envelope_and_a_sealed_choice_stored_apart(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    status, answer, signed = _submit_sealed(phone, vote_id, _cities()[0])
    assert status == 201 and answer["secret"] is True
    assert answer["tracker"] == tracker(b64url_decode(signed["sealed"]))
    assert len(answer["tracker_code"]) == 11
    (envelope,) = scenario.ballots(vote_id)
    assert json.loads(envelope.bytes)["choice"] == ENVELOPE_CHOICE
    assert answer["tracker"] not in json.dumps(envelope.receipt)
    (row,) = _sealed_rows(vote_id)
    assert row.tracker == answer["tracker"] and row.leaf_index is None  # no log position until the close


def test_a_retry_with_the_same_bytes_gets_the_same_receipt(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    status, first, signed = _submit_sealed(phone, vote_id, _cities()[1])
    again_status, again = phone.submit(vote_id, signed)
    assert (status, again_status) == (201, 200)
    assert again["replay"] is True and again["receipt"] == first["receipt"] and again["tracker"] == first["tracker"]
    assert len(_sealed_rows(vote_id)) == 1 and scenario.stored(vote_id)[0] == 1


def test_another_delegate_resending_a_ballot_gets_no_receipt_and_no_tracker(scenario: Scenario) -> None:
    """Only its own delegate's retry is answered with the receipt: another city's delegate who got hold
    of the signed bytes and the sealed choice learns nothing, not even that they were cast."""
    a1, c1 = scenario.client("A1"), scenario.client("C1")
    vote_id = scenario.open("host-city", secret=True)
    status, _first, signed = _submit_sealed(a1, vote_id, _cities()[1])
    assert status == 201
    answer = _refused(scenario, c1, vote_id, signed, "wrong_delegate", 403, "another delegate")
    assert "tracker" not in answer and "receipt" not in answer


def test_double_voting_is_refused_by_the_envelope(scenario: Scenario) -> None:
    """One vote per member, whichever representative: the second envelope is refused, and its sealed
    choice is not kept."""
    first, second = scenario.client("A1"), scenario.client("A2")
    from voting.models import Delegate, Meeting
    from voting.services import attendance

    with writes() as s:
        attendance.set_presence(s.get(Meeting, scenario.meeting_id), s.get(Delegate, scenario.delegates["A2"]), True,
                                via="desk")
    vote_id = scenario.open("host-city", secret=True)
    assert _submit_sealed(first, vote_id, _cities()[0])[0] == 201
    answer = _refused(scenario, second, vote_id, second.seal_choice(second.vote_info(vote_id), _cities()[1]),
                      "already_voted", 409, "already cast", "other representative")
    assert answer["voted_by"]
    # The same envelope again with another sealed choice is a second vote too.
    signed = first.seal_choice(first.vote_info(vote_id), _cities()[1])
    _refused(scenario, first, vote_id, signed, "already_voted", 409, "already voted")


def test_the_same_envelope_resent_with_another_sealed_choice_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    status, _answer, signed = _submit_sealed(phone, vote_id, _cities()[0])
    assert status == 201
    info = phone.vote_info(vote_id)
    other = seal(TellerKey.from_b64(info["secret"]["teller_key"]), info["vote"], info["round"], info["vote_sha256"],
                 _cities()[1], int(info["secret"]["plaintext_bytes"]))
    _refused(scenario, phone, vote_id, {**signed, "sealed": b64url_encode(other)}, "already_voted", 409)


def test_a_copied_sealed_choice_is_refused(scenario: Scenario) -> None:
    """B cannot cast A's ciphertext (vote copying): a sealed choice counts once."""
    a, b = scenario.client("A1"), scenario.client("B1")
    vote_id = scenario.open("host-city", secret=True)
    _status, _answer, signed = _submit_sealed(a, vote_id, _cities()[0])
    envelope = b.sign_ballot(b.vote_info(vote_id), ENVELOPE_CHOICE)
    _refused(scenario, b, vote_id, {**envelope, "sealed": signed["sealed"]}, "sealed_replayed", 409, "already cast")


@pytest.mark.parametrize("sealed,reason,words", [
    (None, "sealed_missing", ("secret ballot", "sealed choice")),
    ("", "sealed_missing", ("secret ballot",)),
    ("not base64!", "sealed_format", ("garbled",)),
    (b64url_encode(b"x" * 40), "sealed_format", ("wrong length",)),
], ids=["missing", "empty", "garbled", "short"])
def test_a_bad_sealed_choice_is_refused(scenario: Scenario, sealed: Any, reason: str, words: tuple[str, ...]) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    signed: dict[str, Any] = phone.sign_ballot(phone.vote_info(vote_id), ENVELOPE_CHOICE)
    if sealed is not None:
        signed["sealed"] = sealed
    _refused(scenario, phone, vote_id, signed, reason, 400, *words)


def test_an_envelope_that_shows_the_choice_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    info = phone.vote_info(vote_id)
    sealed = phone.seal_choice(info, _cities()[0])["sealed"]
    signed = {**phone.sign_ballot(info, _cities()[0]), "sealed": sealed}
    _refused(scenario, phone, vote_id, signed, "choice", 422, "must not show your choice")


def test_a_sealed_choice_sent_to_an_open_vote_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city")
    signed = {**phone.sign_ballot(phone.vote_info(vote_id), _cities()[0]), "sealed": b64url_encode(b"x" * 300)}
    _refused(scenario, phone, vote_id, signed, "not_secret", 400, "not a secret ballot")


def test_a_secret_ballot_after_the_close_is_refused(scenario: Scenario) -> None:
    phone = scenario.client("A1")
    vote_id = scenario.open("host-city", secret=True)
    info = phone.vote_info(vote_id)
    _close(scenario, vote_id)
    _refused(scenario, phone, vote_id, phone.seal_choice(info, _cities()[0]), "closed", 409, "closed")


# ---------------------------------------------------------------- close, open, tally


def _election(sc: Scenario, choices: dict[str, Any], kind: str = "host-city", **open_args: Any) -> tuple[int, dict[str, str]]:
    phones = {name: sc.client(name) for name in choices}
    vote_id = sc.open(kind, secret=True, **open_args)
    trackers = {}
    for name, choice in choices.items():
        trackers[name] = phones[name].cast(vote_id, choice)["tracker"]
    return vote_id, trackers


def test_the_close_writes_the_sealed_log_in_tracker_order_and_opens_it(scenario: Scenario) -> None:
    c = _cities()
    vote_id, trackers = _election(scenario, {"A1": c[0], "B1": c[0], "C1": c[1], "D1": "abstain"})
    _close(scenario, vote_id)
    vote = scenario.vote(vote_id)
    rows = sorted(_sealed_rows(vote_id), key=lambda r: r.leaf_index)
    assert [r.tracker for r in rows] == sorted(trackers.values())  # not the order of arrival
    assert vote.sealed_checkpoint["size"] == 4 and vote.sealed_checkpoint["origin"].endswith(f"/vote/v{vote_id}/sealed")
    assert vote.opening["invalid"] == 0
    assert sorted(vote.opening["choices"]) == sorted([c[0], c[0], c[1], "abstain"])
    result = _tally(vote_id)
    assert result.error is None
    assert dict(result.outcome.counts)[c[0]] == 2 and dict(result.outcome.counts)[c[1]] == 1


def test_after_the_close_the_database_keeps_no_order_of_arrival(scenario: Scenario) -> None:
    """Not even the database's own bookkeeping lines a sealed choice up with its envelope after the
    close: SQLite's rowid and PostgreSQL's physical order (ctid) follow the trackers, and PostgreSQL's
    transaction id (xmin) is the close's, one for every sealed row and no envelope's. The phones seal
    until each tracker is below the one before, so arrival is the reverse of tracker order and a
    table that kept it would fail here."""
    from sqlalchemy import text

    c = _cities()
    plan = {"A1": c[0], "B1": c[1], "C1": c[0], "D1": "abstain"}
    phones = {name: scenario.client(name) for name in plan}
    vote_id = scenario.open("host-city", secret=True)
    arrived: list[str] = []
    for name, choice in plan.items():
        phone = phones[name]
        info = phone.vote_info(vote_id)
        signed = phone.seal_choice(info, choice)
        while arrived and tracker(b64url_decode(signed["sealed"])) > arrived[-1]:
            signed = phone.seal_choice(info, choice)
        status, answer = phone.submit(vote_id, signed)
        assert status == 201, answer
        arrived.append(answer["tracker"])
    assert arrived == sorted(arrived, reverse=True)
    _close(scenario, vote_id)

    s = fresh()
    where = {"v": vote_id}
    if s.get_bind().dialect.name == "postgresql":
        physical = s.execute(text("SELECT tracker FROM sealed_ballot WHERE vote_id = :v ORDER BY ctid"), where).scalars()
        sealed_xids = set(s.execute(text("SELECT xmin::text FROM sealed_ballot WHERE vote_id = :v"), where).scalars())
        envelope_xids = set(s.execute(text("SELECT xmin::text FROM ballot WHERE vote_id = :v"), where).scalars())
        assert len(sealed_xids) == 1 and not sealed_xids & envelope_xids
    else:
        physical = s.execute(text("SELECT tracker FROM sealed_ballot WHERE vote_id = :v ORDER BY rowid"), where).scalars()
    assert list(physical) == sorted(arrived)


def test_the_rows_the_close_rewrites_leave_no_copy_in_the_sqlite_file(scenario: Scenario) -> None:
    """The rows the close deletes (in the order of arrival, by rowid) are zeroed, not left in free
    pages where a copy of the database file would keep them: each sealed ballot's bytes are in the
    file once, in its row of the sealed log. (Enough ballots to span pages: with a handful, SQLite
    happens to overwrite the old cells anyway. Some SQLite builds zero deleted rows by default; the
    app sets PRAGMA secure_delete on every connection so that all do.)"""
    import os

    from sqlalchemy import text

    from voting.models import SealedBallot, Vote
    from voting.services import tellers

    s = fresh()
    if s.get_bind().dialect.name != "sqlite":
        pytest.skip("the SQLite file; PostgreSQL's dead rows are the autovacuum's (docs/secretariat-secret.md)")
    vote_id = scenario.open("host-city", secret=True)
    blobs = [os.urandom(176) for _ in range(120)]
    with writes() as w:
        w.add_all([SealedBallot(vote_id=vote_id, tracker=tracker(b), sealed=b) for b in blobs])
    with writes() as w:
        tellers.write_sealed_log(w.get(Vote, vote_id))
    s = fresh()
    assert s.execute(text("PRAGMA secure_delete")).scalar() == 1
    raw = _sqlite_files(s)
    assert [raw.count(b) for b in blobs] == [1] * len(blobs)


def _sqlite_files(session: Any) -> bytes:
    """The SQLite database file and its write-ahead log, as a copy of the instance folder holds them."""
    path = Path(session.get_bind().url.database)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_after_the_close_the_sqlite_write_ahead_log_no_longer_pairs_envelopes_and_sealed_ballots(
        scenario: Scenario) -> None:
    """Each ballot's transaction writes its envelope and its sealed ballot together, so SQLite's
    write-ahead log holds them side by side in the order they came. The close empties the log:
    afterwards each sealed ballot is in the files once (its row in the sealed log), no more."""
    from sqlalchemy import text

    s = fresh()
    if s.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's files; PostgreSQL's write-ahead log is its administrator's (docs/secretariat-secret.md)")
    c = _cities()
    plan = {"A1": c[0], "B1": c[1], "C1": c[0], "D1": "abstain"}
    phones = {name: scenario.client(name) for name in plan}
    vote_id = scenario.open("host-city", secret=True)
    sealed = []
    for name, choice in plan.items():
        signed = phones[name].seal_choice(phones[name].vote_info(vote_id), choice)
        assert phones[name].submit(vote_id, signed)[0] == 201
        sealed.append(b64url_decode(signed["sealed"]))
    assert any(_sqlite_files(fresh()).count(b) > 1 for b in sealed)  # the log holds copies while the vote is open
    _close(scenario, vote_id)
    s = fresh()
    assert s.execute(text("SELECT count(*) FROM sealed_ballot WHERE vote_id = :v"), {"v": vote_id}).scalar() == 4
    assert [_sqlite_files(s).count(b) for b in sealed] == [1, 1, 1, 1]


def test_a_block_election_is_tallied_from_the_openings(scenario: Scenario) -> None:
    ids = [i for i, _ in CANDIDATES]
    choices = {"A1": ids[:2], "B1": ids[:1], "C1": [ids[1], ids[2]], "D1": []}
    from voting.models import Meeting

    with writes() as s:  # an EXCOM election is the General Assembly's
        s.get(Meeting, scenario.meeting_id).body = "ga"
    vote_id, _ = _election(scenario, choices, "excom-block", options=CANDIDATES, seats=2)
    _close(scenario, vote_id)
    result = _tally(vote_id)
    assert result.error is None, result.error
    counts = dict(result.outcome.counts)
    assert (counts[ids[0]], counts[ids[1]], counts[ids[2]]) == (2, 2, 1)


def test_an_unreadable_sealed_choice_counts_as_invalid_and_weighs_as_an_abstention(scenario: Scenario) -> None:
    phones = {n: scenario.client(n) for n in ("A1", "B1", "C1")}
    vote_id = scenario.open("host-city", secret=True)
    c = _cities()
    phones["A1"].cast(vote_id, c[0])
    phones["B1"].cast(vote_id, c[0])
    info = phones["C1"].vote_info(vote_id)
    junk = os.urandom(32 + int(info["secret"]["plaintext_bytes"]) + 16)  # right length, no valid ciphertext
    signed = {**phones["C1"].sign_ballot(info, ENVELOPE_CHOICE), "sealed": b64url_encode(junk)}
    assert phones["C1"].submit(vote_id, signed)[0] == 201  # the server cannot tell before the opening
    _close(scenario, vote_id)
    vote = scenario.vote(vote_id)
    assert vote.opening["invalid"] == 1 and len(vote.opening["choices"]) == 2
    assert vote.opening["problems"] == [["it does not open with the tellers' key for this vote", 1]]
    counts = dict(_tally(vote_id).outcome.counts)
    assert counts[c[0]] == 2, counts
    assert sum(counts.values()) == 2  # the invalid one is counted as no option's vote, like an abstention


def test_a_marked_invalid_choice_is_counted_by_reason_and_never_shown(app: Any, scenario: Scenario,
                                                                      make_staff: Any) -> None:
    """A voter told to prove their vote seals a choice no ballot allows, marked for whoever paid:
    it counts as invalid, and neither what it held nor its place in the sealed log (which is its
    tracker's) is stored or shown, to the staff on the vote's page or anywhere in the database."""
    mark = "paid-by-x-4711"
    c = _cities()
    phones = {n: scenario.client(n) for n in ("A1", "B1", "C1")}
    vote_id = scenario.open("host-city", secret=True)
    phones["A1"].cast(vote_id, c[0])
    phones["B1"].cast(vote_id, c[1])
    status, answer = phones["C1"].submit(vote_id, phones["C1"].seal_choice(phones["C1"].vote_info(vote_id), mark))
    assert status == 201, answer
    _close(scenario, vote_id)
    vote = scenario.vote(vote_id)
    assert vote.opening["invalid"] == 1
    assert vote.opening["problems"] == [["it holds a choice the vote does not allow", 1]]
    for table, rows in all_rows(fresh()).items():
        assert not any(mark in row_text(r) for r in rows), table
    client = staff_client(app, make_staff, "observer", "observer-marked")
    page = client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    assert "1 invalid sealed ballot: it holds a choice the vote does not allow" in page
    assert mark not in page and "sealed ballot 1" not in page.lower()


def test_the_chair_sees_turnout_only_while_a_secret_vote_is_open(app: Any, scenario: Scenario, make_staff: Any) -> None:
    c = _cities()
    vote_id, _ = _election(scenario, {"A1": c[0], "B1": c[1]})
    client = staff_client(app, make_staff, "chair", "chair-secret")
    turnout = client.get(f"/api/chair/votes/{vote_id}/turnout").get_json()
    assert turnout["voted"] == 2 and set(turnout) <= {"vote", "state", "present", "total", "voted", "not_voted",
                                                       "checkpoint", "voted_names", "waiting_names"}
    page = client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    assert "Secret ballot." in page and "Tally" not in page and "Sealed ballots" not in page
    from voting.models import Vote

    projector = client.get(f"/api/projector/{fresh().get(Vote, vote_id).meeting_id}")
    if projector.status_code == 200:
        text = projector.get_data(as_text=True)
        assert not any(city in text for city in c)
    # Nothing is opened while the vote is open, even by the tellers.
    from voting.errors import Conflict
    from voting.services import tellers

    with pytest.raises(Conflict, match="Close the vote first"), writes() as s:
        tellers.open_vote(s.get(Vote, vote_id))


def test_a_show_of_hands_is_refused_for_a_secret_vote(scenario: Scenario, make_staff: Any) -> None:
    from voting.errors import Conflict
    from voting.models import Vote
    from voting.services import certification

    account, _ = make_staff("chair", username="chair-hands")
    vote_id = scenario.open("host-city", secret=True)
    with pytest.raises(Conflict, match="show of hands"), writes() as s:
        certification.record_hands(s.get(Vote, vote_id), {"abstain": 1}, account)


def test_a_later_round_stays_secret(scenario: Scenario) -> None:
    from voting.models import Vote
    from voting.services import results

    phones = {n: scenario.client(n) for n in VOTERS}
    three = (*HOST_CITY_OPTIONS, ("kazan", "Kazan"))
    vote_id = scenario.open("host-city", options=three, secret=True)
    c = [i for i, _ in three]
    for name, choice in zip(VOTERS, (c[0], c[1], "abstain", "abstain"), strict=True):  # c[2] is out
        phones[name].cast(vote_id, choice)
    _close(scenario, vote_id)
    with writes() as s:
        second = results.open_next_round(s.get(Vote, vote_id))
        assert second.is_secret and second.round == 2


# ---------------------------------------------------------------- the key off the server


def test_the_key_exported_and_removed_then_the_file_opens_the_ballots(scenario: Scenario) -> None:
    from voting.errors import Conflict, Invalid
    from voting.models import Meeting, Vote
    from voting.services import tellers

    c = _cities()
    vote_id, _ = _election(scenario, {"A1": c[0], "B1": c[1], "C1": c[1]})
    with writes() as s:
        row = tellers.current(s.get(Meeting, scenario.meeting_id))
        with pytest.raises(Conflict, match="Export the key"):
            tellers.remove_from_server(row, "{}")
        document = tellers.export_document(row)
    key_file = json.dumps(document)
    with writes() as s:
        row = tellers.current(s.get(Meeting, scenario.meeting_id))
        with pytest.raises(Invalid, match="not a tellers' key file"):
            tellers.remove_from_server(row, '{"type": "something else"}')
    with writes() as s:
        tellers.remove_from_server(tellers.current(s.get(Meeting, scenario.meeting_id)), key_file)
    assert not any(Path(p).name.startswith(document["key_id"]) for p in _teller_files())
    _close(scenario, vote_id)
    assert scenario.vote(vote_id).opening is None
    assert "not opened yet" in (_tally(vote_id).error or "")
    wrong = TellerKey.generate()
    bad = json.dumps({**document, "private_key": wrong.private_b64})
    with pytest.raises(Invalid, match="does not belong"), writes() as s:
        tellers.open_vote(s.get(Vote, vote_id), bad)
    with writes() as s:
        opening = tellers.open_vote(s.get(Vote, vote_id), key_file)
    assert sorted(opening["choices"]) == sorted([c[0], c[1], c[1]])
    with pytest.raises(Conflict, match="already opened"), writes() as s:
        tellers.open_vote(s.get(Vote, vote_id), key_file)


def test_a_damaged_server_copy_of_the_key_neither_breaks_the_page_nor_stops_the_close(
        app: Any, scenario: Scenario, make_staff: Any) -> None:
    """The server's key file was damaged (a bad disk, a careless edit): the chair's page still shows,
    the chair can close, and the exported file opens the sealed ballots afterwards."""
    from voting.models import Meeting, Vote
    from voting.services import tellers

    c = _cities()
    vote_id, _ = _election(scenario, {"A1": c[0], "B1": c[1]})
    with writes() as s:
        key_file = json.dumps(tellers.export_document(tellers.current(s.get(Meeting, scenario.meeting_id))))
    (path,) = [Path(p) for p in _teller_files() if Path(p).name.startswith(json.loads(key_file)["key_id"])]
    path.write_text("AAAA")
    client = staff_client(app, make_staff, "chair", "chair-damaged-key")
    assert client.get(f"/chair/votes/{vote_id}").status_code == 200
    page = client.get(f"/chair/votes/{vote_id}").get_data(as_text=True)
    closed = client.post(f"/chair/votes/{vote_id}/close", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert closed.status_code == 200
    assert "key file is needed to open the sealed ballots" in closed.get_data(as_text=True)
    vote = scenario.vote(vote_id)
    assert vote.state.value == "closed" and vote.opening is None
    with writes() as s:
        opening = tellers.open_vote(s.get(Vote, vote_id), key_file)
    assert sorted(opening["choices"]) == sorted([c[0], c[1]])


def test_a_server_without_the_key_file_neither_exports_nor_claims_to_remove_it(scenario: Scenario) -> None:
    """With several app servers, each has its own instance/: a request that lands on a server without
    the key file must not mark the key removed (the server that made it still holds it)."""
    from voting.errors import Conflict
    from voting.models import Meeting
    from voting.services import tellers

    c = _cities()
    _election(scenario, {"A1": c[0]})
    with writes() as s:
        key_file = json.dumps(tellers.export_document(tellers.current(s.get(Meeting, scenario.meeting_id))))
    key_id = json.loads(key_file)["key_id"]
    (path,) = [Path(p) for p in _teller_files() if Path(p).name.startswith(key_id)]
    path.unlink()  # as on another server
    with pytest.raises(Conflict, match=f"This server has no copy of the tellers' key {key_id}"), writes() as s:
        tellers.export_document(tellers.current(s.get(Meeting, scenario.meeting_id)))
    with pytest.raises(Conflict, match="no copy") as refused, writes() as s:
        tellers.remove_from_server(tellers.current(s.get(Meeting, scenario.meeting_id)), key_file)
    assert "several servers" in refused.value.hint
    with writes() as s:
        assert tellers.current(s.get(Meeting, scenario.meeting_id)).is_on_server


def test_the_close_stands_when_the_server_cannot_open_the_sealed_ballots(scenario: Scenario) -> None:
    """A sealed ballot went missing (it must never happen): the close is not undone, no ballot is
    accepted any more, and the opening refuses, saying why."""
    from voting.errors import Conflict
    from voting.models import SealedBallot, Vote
    from voting.services import tellers

    c = _cities()
    vote_id, trackers = _election(scenario, {"A1": c[0], "B1": c[1]})
    with writes() as s:
        s.delete(s.get(SealedBallot, (vote_id, trackers["A1"])))
    _close(scenario, vote_id)
    vote = scenario.vote(vote_id)
    assert vote.state.value == "closed" and vote.opening is None
    with pytest.raises(Conflict, match="2 signed envelopes but 1 sealed ballots"), writes() as s:
        tellers.open_vote(s.get(Vote, vote_id))


def _teller_files() -> list[str]:
    from flask import current_app

    folder = Path(current_app.instance_path) / "teller-keys"
    return [str(p) for p in folder.iterdir()] if folder.exists() else []


def test_publishing_the_key_waits_for_the_count_and_then_a_new_key_is_used(scenario: Scenario) -> None:
    from voting.errors import Conflict
    from voting.models import Meeting
    from voting.services import record_export, tellers

    c = _cities()
    vote_id, _ = _election(scenario, {"A1": c[0]})
    with pytest.raises(Conflict, match="not counted yet"), writes() as s:
        tellers.publish(tellers.current(s.get(Meeting, scenario.meeting_id)))
    _close(scenario, vote_id)
    with writes() as s:
        row = tellers.publish(tellers.current(s.get(Meeting, scenario.meeting_id)))
        published = row.key_id
    with writes() as s:
        record = record_export.build_record(s.get(Meeting, scenario.meeting_id))
    (key,) = record["secret"]["teller_keys"]
    assert key["key_id"] == published and TellerKey.from_b64(key["public_key"], key["private_key"])
    later = scenario.open("host-city", secret=True)
    phone = scenario.client("A1")
    assert json.loads(phone.vote_info(later)["definition"])["secret"]["teller_key_id"] != published


# ---------------------------------------------------------------- nothing joins a member to a choice


def test_no_row_log_line_or_record_field_joins_a_member_to_a_choice(scenario: Scenario, caplog: Any) -> None:
    """A simulated election: afterwards the sealed choices are only in sealed_ballot (tracker, bytes,
    log position), nothing else in the database or the server's log lines names a tracker or the
    sealed bytes, and the record's secret section names no member, delegate or key."""
    from voting.models import Meeting
    from voting.services import record_export

    caplog.set_level(logging.DEBUG)
    c = _cities()
    plan = {"A1": c[0], "B1": c[1], "C1": c[0], "D1": "abstain"}
    phones = {n: scenario.client(n) for n in plan}
    vote_id = scenario.open("host-city", secret=True)
    sent: dict[str, dict[str, str]] = {}
    for name, choice in plan.items():
        signed = phones[name].seal_choice(phones[name].vote_info(vote_id), choice)
        status, answer = phones[name].submit(vote_id, signed)
        assert status == 201, answer
        sent[name] = {"tracker": answer["tracker"], "sealed": signed["sealed"]}
    _close(scenario, vote_id)

    # The table of sealed choices has no column that could name a member, a delegate, a time or an order of arrival.
    rows = all_rows(fresh())
    trackers = {v["tracker"] for v in sent.values()}
    needles = trackers | {v["sealed"] for v in sent.values()} | {t[:20] for t in trackers}
    assert_only_sealed_ballots_hold(rows, needles)
    raw = {bytes(r["sealed"]) for r in rows["sealed_ballot"]}
    assert all(b64url_decode(v["sealed"]) in raw for v in sent.values())
    for envelope in rows["ballot"]:
        assert json.loads(bytes(envelope["bytes"]))["choice"] == ENVELOPE_CHOICE
    # Nothing the server logged names a tracker or a sealed choice.
    for record in caplog.records:
        message = record.getMessage()
        assert not any(n in message for n in needles), message

    with writes() as s:
        record = record_export.build_record(s.get(Meeting, scenario.meeting_id))
    section = record["secret"]
    members = {e["id"] for e in json.loads(record["items"][0]["votes"][0]["definition"])["roll"]["members"]}
    people = members | {json.loads(b["ballot"])["delegate"] for b in record["items"][0]["votes"][0]["ballots"]} \
        | {json.loads(b["ballot"])["key"] for b in record["items"][0]["votes"][0]["ballots"]}

    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [*value.keys(), *[s for v in value.values() for s in strings(v)]]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    assert not (set(strings(section)) & people), "the secret section names a member, delegate or key"
    entry = section["votes"][f"v{vote_id}"]
    assert entry["sealed"] == sorted(entry["sealed"], key=lambda s: tracker(b64url_decode(s)))
    assert entry["opening"]["choices"] == sorted(entry["opening"]["choices"])
    # No tracker is written anywhere in the record (only the sealed bytes, whose hash it is).
    text = json.dumps(record)
    assert not any(t in text for t in trackers)
