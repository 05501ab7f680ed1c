"""The chair's console (a laptop page) and the projector: agenda, open and close votes, live
turnout, the tally with its explanation, next rounds; the projector never shows partial results."""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.access import ANY_STAFF, public, roles
from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import AgendaItem, DecisionKind, Meeting, StaffAccount, Vote, VoteState
from ..services import attendance, casting, chairing, outcome_words
from ..services.casting import Option

bp = Blueprint("console", __name__)


def current_role() -> str | None:
    return getattr(current_user, "role", None)


def _meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("There is no such meeting.", hint="Choose a meeting from the list.")
    return meeting


def _item(item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound("There is no such agenda item.")
    return item


def _vote(vote_id: int) -> Vote:
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        raise NotFound("There is no such vote.")
    return vote


@bp.get("/chair/meetings/<int:meeting_id>")
@roles(*ANY_STAFF)
def console(meeting_id: int) -> Any:
    """The agenda with each item's votes and, for the chair, what to open next."""
    meeting = _meeting(meeting_id)
    items = [(item, chairing.votes_of(item), chairing.candidates_for(item), chairing.default_seats(item))
             for item in meeting.agenda]
    return render_template("chair/console.html", meeting=meeting, items=items, roll=attendance.roll(meeting),
                           open_vote=chairing.open_vote_of(meeting))


def _options_from_form(item: AgendaItem) -> list[Option]:
    chosen = request.form.getlist("option")
    known = {c.option.id: c.option for c in chairing.candidates_for(item)}
    options = [known[o] for o in chosen if o in known]
    for line in (request.form.get("extra_options") or "").splitlines():
        label = line.strip()
        if label:
            options.append(Option(chairing.option_id(label), label))
    return options


@bp.post("/chair/items/<int:item_id>/open")
@roles("chair")
def open_vote(item_id: int) -> Any:
    """Open a vote of the kind the item needs, freezing the roll of members present."""
    item = _item(item_id)
    if item.decision in (DecisionKind.NONE,) and not request.form.get("confirm_report"):
        raise Invalid("This item is a report with no decision. Tick the box to put a motion to the vote anyway.")
    options = _options_from_form(item)
    seats_raw = (request.form.get("seats") or "").strip()
    seats = int(seats_raw) if seats_raw.isascii() and seats_raw.isdigit() and len(seats_raw) <= 3 else None
    kind = chairing.kind_for(item, len(options), seats)
    secret = bool(request.form.get("secret")) if request.form.get("secret_shown") else None
    vote = casting.open_vote(item, kind, request.form.get("question", ""), options, seats=seats, secret=secret)
    flash(f"The {'secret ' if vote.is_secret else ''}vote on agenda item {item.number} is open.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote.id))


@bp.get("/chair/votes/<int:vote_id>")
@roles(*ANY_STAFF)
def vote_page(vote_id: int) -> Any:
    """One vote: live turnout while open; after closing, the tally and its explanation."""
    vote = _vote(vote_id)
    definition = casting.definition_of(vote)
    from ..services import certification

    result = None
    if vote.state != VoteState.OPEN:
        result = certification.item_outcome(vote)
    hand_choices: list[str] = []
    try:
        hand_choices = certification.hand_choices(vote)
    except Invalid:
        pass
    labels = {o["id"]: o["label"] for o in definition["options"]}
    chair_key = certification.chair_key(current_user.account) if current_role() == "chair" else None
    holds_key = False
    if vote.is_secret:
        from ..services import tellers

        holds_key = tellers.holds_key(vote)
    return render_template("chair/vote.html", vote=vote, definition=definition, turnout=chairing.turnout(vote),
                           result=result, certificate=certification.certificate_of(vote),
                           hands=certification.hand_count_of(vote), casting_row=certification.casting_of(vote),
                           hand_choices=hand_choices, labels=labels, chair_key=chair_key, holds_key=holds_key,
                           named=partial(outcome_words.in_words, labels=outcome_words.labels_of(definition)),
                           staff_names={f"s{a.id}": a.display_name for a in db.session.scalars(select(StaffAccount))})


@bp.get("/api/chair/votes/<int:vote_id>/turnout")
@roles(*ANY_STAFF)
def turnout_api(vote_id: int) -> Any:
    return jsonify(chairing.turnout(_vote(vote_id)).to_json(names=True))


@bp.post("/chair/votes/<int:vote_id>/close")
@roles("chair")
def close(vote_id: int) -> Any:
    vote = casting.close_vote(_vote(vote_id))
    if vote.is_secret:
        from ..services import tellers

        if vote.opening is not None:
            opened = " and opened with the tellers' key"
        elif tellers.holds_key(vote):
            opened = "; the sealed ballots could not be opened yet: press 'Open the sealed ballots' to see why"
        else:
            opened = "; the tellers' key file is needed to open the sealed ballots"
        flash(f"The secret vote is closed with {vote.log_size} envelopes{opened}.", "success")
    else:
        flash(f"The vote is closed with {vote.log_size} ballots.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote.id))


@bp.post("/chair/votes/<int:vote_id>/open-sealed")
@roles("chair", "secretariat", "secretary-general")
def open_sealed(vote_id: int) -> Any:
    """The tellers open a closed secret vote's sealed ballots: with the server's key, or the key file."""
    from ..services import tellers

    opening = tellers.open_vote(_vote(vote_id), _uploaded_key())
    flash(f"The sealed ballots are opened: {len(opening['choices'])} valid, {opening['invalid']} invalid.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote_id))


@bp.post("/chair/votes/<int:vote_id>/next-round")
@roles("chair")
def next_round(vote_id: int) -> Any:
    """Open the next round of an exhaustive ballot with the options the tally says remain."""
    from ..services import results

    vote = _vote(vote_id)
    new = results.open_next_round(vote)
    flash(f"Round {new.round} is open.", "success")
    return redirect(url_for("console.vote_page", vote_id=new.id))


@bp.get("/chair/votes/<int:vote_id>/roll-call.csv")
@roles("chair", "secretariat", "secretary-general")
def roll_call(vote_id: int) -> Any:
    """Who has voted (by member, with the representative and time); never the choices of an open vote."""
    vote = _vote(vote_id)
    definition = casting.definition_of(vote)
    voted = chairing.who_voted(vote)
    present = set(definition["roll"]["present"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["member", "present_at_opening", "voted", "representative", "voted_at_utc"])
    for m in definition["roll"]["members"]:
        name, at = voted.get(m["id"], ("", None))
        writer.writerow([m["name"], "yes" if m["id"] in present else "no", "yes" if m["id"] in voted else "no",
                         name, at.isoformat() if at else ""])
    filename = f"roll-call-{vote.meeting.key}-item{vote.agenda_item.number}-round{vote.round}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---------------------------------------------------------------- certification, casting vote, hands


@bp.post("/api/chair/votes/<int:vote_id>/certificate")
@roles("chair")
def certificate_prepare(vote_id: int) -> Any:
    """Build and organization-sign the certificate; the chair's browser signs the returned text."""
    from ..services import certification

    vote = _vote(vote_id)
    cert = certification.prepare(vote, current_user.account)
    body = cert.document["body"]
    return jsonify({"sha256": cert.sha256, "text": certification.signing_text(cert), "key_id": body["chair"]["key_id"],
                    "holder": body["chair"]["holder"], "decision": body["outcome"]["decision"]})


@bp.post("/api/chair/votes/<int:vote_id>/certificate/sign")
@roles("chair")
def certificate_sign(vote_id: int) -> Any:
    from ..services import certification

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("Send the signature as JSON.")
    cert = certification.complete(_vote(vote_id), current_user.account, str(body.get("signature", "")),
                                  str(body.get("sha256", "")))
    return jsonify({"ok": True, "sha256": cert.sha256, "next": url_for("console.vote_page", vote_id=vote_id)})


@bp.post("/chair/votes/<int:vote_id>/casting-vote")
@roles("chair")
def casting_request(vote_id: int) -> Any:
    from ..services import certification

    certification.request_casting_vote(_vote(vote_id))
    flash("The Secretary General is asked for the casting vote; it appears on their device.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote_id))


@bp.get("/sg/votes/<int:vote_id>")
@roles("secretary-general")
def casting_page(vote_id: int) -> Any:
    """The Secretary General's casting vote, signed on their own device."""
    from ..services import certification

    vote = _vote(vote_id)
    row = certification.casting_of(vote)
    if row is None:
        raise NotFound("No casting vote is requested on this vote.")
    labels = {o["id"]: o["label"] for o in casting.definition_of(vote)["options"]}
    from ..services.identity import staff_ref

    return render_template("chair/casting.html", vote=vote, row=row, labels=labels,
                           holder=staff_ref(current_user.account)[0], member="staff")


@bp.post("/api/sg/votes/<int:vote_id>/casting-vote")
@roles("secretary-general")
def casting_cast(vote_id: int) -> Any:
    from ..services import certification

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("Send the signed casting vote as JSON.")
    certification.cast_casting_vote(_vote(vote_id), current_user.account, str(body.get("ballot", "")),
                                    str(body.get("signature", "")))
    return jsonify({"ok": True, "next": url_for("console.casting_page", vote_id=vote_id)})


@bp.post("/chair/votes/<int:vote_id>/hands")
@roles("chair")
def hands_record(vote_id: int) -> Any:
    """Record counts taken by a show of hands (the network down, a delegate without a phone)."""
    from ..services import certification

    vote = _vote(vote_id)
    counts = {c: request.form.get(f"count-{c}", "0") for c in certification.hand_choices(vote)}
    certification.record_hands(vote, counts, current_user.account)  # type: ignore[arg-type]
    flash("Counts recorded. A second staff member (Secretariat or Secretary General) must confirm them.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote_id))


@bp.post("/chair/votes/<int:vote_id>/hands/confirm")
@roles("secretariat", "secretary-general")
def hands_confirm(vote_id: int) -> Any:
    from ..services import certification

    certification.confirm_hands(_vote(vote_id), current_user.account)
    flash("Counts confirmed. The chair can certify the result.", "success")
    return redirect(url_for("console.vote_page", vote_id=vote_id))


# ---------------------------------------------------------------- the projector


def projector_state(meeting: Meeting) -> dict[str, Any]:
    """What the hall sees: the current vote's question and turnout, or the last certified result."""
    vote = chairing.open_vote_of(meeting)
    if vote is None:
        vote = db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id)
                                  .order_by(Vote.opened_at.desc())).first()
    roll = attendance.roll(meeting)
    state: dict[str, Any] = {"meeting": meeting.title, "present": roll.present, "total": roll.total,
                             "quorum_required": roll.quorum_required, "vote": None}
    if vote is None:
        return state
    t = chairing.turnout(vote)
    state["vote"] = {"id": vote.id, "state": vote.state.value, "question": vote.question, "round": vote.round,
                     "agenda_item": vote.agenda_item.number, "agenda_title": vote.agenda_item.title,
                     **t.to_json(names=False)}
    if vote.state == VoteState.CERTIFIED:
        from ..services import results

        state["vote"]["result"] = results.public_result(vote)
    return state


@bp.get("/projector/<int:meeting_id>")
@public
def projector(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    return render_template("chair/projector.html", meeting=meeting, state=projector_state(meeting))


@bp.get("/api/projector/<int:meeting_id>")
@public
def projector_api(meeting_id: int) -> Any:
    return jsonify(projector_state(_meeting(meeting_id)))


# ---------------------------------------------------------------- the tellers' key (secret ballots)


@bp.get("/meetings/<int:meeting_id>/tellers")
@roles("secretariat", "chair", "secretary-general", "observer")
def tellers_page(meeting_id: int) -> Any:
    """Secret ballots of a meeting: the default for elections, the tellers' key and where it is held."""
    from ..services import tellers

    meeting = _meeting(meeting_id)
    current = tellers.current(meeting)
    # The secret votes sealed to the current key, and where each stands: whoever keeps the key file
    # sees which votes still wait for it, and when every one is counted (before publishing it).
    sealed_votes = [v for v in db.session.scalars(select(Vote).where(Vote.meeting_id == meeting.id, Vote.is_secret)
                                                  .order_by(Vote.opened_at)).all()
                    if current is not None and tellers._vote_key_id(v) == current.key_id]
    return render_template("chair/tellers.html", meeting=meeting, keys=tellers.keys_of(meeting),
                           current=current, sealed_votes=sealed_votes)


@bp.post("/meetings/<int:meeting_id>/tellers/default")
@roles("secretariat")
def tellers_default(meeting_id: int) -> Any:
    from ..services import audit

    meeting = _meeting(meeting_id)
    before = meeting.secret_elections
    meeting.secret_elections = bool(request.form.get("secret_elections"))
    audit.append("meeting.secret_elections", "meeting", str(meeting.id), {"secret_elections": before},
                 {"secret_elections": meeting.secret_elections})
    flash("Elections are now secret ballots by default." if meeting.secret_elections
          else "Elections are now open (signed) ballots by default.", "success")
    return redirect(url_for("console.tellers_page", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/tellers/generate")
@roles("secretariat")
def tellers_generate(meeting_id: int) -> Any:
    from ..services import tellers

    meeting = _meeting(meeting_id)
    if tellers.current(meeting) is not None:
        raise Invalid("This meeting already has a tellers' key for its secret votes.",
                      hint="A new key is made only after the current one is published.")
    row = tellers.generate(meeting)
    flash(f"The tellers' key {row.key_id} is ready; the server holds it.", "success")
    return redirect(url_for("console.tellers_page", meeting_id=meeting.id))


def _current_key(meeting: Meeting) -> Any:
    from ..services import tellers

    row = tellers.current(meeting)
    if row is None:
        raise NotFound("This meeting has no tellers' key yet.", hint="Generate one, or open a secret vote (which makes one).")
    return row


@bp.post("/meetings/<int:meeting_id>/tellers/export")
@roles("secretariat", "secretary-general")
def tellers_export(meeting_id: int) -> Any:
    """Download the tellers' key file (while the server still holds the key)."""
    import json

    from ..services import tellers

    meeting = _meeting(meeting_id)
    row = _current_key(meeting)
    document = tellers.export_document(row)
    filename = f"wego-teller-key-{meeting.key}-{row.key_id}.json"
    return Response(json.dumps(document, indent=2) + "\n", mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _uploaded_key() -> bytes | str | None:
    upload = request.files.get("key_file")
    if upload is not None and upload.filename:
        return upload.read(64 * 1024)
    return request.form.get("key_text") or None


@bp.post("/meetings/<int:meeting_id>/tellers/remove")
@roles("secretariat", "secretary-general")
def tellers_remove(meeting_id: int) -> Any:
    """Delete the server's copy of the key, once the uploaded file proves it holds the same key."""
    from ..services import tellers

    meeting = _meeting(meeting_id)
    row = tellers.remove_from_server(_current_key(meeting), _uploaded_key())
    flash(f"The server no longer holds the tellers' key {row.key_id}: the file is needed to open sealed ballots.",
          "success")
    return redirect(url_for("console.tellers_page", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/tellers/publish")
@roles("secretariat", "secretary-general")
def tellers_publish(meeting_id: int) -> Any:
    """Publish the private key after the count, so anyone can re-open the sealed ballots."""
    from ..services import tellers

    meeting = _meeting(meeting_id)
    if not request.form.get("confirm"):
        raise Invalid("Tick the box to confirm: a published key lets anyone open every sealed ballot sealed to it.")
    row = tellers.publish(_current_key(meeting), _uploaded_key())
    flash(f"The tellers' key {row.key_id} is published in the election record. Later secret votes get a new key.",
          "success")
    return redirect(url_for("console.tellers_page", meeting_id=meeting.id))
