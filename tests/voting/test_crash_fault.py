"""Crashes and faults (issue 10, items 3 and 4), short enough for CI; bench/crash.py is the long run.

* kill -9 of gunicorn's whole process group, three times while phones cast 150 ballots: every
  ballot whose receipt a phone received is in the log at its index, none twice, and the certified
  record verifies (on SQLite, or on PostgreSQL when VOTING_TEST_DATABASE_URL is set);
* the database out of reach for 5 seconds while phones cast: each gets a 503 that says to try
  again (JSON for the phone, a page for a person, Retry-After), sends the same signed bytes again,
  and is accepted once when the database is back; a further retry gets the same receipt;
* the connection lost at the commit, before or after the database committed: a 503, and the same
  bytes again are accepted once (or answered with the receipt of the ballot already stored);
* a phone that loses the network after sending: the server stored the ballot, the phone never
  heard; it sends the same bytes again and gets the same receipt, and there is one ballot.

Marked `crash`: part of the default suite; `-m "not crash"` leaves it out.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

from ballots.client import VotingClient
from ballots.log import ballot_entry
from ballots.receipts import Receipt, check_receipt
from ballots.signatures import b64url_decode
from bench.common import NETWORK_ERRORS, Sent, check_logs
from tests.voting import casting_fixtures
from tests.voting.casting_fixtures import Scenario

pytestmark = pytest.mark.crash

db_context, live_server, scenario = casting_fixtures.db_context, casting_fixtures.live_server, casting_fixtures.scenario

OUTAGE_SECONDS = 5.0
PHONES = ("A1", "B1", "C1", "D1")


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Errors handled as in production: an error after the view (the commit) is answered, not raised."""
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


# ---------------------------------------------------------------- kill -9


def test_kill_9_during_casting_loses_and_doubles_nothing(tmp_path: Path) -> None:
    from bench.crash import CrashConfig, run

    # One worker: a restart boots one process, not two (the kill is the same: the whole group).
    # Seed 3 puts the kills after 40, 67 and 101 of the 150 receipts: early, middle and late.
    config = CrashConfig.quick(members=30, votes=5, kills=3, clients=12, workers=1, seed=3, workdir=tmp_path,
                               database_url=os.environ.get("VOTING_TEST_DATABASE_URL"))
    lines: list[str] = []
    result = run(config, say=lines.append)
    report = "\n".join(lines + result.lines())
    assert result.kills == 3, report
    assert result.lost == [] and result.lost_after_restart == [], report
    assert result.duplicates == 0, report
    assert result.problems == [], report
    assert result.receipts == result.ballots == 150, report
    assert result.unreceipted == 0 and result.unfinished == 0 and not result.refused, report
    assert result.attempts > result.receipts, report  # the kills were felt: some sends were tried again
    assert result.record_ok, report


# ---------------------------------------------------------------- the database out of reach


def _dbapi_error(dialect: Any, postgres: str, sqlite: str) -> Exception:
    """The driver's own OperationalError, with the words that driver uses."""
    error: type[Exception] = dialect.loaded_dbapi.OperationalError
    return error(sqlite if dialect.name == "sqlite" else postgres)


