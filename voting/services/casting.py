"""Opening and closing votes, and accepting signed ballots into each vote's Merkle log."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ballots.canonical import MAX_BALLOT_BYTES, InvalidBallot, NotCanonical, canonical_bytes, parse_ballot
from ballots.checkpoint import Checkpoint, vote_origin
from ballots.log import CompactRange, ballot_entry, leaf_hash
from ballots.receipts import Receipt
from ballots.rules import load_rule_set
from ballots.sealed import ENVELOPE_CHOICE, SUITE_NAME, plaintext_bytes_for, tracker
from ballots.signatures import BALLOT_LABEL, InvalidKey, PublicKey, b64url_decode

from ..errors import Conflict, DomainError, Invalid, NotFound
from ..extensions import db
from ..keys import org_key
from ..models import (
    ONE_OPTION_KINDS,
    YES_NO_KINDS,
    AgendaItem,
    Ballot,
    Delegate,
    DeviceKey,
    Member,
    SealedBallot,
    SignedCheckpoint,
    Vote,
    VoteKind,
    VoteState,
    utcnow,
)
from ..templating import fmt_utc
from . import attendance, audit
from .identity import delegate_ref, registry_head

YES_NO = ("yes", "no", "abstain")
MULTI_ROUND_KINDS = frozenset({VoteKind.HOST_CITY, VoteKind.PRESIDENT, VoteKind.REGIONAL_OFFICE_BID,
                               VoteKind.EXCOM_APPROVAL, VoteKind.EXCOM_BLOCK})
ABSTAIN = "abstain"
# Elections are secret ballots by default where the meeting says so (Meeting.secret_elections).
SECRET_BY_DEFAULT_KINDS = frozenset({VoteKind.HOST_CITY, VoteKind.PRESIDENT, VoteKind.PRESIDENT_SOLE,
                                     VoteKind.EXCOM_APPROVAL, VoteKind.EXCOM_BLOCK})
OPTION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class BallotRefused(DomainError):
    """A ballot the server will not accept; `reason` names which rule it broke (tests, clients)."""

    code = "ballot_refused"

    def __init__(self, reason: str, message: str, *, hint: str = "", status: int = 400, **details: Any):
        super().__init__(message, hint=hint, status=status, reason=reason, **details)
        self.reason = reason


def vote_ref(vote: Vote) -> str:
    return f"v{vote.id}"


def member_ref(member: Member) -> str:
    return f"m{member.id}"


def _rfc3339(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _origin(vote_id: str) -> str:
    return vote_origin(str(current_app.config["LOG_ORIGIN"]), vote_id)


# ---------------------------------------------------------------- opening and closing


@dataclass(frozen=True)
class Option:
    id: str
    label: str


def _clean_options(kind: VoteKind, options: Sequence[Option] | None, seats: int | None) -> list[dict[str, str]]:
    if kind == VoteKind.PRESIDENT_SOLE:
        if len(options or []) != 1:
            raise Invalid("A sole president candidate is elected by motion: name exactly that one candidate.")
    elif kind in YES_NO_KINDS:
        if options:
            raise Invalid("A yes/no vote has no list of options.")
        return []
    opts = list(options or [])
    if len(opts) < (1 if kind in (VoteKind.EXCOM_APPROVAL, VoteKind.EXCOM_BLOCK, VoteKind.PRESIDENT_SOLE) else 2):
        raise Invalid("This vote needs at least two options (one candidate for an approval ballot).")
    ids = [o.id for o in opts]
    if len(set(ids)) != len(ids) or any(not OPTION_ID.match(i) or i in (ABSTAIN, ENVELOPE_CHOICE) for i in ids):
        raise Invalid("Each option needs its own short id of lower-case letters, digits and hyphens.")
    if kind in (VoteKind.EXCOM_APPROVAL, VoteKind.EXCOM_BLOCK):
        if not seats or seats < 1:
            raise Invalid("An election needs the number of seats.")
        if kind == VoteKind.EXCOM_BLOCK and len(opts) <= seats:
            raise Invalid("A block vote is for more candidates than seats; with fewer, approve each candidate.")
    return [{"id": o.id, "label": o.label} for o in opts]


def open_vote(item: AgendaItem, kind: VoteKind | str, question: str, options: Sequence[Option] | None = None,
              *, seats: int | None = None, round_number: int | None = None, secret: bool | None = None) -> Vote:
    """Open a vote on an agenda item: freeze the roll and the key registry head into its definition.

    secret: a secret ballot (envelopes and sealed choices); None takes the meeting's default for
    elections, and a later round keeps its first round's choice."""
    kind = VoteKind(kind)
    question = (question or "").strip()
    if not question:
        raise Invalid("Write the question the members vote on.")
    meeting = item.meeting
    if db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id, Vote.state == VoteState.OPEN)).first():
        raise Conflict(f"A vote on agenda item {item.number} is already open.", hint="Close it before opening another.")
    previous = db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id).order_by(Vote.round.desc())).first()
    number = round_number or ((previous.round + 1) if previous else 1)
    clean_options = _clean_options(kind, options, seats)
    roll = attendance.roll(meeting)
    frozen_roll = None
    if previous is not None and kind in MULTI_ROUND_KINDS and previous.kind in MULTI_ROUND_KINDS:
        # Later rounds of one ballot keep the roll of members present frozen at its first round
        # (I-2): the tally applies one roll to every round.
        frozen_roll = definition_of(previous)["roll"]
        if secret is None:
            secret = previous.is_secret
    if secret is None:
        secret = bool(meeting.secret_elections) and kind in SECRET_BY_DEFAULT_KINDS
    if secret and kind == VoteKind.WRITTEN_CONSENT:
        raise Invalid("Written consent is signed openly; it cannot be a secret ballot.")
    rule_set = load_rule_set(meeting.rule_set)
    seq, head = registry_head()
    vote = Vote(meeting=meeting, agenda_item=item, round=number, kind=kind, question=question,
                state=VoteState.OPEN, definition=b"", definition_sha256=secrets.token_hex(32),  # replaced below, once the id is known
                opened_at=utcnow(), opened_by=audit.current_actor(), log_size=0,
                log_state=CompactRange().to_json(), checkpoint=None, is_secret=bool(secret))
    db.session.add(vote)
    db.session.flush()
    ref = vote_ref(vote)
    definition = {
        "v": 1,
        "vote": ref,
        "origin": _origin(ref),
        "meeting": {"key": meeting.key, "title": meeting.title, "body": meeting.body.value},
        "agenda_item": {"number": item.number, "title": item.title, "decision": item.decision.value},
        "round": number,
        "kind": kind.value,
        "question": question,
        "options": clean_options,
        "seats": seats,
        "rule_set": rule_set.id,
        "roll": frozen_roll or {
            "members": [{"id": member_ref(e.member), "name": e.member.name} for e in roll.members],
            "present": [member_ref(e.member) for e in roll.members if e.present],
            "total": roll.total,
            "quorum_required": roll.quorum_required,
        },
        "registry": {"seq": seq, "head": head},
        "opened_at": _rfc3339(vote.opened_at),
        "secret": False,
    }
    if secret:
        from . import tellers

        teller = tellers.ensure(meeting)
        definition["secret"] = {"teller_key": teller.public_key, "teller_key_id": teller.key_id, "suite": SUITE_NAME,
                                "plaintext_bytes": plaintext_bytes_for(definition)}
    vote.definition = canonical_bytes(definition)
    vote.definition_sha256 = hashlib.sha256(vote.definition).hexdigest()
    empty = Checkpoint(_origin(ref), 0, CompactRange().root()).sign(org_key())
    vote.checkpoint = empty.to_json()
    db.session.add(SignedCheckpoint(vote_id=vote.id, size=0, root=empty.root.hex(), body=empty.to_json()))
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(f"A vote on agenda item {item.number} was opened a moment ago.", hint="Reload the page.") from None
    audit.append("vote.open", "vote", str(vote.id), None,
                 {"vote": ref, "definition_sha256": vote.definition_sha256, "present": len(definition["roll"]["present"]),
                  "secret": bool(secret)})
    return vote


