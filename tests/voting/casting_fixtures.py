"""Fixtures for the casting tests: a live server, an Executive Committee meeting with its roll, and
delegates' phones (ballots.client.VotingClient) enrolled over HTTP.

Use them in a test module by name (an import would be flagged as redefined by each test's argument):

    from tests.voting import casting_fixtures
    db_context, live_server, scenario = casting_fixtures.db_context, casting_fixtures.live_server, casting_fixtures.scenario

The test thread reads the database between requests. On SQLite a writing transaction holds the
database's write lock, so the test thread writes only inside `writes()` (BEGIN IMMEDIATE, commit at
once) and starts every read on a fresh snapshot (`fresh()`), never keeping a writer waiting.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from ballots.client import VotingClient

MEETING_START = "2017-06-27T09:00+04:00"
MEETING_END = "2017-06-28T18:00+04:00"
TERM = (2014, 2017)
EXCOM_NAMES = ["Seoul", "Jakarta", "Tbilisi", "Barcelona", "Mexico City"]
HOST_CITY_OPTIONS = (("sejong", "Sejong"), ("ha-noi", "Ha Noi"))
CANDIDATES = (("seoul", "Seoul"), ("jakarta", "Jakarta"), ("tbilisi", "Tbilisi"), ("barcelona", "Barcelona"))
DECISIONS = {"motion": "motion", "host-city": "host-city", "excom-block": "excom-election",
             "excom-approval": "excom-election", "president-sole": "president", "president": "president"}


@contextmanager
def writes() -> Iterator[Any]:
    """A short writing transaction in the test thread (services flush; this commits)."""
    from voting.extensions import db, writing

    db.session.rollback()  # end any read snapshot: the write transaction must begin IMMEDIATE
    with writing():
        try:
            yield db.session
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()


def fresh() -> Any:
    """The test thread's session on a fresh snapshot (sees what the server committed)."""
    from voting.extensions import db

    db.session.rollback()
    return db.session


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served by werkzeug on 127.0.0.1 (a thread per request, as a production server would)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Scenario:
    """An Executive Committee meeting (rule set wego-2017, June 2017) and who is in the hall.

    Members by label: "A".."E" are seated EXCOM cities, each with two voting representatives
    ("A1", "A2", ...); "E" checks in late (not on the roll of a vote opened before). "A" also has a
    non-voting attendee "A-attendee". "outside" is a full member with no EXCOM seat ("outside1"),
    "associate" an associate member whose delegate is "associate1". Present at the start: the first
    representative of every city but "E", and A-attendee, outside1 and associate1.
    """

    base_url: str
    meeting_id: int
    members: dict[str, int]
    delegates: dict[str, int]
    clients: dict[str, VotingClient] = field(default_factory=dict)
    _items: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # ---- people

    def delegate(self, name: str) -> Any:
        from voting.models import Delegate

        return fresh().get(Delegate, self.delegates[name])

    def member(self, label: str) -> Any:
        from voting.models import Member

        return fresh().get(Member, self.members[label])

    def client(self, name: str, algorithm: str = "Ed25519") -> VotingClient:
        """The delegate's phone, enrolled on first use (an enrolment code, then POST /api/enrol).

        A key signs only in votes opened after its enrolment: get the phones before opening a vote.
        """
        if name not in self.clients:
            self.clients[name] = self.enrol(name, algorithm)
        return self.clients[name]

    def enrol(self, name: str, algorithm: str = "Ed25519") -> VotingClient:
        """A new phone for the delegate: issue a code and enrol (any older key is revoked)."""
        from voting.models import Delegate, Meeting
        from voting.services import identity

        with writes() as s:
            token = identity.issue_token(s.get(Delegate, self.delegates[name]), s.get(Meeting, self.meeting_id)).token
        phone = VotingClient(self.base_url)
        phone.enrol(token, algorithm=algorithm)
        self.clients[name] = phone
        return phone

    def check_in(self, name: str) -> None:
        from voting.models import Delegate, Meeting
        from voting.services import attendance

        with writes() as s:
            attendance.set_presence(s.get(Meeting, self.meeting_id), s.get(Delegate, self.delegates[name]), True, via="desk")

    # ---- votes

    def open(self, kind: str, *, options: Sequence[tuple[str, str]] | None = None, seats: int | None = None,
             question: str | None = None, item_id: int | None = None, secret: bool | None = None) -> int:
        """Open a vote (on a new agenda item unless one is given); returns the vote's id."""
        from voting.models import AgendaItem, Meeting
        from voting.services import casting, meetings

        if options is None:
            options = {"host-city": HOST_CITY_OPTIONS, "president": CANDIDATES, "president-sole": CANDIDATES[:1],
                       "excom-block": CANDIDATES, "excom-approval": CANDIDATES[:2]}.get(kind)
        if seats is None and kind in ("excom-block", "excom-approval"):
            seats = 2
        with writes() as s:
            if item_id is None:
                number = next(self._items)
                item = meetings.add_agenda_item(s.get(Meeting, self.meeting_id), {
                    "number": str(number), "title": f"Item {number}: {kind}", "decision": DECISIONS[kind]})
            else:
                item = s.get(AgendaItem, item_id)
            opts = [casting.Option(i, label) for i, label in options] if options else None
            vote = casting.open_vote(item, kind, question or f"Question {item.number}, {kind}?", opts, seats=seats,
                                     secret=secret)
            return int(vote.id)

    def close(self, vote_id: int) -> None:
        from voting.models import Vote
        from voting.services import casting

        with writes() as s:
            casting.close_vote(s.get(Vote, vote_id))

    def vote(self, vote_id: int) -> Any:
        from voting.models import Vote

        return fresh().get(Vote, vote_id)

    def ballots(self, vote_id: int | None = None) -> list[Any]:
        """Stored ballots (of one vote, in log order), read on a fresh snapshot."""
        from voting.models import Ballot

        query = select(Ballot).order_by(Ballot.vote_id, Ballot.leaf_index)
        if vote_id is not None:
            query = query.where(Ballot.vote_id == vote_id)
        return list(fresh().scalars(query).all())

    def stored(self, vote_id: int) -> tuple[int, int, int, int]:
        """(ballots of the vote, ballots in all, signed checkpoints in all, the vote's log size)."""
        from voting.models import Ballot, SignedCheckpoint, Vote

        s = fresh()
        return (
            s.scalar(select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)) or 0,
            s.scalar(select(func.count()).select_from(Ballot)) or 0,
            s.scalar(select(func.count()).select_from(SignedCheckpoint)) or 0,
            s.get(Vote, vote_id).log_size,
        )