class Outage:
    """The database out of reach: every pooled connection is found dead at checkout (as
    pool_pre_ping finds it) and every new connection is refused, until the outage ends: after its
    seconds, and not before it is released (so that a slow machine cannot shorten what it covers)."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.until = 0.0
        self.held = False
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "do_connect", self._connect)

    @property
    def active(self) -> bool:
        return self.held or time.monotonic() < self.until

    def start(self, seconds: float) -> None:
        self.until, self.held = time.monotonic() + seconds, True

    def release(self) -> None:
        self.held = False

    def _checkout(self, *_args: Any) -> None:
        if self.active:
            raise DisconnectionError("the database is unreachable (simulated outage)")

    def _connect(self, dialect: Any, *_args: Any) -> None:
        if self.active:
            raise _dbapi_error(dialect, "connection to server at 127.0.0.1 failed: Connection refused (simulated outage)",
                               "unable to open database file (simulated outage)")

    def remove(self) -> None:
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "do_connect", self._connect)


@pytest.fixture
def outage(db_context: Any) -> Iterator[Outage]:
    cut = Outage(db_context.engine)
    yield cut
    cut.remove()


def raw(phone: VotingClient, method: str, path: str, body: Any = None, accept: str = "application/json") -> tuple[int, Any, str]:
    """A request with the phone's cookies; (status, headers, body text), never raising on an HTTP status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(phone.base_url + path, data=data, method=method)
    req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("X-CSRFToken", phone.csrf)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(phone.jar))
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def test_database_unreachable_for_five_seconds(app: Any, scenario: Scenario, outage: Outage) -> None:
    phones = {name: scenario.client(name) for name in PHONES}
    vote_id = scenario.open("motion")
    signed = {name: phone.sign_ballot(phone.vote_info(vote_id), "yes") for name, phone in phones.items()}
    outage.start(OUTAGE_SECONDS)

    # A person opening a page meets a page that says what to do.
    status, headers, page = raw(phones["A1"], "GET", f"/votes/{vote_id}", accept="text/html")
    assert status == 503 and headers["Retry-After"] == "2", page[:500]
    assert "The system is busy for a moment" in page and "try again" in page and "Traceback" not in page

    answers: dict[str, list[tuple[int, Any, dict[str, Any]]]] = {name: [] for name in phones}

    def keep_sending(name: str) -> None:
        """The phone's 'Send again': the same signed bytes until a receipt comes back."""
        for _ in range(200):
            status, headers, text = raw(phones[name], "POST", f"/api/votes/{vote_id}/ballots", signed[name])
            answers[name].append((status, headers, json.loads(text)))
            if status != 503:
                return
            time.sleep(0.3)

    threads = [threading.Thread(target=keep_sending, args=(name,)) for name in phones]
    for t in threads:
        t.start()
    patience = time.monotonic() + 60
    while time.monotonic() < patience and not all(any(a[0] == 503 for a in answers[n]) for n in phones):
        time.sleep(0.05)
    outage.release()  # it still lasts its 5 seconds
    for t in threads:
        t.join(timeout=120)
    assert not outage.active

    receipts = {}
    for name, tries in answers.items():
        *refused, (status, _headers, accepted) = tries
        assert status == 201, (name, status, accepted)
        assert refused, f"{name} was never refused: the outage did not reach the casting"
        for status, headers, answer in refused:
            assert status == 503 and headers["Retry-After"] == "2", answer
            assert answer["error"] == "retry" and "busy" in answer["message"], answer
            assert "try again" in answer["hint"].lower() and "counts only once" in answer["hint"], answer
        receipts[name] = accepted["receipt"]

    # A further retry of the same bytes: the same receipt, and still one ballot per member.
    for name, phone in phones.items():
        status, again = phone.submit(vote_id, signed[name])
        assert status == 200 and again["replay"] is True and again["receipt"] == receipts[name]
    sent = [Sent(vote_id, json.loads(signed[n]["ballot"])["member"], signed[n], phones[n].key.key_id, receipts[n])  # type: ignore[union-attr]
            for n in phones]
    found = check_logs(app, [vote_id], sent)
    assert found.ok and found.ballots == len(phones) and found.unreceipted == 0, found


