"""The tellers' key of a meeting's secret votes, the sealed log written at the close, and the opening.

CRYPTO_DESIGN.md "Secret ballots"; docs/secretariat-secret.md for the people who hold the key.
The private key lives in instance/teller-keys/ while the server holds it. The Secretariat may
export it to a file and remove the server's copy: the sealed ballots can then be opened only with
that file. After the count the meeting may publish it, so that anyone can re-open the ciphertexts.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ballots.checkpoint import Checkpoint
from ballots.log import CompactRange
from ballots.recount import choice_problem
from ballots.sealed import SealedError, TellerKey, open_all, tracker_leaf

from ..errors import Conflict, DomainError, Invalid, NotFound
from ..extensions import TRUNCATE_WAL, db
from ..keys import org_key
from ..models import Ballot, Meeting, SealedBallot, Vote, VoteState, utcnow
from ..models import TellerKey as TellerKeyRow
from . import audit

FILE_TYPE = "wego-teller-key"


def _dir() -> Path:
    path = Path(current_app.instance_path) / "teller-keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # also a folder made before, or by hand
    return path


def _path(row: TellerKeyRow) -> Path:
    return _dir() / f"{row.key_id}.key"


def current(meeting: Meeting) -> TellerKeyRow | None:
    """The meeting's key for new secret votes: its newest key not yet published."""
    return db.session.scalars(select(TellerKeyRow).where(TellerKeyRow.meeting_id == meeting.id,
                                                         TellerKeyRow.published_at.is_(None))
                              .order_by(TellerKeyRow.id.desc())).first()


def keys_of(meeting: Meeting) -> list[TellerKeyRow]:
    return list(db.session.scalars(select(TellerKeyRow).where(TellerKeyRow.meeting_id == meeting.id)
                                   .order_by(TellerKeyRow.id)).all())


def by_key_id(key_id: str) -> TellerKeyRow | None:
    return db.session.scalars(select(TellerKeyRow).where(TellerKeyRow.key_id == key_id)).first()


def generate(meeting: Meeting) -> TellerKeyRow:
    """A new key pair for the meeting's secret votes; the private part goes to instance/ (mode 0600)."""
    key = TellerKey.generate()
    row = TellerKeyRow(meeting_id=meeting.id, key_id=key.key_id, public_key=key.public_b64, is_on_server=True,
                       created_at=utcnow(), created_by=audit.current_actor())
    db.session.add(row)
    db.session.flush()
    fd = os.open(_path(row), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private_b64 or "")
    audit.append("tellers.key_created", "meeting", str(meeting.id), None, {"key_id": row.key_id})
    return row


def ensure(meeting: Meeting) -> TellerKeyRow:
    """The meeting's key for a new secret vote, made if it has none. The meeting's row is locked
    first, so that two secret votes opened at the same instant share one key (PostgreSQL; SQLite's
    writers are serialized anyway)."""
    db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())
    return current(meeting) or generate(meeting)


def _server_key(row: TellerKeyRow) -> TellerKey | None:
    if not row.is_on_server:
        return None
    try:
        return TellerKey.from_b64(row.public_key, _path(row).read_text().strip())
    except (OSError, SealedError) as err:
        # Missing or damaged: the server cannot open with it, and says so; the exported file still can.
        logging.getLogger(__name__).error("The server's copy of the tellers' key %s (%s) cannot be used: %s",
                                          row.key_id, _path(row), err)
        return None


_NO_LOCAL_COPY = ("This server has no copy of the tellers' key {key_id} (instance/teller-keys/{key_id}.key is "
                  "missing or damaged).")
_NO_LOCAL_COPY_HINT = ("Where the app runs on several servers, only the server that made the key holds it: do this "
                       "there, or open the sealed ballots with the exported file (docs/deploy.md).")


