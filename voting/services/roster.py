"""The roster: members, delegates, Executive Committee seats; CSV import and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ballots.rules import load_rule_set

from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Category, Delegate, ExcomSeat, Member, MemberStatus, Office
from . import audit

MEMBER_COLUMNS = ["name", "country", "region", "category", "status", "status_effective_on", "fee_paid_through", "joined_on", "notes"]
MEMBER_REQUIRED = {"name", "country", "region", "category"}
DELEGATE_COLUMNS = ["member", "country", "display_name", "email", "phone", "voting"]
DELEGATE_REQUIRED = {"member", "country", "display_name", "email", "voting"}
YES = {"yes", "y", "true", "1", "voting"}
NO = {"no", "n", "false", "0", "", "attendee", "non-voting"}


def max_voting_representatives() -> int:
    """Voting representatives allowed per member, from the roster's rule set (STATUTE_RULES §1)."""
    return load_rule_set(current_app.config["ROSTER_RULE_SET"]).max_voting_representatives


# ---------------------------------------------------------------- validation of plain values


def _text(values: Mapping[str, Any], key: str, *, required: bool, limit: int) -> str:
    raw = values.get(key)
    text = "" if raw is None else str(raw).strip()
    if required and not text:
        raise Invalid(f"{key.replace('_', ' ').capitalize()} is required.")
    if len(text) > limit:
        raise Invalid(f"{key.replace('_', ' ').capitalize()} is longer than {limit} characters.")
    return text


def _date(values: Mapping[str, Any], key: str) -> date | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Invalid(f"{key.replace('_', ' ').capitalize()} '{raw}' is not a date like 2017-06-27.") from None


def _year(values: Mapping[str, Any], key: str) -> int | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    try:
        year = int(str(raw).strip())
    except ValueError:
        raise Invalid(f"{key.replace('_', ' ').capitalize()} '{raw}' is not a year.") from None
    if not 1990 <= year <= 2100:
        raise Invalid(f"{key.replace('_', ' ').capitalize()} {year} is not a plausible year.")
    return year