@pytest.mark.parametrize("when", ["before", "after"])
def test_connection_lost_at_the_commit(scenario: Scenario, db_context: Any, monkeypatch: pytest.MonkeyPatch,
                                       when: str) -> None:
    """The request did its work and the commit failed: before the database committed (nothing
    stored) or after (stored, the answer lost). Either way a 503, and the same bytes again count once."""
    phone = scenario.client("A1")
    vote_id = scenario.open("motion")
    signed = phone.sign_ballot(phone.vote_info(vote_id), "no")
    dialect = db_context.engine.dialect
    real_commit = dialect.do_commit
    armed = [True]

    def do_commit(dbapi_connection: Any) -> None:
        if armed[0]:
            armed[0] = False
            if when == "after":
                real_commit(dbapi_connection)
            raise _dbapi_error(dialect, "server closed the connection unexpectedly (simulated)",
                               "disk I/O error (simulated)")
        real_commit(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", do_commit)
    status, answer = phone.submit(vote_id, signed)
    assert status == 503 and answer["error"] == "retry", answer
    assert not armed[0]
    assert scenario.stored(vote_id)[0] == (1 if when == "after" else 0)

    status, first = phone.submit(vote_id, signed)
    assert status == (200 if when == "after" else 201), first
    status, again = phone.submit(vote_id, signed)
    assert status == 200 and again["receipt"] == first["receipt"]
    stored = scenario.ballots(vote_id)
    assert len(stored) == 1 and stored[0].receipt == first["receipt"] and scenario.vote(vote_id).log_size == 1


# ---------------------------------------------------------------- the phone loses the network


class LossyProxy:
    """A proxy on 127.0.0.1 in front of the live server. While `drop_answers` is set it delivers
    each request and swallows the answer, resetting the phone's connection (the hall's Wi-Fi gone
    between sending and hearing back)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.drop_answers = False
        self.swallowed = 0
        threading.Thread(target=self._accept, name="lossy-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                phone, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(phone, self.drop_answers), daemon=True).start()

    def _relay(self, phone: socket.socket, drop: bool) -> None:
        server = socket.create_connection(("127.0.0.1", self.target_port))

        def upstream() -> None:
            try:
                while data := phone.recv(65536):
                    server.sendall(data)
            except OSError:
                pass

        threading.Thread(target=upstream, daemon=True).start()
        answer = b""
        try:
            while data := server.recv(65536):
                if not drop:
                    phone.sendall(data)
                    continue
                answer += data  # swallowed, up to the end of the answer (the server may keep the connection)
                head, sep, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if sep and length and len(body) >= int(length.group(1)):
                    self.swallowed += len(answer)
                    break
        except OSError:
            pass
        if drop:  # reset, as a dropped connection ends
            phone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            phone.shutdown(socket.SHUT_RDWR)  # also wakes the upstream thread's recv
        except OSError:
            pass
        phone.close()
        server.close()

    def close(self) -> None:
        self.listener.close()


def test_phone_loses_the_network_after_signing(scenario: Scenario) -> None:
    from voting.keys import org_key

    phone = scenario.client("B1")
    vote_id = scenario.open("motion")
    proxy = LossyProxy(int(scenario.base_url.rsplit(":", 1)[1]))
    try:
        phone.base_url = proxy.url  # cookies are kept per host, so the phone stays signed in
        signed = phone.sign_ballot(phone.vote_info(vote_id), "abstain")
        proxy.drop_answers = True
        with pytest.raises(NETWORK_ERRORS):
            phone.submit(vote_id, signed)
        assert proxy.swallowed > 0
        stored = scenario.ballots(vote_id)
        assert len(stored) == 1, "the server should have accepted the ballot whose answer was lost"

        proxy.drop_answers = False
        status, answer = phone.submit(vote_id, signed)  # the same bytes, once the network is back
        assert status == 200 and answer["replay"] is True and answer["receipt"] == stored[0].receipt
        status, again = phone.submit(vote_id, signed)
        assert status == 200 and again["receipt"] == answer["receipt"]
    finally:
        proxy.close()
    assert len(scenario.ballots(vote_id)) == 1 and scenario.vote(vote_id).log_size == 1
    receipt = Receipt.from_json(answer["receipt"])
    assert phone.key is not None
    entry = ballot_entry(signed["ballot"].encode(), b64url_decode(signed["signature"]), phone.key.key_id)
    assert check_receipt(receipt, org_key().public_key(), entry=entry) == []