def close_vote(vote: Vote) -> Vote:
    """Close a vote: no ballot is accepted afterwards."""
    if vote.kind == VoteKind.WRITTEN_CONSENT:
        raise Conflict("A resolution by written consent closes by itself: when it is adopted, or at its deadline.",
                       hint="Follow it on the resolution's page (Resolutions).")
    locked = _lock_vote(vote.id)
    if locked.state != VoteState.OPEN:
        raise Conflict(f"This vote was already closed at {locked.closed_at:%H:%M:%S} UTC.", hint="Reload the page.")
    locked.state, locked.closed_at, locked.closed_by = VoteState.CLOSED, utcnow(), audit.current_actor()
    db.session.flush()
    audit.append("vote.close", "vote", str(locked.id), None,
                 {"vote": vote_ref(locked), "ballots": locked.log_size, "checkpoint": locked.checkpoint})
    if locked.is_secret:
        from . import tellers

        tellers.close_secret(locked)
    return locked


def definition_of(vote: Vote) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(vote.definition)
    return result


@dataclass(frozen=True)
class _Frozen:
    """What a vote's definition fixes for good: read once per process, not once per ballot."""

    definition: dict[str, Any]
    members: frozenset[str]
    present: frozenset[str]


_FROZEN: dict[str, _Frozen] = {}