def build_scenario(base_url: str, *, cities: int = 5, late: bool = True) -> Scenario:
    """Create the meeting, members, seats and delegates, and check the starting delegates in.

    With late=True the last city checks in only when a test says so; `cities` may exceed five
    (numbered cities) for tests that need many members casting at once.
    """
    from voting.services import attendance, meetings, roster

    labels = [chr(ord("A") + i) if i < 26 else f"Z{i}" for i in range(cities)]
    members: dict[str, int] = {}
    delegates: dict[str, int] = {}
    present: list[Any] = []

    def person(member: Any, name: str, label: str, voting: bool, here: bool) -> None:
        d = roster.add_delegate(member, {"display_name": name, "email": f"{label.lower()}@test.invalid",
                                         "is_voting": voting})  # audit.record flushes: d.id is known
        delegates[label] = d.id
        if here:
            present.append(d)

    with writes():
        meeting = meetings.create_meeting({
            "key": "excom-2017-test", "body": "excom", "rule_set": "wego-2017",
            "title": "Test Executive Committee Meeting 2017", "starts_at": datetime.fromisoformat(MEETING_START),
            "ends_at": datetime.fromisoformat(MEETING_END), "venue": "Test hall", "city": "Tbilisi",
        })
        for i, label in enumerate(labels):
            name = EXCOM_NAMES[i] if i < len(EXCOM_NAMES) else f"Excom City {i + 1:02d}"
            member = roster.create_member({"name": name, "country": f"Country {label}", "region": "Asia-Pacific",
                                           "category": "full"})
            roster.seat_member(member, "president" if i == 0 else "member", *TERM)
            members[label] = member.id
            person(member, f"{name} representative 1", f"{label}1", True, not (late and label == labels[-1]))
            person(member, f"{name} representative 2", f"{label}2", True, False)
            if label == "A":
                person(member, f"{name} attendee", "A-attendee", False, True)
        outside = roster.create_member({"name": "Kazan", "country": "Russia", "region": "Europe", "category": "full"})
        person(outside, "Kazan representative 1", "outside1", True, True)
        associate = roster.create_member({"name": "Smart Town Institute", "country": "Testland",
                                          "region": "Europe", "category": "associate"})
        person(associate, "Smart Town Institute delegate", "associate1", False, True)
        members.update(outside=outside.id, associate=associate.id)
        for d in present:
            attendance.set_presence(meeting, d, True, via="desk")
        meeting_id = meeting.id
    return Scenario(base_url, meeting_id, members, delegates)


@pytest.fixture
def db_context(app: Any) -> Iterator[Any]:
    """An app context in the test thread (reads and `writes()`), without a lasting transaction."""
    from voting.extensions import db

    with app.app_context():
        yield db
        db.session.rollback()


@pytest.fixture
def scenario(db_context: Any, live_server: str) -> Scenario:
    return build_scenario(live_server)
