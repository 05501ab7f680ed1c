"""The Secretariat's roster pages: members, delegates, EXCOM seats, meetings, agendas, candidacies,
CSV import and export, and the audit log. Views read, call one service to write, and redirect."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta, timezone
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ballots.rules import available_rule_sets

from ..auth.access import roles
from ..errors import Conflict, DomainError, NotFound
from ..extensions import db
from ..models import (
    AgendaItem,
    AuditEvent,
    Category,
    Delegate,
    ExcomSeat,
    Meeting,
    Member,
    MemberStatus,
    Office,
    label,
)
from ..services import audit
from ..services import meetings as meeting_service
from ..services import roster as roster_service
from .forms import (
    AgendaItemForm,
    CandidacyForm,
    ConfirmForm,
    DelegateEditForm,
    DelegateForm,
    ImportForm,
    MeetingForm,
    MemberFilterForm,
    MemberForm,
    SeatEditForm,
    SeatForm,
)

bp = Blueprint("roster", __name__)

READERS = ("secretariat", "chair", "secretary-general", "observer")
WRITER = "secretariat"
AUDIT_PAGE_SIZE = 50
OFFICE_ORDER = {o: i for i, o in enumerate(Office)}
CATEGORY_WORDS = {
    Category.FULL: ("full member", "full members"),
    Category.ASSOCIATE: ("associate member", "associate members"),
    Category.FRIENDSHIP: ("friendship member", "friendship members"),
    Category.CORPORATE: ("corporate member", "corporate members"),
}
MEMBER_COLUMN_HELP = {
    "name": "The member's name, e.g. Seoul.",
    "country": "Its country; name and country together identify a member.",
    "region": "One of the configured regions (listed below).",
    "category": "full, associate, friendship or corporate.",
    "status": "active (the default when empty), suspended or withdrawn.",
    "status_effective_on": "The date a suspension or withdrawal takes effect, like 2017-06-27; required for those.",
    "fee_paid_through": "The last year whose membership fee is paid, like 2017.",
    "joined_on": "The date the member joined, like 2010-09-01.",
    "notes": "Free text.",
}
DELEGATE_COLUMN_HELP = {
    "member": "The member's name exactly as on the roster.",
    "country": "The member's country (name and country identify the member).",
    "display_name": "The delegate's name as printed on the badge.",
    "email": "The delegate's e-mail address (one per delegate of a member).",
    "phone": "Optional phone number.",
    "voting": "yes for a voting representative, no for a non-voting attendee.",
}

CONTACT_FIELDS = {"email", "phone"}
HIDDEN = "(hidden: Secretariat only)"

M = TypeVar("M")


# ---------------------------------------------------------------- helpers


def _get(model: type[M], ident: int, what: str, where: str) -> M:
    """The row with that id, or a 404 that says where to look instead."""
    obj = db.session.get(model, ident)
    if obj is None:
        raise NotFound(f"There is no {what} number {ident}.",
                       hint=f"It may be a mistyped or old link; start again from {where}.")
    return obj


def _refused(err: DomainError, template: str, **context: Any) -> tuple[str, int]:
    """Re-render a form after a service refused it: the person's input stays, nothing is written."""
    flash(f"{err.message} {err.hint}".strip(), "error")
    status = 409 if isinstance(err, Conflict) else 422
    return render_template(template, **context), status


def _not_valid(template: str, **context: Any) -> tuple[str, int]:
    flash("Some fields need correcting; they are marked below.", "error")
    return render_template(template, **context), 422


def _values(form: Any) -> dict[str, Any]:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


def _member_choices() -> list[tuple[int, str]]:
    members = db.session.scalars(select(Member).order_by(Member.is_placeholder, Member.name, Member.country))
    return [(m.id, m.display) for m in members]


def _regions() -> list[str]:
    return list(current_app.config["REGIONS"])


def _local_day(meeting: Meeting) -> date:
    """The meeting's first day as the venue's calendar shows it."""
    return meeting.starts_at.astimezone(timezone(timedelta(minutes=meeting.utc_offset_minutes))).date()


