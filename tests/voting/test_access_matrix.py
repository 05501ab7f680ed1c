"""Every route, every role: each view declares its access (`public` or `roles(...)`), and the
application answers accordingly. The walk reads `app.url_map`, so later blueprints are covered
without touching this file, except to teach it a new URL argument (see ARGUMENTS)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import inspect as sa_inspect

from tests.voting.helpers import enrol_python_key
from voting.auth.access import PUBLIC, public
from voting.auth.passwords import hash_password
from voting.extensions import db, writing
from voting.models import AgendaItem, Delegate
from voting.services import attendance, casting, consent, identity, roster, staff
from voting.services import meetings as meeting_service

STAFF_ROLES = ["secretariat", "chair", "secretary-general", "observer"]
ANONYMOUS = "anonymous"
DELEGATE = "delegate"
ROLES = [*STAFF_ROLES, DELEGATE]
PRINCIPALS = [ANONYMOUS, *ROLES]
PASSWORD = "access matrix password"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# URL argument -> (object made by the `world` fixture, its attribute that fills the argument in).
# A blueprint whose URL takes another argument: create the object in `world` and add it here.
ARGUMENTS: dict[str, tuple[str, str]] = {
    "member_id": ("member", "id"),
    "delegate_id": ("delegate", "id"),
    "seat_id": ("seat", "id"),
    "meeting_id": ("meeting", "id"),
    "meeting_key": ("meeting", "key"),
    "item_id": ("agenda_item", "id"),
    "candidacy_id": ("candidacy", "id"),
    "vote_id": ("vote", "id"),
    "token": ("enrolment", "token"),
    "code": ("venue", "code"),
    "leaf": ("receipt", "leaf"),
    "resolution_id": ("resolution", "id"),
    "link": ("consent_link", "token"),
}

# Public rules that answer anything but 200 to a GET, and every public rule that takes only
# POST (or PUT, DELETE...): what an anonymous visitor gets, and why that is intended.
PUBLIC_EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    ("auth.logout", "POST"): (302, "signing out (even when not signed in) goes back to the home page"),
    ("assembly.api_enrol", "POST"): (422, "enrolling needs a JSON body with a code and a signed key"),
    ("consent.api_enrol", "POST"): (422, "setting up a phone from a link needs a JSON body with the link and a signed key"),
    ("consent.api_signin", "POST"): (422, "signing in from a link needs a JSON body with the link and a signature"),
    ("assembly.checkin", "GET"): (401, "the venue code asks a phone without a delegate's key to scan its badge first"),
    ("casting.receipt_link", "GET"): (302, "a receipt's QR address leads to the in-browser receipt check"),
    ("results.certificate_page", "GET"): (404, "the walk's vote is open, so it has no certificate yet"),
    ("results.certificate_json", "GET"): (404, "the walk's vote is open, so it has no certificate yet"),
    ("results.certificate_pdf", "GET"): (404, "the walk's vote is open, so it has no certificate yet"),
    ("results.certificate_qr", "GET"): (404, "the walk's vote is open, so it has no certificate yet"),
}
# GET rules that answer an allowed role with something other than 200 in the walk's world, and why.
ROLE_EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    ("console.casting_page", "GET"): (404, "no casting vote was requested on the walk's vote"),
    ("consent.edit", "GET"): (409, "the walk's resolution was sent: its text is fixed"),
}
# Where one principal gets another answer than PUBLIC_EXPECTED says for everyone.
PUBLIC_OVERRIDES: dict[tuple[str, str], dict[str, int]] = {
    ("assembly.checkin", "GET"): {DELEGATE: 200},
}


World = dict[str, dict[str, Any]]


def _columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in sa_inspect(obj).mapper.column_attrs}


@pytest.fixture
def world(app: Flask) -> World:
    """One object of each kind the URLs name (as its column values), and a staff account per role."""
    with app.app_context(), writing():
        member = roster.create_member({"name": "Chengdu", "country": "China", "region": "Asia-Pacific", "category": "full"})
        delegate = roster.add_delegate(member, {"display_name": "Chengdu representative 1",
                                                "email": "rep1@chengdu.example", "is_voting": True})
        seat = roster.seat_member(member, "vice-president", 2016, 2018)
        meeting = meeting_service.create_meeting({
            "key": "excom-2017", "title": "Executive Committee 2017", "body": "excom", "rule_set": "wego-2017",
            "starts_at": "2017-06-27T17:00+04:00", "ends_at": "2017-06-27T18:30+04:00"})
        item = meeting_service.add_agenda_item(meeting, {"number": "1", "title": "Opening", "decision": "none"})
        candidacy = meeting_service.add_candidacy(meeting, member, "host-city", date(2017, 5, 28))
        attendee = roster.add_delegate(member, {"display_name": "Chengdu attendee 1",
                                                "email": "att1@chengdu.example", "is_voting": False})
        token = identity.issue_token(attendee, meeting).token  # another delegate's: the walk never uses it up
        venue = attendance.current_code(meeting).code
        # A resolution by written consent, sent to the EXCOM seated this year (Chengdu), with its link.
        roster.seat_member(member, "member", date.today().year, date.today().year)
        resolution = consent.create_draft({
            "title": "Budget by written consent", "text": "The budget is approved.", "rule": "written-consent",
            "rule_set": "wego-2017", "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat()})
        link = consent.send(resolution, consent.text_hash(resolution.text), email=False).issued[0].token
        for role in STAFF_ROLES:
            account, _otp = staff.create_staff(f"matrix-{role}", role, f"Matrix {role}")
            account.password_hash = hash_password(PASSWORD)
            account.must_change_password = False
        db.session.commit()
        objects = {"member": member, "delegate": delegate, "seat": seat, "meeting": meeting,
                   "agenda_item": item, "candidacy": candidacy, "resolution": resolution}
        out = {name: _columns(obj) for name, obj in objects.items()}
        out["enrolment"] = {"token": token}
        out["venue"] = {"code": venue}
        out["receipt"] = {"leaf": "0" * 64}
        out["consent_link"] = {"token": link}
        return out


@pytest.fixture
def clients(app: Flask, world: World) -> dict[str, Any]:
    """A test client per principal, each signed in with its own account (anonymous: none).
    No app context is held around the requests, so nothing (such as Flask-Login's cached user
    in `g`) leaks from one client's request into another's."""
    out = {ANONYMOUS: app.test_client()}
    for role in STAFF_ROLES:
        client = app.test_client()
        resp = client.post("/login", data={"username": f"matrix-{role}", "password": PASSWORD})
        assert resp.status_code == 302, f"{role} could not sign in: {resp.status_code}"
        out[role] = client
    # A delegate signed in with an enrolled key, then a vote opened (its key predates the vote).
    delegate_client = app.test_client()
    with app.app_context(), writing():
        delegate = db.session.get(Delegate, world["delegate"]["id"])
        enrol_python_key(delegate_client, db.session, delegate)
        item = db.session.get(AgendaItem, world["agenda_item"]["id"])
        vote = casting.open_vote(item, "motion", "Does the Executive Committee approve the opening?")
        db.session.commit()
        world["vote"] = {"id": vote.id}
    out[DELEGATE] = delegate_client
    return out


def walk(app: Flask, clients: dict[str, Any], world: World) -> tuple[list[str], int]:
    """Request every rule as every principal; the problems found, and how many requests were made."""
    problems: list[str] = []
    requests = 0

    def check(principal: str, method: str, url: str, expected: int, why: str,
              location: Callable[[str], bool] | None = None) -> None:
        nonlocal requests
        requests += 1
        resp = clients[principal].open(url, method=method)
        if resp.status_code != expected:
            problems.append(f"{method} {url} as {principal}: {resp.status_code}, expected {expected} ({why})")
        elif location is not None and not location(resp.headers.get("Location", "")):
            problems.append(f"{method} {url} as {principal}: redirected to {resp.headers.get('Location')!r} ({why})")

    def to_login(where: str) -> bool:
        return where.startswith("/login")

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        if access is None:
            problems.append(f"{rule.endpoint} ({rule.rule}) declares no access: decorate the view with "
                            "@public or @roles(...) from voting.auth.access")
            continue
        needed = sorted(set(rule.arguments) - set(rule.defaults or {}))
        unknown = [a for a in needed if a not in ARGUMENTS]
        if unknown:
            problems.append(
                f"{rule.endpoint} ({rule.rule}) takes <{'>, <'.join(unknown)}>, which this test cannot fill in: "
                f"create such an object in the `world` fixture and add {', '.join(repr(a) for a in unknown)} "
                "to ARGUMENTS in tests/voting/test_access_matrix.py")
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: world[ARGUMENTS[a][0]][ARGUMENTS[a][1]] for a in needed})
        methods = sorted(set(rule.methods or ()) - IGNORED_METHODS)

        for method in methods:
            if access == PUBLIC:
                if (rule.endpoint, method) in PUBLIC_EXPECTED:
                    status, why = PUBLIC_EXPECTED[(rule.endpoint, method)]
                elif method == "GET":
                    status, why = 200, "a public page"
                elif "GET" in methods:
                    continue  # a public form's POST is the view's own business (e.g. signing in)
                else:
                    problems.append(f"{rule.endpoint} ({rule.rule}) is public and takes only {method}: add what an "
                                    "anonymous request should get, and why, to PUBLIC_EXPECTED")
                    continue
                principals = PRINCIPALS if method == "GET" else [ANONYMOUS]
                overrides = PUBLIC_OVERRIDES.get((rule.endpoint, method), {})
                for principal in principals:
                    check(principal, method, url, overrides.get(principal, status), why)
                continue

            allowed = set(access)
            check(ANONYMOUS, method, url, 302, "anonymous visitors are sent to sign in", to_login)
            for role in ROLES:
                if role not in allowed:
                    check(role, method, url, 403, f"only for {', '.join(sorted(allowed))}")
                elif method == "GET":
                    status, why = ROLE_EXPECTED.get((rule.endpoint, method),
                                                    (200, f"{role} is among {', '.join(sorted(allowed))}"))
                    check(role, method, url, status, why)
    return problems, requests


def test_every_route_answers_every_role_as_declared(app: Flask, clients: dict[str, Any], world: World) -> None:
    problems, requests = walk(app, clients, world)
    assert not problems, "\n".join(problems)
    assert requests > 50  # the walk did reach the application's routes


def test_the_matrix_covers_the_roster_routes(app: Flask) -> None:
    """The roles the roster pages declare, as the brief states them."""
    readers = {"secretariat", "chair", "secretary-general", "observer"}
    expected = {
        "roster.members": readers, "roster.member": readers, "roster.seats": readers,
        "roster.meetings": readers, "roster.meeting": readers,
        "roster.audit_log": {"secretariat", "observer"},
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("roster."):
            continue
        access = app.view_functions[rule.endpoint].access
        want = expected.get(rule.endpoint, {"secretariat"})
        assert set(access) == want, rule.endpoint
        if set(rule.methods or ()) - {"GET", "HEAD", "OPTIONS"}:
            assert set(access) == {"secretariat"}, f"{rule.endpoint} writes, so it is for the Secretariat only"


def test_the_walk_reports_undeclared_views_and_unknown_arguments(app: Flask, clients: dict[str, Any],
                                                                 world: World) -> None:
    """The walk itself: a view without a mark, and a URL argument it cannot fill, both fail loudly."""
    probe = Flask("probe")
    probe.config.update(app.config)

    @probe.get("/undeclared")
    def undeclared() -> str:
        return "no mark"

    @probe.get("/widgets/<int:widget_id>")
    @public
    def widget(widget_id: int) -> str:
        return str(widget_id)

    problems, _ = walk(probe, clients, world)
    assert any("undeclared (/undeclared) declares no access" in p for p in problems), problems
    assert any("takes <widget_id>" in p and "add 'widget_id' to ARGUMENTS" in p for p in problems), problems
