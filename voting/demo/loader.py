"""`voting demo`: the 2017 Executive Committee meeting and 4th General Assembly from the handbook.

Members, seats, meetings, agendas, bids and candidacies come from handbook_2017.toml (each entry
cites its handbook line). Numbered placeholder full members, labelled as such, bring the Assembly
to the 120 members the handbook states. Delegates are named by role, never by person.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from typing import Any

from flask import current_app

from ..errors import Invalid
from ..models import Category, Member, Role
from ..services import meetings as meeting_service
from ..services import roster, staff

PLACEHOLDER_COUNTRY = "(demo placeholder)"
STAFF = [
    ("secretariat", Role.SECRETARIAT, "Secretariat officer"),
    ("chair", Role.CHAIR, "Chair (President City)"),
    ("secretary-general", Role.SECRETARY_GENERAL, "Secretary General"),
    ("observer", Role.OBSERVER, "Independent observer"),
]


@dataclass
class DemoReport:
    members: int = 0
    full_members: int = 0
    placeholders: int = 0
    delegates: int = 0
    seats: int = 0
    meetings: list[str] = field(default_factory=list)
    candidacies: int = 0
    passwords: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"Loaded {self.members} members ({self.full_members} full members, of which "
            f"{self.placeholders} numbered placeholders), {self.delegates} delegates, {self.seats} EXCOM seats.",
            f"Meetings: {', '.join(self.meetings)}; {self.candidacies} candidacies and bids.",
            "",
            "Staff accounts (one-time passwords, shown only now; each is asked to choose its own at first sign-in):",
        ]
        out += [f"  {u:<18} {r:<18} {p}" for u, r, p in self.passwords]
        return out


def handbook_data() -> dict[str, Any]:
    text = resources.files("voting.demo").joinpath("handbook_2017.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _notes(entry: dict[str, Any]) -> str:
    parts = [f"Source: {entry['source']}."] if entry.get("source") else []
    if entry.get("note"):
        parts.append(str(entry["note"]))
    return " ".join(parts)[:2000]


def _add_delegates(member: Member, voting: int, attendees: int = 0) -> int:
    made = 0
    for i in range(1, voting + attendees + 1):
        is_voting = i <= voting
        role = "representative" if is_voting else "attendee"
        n = i if is_voting else i - voting
        roster.add_delegate(member, {
            "display_name": f"{member.name} {role} {n}",
            "email": f"{role}{n}.{slug(member.name)}@demo.invalid",
            "is_voting": is_voting,
        })
        made += 1
    return made


def load_demo() -> DemoReport:
    """Load everything in one transaction (the caller commits)."""
    data = handbook_data()
    report = DemoReport()
    by_name: dict[str, Member] = {}
    regions = current_app.config["REGIONS"]

    for entry in data["members"]:
        values = {k: entry.get(k) for k in ("name", "country", "region", "category", "status", "fee_paid_through", "joined_on")}
        values["notes"] = _notes(entry)
        if entry.get("status", "active") != "active":
            values["status_effective_on"] = entry.get("status_effective_on") or entry.get("joined_on") or "2017-06-27"
        member = roster.create_member(values)
        by_name[member.name] = member

    full = sum(1 for m in by_name.values() if m.category == Category.FULL)
    target = int(data["organization"]["stated_member_count"])
    for n in range(1, max(0, target - full) + 1):
        member = roster.create_member({
            "name": f"Placeholder member city {n:03d}",
            "country": PLACEHOLDER_COUNTRY,
            "region": regions[(n - 1) % len(regions)],
            "category": "full",
            "notes": "Demo placeholder: the handbook states WeGO has 120 members but names fewer; "
                     "this numbered full member stands in for an unnamed one.",
        })
        member.is_placeholder = True
        by_name[member.name] = member
        report.placeholders += 1

    for member in by_name.values():
        if member.is_placeholder:
            report.delegates += _add_delegates(member, voting=1)
        elif member.category == Category.FULL:
            report.delegates += _add_delegates(member, voting=2, attendees=1)
        else:
            report.delegates += _add_delegates(member, voting=0, attendees=1)

    for entry in data["excom_seats"]:
        start, end = (int(x) for x in str(entry["term"]).split("-"))
        roster.seat_member(by_name[entry["member"]], entry["office"], start, end)
        report.seats += 1

    meetings = {}
    for entry in data["meetings"]:
        host = by_name.get(entry.get("host", ""))
        meeting = meeting_service.create_meeting({
            "key": entry["key"], "body": entry["body"], "rule_set": entry["rule_set"], "title": entry["title"],
            "starts_at": datetime.fromisoformat(entry["starts_at"]), "ends_at": datetime.fromisoformat(entry["ends_at"]),
            "venue": entry.get("venue", ""), "city": entry.get("city", ""),
            "host_member_id": host.id if host else None,
        })
        # The demo's General Assembly elects by secret ballot (a Secretariat setting, not the handbook's).
        meeting.secret_elections = bool(entry.get("secret_elections", False))
        for item in entry.get("agenda", []):
            meeting_service.add_agenda_item(meeting, {
                "number": item["number"], "title": item["title"], "presenter": item.get("presenter", ""),
                "decision": item.get("decision", "motion"),
                "summary": (item.get("summary", "") + (f"\n\nNote: {item['note']}" if item.get("note") else "")).strip(),
            })
        meetings[meeting.key] = meeting
        report.meetings.append(f"{meeting.title} ({len(entry.get('agenda', []))} agenda items)")

    for entry in [*data.get("bids", []), *data.get("candidacies", [])]:
        notified = entry.get("notified_on")
        if isinstance(notified, str):
            notified = date.fromisoformat(notified)
        meeting_service.add_candidacy(meetings[entry["meeting"]], by_name[entry["member"]], entry["kind"], notified, _notes(entry))
        report.candidacies += 1

    for username, role, name in STAFF:
        _account, password = staff.create_staff(username, role.value, name)
        report.passwords.append((username, role.value, password))

    report.members = len(by_name)
    report.full_members = sum(1 for m in by_name.values() if m.category == Category.FULL)
    if report.full_members != target:
        raise Invalid(f"The demo should hold {target} full members but holds {report.full_members}.")
    return report