def export_document(row: TellerKeyRow) -> dict[str, Any]:
    """The key file the Secretariat keeps (only while the server still holds the key)."""
    key = _server_key(row)
    if key is None and not row.is_on_server:
        raise Conflict("The server no longer holds this tellers' key: it is in the file exported on "
                       f"{row.exported_at:%Y-%m-%d %H:%M} UTC." if row.exported_at else "The server does not hold this key.")
    if key is None:
        raise Conflict(_NO_LOCAL_COPY.format(key_id=row.key_id), hint=_NO_LOCAL_COPY_HINT)
    row.exported_at = utcnow()
    audit.append("tellers.key_exported", "meeting", str(row.meeting_id), None, {"key_id": row.key_id})
    meeting = db.session.get(Meeting, row.meeting_id)
    return {"type": FILE_TYPE, "v": 1, "meeting": meeting.key if meeting else None, "key_id": row.key_id,
            "public_key": key.public_b64, "private_key": key.private_b64,
            "note": "The tellers' private key of this meeting's secret votes. Whoever holds it can open the "
                    "sealed ballots (never who cast them). Keep it offline; it is needed to count."}


def read_file(row: TellerKeyRow, text: str | bytes | None) -> TellerKey:
    """The key from an exported file (or its private key pasted alone), checked against the row."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = (text or "").strip()
    if not text:
        raise Invalid("Choose the tellers' key file (wego-teller-key-….json) to open the sealed ballots.")
    private: Any = text
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise Invalid("That file is not a tellers' key file (it is not JSON).") from None
        if not isinstance(doc, dict) or doc.get("type") != FILE_TYPE:
            raise Invalid("That file is not a tellers' key file.")
        if doc.get("key_id") != row.key_id:
            raise Invalid(f"That file holds the tellers' key {doc.get('key_id')}, not the key {row.key_id} "
                          "these ballots were sealed to.", hint="Choose the file of this meeting's key.")
        private = doc.get("private_key")
    if not isinstance(private, str):
        raise Invalid("The tellers' key file has no private key.")
    try:
        return TellerKey.from_b64(row.public_key, private)
    except SealedError as err:
        raise Invalid(f"That key cannot open these ballots: {err}.") from None


def key_for(row: TellerKeyRow, uploaded: str | bytes | None = None) -> TellerKey:
    """The private key: from the server's copy, or from the uploaded file."""
    if uploaded:
        return read_file(row, uploaded)
    key = _server_key(row)
    if key is None:
        raise Invalid("The server does not hold the tellers' key of this vote: choose the exported key file.",
                      hint="The Secretariat exported it; whoever keeps the file opens the ballots.")
    return key


def remove_from_server(row: TellerKeyRow, uploaded: str | bytes | None) -> TellerKeyRow:
    """Delete the server's copy, once the exported file is shown to hold the same key."""
    if not row.is_on_server:
        raise Conflict("The server's copy of this key was already removed.")
    if row.exported_at is None:
        raise Conflict("Export the key to a file first: without a copy, the sealed ballots could never be opened.")
    read_file(row, uploaded)  # the file holds this very key
    try:
        _path(row).unlink()
    except FileNotFoundError:
        # Another app server may hold it (each keeps instance/ of its own): saying "removed" here
        # would be untrue there.
        raise Conflict(_NO_LOCAL_COPY.format(key_id=row.key_id), hint=_NO_LOCAL_COPY_HINT) from None
    row.is_on_server, row.removed_at = False, utcnow()
    audit.append("tellers.key_removed", "meeting", str(row.meeting_id), None, {"key_id": row.key_id})
    return row


def publish(row: TellerKeyRow, uploaded: str | bytes | None = None) -> TellerKeyRow:
    """Publish the private key after the count, so anyone can re-open the ciphertexts. New secret
    votes of the meeting then get a new key."""
    if row.published_at is not None:
        raise Conflict("This key is already published.")
    votes = db.session.scalars(select(Vote).where(Vote.meeting_id == row.meeting_id, Vote.is_secret)).all()
    waiting = [v for v in votes if _vote_key_id(v) == row.key_id and (v.state == VoteState.OPEN or v.opening is None)]
    if waiting:
        raise Conflict(f"{len(waiting)} secret vote(s) sealed to this key are not counted yet.",
                       hint="Publish the key only after every vote sealed to it is closed and opened.")
    key = key_for(row, uploaded)
    row.published_private_key, row.published_at = key.private_b64, utcnow()
    audit.append("tellers.key_published", "meeting", str(row.meeting_id), None, {"key_id": row.key_id})
    return row


def _vote_key_id(vote: Vote) -> str | None:
    from .casting import definition_of

    secret = definition_of(vote).get("secret")
    return secret.get("teller_key_id") if isinstance(secret, dict) else None


