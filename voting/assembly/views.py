"""Delegate pages: scan the badge QR to enrol a device key, check in at the venue, see one's status."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..auth.access import ANY_STAFF, public, roles
from ..auth.principal import DelegateUser
from ..errors import Invalid, NotFound
from ..extensions import db, limiter
from ..models import Attendance, DeviceKey, Meeting, utcnow
from ..services import attendance, identity

bp = Blueprint("assembly", __name__)

TOKEN_LIMIT = "60 per minute"  # a hall behind one NAT address enrols many phones a minute
CHECKIN_SEEN = "checkin_seen"  # session key: the venue code this phone opened, and when


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_("The request must be a JSON object."), hint=_("Reload the page and try again."))
    return body


def _session_until(delegate_meeting: Meeting | None) -> int:
    """Delegate sessions last for the meeting (until its end plus a day), else for 3 days."""
    end = delegate_meeting.ends_at.timestamp() + 24 * 3600 if delegate_meeting else utcnow().timestamp() + 3 * 24 * 3600
    return int(max(end, utcnow().timestamp() + 3600))


@bp.get("/e/<token>")
@public
@limiter.limit(TOKEN_LIMIT)
def enrol(token: str) -> Any:
    """The page a badge QR opens: say what will happen, then create the key on this phone."""
    record = identity.check_token(token)
    delegate = record.delegate
    return render_template(
        "assembly/enrol.html", delegate=delegate, member=delegate.member, token=identity.normalize_token(token),
        challenge=record.token_hash, holder=identity.delegate_ref(delegate)[0], meeting=record.meeting,
    )


@bp.route("/e", methods=["GET", "POST"])
@public
@limiter.limit(TOKEN_LIMIT, methods=["POST"])
def enrol_typed() -> Any:
    """The typed fallback: the code printed under the QR on the badge."""
    if request.method == "POST":
        token = identity.normalize_token(request.form.get("code", ""))
        identity.check_token(token)
        return redirect(url_for("assembly.enrol", token=token))
    return render_template("assembly/enrol_typed.html")


@bp.post("/api/enrol")
@public
@limiter.limit(TOKEN_LIMIT)
def api_enrol() -> Any:
    """Register the phone's public key with its proof of possession, use the code, sign in."""
    body = _json_body()
    key = identity.enrol_delegate(str(body.get("token", "")), str(body.get("public_key", "")),
                                  str(body.get("signature", "")), str(body.get("device", "")))
    delegate = key.delegate
    assert delegate is not None
    token_row = db.session.scalars(
        select(identity.EnrolmentToken).where(identity.EnrolmentToken.used_by_key == key.key_id)
    ).first()
    until = _session_until(token_row.meeting if token_row else None)
    logout_user()
    login_user(DelegateUser(delegate, key, until))
    return jsonify({
        "ok": True, "key_id": key.key_id, "delegate": delegate.display_name, "member": delegate.member.name,
        "holder": identity.delegate_ref(delegate)[0], "next": url_for("assembly.me"),
    })


@bp.get("/me")
@roles("delegate")
def me() -> Any:
    """The delegate's home: who they are, the phone holding their key, where they are checked in."""
    delegate = current_user.delegate
    key: DeviceKey = current_user.key
    rows = db.session.scalars(select(Attendance).where(Attendance.delegate_id == delegate.id)).all()
    present = {r.meeting_id: r for r in rows if r.is_present}
    # The meetings checked in at, then those still to come (a past meeting only while checked in).
    # Written-consent resolutions live under pseudo-meetings ("consent-<n>"): no hall to check in at.
    meetings = [m for m in db.session.scalars(select(Meeting).order_by(Meeting.starts_at.desc())).all()
                if (m.id in present or m.ends_at >= utcnow()) and not m.key.startswith("consent-")]
    return render_template("assembly/me.html", delegate=delegate, key=key, meetings=meetings, present=present,
                           holder=identity.delegate_ref(delegate)[0],
                           session_until=datetime.fromtimestamp(current_user.until, UTC))