def count_phrase(members: list[Member]) -> str:
    """'120 full members · 2 friendship members': the list's members by category."""
    counts = Counter(m.category for m in members)
    parts = []
    for category, (one, many) in CATEGORY_WORDS.items():
        if counts[category]:
            parts.append(f"{counts[category]} {one if counts[category] == 1 else many}")
    return " · ".join(parts) or "No members"


def _diff(event: AuditEvent, *, hide_contact: bool = True) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field an event changed; a creation lists what it set.
    Delegates' e-mail and phone are for the Secretariat's eyes only, in the log as on the pages."""
    before, after = event.before or {}, event.after or {}
    rows = []
    for key in dict.fromkeys([*before, *after]):
        if key in ("created_at",):
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if event.before is None and (new in (None, "", False) or key == "id" or key.endswith("_id")):
            continue  # a creation: what it set, without its own and its parents' numbers
        if hide_contact and key in CONTACT_FIELDS:
            old, new = (None if old is None else HIDDEN), (None if new is None else HIDDEN)
        rows.append((key, old, new))
    return rows


# ---------------------------------------------------------------- members


@bp.get("/members")
@roles(*READERS)
def members() -> Any:
    """The roster with filters and counts by category."""
    filters = MemberFilterForm(request.args, regions=_regions())
    query = select(Member)
    q = (filters.q.data or "").strip()
    if q:
        query = query.where(or_(func.lower(Member.name).contains(q.lower(), autoescape=True),
                                func.lower(Member.country).contains(q.lower(), autoescape=True)))
    category = filters.category.data if filters.category.data in set(Category) else ""
    status = filters.status.data if filters.status.data in set(MemberStatus) else ""
    if category:
        query = query.where(Member.category == category)
    if filters.region.data:
        query = query.where(Member.region == filters.region.data)
    if status:
        query = query.where(Member.status == status)
    rows = db.session.scalars(query.options(selectinload(Member.delegates))
                              .order_by(Member.is_placeholder, Member.name, Member.country)).all()
    filtered = bool(q or category or filters.region.data or status)
    return render_template(
        "roster/members.html", filters=filters, members=rows, filtered=filtered,
        counts=count_phrase(list(rows)), placeholders=sum(1 for m in rows if m.is_placeholder),
        limit=roster_service.max_voting_representatives(), voting_count=roster_service.voting_count,
        today=date.today(),
    )


@bp.get("/members/<int:member_id>")
@roles(*READERS)
def member(member_id: int) -> Any:
    """One member: facts, delegates, EXCOM seats and its recent audit events."""
    m = _get(Member, member_id, "member", "the members list")
    delegate_ids = [str(d.id) for d in m.delegates]
    seat_ids = [str(s.id) for s in m.seats]
    events = db.session.scalars(
        select(AuditEvent).where(or_(
            (AuditEvent.entity == "member") & (AuditEvent.entity_id == str(m.id)),
            (AuditEvent.entity == "delegate") & AuditEvent.entity_id.in_(delegate_ids),
            (AuditEvent.entity == "excom_seat") & AuditEvent.entity_id.in_(seat_ids),
        )).order_by(AuditEvent.seq.desc()).limit(15)
    ).all()
    return render_template(
        "roster/member.html", member=m, events=events, diff=_diff,
        voting=roster_service.voting_count(m), limit=roster_service.max_voting_representatives(),
        show_contact=_is_secretariat(), delegate_form=DelegateForm(formdata=None),
        today=date.today(),
    )


def _is_secretariat() -> bool:
    return getattr(current_user, "role", None) == WRITER


@bp.route("/members/new", methods=["GET", "POST"])
@roles(WRITER)
def member_new() -> Any:
    """Add a member to the roster."""
    form = MemberForm(regions=_regions())
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/member_form.html", form=form, member=None)
        try:
            m = roster_service.create_member(_values(form))
        except DomainError as err:
            return _refused(err, "roster/member_form.html", form=form, member=None)
        flash(f"{m.display} is on the roster.", "success")
        return redirect(url_for(".member", member_id=m.id))
    return render_template("roster/member_form.html", form=form, member=None)


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@roles(WRITER)
def member_edit(member_id: int) -> Any:
    """Edit a member; withdrawal is a status with the date it takes effect, never a deletion."""
    m = _get(Member, member_id, "member", "the members list")
    data = {
        "name": m.name, "country": m.country, "region": m.region, "category": m.category.value,
        "status": m.status.value, "status_effective_on": m.status_effective_on.isoformat() if m.status_effective_on else "",
        "fee_paid_through": str(m.fee_paid_through or ""), "joined_on": m.joined_on.isoformat() if m.joined_on else "",
        "notes": m.notes,
    }
    form = MemberForm(data=data, regions=_regions())
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/member_form.html", form=form, member=m)
        try:
            roster_service.update_member(m, _values(form))
        except DomainError as err:
            return _refused(err, "roster/member_form.html", form=form, member=m)
        flash(f"{m.display} is updated.", "success")
        return redirect(url_for(".member", member_id=m.id))
    return render_template("roster/member_form.html", form=form, member=m)


# ---------------------------------------------------------------- delegates


@bp.route("/members/<int:member_id>/delegates/new", methods=["GET", "POST"])
@roles(WRITER)
def delegate_new(member_id: int) -> Any:
    """Add a delegate (voting representative or attendee) to a member."""
    m = _get(Member, member_id, "member", "the members list")
    form = DelegateForm()
    context = {"form": form, "member": m, "delegate": None, "limit": roster_service.max_voting_representatives()}
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/delegate_form.html", **context)
        try:
            d = roster_service.add_delegate(m, _values(form))
        except DomainError as err:
            return _refused(err, "roster/delegate_form.html", **context)
        kind = "a voting representative" if d.is_voting else "an attendee"
        flash(f"{d.display_name} is added to {m.name} as {kind}.", "success")
        return redirect(url_for(".member", member_id=m.id, _anchor="delegates"))
    return render_template("roster/delegate_form.html", **context)


@bp.route("/delegates/<int:delegate_id>/edit", methods=["GET", "POST"])
@roles(WRITER)
def delegate_edit(delegate_id: int) -> Any:
    """Edit a delegate; untick Active to deactivate (delegates are never deleted)."""
    d = _get(Delegate, delegate_id, "delegate", "the member's page")
    form = DelegateEditForm(data={"display_name": d.display_name, "email": d.email, "phone": d.phone or "",
                                  "is_voting": d.is_voting, "is_active": d.is_active})
    context = {"form": form, "member": d.member, "delegate": d, "limit": roster_service.max_voting_representatives()}
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/delegate_form.html", **context)
        try:
            roster_service.update_delegate(d, _values(form))
        except DomainError as err:
            return _refused(err, "roster/delegate_form.html", **context)
        flash(f"{d.display_name} is updated.", "success")
        return redirect(url_for(".member", member_id=d.member_id, _anchor="delegates"))
    return render_template("roster/delegate_form.html", **context)


@bp.post("/delegates/<int:delegate_id>/deactivate")
@roles(WRITER)
def delegate_deactivate(delegate_id: int) -> Any:
    """Deactivate a delegate: kept on record, no longer on badges or in votes."""
    d = _get(Delegate, delegate_id, "delegate", "the member's page")
    form = ConfirmForm()
    if not form.validate():
        flash("This form had expired. Reload the page and try again.", "error")
        return redirect(url_for(".member", member_id=d.member_id, _anchor="delegates"))
    try:
        roster_service.update_delegate(d, {"display_name": d.display_name, "email": d.email, "phone": d.phone,
                                           "is_voting": d.is_voting, "is_active": False})
    except DomainError as err:
        flash(f"{err.message} {err.hint}".strip(), "error")
        return redirect(url_for(".member", member_id=d.member_id, _anchor="delegates"))
    flash(f"{d.display_name} is deactivated; the record is kept. Edit the delegate to reactivate.", "success")
    return redirect(url_for(".member", member_id=d.member_id, _anchor="delegates"))


# ---------------------------------------------------------------- Executive Committee seats


@bp.get("/seats")
@roles(*READERS)
def seats() -> Any:
    """Executive Committee seats grouped by term, offices first (Art. 12.1)."""
    rows = db.session.scalars(select(ExcomSeat).join(Member).options(selectinload(ExcomSeat.member))).all()
    terms: dict[tuple[int, int], list[ExcomSeat]] = {}
    for s in sorted(rows, key=lambda s: (-s.term_start, -s.term_end, OFFICE_ORDER[s.office], s.member.name)):
        terms.setdefault((s.term_start, s.term_end), []).append(s)
    return render_template("roster/seats.html", terms=terms, this_year=date.today().year)


@bp.route("/seats/new", methods=["GET", "POST"])
@roles(WRITER)
def seat_new() -> Any:
    """Seat a member on the Executive Committee for a term."""
    form = SeatForm(members=_member_choices())
    wanted = request.args.get("member_id", "")
    if request.method == "GET" and wanted.isascii() and wanted.isdigit() and len(wanted) <= 9:
        form.member_id.data = int(wanted)
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/seat_form.html", form=form, seat=None)
        try:
            m = _get(Member, form.member_id.data or 0, "member", "the members list")
            seat = roster_service.seat_member(m, form.office.data or "", form.term_start.data or 0, form.term_end.data or 0)
        except DomainError as err:
            return _refused(err, "roster/seat_form.html", form=form, seat=None)
        flash(f"{m.name} is seated as {label(seat.office).lower()} for {seat.term_start}–{seat.term_end}.", "success")
        return redirect(url_for(".seats"))
    return render_template("roster/seat_form.html", form=form, seat=None)


@bp.route("/seats/<int:seat_id>/edit", methods=["GET", "POST"])
@roles(WRITER)
def seat_edit(seat_id: int) -> Any:
    """Change a seat's office or term."""
    seat = _get(ExcomSeat, seat_id, "Executive Committee seat", "the seats page")
    form = SeatEditForm(data={"office": seat.office.value, "term_start": seat.term_start, "term_end": seat.term_end})
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/seat_form.html", form=form, seat=seat)
        try:
            roster_service.update_seat(seat, form.office.data or "", form.term_start.data or 0, form.term_end.data or 0)
        except DomainError as err:
            return _refused(err, "roster/seat_form.html", form=form, seat=seat)
        flash(f"{seat.member.name}'s seat is updated.", "success")
        return redirect(url_for(".seats"))
    return render_template("roster/seat_form.html", form=form, seat=seat)