def key_row_of(vote: Vote) -> TellerKeyRow:
    key_id = _vote_key_id(vote)
    row = by_key_id(key_id) if key_id else None
    if row is None:
        raise NotFound("This vote names no tellers' key.")
    return row


# ---------------------------------------------------------------- the sealed log and the opening


def sealed_origin(vote: Vote) -> str:
    from .casting import definition_of

    return f"{definition_of(vote)['origin']}/sealed"


def write_sealed_log(vote: Vote) -> dict[str, Any]:
    """At the close: every sealed ballot into the vote's sealed log, in tracker order, and its
    checkpoint signed. The rows are written again in that order, so that not even the database's
    own order of rows keeps the order of arrival."""
    rows = sorted(db.session.scalars(select(SealedBallot).where(SealedBallot.vote_id == vote.id)).all(),
                  key=lambda r: r.tracker)
    kept = [(r.tracker, r.sealed) for r in rows]
    for r in rows:
        db.session.delete(r)
    db.session.flush()
    state = CompactRange()
    for index, (tracker_hex, data) in enumerate(kept):
        state = state.append(tracker_leaf(data))
        db.session.add(SealedBallot(vote_id=vote.id, tracker=tracker_hex, sealed=data, leaf_index=index))
    checkpoint = Checkpoint(sealed_origin(vote), state.size, state.root()).sign(org_key())
    vote.sealed_checkpoint = checkpoint.to_json()
    db.session.flush()
    # SQLite's write-ahead log holds each envelope beside its sealed ballot, as they came: cut it
    # once this commits (voting.extensions).
    db.session.info[TRUNCATE_WAL] = True
    return vote.sealed_checkpoint


def sealed_of(vote: Vote) -> list[bytes]:
    """The sealed ballots in log order (tracker order)."""
    return list(db.session.scalars(select(SealedBallot.sealed).where(SealedBallot.vote_id == vote.id)
                                   .order_by(SealedBallot.tracker)).all())


def open_vote(vote: Vote, uploaded: str | bytes | None = None) -> dict[str, Any]:
    """Open a closed secret vote's sealed ballots with the tellers' key; keep only the sorted choices
    and the number that could not be read (never which tracker held which choice)."""
    from .casting import _lock_vote, definition_of

    vote = _lock_vote(vote.id)
    if not vote.is_secret:
        raise Conflict("This vote is not a secret ballot: its choices are in the signed ballots.")
    if vote.state == VoteState.OPEN:
        raise Conflict("Close the vote first: sealed ballots are opened only after the close, so nobody sees "
                       "partial results.")
    if vote.opening is not None:
        raise Conflict(f"The sealed ballots were already opened at {vote.opening['opened_at'][11:19]} UTC.")
    key = key_for(key_row_of(vote), uploaded)
    definition = definition_of(vote)
    sealed = sealed_of(vote)
    envelopes = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote.id)) or 0
    if len(sealed) != envelopes:
        raise Conflict(f"The vote has {envelopes} signed envelopes but {len(sealed)} sealed ballots, so it cannot be "
                       "counted.", hint="Do not certify; tell the Secretariat (this must never happen).")
    try:
        opening = open_all(key, sealed, definition, vote.definition_sha256, choice_problem)
    except SealedError as err:
        raise Invalid(f"The sealed ballots cannot be opened: {err}.") from None
    vote.opening = {**opening.to_json(), "problems": list(opening.problems),
                    "opened_at": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "opened_by": audit.current_actor()}
    db.session.flush()
    audit.append("vote.sealed_opened", "vote", str(vote.id), None,
                 {"sealed": len(sealed), "valid": len(opening.choices), "invalid": opening.invalid})
    return vote.opening


def close_secret(vote: Vote) -> None:
    """What the close adds for a secret vote: the sealed log, and the opening when the server holds the key.
    The close stands even when the opening cannot be done now: no ballot is accepted any more, and the
    tellers open the sealed ballots on the vote's page, which then says why they could not."""
    write_sealed_log(vote)
    row = key_row_of(vote)
    if _server_key(row) is not None:
        try:
            open_vote(vote)
        except DomainError:
            pass


def holds_key(vote: Vote) -> bool:
    return _server_key(key_row_of(vote)) is not None