def _meeting_by_key(key: str) -> Meeting:
    meeting = db.session.scalars(select(Meeting).where(Meeting.key == key)).first()
    if meeting is None:
        raise NotFound(_("There is no meeting at this check-in address."), hint=_("Scan the code shown on the screen in the hall."))
    return meeting


@bp.get("/c/<meeting_key>/<code>")
@public
@limiter.limit(TOKEN_LIMIT)
def checkin(meeting_key: str, code: str) -> Any:
    """What the venue QR opens: confirm, then check in (a POST, so a link alone changes nothing)."""
    meeting = _meeting_by_key(meeting_key)
    attendance.verify_code(meeting, code)
    if getattr(current_user, "kind", None) != "delegate":
        return render_template("assembly/checkin_need_badge.html", meeting=meeting), 401
    already = attendance.is_checked_in(meeting, current_user.delegate)
    # The code was valid when the phone opened it; the button may be pressed after the code has
    # rotated (a slow phone, a delegate reading the page), so remember the valid scan for a while.
    session[CHECKIN_SEEN] = {"meeting": meeting.id, "code": code.strip().upper(),
                             "at": int(attendance.utcnow().timestamp())}
    return render_template("assembly/checkin.html", meeting=meeting, code=code, already=already)


def _seen_recently(meeting: Meeting, code: str) -> bool:
    """Whether this phone opened this very code, valid then, within CONFIRM_SECONDS."""
    seen = session.get(CHECKIN_SEEN)
    if not isinstance(seen, dict) or seen.get("meeting") != meeting.id or seen.get("code") != code.strip().upper():
        return False
    age = attendance.utcnow().timestamp() - int(seen.get("at", 0))
    return 0 <= age <= attendance.CONFIRM_SECONDS


@bp.post("/c/<meeting_key>/<code>")
@roles("delegate")
@limiter.limit(TOKEN_LIMIT)
def checkin_post(meeting_key: str, code: str) -> Any:
    meeting = _meeting_by_key(meeting_key)
    if not _seen_recently(meeting, code):
        attendance.verify_code(meeting, code)
    session.pop(CHECKIN_SEEN, None)
    attendance.set_presence(meeting, current_user.delegate, True, via="venue-qr")
    flash(_("You are checked in at %(meeting)s.", meeting=meeting.title), "success")
    return redirect(url_for("assembly.me"))


@bp.post("/me/checkout/<int:meeting_id>")
@roles("delegate")
def checkout(meeting_id: int) -> Any:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(_("No such meeting."))
    attendance.set_presence(meeting, current_user.delegate, False, via="self")
    flash(_("You are checked out of %(meeting)s. Scan the hall's code to come back in.", meeting=meeting.title), "info")
    return redirect(url_for("assembly.me"))


@bp.post("/me/signout")
@roles("delegate")
def signout() -> Any:
    logout_user()
    flash(_("You are signed out on this phone. Your key stays on it; scan a new code from the Secretariat to sign in again."),
          "info")
    return redirect(url_for("auth.home"))


@bp.get("/account/device")
@roles(*ANY_STAFF)
def staff_device() -> Any:
    """Staff enrol a device key the same way (the chair's key co-signs certificates)."""
    account = current_user.account
    key = identity.active_key(staff=account)
    challenge = secrets.token_hex(32)
    session["staff_key_challenge"] = challenge
    return render_template("assembly/staff_device.html", key=key, challenge=challenge,
                           holder=identity.staff_ref(account)[0])


@bp.post("/api/enrol/staff")
@roles(*ANY_STAFF)
def api_enrol_staff() -> Any:
    body = _json_body()
    account = current_user.account
    challenge = session.pop("staff_key_challenge", None)
    if not challenge:
        raise Invalid(_("This page has expired."), hint=_("Reload the page and press the button again."))
    key = identity.enrol_staff(account, challenge, str(body.get("public_key", "")), str(body.get("signature", "")),
                               str(body.get("device", "")))
    return jsonify({"ok": True, "key_id": key.key_id, "holder": identity.staff_ref(account)[0],
                    "next": url_for("assembly.staff_device")})