def _frozen(vote: Vote) -> _Frozen:
    """The vote's definition parsed, cached by its SHA-256 (the definition never changes once open)."""
    frozen = _FROZEN.get(vote.definition_sha256)
    if frozen is None:
        parsed: dict[str, Any] = json.loads(vote.definition)
        roll = parsed["roll"]
        frozen = _Frozen(parsed, frozenset(m["id"] for m in roll["members"]), frozenset(roll["present"]))
        if len(_FROZEN) >= 256:
            _FROZEN.clear()
        _FROZEN[vote.definition_sha256] = frozen
    return frozen


@lru_cache(maxsize=4096)
def _public_key(spki_b64: str) -> PublicKey:
    """A device key's public key, parsed once per process (a key's SPKI never changes)."""
    return PublicKey.from_spki_b64(spki_b64)


def _lock_vote(vote_id: int) -> Vote:
    """The vote row, locked: appends to one vote's log are serialized (PostgreSQL row lock; SQLite's
    writing transactions begin IMMEDIATE and hold the database write lock)."""
    # The meeting and agenda item come in the same query (the answer names them); only the vote's
    # row is locked.
    vote = db.session.scalars(select(Vote).where(Vote.id == vote_id)
                              .options(joinedload(Vote.meeting, innerjoin=True), joinedload(Vote.agenda_item, innerjoin=True))
                              .with_for_update(of=Vote).execution_options(populate_existing=True)).first()
    if vote is None:
        raise NotFound(_("There is no such vote."), hint=_("Go back to your badge page and pick the vote again."))
    return vote


# ---------------------------------------------------------------- casting


def _check_choice(kind: VoteKind, choice: Any, options: list[dict[str, str]], seats: int | None) -> None:
    ids = {o["id"] for o in options}
    if kind in YES_NO_KINDS:
        if choice not in YES_NO:
            raise BallotRefused("choice", _("'%(choice)s' is not a choice on this vote; choose yes, no or abstain.", choice=choice),
                                status=422)
    elif kind in ONE_OPTION_KINDS:
        if not isinstance(choice, str) or (choice not in ids and choice != ABSTAIN):
            raise BallotRefused("choice", _("That choice is not one of this round's options; choose one option or abstain."),
                                status=422)
    elif kind == VoteKind.EXCOM_BLOCK:
        if not isinstance(choice, (list, tuple)) or any(c not in ids for c in choice):
            raise BallotRefused("choice", _("Choose candidates from this ballot's list only."), status=422)
        if len(set(choice)) != len(choice):
            raise BallotRefused("choice", _("A candidate is named twice on the ballot."), status=422)
        if seats is not None and len(choice) > seats:
            raise BallotRefused("choice", _("You may choose at most %(seats)s candidates; this ballot names %(named)s.",
                                            seats=seats, named=len(choice)), status=422)
    elif kind == VoteKind.EXCOM_APPROVAL:
        if not hasattr(choice, "keys") or set(choice.keys()) != ids or any(v not in YES_NO for v in choice.values()):
            raise BallotRefused("choice", _("Answer yes, no or abstain for every candidate on the ballot."), status=422)