# ---------------------------------------------------------------- meetings


@bp.get("/meetings")
@roles(*READERS)
def meetings() -> Any:
    """Every meeting, newest first."""
    rows = db.session.scalars(select(Meeting).order_by(Meeting.starts_at.desc())).all()
    return render_template("roster/meetings.html", meetings=rows)


@bp.get("/meetings/<int:meeting_id>")
@roles(*READERS)
def meeting(meeting_id: int) -> Any:
    """One meeting: its facts, who may vote in it, its agenda and its candidacies and bids."""
    mt = _get(Meeting, meeting_id, "meeting", "the meetings list")
    day = _local_day(mt)
    if mt.body.value == "excom":
        seated = roster_service.excom_members_on(day)
        electorate = {"count": len(seated), "what": f"Executive Committee members seated for {day.year}",
                      "members": seated}
    else:
        full = db.session.scalars(select(Member).where(Member.category == Category.FULL)).all()
        voters = [m for m in full if m.votes_in_ga_on(day)]
        electorate = {"count": len(voters), "what": f"full members in good standing on {day:%d %b %Y}",
                      "members": None}
    return render_template("roster/meeting.html", meeting=mt, day=day, electorate=electorate)


def _meeting_form(mt: Meeting | None) -> MeetingForm:
    data = None
    if mt is not None:
        data = {
            "key": mt.key, "title": mt.title, "body": mt.body.value, "rule_set": mt.rule_set,
            "starts_at": meeting_service.local_input(mt.starts_at, mt.utc_offset_minutes),
            "ends_at": meeting_service.local_input(mt.ends_at, mt.utc_offset_minutes),
            "venue": mt.venue, "city": mt.city, "host_member_id": str(mt.host_member_id or ""),
        }
    return MeetingForm(data=data, rule_sets=list(available_rule_sets()), members=_member_choices())


