"""The roll of members present (live), the rotating venue check-in code, and the desk check-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from ..auth.access import ANY_STAFF, roles
from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import Delegate, Meeting, Member
from ..qr import qr_png
from ..services import attendance

bp = Blueprint("chair", __name__)


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("There is no such meeting.", hint="Choose a meeting from the list.")
    return meeting


def roll_json(roll: attendance.Roll) -> dict[str, Any]:
    return {
        "meeting": roll.meeting.id, "present": roll.present, "total": roll.total,
        "quorum": {"required": roll.quorum_required, "met": roll.quorum_met, "article": roll.quorum_article,
                   "words": roll.quorum_words},
        "attendees_present": roll.attendees_present,
        "members": [{"id": e.member.id, "name": e.member.name, "present": e.present, "delegates_in": list(e.delegates_in)}
                    for e in roll.members],
    }


@bp.get("/meetings/<int:meeting_id>/roll")
@roles(*ANY_STAFF)
def roll(meeting_id: int) -> Any:
    """Members present and total, live and by member, with the quorum the rule set requires."""
    meeting = _meeting(meeting_id)
    return render_template("chair/roll.html", meeting=meeting, roll=attendance.roll(meeting))


@bp.get("/api/meetings/<int:meeting_id>/roll")
@roles(*ANY_STAFF)
def roll_api(meeting_id: int) -> Any:
    return jsonify(roll_json(attendance.roll(_meeting(meeting_id))))


def _venue_url(meeting: Meeting, code: str) -> str:
    from flask import current_app

    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("assembly.checkin", meeting_key=meeting.key, code=code)
    return (base.rstrip("/") + path) if base else url_for("assembly.checkin", meeting_key=meeting.key, code=code, _external=True)


@bp.get("/meetings/<int:meeting_id>/venue-code")
@roles("secretariat", "chair")
def venue_code(meeting_id: int) -> Any:
    """The screen at the hall's entrance: a check-in QR that changes every 30 seconds."""
    meeting = _meeting(meeting_id)
    return render_template("chair/venue_code.html", meeting=meeting, window=attendance.WINDOW_SECONDS)


@bp.get("/api/meetings/<int:meeting_id>/venue-code")
@roles("secretariat", "chair")
def venue_code_api(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    current = attendance.current_code(meeting)
    return jsonify({"code": current.code, "window": current.window, "seconds_left": current.seconds_left,
                    "url": _venue_url(meeting, current.code),
                    "image": url_for("chair.venue_code_png", meeting_id=meeting.id, w=current.window)})


@bp.get("/meetings/<int:meeting_id>/venue-code.png")
@roles("secretariat", "chair")
def venue_code_png(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    current = attendance.current_code(meeting)
    return Response(qr_png(_venue_url(meeting, current.code), box_size=12), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


@bp.get("/meetings/<int:meeting_id>/desk")
@roles("secretariat")
def desk(meeting_id: int) -> Any:
    """Check delegates in and out at the Secretariat desk."""
    meeting = _meeting(meeting_id)
    q = (request.args.get("q") or "").strip()
    query = select(Delegate).join(Member).where(Delegate.is_active).order_by(Member.name, Delegate.id)
    if q:
        query = query.where(Member.name.ilike(f"%{q}%") | Delegate.display_name.ilike(f"%{q}%"))
    delegates = db.session.scalars(query.limit(200)).all()
    present = {d.id for d in delegates if attendance.is_checked_in(meeting, d)}
    return render_template("chair/desk.html", meeting=meeting, delegates=delegates, present=present, q=q,
                           roll=attendance.roll(meeting))


@bp.post("/meetings/<int:meeting_id>/desk/<int:delegate_id>")
@roles("secretariat")
def desk_set(meeting_id: int, delegate_id: int) -> Any:
    meeting = _meeting(meeting_id)
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None:
        raise NotFound("There is no such delegate.")
    action = request.form.get("action")
    if action not in ("in", "out"):
        raise Invalid("Choose check in or check out.")
    attendance.set_presence(meeting, delegate, action == "in", via="desk")
    flash(f"{delegate.display_name} is checked {action}.", "success")
    return redirect(url_for("chair.desk", meeting_id=meeting.id, q=request.form.get("q", "")))
