"""Voting from the phone: open votes, the ballot page, the signed-ballot API and receipts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from ..auth.access import public, roles
from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import Attendance, Ballot, Delegate, Vote, VoteState
from ..qr import qr_png
from ..services import casting
from ..services.identity import delegate_ref

bp = Blueprint("casting", __name__)


def _vote(vote_id: int) -> Vote:
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        raise NotFound(_("There is no such vote."), hint=_("Go back to your badge page; open votes are listed there."))
    return vote


def _member_ballot(vote: Vote, member_ref: str) -> Ballot | None:
    """The ballot cast for this member in this vote (by whichever representative), if any."""
    return db.session.scalars(select(Ballot).where(Ballot.vote_id == vote.id, Ballot.member_ref == member_ref)).first()


def _vote_summary(vote: Vote, member_ref: str) -> dict[str, Any]:
    mine = _member_ballot(vote, member_ref)
    return {
        "id": vote.id, "ref": casting.vote_ref(vote), "state": vote.state.value, "kind": vote.kind.value,
        "question": vote.question, "round": vote.round, "meeting": vote.meeting.title,
        "agenda_item": vote.agenda_item.number, "url": url_for("casting.ballot_page", vote_id=vote.id),
        "voted": mine is not None,
        "voted_by_me": mine is not None and mine.delegate_id == current_user.delegate.id,
    }


@bp.get("/api/session")
@public
def session_info() -> Any:
    """A CSRF token for API clients (the Python client, scripts), and who is signed in."""
    return jsonify({"csrf_token": generate_csrf(), "signed_in": bool(current_user.is_authenticated),
                    "kind": getattr(current_user, "kind", "anonymous")})


@bp.get("/api/me/votes")
@roles("delegate")
def my_votes() -> Any:
    """Open votes of the meetings this delegate is checked in at (polled by the phone)."""
    delegate = current_user.delegate
    meeting_ids = db.session.scalars(
        select(Attendance.meeting_id).where(Attendance.delegate_id == delegate.id, Attendance.is_present)
    ).all()
    votes = db.session.scalars(
        select(Vote).where(Vote.state == VoteState.OPEN, Vote.meeting_id.in_(meeting_ids)).order_by(Vote.opened_at)
    ).all() if meeting_ids else []
    ref = delegate_ref(delegate)[1]
    return jsonify({"votes": [_vote_summary(v, ref) for v in votes]})


@bp.get("/votes/<int:vote_id>")
@roles("delegate")
def ballot_page(vote_id: int) -> Any:
    """The ballot: choose, review exactly what will be signed, sign on the phone and send."""
    vote = _vote(vote_id)
    definition = casting.definition_of(vote)
    member_ref = delegate_ref(current_user.delegate)[1]
    cast = _member_ballot(vote, member_ref)
    cast_by = db.session.get(Delegate, cast.delegate_id) if cast is not None else None
    return render_template("assembly/ballot.html", vote=vote, definition=definition,
                           summary=_vote_summary(vote, member_ref), cast=cast,
                           cast_by=cast_by.display_name if cast_by is not None else _("another representative"))


@bp.get("/api/votes/<int:vote_id>")
@roles("delegate")
def vote_api(vote_id: int) -> Any:
    """What the phone needs to build the ballot: the definition's exact bytes and who signs."""
    vote = _vote(vote_id)
    holder, member = delegate_ref(current_user.delegate)
    return jsonify({
        "vote": casting.vote_ref(vote), "id": vote.id, "round": vote.round, "state": vote.state.value,
        "kind": vote.kind.value, "vote_sha256": vote.definition_sha256, "definition": vote.definition.decode("utf-8"),
        "member": member, "delegate": holder, "key": current_user.key.key_id,
        "ballots_url": url_for("casting.submit", vote_id=vote.id),
        # A secret ballot: the phone seals the choice to this key (ballots.sealed) and signs an envelope.
        "secret": definition_secret(vote),
    })


def definition_secret(vote: Vote) -> dict[str, Any] | None:
    secret = casting.definition_of(vote).get("secret")
    return secret if isinstance(secret, dict) else None


@bp.post("/api/votes/<int:vote_id>/ballots")
@roles("delegate")
def submit(vote_id: int) -> Any:
    """Accept a signed ballot: {"ballot": "<canonical JSON text>", "signature": "<base64url>"}, and for
    a secret vote the sealed choice beside the signed envelope: "sealed": "<base64url>"."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_("Send the ballot as a JSON object with 'ballot' and 'signature'."))
    accepted = casting.cast(vote_id, body.get("ballot"), body.get("signature"), current_user.delegate,  # type: ignore[arg-type]
                            body.get("sealed"))
    vote = accepted.ballot.vote
    extra: dict[str, Any] = {}
    if accepted.tracker is not None:
        from ballots.sealed import tracker_code

        # The tracker is answered to the phone that sent it and kept nowhere beside the envelope.
        extra = {"tracker": accepted.tracker, "tracker_code": tracker_code(accepted.tracker), "secret": True}
    return jsonify({**extra,
        "ok": True, "replay": accepted.replay, "receipt": accepted.receipt,
        "short_code": _short(accepted.receipt), "ballot_number": accepted.ballot.leaf_index + 1,
        "vote": {"ref": casting.vote_ref(vote), "question": vote.question, "meeting": vote.meeting.title,
                 "agenda_item": vote.agenda_item.number, "round": vote.round},
        "qr": url_for("casting.receipt_qr", vote_id=vote.id, leaf=accepted.ballot.leaf_hash),
    }), (200 if accepted.replay else 201)


def _short(receipt: dict[str, Any]) -> str:
    from ballots.receipts import short_code

    return short_code(bytes.fromhex(receipt["leaf_hash"]))


@bp.get("/api/me/receipts")
@roles("delegate")
def my_receipts() -> Any:
    """The receipts of the ballots this delegate cast (the phone also keeps its own copies)."""
    rows = db.session.scalars(select(Ballot).where(Ballot.delegate_id == current_user.delegate.id).order_by(Ballot.id)).all()
    return jsonify({"receipts": [{
        "receipt": b.receipt, "short_code": _short(b.receipt), "ballot_number": b.leaf_index + 1, "secret": b.vote.is_secret,
        "vote": {"ref": casting.vote_ref(b.vote), "question": b.vote.question, "meeting": b.vote.meeting.title,
                 "agenda_item": b.vote.agenda_item.number, "round": b.vote.round},
        "received_at": b.received_at.isoformat(),
    } for b in rows]})


@bp.get("/me/receipts")
@roles("delegate")
def receipts_page() -> Any:
    return render_template("assembly/receipts.html")


@bp.get("/r/<int:vote_id>/<leaf>")
@public
def receipt_link(vote_id: int, leaf: str) -> Any:
    """What a receipt's QR code opens: the in-browser check of that ballot against the published record."""
    if len(leaf) != 64 or any(c not in "0123456789abcdef" for c in leaf):
        raise NotFound(_("There is no such receipt."))
    return redirect(url_for("receiptcheck.verify_page", vote=vote_id, leaf=leaf))


@bp.get("/r/<int:vote_id>/<leaf>.png")
@public
def receipt_qr(vote_id: int, leaf: str) -> Any:
    """The QR of a receipt's public address (the verification page reads it)."""
    if len(leaf) != 64 or any(c not in "0123456789abcdef" for c in leaf):
        raise NotFound(_("There is no such receipt."))
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
    return Response(qr_png(f"{base}/r/{vote_id}/{leaf}", box_size=6), mimetype="image/png")