@bp.route("/meetings/new", methods=["GET", "POST"])
@roles(WRITER)
def meeting_new() -> Any:
    """Set up a meeting of the General Assembly or the Executive Committee."""
    form = _meeting_form(None)
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/meeting_form.html", form=form, meeting=None)
        try:
            mt = meeting_service.create_meeting(_values(form))
        except DomainError as err:
            return _refused(err, "roster/meeting_form.html", form=form, meeting=None)
        flash(f"{mt.title} is set up. Add its agenda next.", "success")
        return redirect(url_for(".meeting", meeting_id=mt.id))
    return render_template("roster/meeting_form.html", form=form, meeting=None)


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@roles(WRITER)
def meeting_edit(meeting_id: int) -> Any:
    """Edit a meeting's facts."""
    mt = _get(Meeting, meeting_id, "meeting", "the meetings list")
    form = _meeting_form(mt)
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/meeting_form.html", form=form, meeting=mt)
        try:
            meeting_service.update_meeting(mt, _values(form))
        except DomainError as err:
            return _refused(err, "roster/meeting_form.html", form=form, meeting=mt)
        flash(f"{mt.title} is updated.", "success")
        return redirect(url_for(".meeting", meeting_id=mt.id))
    return render_template("roster/meeting_form.html", form=form, meeting=mt)


