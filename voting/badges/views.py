"""The Secretariat's key-status page and enrolment actions: show, e-mail or re-issue one delegate's
QR code, and print a meeting's badge sheet. Every action that creates a code is a POST."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..auth.access import roles
from ..errors import Conflict, DomainError, Invalid, NotFound
from ..extensions import db
from ..models import Delegate, Meeting
from ..qr import qr_svg
from ..services import badges, identity, mail
from ..templating import fmt_datetime

bp = Blueprint("badges", __name__)

PAGE_SIZE = 100
ACTIONS = ("show", "email", "reissue")


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"There is no meeting number {meeting_id}.", hint="Choose a meeting from the Meetings page.")
    return meeting


def _optional_meeting(raw: str | None) -> Meeting | None:
    """The meeting named by a ?meeting= or form value (an id), or None when it is empty."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):  # "²" is a digit int() refuses; ids fit 32 bits
        raise NotFound("That meeting is not one we know.", hint="Choose a meeting from the list.")
    return _meeting(int(raw))


def _matches(delegate: Delegate, q: str) -> bool:
    """Case-insensitive in every script (SQLite's LIKE folds ASCII only: 'beyoğlu' must find Beyoğlu)."""
    needle = q.casefold()
    return any(needle in text.casefold() for text in (delegate.member.name, delegate.display_name, delegate.email))


def _filters(values: Any) -> dict[str, str]:
    """The key-status page's filters, from a query string or the hidden fields of an action form."""
    out = {k: (values.get(k) or "").strip() for k in ("meeting", "q", "status", "page")}
    if out["status"] not in badges.STATUS_FILTERS:
        out["status"] = ""
    if not (out["page"].isascii() and out["page"].isdigit() and len(out["page"]) <= 9) or out["page"] == "1":
        out["page"] = ""
    return out


def _keys_url(filters: dict[str, str], anchor: str | None = None) -> str:
    return url_for("badges.keys", **{k: v for k, v in filters.items() if v}, _anchor=anchor)


@bp.get("/keys")
@roles("secretariat")
def keys() -> Any:
    """Every delegate's key status: the phone holding their key and since when, their latest code."""
    filters = _filters(request.args)
    meeting = _optional_meeting(filters["meeting"])
    delegates = badges.delegates_for_meeting(meeting) if meeting else badges.all_active_delegates()
    if filters["q"]:
        delegates = [d for d in delegates if _matches(d, filters["q"])]
    statuses = badges.key_statuses(delegates)
    counts = badges.status_counts(statuses)
    if filters["status"]:
        statuses = [s for s in statuses if s.group == filters["status"]]
    pages = max(1, -(-len(statuses) // PAGE_SIZE))
    page = min(max(1, int(filters["page"] or 1)), pages)
    meetings = db.session.scalars(select(Meeting).order_by(Meeting.starts_at.desc())).all()
    return render_template(
        "badges/keys.html", meeting=meeting, meetings=meetings, filters=filters, counts=counts,
        statuses=statuses[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], shown=len(statuses), page=page, pages=pages,
        status_filters=badges.STATUS_FILTERS, offset=meeting.utc_offset_minutes if meeting else 0,
        page_url=lambda n: _keys_url({**filters, "page": "" if n == 1 else str(n)}),
    )


@bp.post("/delegates/<int:delegate_id>/enrolment")
@roles("secretariat")
def enrolment(delegate_id: int) -> Any:
    """Issue one delegate a new code and show it (show), e-mail it (email), or switch off their
    phone first (reissue: a lost phone). Any earlier unused code of theirs stops working."""
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None:
        raise NotFound(f"There is no delegate number {delegate_id}.", hint="Start again from the key status page.")
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise Invalid("Choose Show QR, E-mail QR or Re-issue.", hint="Go back to the key status page and press one of the buttons.")
    if not delegate.is_active:
        raise Conflict(f"{delegate.display_name} is no longer on the roster, so they get no code.",
                       hint="Make the delegate active again on the member's page first.")
    meeting = _optional_meeting(request.form.get("meeting"))
    filters = _filters(request.form)
    back = _keys_url(filters, anchor=f"d{delegate.id}")
    offset = meeting.utc_offset_minutes if meeting else 0

    if action == "email":
        issued = identity.issue_token(delegate, meeting)
        try:
            mail.send_enrolment_email(delegate, issued, meeting)
        except DomainError as err:
            db.session.rollback()  # the code was never received: it must not exist (nor revoke the last one)
            return render_template("badges/email_failed.html", delegate=delegate, error=err, back=back,
                                   meeting=meeting, filters=filters), err.status
        flash(f"E-mailed a new code to {delegate.display_name} at {delegate.email}. It works once, until "
              f"{_when(issued, offset)}; their earlier unused code no longer works.", "success")
        return redirect(back)

    switched_off = None
    if action == "reissue":
        switched_off = identity.active_key(delegate=delegate)
        issued = identity.reissue(delegate, meeting)
    else:
        issued = identity.issue_token(delegate, meeting)
    url = badges.enrolment_url(issued.token)
    return render_template(
        "badges/qr.html", delegate=delegate, meeting=meeting, issued=issued, entry=badges.typed_entry(url),
        qr=qr_svg(url, label=f"Enrolment QR code for {delegate.display_name}"), role=badges.role_words(delegate),
        expires=_when(issued, offset), switched_off=switched_off, back=back, filters=filters,
    )


def _when(issued: identity.IssuedToken, offset: int) -> str:
    return fmt_datetime(issued.record.expires_at, offset)


def _print_form(meeting: Meeting, status: int = 200, error: str = "") -> Any:
    delegates = badges.delegates_for_meeting(meeting)
    statuses = badges.key_statuses(delegates)
    members = sorted({d.member.id: d.member for d in delegates}.values(), key=lambda m: m.name.casefold())
    return render_template("badges/print.html", meeting=meeting, counts=badges.status_counts(statuses),
                           members=members, member_count=len(members), error=error,
                           chosen=request.form.get("member", "")), status


@bp.get("/meetings/<int:meeting_id>/badges")
@roles("secretariat")
def print_form(meeting_id: int) -> Any:
    """Confirm before printing: a new sheet replaces every code not yet used."""
    return _print_form(_meeting(meeting_id))


@bp.post("/meetings/<int:meeting_id>/badges.pdf")
@roles("secretariat")
def badges_pdf(meeting_id: int) -> Any:
    """Issue a new code to each of the meeting's delegates (or one member's) and return the sheet."""
    meeting = _meeting(meeting_id)
    if request.form.get("confirm") != "yes":
        return _print_form(meeting, 422, "Tick the box to confirm that every earlier unused code may stop working.")
    delegates = badges.delegates_for_meeting(meeting)
    member = request.form.get("member", "")
    if member:
        delegates = [d for d in delegates if str(d.member_id) == member]
    if not delegates:
        return _print_form(meeting, 422, "No active delegate is on the roster for this choice; nothing was printed.")
    issued = [(d, identity.issue_token(d, meeting)) for d in delegates]
    pdf = badges.badge_sheet_pdf(meeting, issued)
    suffix = f"-{delegates[0].member.name}" if member else ""
    filename = f"badges-{meeting.key}{suffix}.pdf".replace(" ", "-")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='-._')}"})