@dataclass(frozen=True)
class Accepted:
    ballot: Ballot
    receipt: dict[str, Any]
    replay: bool
    tracker: str | None = None


def _read_sealed(sealed_b64: Any, definition: dict[str, Any]) -> tuple[bytes, str]:
    """A secret vote's sealed choice as sent: base64url of exactly the vote's length."""
    if not isinstance(sealed_b64, str) or not sealed_b64:
        raise BallotRefused("sealed_missing", _("This is a secret ballot: the phone must send your sealed choice "
                                                "with the signed envelope."),
                            hint=_("Reload the page and vote again."))
    try:
        data = b64url_decode(sealed_b64)
    except ValueError:
        raise BallotRefused("sealed_format", _("The sealed choice is garbled."), hint=_("Reload the page and vote again.")) from None
    expected = 32 + int(definition["secret"]["plaintext_bytes"]) + 16
    if len(data) != expected:
        raise BallotRefused("sealed_format", _("The sealed choice has the wrong length for this vote."),
                            hint=_("Reload the page and vote again."))
    return data, tracker(data)


def cast(vote_id: int, ballot_text: str, signature_b64: str, delegate: Delegate, sealed_b64: Any = None) -> Accepted:
    """Accept one signed ballot, or refuse it saying which rule it breaks; nothing is stored on refusal.

    For a secret vote the ballot is the envelope (choice "sealed") and sealed_b64 the sealed choice;
    the two are stored apart, with nothing that joins them (ballots.sealed)."""
    if not isinstance(ballot_text, str) or not isinstance(signature_b64, str):
        raise BallotRefused("format", _("The ballot must be sent as its signed text and a signature."),
                            hint=_("Reload the page and vote again."))
    try:
        data = ballot_text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, escaped in the JSON (\ud800): no phone signs that
        raise BallotRefused("format", _("The ballot's text is not valid Unicode."), hint=_("Reload the page and vote again.")) from None
    if len(data) > MAX_BALLOT_BYTES:
        raise BallotRefused("format", _("The ballot is too large."), status=413)
    try:
        ballot = parse_ballot(data)
    except NotCanonical as err:
        raise BallotRefused("not_canonical", _("The ballot's bytes are not in canonical form: %(reason)s", reason=err),
                            hint=_("Ballots must be sent exactly as signed. Reload the page and vote again.")) from None
    except InvalidBallot as err:
        raise BallotRefused("format", _("The ballot is malformed: %(reason)s", reason=err), hint=_("Reload the page and vote again.")) from None
    try:
        signature = b64url_decode(signature_b64)
    except ValueError:
        raise BallotRefused("signature", _("The ballot's signature is garbled."), hint=_("Reload the page and vote again.")) from None

    digest = hashlib.sha256(data).hexdigest()
    # Work that needs no lock comes first (PostgreSQL holds the vote's row lock until the commit):
    # the key (its id and public key never change), the signature, the registry's current head.
    key = db.session.get(DeviceKey, ballot.key)
    try:
        valid = key is not None and _public_key(key.public_key).verify(BALLOT_LABEL, data, signature)
    except InvalidKey:
        valid = False
    seq, _head = registry_head()

    vote = _lock_vote(vote_id)
    # One query finds both a retry of this very ballot and an earlier ballot of the member.
    earlier = db.session.scalars(select(Ballot).where(Ballot.vote_id == vote.id, Ballot.member_ref == ballot.member)).first()
    sealed: tuple[bytes, str] | None = None
    if vote.is_secret:
        sealed = _read_sealed(sealed_b64, _frozen(vote).definition)
    elif sealed_b64 is not None:
        raise BallotRefused("not_secret", _("This vote is not a secret ballot: your choice goes in the signed ballot."),
                            hint=_("Reload the page and vote again."))
    holder, member_id_ref = delegate_ref(delegate)
    if earlier is not None and earlier.bytes_sha256 == digest and valid and \
            (ballot.delegate, ballot.member) == (holder, member_id_ref):
        # The same signed ballot again from its own delegate (a retry after a lost answer): the same
        # receipt. For a secret vote only with the same sealed choice, which must then be there already.
        if sealed is None:
            return Accepted(earlier, earlier.receipt, replay=True)
        if db.session.get(SealedBallot, (vote.id, sealed[1])) is not None:
            return Accepted(earlier, earlier.receipt, replay=True, tracker=sealed[1])

    ref = vote_ref(vote)
    if ballot.vote != ref or ballot.round != vote.round or ballot.vote_sha256 != vote.definition_sha256:
        raise BallotRefused("wrong_vote", _("This ballot was signed for another vote or round, so it cannot count here."),
                            hint=_("Open the vote that is on the screen now and vote again."), status=409)
    if ballot.delegate != holder or ballot.member != member_id_ref:
        raise BallotRefused("wrong_delegate", _("This ballot names another delegate or member than the one signed in."),
                            hint=_("Vote from your own phone."), status=403)
    if key is None or key.delegate_id != delegate.id:
        raise BallotRefused("key", _("The key named on the ballot is not this delegate's key."),
                            hint=_("Ask the Secretariat desk to set up your phone again."), status=403)
    if key.revoked_at is not None:
        raise BallotRefused("key_revoked", _("The key on this phone was switched off on %(when)s UTC.",
                                             when=fmt_utc(key.revoked_at, year=False)),
                            hint=_("Ask the Secretariat desk for a new code to set up your phone again."), status=403)
    if not valid:
        raise BallotRefused("signature", _("The signature does not match the ballot: it was not signed by your phone's key, "
                                           "or it was changed after signing."),
                            hint=_("Vote again from your own phone."), status=403)
    written = vote.kind == VoteKind.WRITTEN_CONSENT
    if written:
        # Art. 16.3: an EXCOM member answers once, in time; a late answer is kept (committed) and refused.
        from . import consent

        consent.check_answer(vote, _frozen(vote).definition, ballot, data, digest, signature, key, delegate, earlier, seq)
    if vote.state != VoteState.OPEN:
        raise BallotRefused("closed", _("This vote closed at %(when)s UTC; your ballot was not counted.",
                                        when=f"{vote.closed_at:%H:%M:%S}"),
                            hint=_("Wait for the chair to open the next vote."), status=409)
    frozen = _frozen(vote)
    definition = frozen.definition
    if key.enrol_seq > definition["registry"]["seq"] and not written:
        # Signatures are checked against the key registry as it stood when the vote opened (remote
        # answers take days: a written-consent answer may come from a key enrolled since, if active).
        raise BallotRefused("key_too_new", _("This phone was set up after the vote opened, so it cannot sign in this vote."),
                            hint=_("Your city's other representative can vote now, or you can vote from the next vote."),
                            status=403)
    if ballot.member not in frozen.members:
        member = delegate.member
        category = member.category.value
        if category == "associate":
            why = _("%(member)s is an associate member; only full members vote. You may attend and speak.", member=member.name)
        elif category == "friendship":
            why = _("%(member)s is a friendship member; only full members vote. You may attend and speak.", member=member.name)
        elif category == "corporate":
            why = _("%(member)s is a corporate member; only full members vote. You may attend and speak.", member=member.name)
        elif definition["meeting"]["body"] == "ga":
            why = _("%(member)s is not a voting member of the General Assembly. You may attend and speak.", member=member.name)
        else:
            why = _("%(member)s is not a voting member of the Executive Committee. You may attend and speak.",
                    member=member.name)
        raise BallotRefused("not_voting_member", why, status=403)
    if not delegate.is_voting:
        raise BallotRefused("not_representative", _("You attend for %(member)s without a vote; its voting representatives vote.",
                                                    member=delegate.member.name), status=403)
    if ballot.member not in frozen.present:
        raise BallotRefused("not_on_roll", _("%(member)s was not on the roll of members present when this vote opened.",
                                             member=delegate.member.name),
                            hint=_("Members present are counted when the vote opens. Check in at the hall before the next vote."),
                            status=403)
    if sealed is not None:
        if ballot.to_json()["choice"] != ENVELOPE_CHOICE:
            raise BallotRefused("choice", _("This is a secret ballot: the signed envelope must not show your choice."),
                                hint=_("Reload the page and vote again."), status=422)
    else:
        _check_choice(vote.kind, ballot.to_json()["choice"], definition["options"], definition["seats"])
    if earlier is not None:
        raise _already_voted(earlier, delegate)
    if sealed is not None and db.session.get(SealedBallot, (vote.id, sealed[1])) is not None:
        raise BallotRefused("sealed_replayed", _("This sealed choice was already cast: a sealed choice counts once."),
                            hint=_("Reload the page and vote again: your phone seals a new one."), status=409)

    entry = ballot_entry(data, signature, key.key_id)
    leaf = leaf_hash(entry)
    state, proof = CompactRange.from_json(vote.log_state).append_with_proof(leaf)
    checkpoint = Checkpoint(_origin(ref), state.size, state.root()).sign(org_key())
    receipt = Receipt(ref, state.size - 1, leaf, tuple(proof), checkpoint).to_json()
    row = Ballot(vote=vote, member_ref=ballot.member, member_id=delegate.member_id, delegate_id=delegate.id,
                 key_id=key.key_id, bytes=data, bytes_sha256=digest, signature=signature,
                 leaf_index=state.size - 1, leaf_hash=leaf.hex(), registry_seq=seq, received_at=utcnow(),
                 receipt=receipt)
    vote.log_state, vote.log_size, vote.checkpoint = state.to_json(), state.size, checkpoint.to_json()
    db.session.add(row)
    db.session.add(SignedCheckpoint(vote_id=vote.id, size=state.size, root=checkpoint.root.hex(), body=checkpoint.to_json()))
    if sealed is not None:
        # No member, time or serial number: the sealed choice is known by its tracker alone.
        db.session.add(SealedBallot(vote_id=vote.id, tracker=sealed[1], sealed=sealed[0], leaf_index=None))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise BallotRefused("already_voted", _("%(member)s has already voted in this vote.", member=delegate.member.name),
                            hint=_("One vote per member, whichever representative casts it."), status=409) from None
    if written:
        consent.after_answer(vote, row)  # the moment of adoption (I-5)
    return Accepted(row, receipt, replay=False, tracker=sealed[1] if sealed else None)


def _already_voted(existing: Ballot, delegate: Delegate) -> BallotRefused:
    who = db.session.get(Delegate, existing.delegate_id)
    when = existing.received_at
    offset = existing.vote.meeting.utc_offset_minutes
    from ..templating import fmt_datetime

    if who is not None and who.id == delegate.id:
        message = _("You already voted in this vote, at %(when)s.", when=fmt_datetime(when, offset))
    else:
        name = who.display_name if who else _("another representative")
        message = _("Your city's vote was already cast at %(when)s by its other representative, %(name)s.",
                    when=fmt_datetime(when, offset), name=name)
    return BallotRefused("already_voted", message, hint=_("One vote per member, whichever representative casts it."),
                         status=409, voted_by=who.display_name if who else None, voted_at=when.isoformat())