@bp.route("/meetings/<int:meeting_id>/agenda/new", methods=["GET", "POST"])
@roles(WRITER)
def agenda_new(meeting_id: int) -> Any:
    """Add an item to a meeting's agenda."""
    mt = _get(Meeting, meeting_id, "meeting", "the meetings list")
    form = AgendaItemForm()
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/agenda_form.html", form=form, meeting=mt, item=None)
        try:
            item = meeting_service.add_agenda_item(mt, _values(form))
        except DomainError as err:
            return _refused(err, "roster/agenda_form.html", form=form, meeting=mt, item=None)
        flash(f"Agenda item {item.number} is added.", "success")
        return redirect(url_for(".meeting", meeting_id=mt.id, _anchor="agenda"))
    return render_template("roster/agenda_form.html", form=form, meeting=mt, item=None)


@bp.route("/agenda/<int:item_id>/edit", methods=["GET", "POST"])
@roles(WRITER)
def agenda_edit(item_id: int) -> Any:
    """Edit an agenda item."""
    item = _get(AgendaItem, item_id, "agenda item", "the meetings list")
    form = AgendaItemForm(data={"number": item.number, "title": item.title, "presenter": item.presenter,
                                "decision": item.decision.value, "summary": item.summary})
    context = {"form": form, "meeting": item.meeting, "item": item}
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/agenda_form.html", **context)
        try:
            meeting_service.update_agenda_item(item, _values(form))
        except DomainError as err:
            return _refused(err, "roster/agenda_form.html", **context)
        flash(f"Agenda item {item.number} is updated.", "success")
        return redirect(url_for(".meeting", meeting_id=item.meeting_id, _anchor="agenda"))
    return render_template("roster/agenda_form.html", **context)


@bp.route("/meetings/<int:meeting_id>/candidacies/new", methods=["GET", "POST"])
@roles(WRITER)
def candidacy_new(meeting_id: int) -> Any:
    """Record a member's written notice of candidacy or bid for a meeting."""
    mt = _get(Meeting, meeting_id, "meeting", "the meetings list")
    form = CandidacyForm(members=_member_choices())
    if request.method == "POST":
        if not form.validate():
            return _not_valid("roster/candidacy_form.html", form=form, meeting=mt)
        try:
            m = _get(Member, form.member_id.data or 0, "member", "the members list")
            notified = date.fromisoformat(form.notified_on.data) if form.notified_on.data else None
            cand = meeting_service.add_candidacy(mt, m, form.kind.data or "", notified, (form.notes.data or "").strip())
        except ValueError:
            form.notified_on.errors = [*form.notified_on.errors, "Enter a date like 2017-06-27."]
            return _not_valid("roster/candidacy_form.html", form=form, meeting=mt)
        except DomainError as err:
            return _refused(err, "roster/candidacy_form.html", form=form, meeting=mt)
        flash(f"{m.name}'s {label(cand.kind).lower()} notice is recorded.", "success")
        return redirect(url_for(".meeting", meeting_id=mt.id, _anchor="candidacies"))
    return render_template("roster/candidacy_form.html", form=form, meeting=mt)


# ---------------------------------------------------------------- CSV