def _choice(values: Mapping[str, Any], key: str, enum_cls: Any, default: Any = None) -> Any:
    raw = values.get(key)
    if (raw is None or raw == "") and default is not None:
        return default
    try:
        return enum_cls(str(raw).strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise Invalid(f"Unknown {key.replace('_', ' ')} '{raw}'; use one of: {allowed}.") from None


def _region(values: Mapping[str, Any]) -> str:
    raw = _text(values, "region", required=True, limit=40)
    for region in current_app.config["REGIONS"]:
        if region.lower() == raw.lower():
            return region
    raise Invalid(f"Unknown region '{raw}'; use one of: {', '.join(current_app.config['REGIONS'])}.")


def _member_values(values: Mapping[str, Any]) -> dict[str, Any]:
    status = _choice(values, "status", MemberStatus, MemberStatus.ACTIVE)
    effective = _date(values, "status_effective_on")
    if status != MemberStatus.ACTIVE and effective is None:
        raise Invalid("A suspension or withdrawal needs the date it takes effect (Art. 12.2(a)).")
    return {
        "name": _text(values, "name", required=True, limit=160),
        "country": _text(values, "country", required=True, limit=80),
        "region": _region(values),
        "category": _choice(values, "category", Category),
        "status": status,
        "status_effective_on": effective,
        "fee_paid_through": _year(values, "fee_paid_through"),
        "joined_on": _date(values, "joined_on"),
        "notes": _text(values, "notes", required=False, limit=2000),
    }


def _flag(raw: Any) -> bool:
    text = str(raw if raw is not None else "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise Invalid(f"Voting must be yes or no, not '{raw}'.")


def _delegate_values(values: Mapping[str, Any]) -> dict[str, Any]:
    email = _text(values, "email", required=True, limit=254)
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid(f"'{email}' is not an e-mail address.")
    voting = values.get("is_voting", values.get("voting"))
    return {
        "display_name": _text(values, "display_name", required=True, limit=160),
        "email": email.lower(),
        "phone": _text(values, "phone", required=False, limit=40) or None,
        "is_voting": voting if isinstance(voting, bool) else _flag(voting),
    }


# ---------------------------------------------------------------- members


def find_member(name: str, country: str) -> Member | None:
    return db.session.scalars(
        select(Member).where(func.lower(Member.name) == name.lower(), func.lower(Member.country) == country.lower())
    ).first()


def create_member(values: Mapping[str, Any]) -> Member:
    clean = _member_values(values)
    if find_member(clean["name"], clean["country"]) is not None:
        raise Conflict(f"{clean['name']} ({clean['country']}) is already on the roster.", hint="Edit the existing member instead.")
    member = Member(**clean)
    db.session.add(member)
    audit.record("member.create", member, None)
    return member


def update_member(member: Member, values: Mapping[str, Any]) -> Member:
    clean = _member_values(values)
    other = find_member(clean["name"], clean["country"])
    if other is not None and other.id != member.id:
        raise Conflict(f"{clean['name']} ({clean['country']}) is already on the roster as another member.")
    return audit.apply_changes(member, clean, "member.update")


# ---------------------------------------------------------------- delegates


def voting_count(member: Member, *, excluding: Delegate | None = None) -> int:
    return sum(1 for d in member.delegates if d.is_voting and d.is_active and d is not excluding)


def _check_voting_limit(member: Member, is_voting: bool, excluding: Delegate | None = None) -> None:
    limit = max_voting_representatives()
    if is_voting and voting_count(member, excluding=excluding) >= limit:
        raise Conflict(
            f"{member.name} already has {limit} voting representatives; a member may have at most {limit}.",
            hint="Make one of them a non-voting attendee first, or add this person as an attendee.",
        )


def _check_email(member: Member, email: str, excluding: Delegate | None = None) -> None:
    for d in member.delegates:
        if d.email == email and d is not excluding:
            raise Conflict(f"{member.name} already has a delegate with e-mail {email}.")


def add_delegate(member: Member, values: Mapping[str, Any]) -> Delegate:
    clean = _delegate_values(values)
    _check_voting_limit(member, clean["is_voting"])
    _check_email(member, clean["email"])
    delegate = Delegate(member=member, **clean)
    db.session.add(delegate)
    audit.record("delegate.create", delegate, None)
    return delegate


def update_delegate(delegate: Delegate, values: Mapping[str, Any]) -> Delegate:
    clean = _delegate_values(values)
    is_active = values.get("is_active", delegate.is_active)
    if is_active:
        _check_voting_limit(delegate.member, clean["is_voting"], excluding=delegate)
    _check_email(delegate.member, clean["email"], excluding=delegate)
    return audit.apply_changes(delegate, {**clean, "is_active": bool(is_active)}, "delegate.update")


# ---------------------------------------------------------------- Executive Committee seats


def seat_member(member: Member, office: str | Office, term_start: int, term_end: int) -> ExcomSeat:
    values = {"office": office, "term_start": term_start, "term_end": term_end}
    office_v = _choice(values, "office", Office)
    start, end = _year(values, "term_start"), _year(values, "term_end")
    if start is None or end is None or end < start:
        raise Invalid("A term needs a first and a last year, the last not before the first.")
    if any(s.term_start == start for s in member.seats):
        raise Conflict(f"{member.name} already has a seat for the term starting {start}.")
    seat = ExcomSeat(member=member, office=office_v, term_start=start, term_end=end)
    db.session.add(seat)
    audit.record("excom_seat.create", seat, None)
    return seat


def update_seat(seat: ExcomSeat, office: str | Office, term_start: int, term_end: int) -> ExcomSeat:
    values = {"office": office, "term_start": term_start, "term_end": term_end}
    office_v = _choice(values, "office", Office)
    start, end = _year(values, "term_start"), _year(values, "term_end")
    if start is None or end is None or end < start:
        raise Invalid("A term needs a first and a last year, the last not before the first.")
    if any(s.term_start == start and s is not seat for s in seat.member.seats):
        raise Conflict(f"{seat.member.name} already has a seat for the term starting {start}.")
    before = audit.snapshot(seat)
    seat.office, seat.term_start, seat.term_end = office_v, start, end
    if audit.snapshot(seat) != before:
        audit.record("excom_seat.update", seat, before)
    return seat


def excom_members_on(day: date) -> list[Member]:
    """Members holding a seat in the term covering that day's year, in good standing."""
    seats = db.session.scalars(
        select(ExcomSeat).where(ExcomSeat.term_start <= day.year, ExcomSeat.term_end >= day.year)
    ).all()
    members = {s.member.id: s.member for s in seats if s.member.in_good_standing_on(day)}
    return sorted(members.values(), key=lambda m: m.name)


# ---------------------------------------------------------------- CSV import and export


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


class ImportRejected(Invalid):
    """The file was refused as a whole; nothing was written. Carries each bad row."""

    def __init__(self, errors: list[RowError]):
        lines = "; ".join(f"line {e.line}: {e.reason}" for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(
            f"The file was not imported; nothing was changed. {lines}{more}",
            hint="Correct these rows and import the whole file again.",
        )
        self.errors = errors


def _read_csv(data: bytes, columns: list[str], required: set[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([RowError(text_line(data, exc.start), "the file is not UTF-8 text; save it as 'CSV UTF-8'")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportRejected([RowError(1, "the file is empty; the first line must name the columns")])
    reader.fieldnames = header
    problems = []
    missing = [c for c in columns if c in required and c not in header]
    unknown = [c for c in header if c not in columns]
    if missing:
        problems.append(RowError(1, f"missing column(s): {', '.join(missing)}"))
    if unknown:
        problems.append(RowError(1, f"unknown column(s): {', '.join(unknown)}; the columns are {', '.join(columns)}"))
    if problems:
        raise ImportRejected(problems)
    rows = []
    for row in reader:
        if None in row:
            rows.append((reader.line_num, {"__extra__": "x"}))
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if any(values.values()):
            rows.append((reader.line_num, values))
    return rows


def text_line(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def import_members(data: bytes) -> list[Member]:
    """Add every member of the file, or none: each bad row is reported with its line."""
    rows = _read_csv(data, MEMBER_COLUMNS, MEMBER_REQUIRED)
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    clean_rows = []
    for line, values in rows:
        if "__extra__" in values:
            errors.append(RowError(line, "more fields than columns"))
            continue
        try:
            clean = _member_values(values)
        except Invalid as err:
            errors.append(RowError(line, err.message))
            continue
        key = (clean["name"].lower(), clean["country"].lower())
        if key in seen:
            errors.append(RowError(line, f"{clean['name']} ({clean['country']}) is also on line {seen[key]}"))
        elif find_member(clean["name"], clean["country"]) is not None:
            errors.append(RowError(line, f"{clean['name']} ({clean['country']}) is already on the roster"))
        seen.setdefault(key, line)
        clean_rows.append(clean)
    if errors:
        raise ImportRejected(errors)
    created = []
    for clean in clean_rows:
        member = Member(**clean)
        db.session.add(member)
        audit.record("member.import", member, None)
        created.append(member)
    return created


def import_delegates(data: bytes) -> list[Delegate]:
    """Add every delegate of the file, or none; the voting-representative limit counts the file too."""
    rows = _read_csv(data, DELEGATE_COLUMNS, DELEGATE_REQUIRED)
    limit = max_voting_representatives()
    errors: list[RowError] = []
    planned: list[tuple[Member, dict[str, Any]]] = []
    voting_added: dict[int, int] = {}
    emails: dict[tuple[int, str], int] = {}
    for line, values in rows:
        if "__extra__" in values:
            errors.append(RowError(line, "more fields than columns"))
            continue
        member = find_member(values.get("member", ""), values.get("country", ""))
        if member is None:
            errors.append(RowError(line, f"no member '{values.get('member')}' ({values.get('country')}) on the roster; import members first"))
            continue
        try:
            clean = _delegate_values(values)
        except Invalid as err:
            errors.append(RowError(line, err.message))
            continue
        key = (member.id, clean["email"])
        if key in emails:
            errors.append(RowError(line, f"{clean['email']} is also on line {emails[key]} for {member.name}"))
            continue
        if any(d.email == clean["email"] for d in member.delegates):
            errors.append(RowError(line, f"{member.name} already has a delegate with e-mail {clean['email']}"))
            continue
        emails[key] = line
        if clean["is_voting"]:
            total = voting_count(member) + voting_added.get(member.id, 0) + 1
            if total > limit:
                errors.append(RowError(line, f"{member.name} would have {total} voting representatives; at most {limit} are allowed"))
                continue
            voting_added[member.id] = voting_added.get(member.id, 0) + 1
        planned.append((member, clean))
    if errors:
        raise ImportRejected(errors)
    created = []
    for member, clean in planned:
        delegate = Delegate(member=member, **clean)
        db.session.add(delegate)
        audit.record("delegate.import", delegate, None)
        created.append(delegate)
    return created


def export_members() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEMBER_COLUMNS)
    for m in db.session.scalars(select(Member).order_by(Member.name, Member.country)):
        writer.writerow([
            m.name, m.country, m.region, m.category.value, m.status.value,
            m.status_effective_on.isoformat() if m.status_effective_on else "",
            m.fee_paid_through or "", m.joined_on.isoformat() if m.joined_on else "", m.notes,
        ])
    return out.getvalue()


def export_delegates() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DELEGATE_COLUMNS)
    query = select(Delegate).join(Member).where(Delegate.is_active).order_by(Member.name, Delegate.id)
    for d in db.session.scalars(query):
        writer.writerow([d.member.name, d.member.country, d.display_name, d.email, d.phone or "", "yes" if d.is_voting else "no"])
    return out.getvalue()