def _import_page(form: ImportForm, errors: list[Any] | None = None) -> str:
    return render_template(
        "roster/import.html", form=form, errors=errors or [],
        member_columns=[(c, c in roster_service.MEMBER_REQUIRED, MEMBER_COLUMN_HELP.get(c, ""))
                        for c in roster_service.MEMBER_COLUMNS],
        delegate_columns=[(c, c in roster_service.DELEGATE_REQUIRED, DELEGATE_COLUMN_HELP.get(c, ""))
                          for c in roster_service.DELEGATE_COLUMNS],
        regions=_regions(), limit=roster_service.max_voting_representatives(),
    )


@bp.route("/roster/import", methods=["GET", "POST"])
@roles(WRITER)
def import_csv() -> Any:
    """Import members or delegates from CSV: every row, or nothing and a list of the bad rows."""
    form = ImportForm()
    if request.method == "POST":
        if not form.validate():
            flash("Choose what the file holds and the file itself.", "error")
            return _import_page(form), 422
        data = form.file.data.read()
        try:
            if form.kind.data == "delegates":
                created: list[Any] = roster_service.import_delegates(data)
            else:
                created = roster_service.import_members(data)
        except roster_service.ImportRejected as err:
            n = len(err.errors)
            flash(f"The file was not imported; nothing was changed. {n} problem{'s' if n != 1 else ''} "
                  "listed below: correct them and import the whole file again.", "error")
            return _import_page(form, err.errors), 422
        except DomainError as err:
            flash(f"{err.message} {err.hint}".strip(), "error")
            return _import_page(form), 409 if isinstance(err, Conflict) else 422
        kind = form.kind.data or "members"
        if not created:
            flash(f"The file held no {kind}; nothing was changed.", "info")
            return redirect(url_for(".import_csv"))
        flash(f"Imported {len(created)} {kind[:-1] if len(created) == 1 else kind}.", "success")
        return redirect(url_for(".members"))
    return _import_page(form)


def _csv(text: str, filename: str) -> Response:
    return Response(text, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/roster/members.csv")
@roles(WRITER)
def export_members() -> Any:
    """Every member as CSV, in the columns the import takes."""
    return _csv(roster_service.export_members(), "members.csv")


@bp.get("/roster/delegates.csv")
@roles(WRITER)
def export_delegates() -> Any:
    """Every active delegate as CSV, in the columns the import takes."""
    return _csv(roster_service.export_delegates(), "delegates.csv")


# ---------------------------------------------------------------- audit log


@bp.get("/audit")
@roles("secretariat", "observer")
def audit_log() -> Any:
    """The audit log, newest first, with a banner saying whether its hash chain holds."""
    total = db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    page = request.args.get("page", "1")
    page_n = int(page) if page.isascii() and page.isdigit() and len(page) <= 9 and int(page) >= 1 else 1
    if page_n > pages:
        raise NotFound(f"The audit log has {pages} page{'s' if pages != 1 else ''}; there is no page {page_n}.",
                       hint="Go back to the first page.")
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.seq.desc()).offset((page_n - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)
    ).all()
    brk = audit.verify_audit_chain()
    broken_at = None if brk is None else (brk.seq if brk.seq is not None else brk.index + 1)
    return render_template("roster/audit.html", events=events, diff=_diff, total=total, page=page_n, pages=pages,
                           brk=brk, broken_at=broken_at, entity_link=_entity_link, show_contact=_is_secretariat())


def _entity_link(event: AuditEvent) -> str | None:
    """A link to the page showing the entity an event is about, when there is one."""
    if not event.entity_id.isdigit():
        return None
    ident = int(event.entity_id)
    if event.entity == "member":
        return url_for(".member", member_id=ident)
    if event.entity == "meeting":
        return url_for(".meeting", meeting_id=ident)
    after = event.after or event.before or {}
    if event.entity == "delegate" and after.get("member_id"):
        return url_for(".member", member_id=after["member_id"], _anchor="delegates")
    if event.entity == "excom_seat" and after.get("member_id"):
        return url_for(".member", member_id=after["member_id"], _anchor="seats")
    if event.entity in ("agenda_item", "candidacy") and after.get("meeting_id"):
        return url_for(".meeting", meeting_id=after["meeting_id"])
    return None
