"""Certifying results (signed by the organization and the chair's device key), the Secretary
General's casting vote, and show-of-hands counts confirmed by a second staff account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ballots.canonical import InvalidBallot, NotCanonical, canonical_bytes, parse_ballot
from ballots.certificate import (
    SEALED_BALLOTS,
    SHOW_OF_HANDS,
    SIGNED_BALLOTS,
    CertificateError,
    add_chair_signature,
    build_body,
    certificate_hash,
    sign_by_organization,
)
from ballots.checkpoint import Checkpoint
from ballots.recount import counts_summary, rule_parameters
from ballots.rules import load_rule_set
from ballots.signatures import BALLOT_LABEL, PublicKey, b64url_decode
from ballots.tally import Decision

from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..keys import org_key
from ..models import CastingVote, Certificate, DeviceKey, HandCount, StaffAccount, Vote, VoteState, utcnow
from . import audit, casting, results
from .identity import active_key, registry_head, staff_ref

YES_NO_CHOICES = ("yes", "no", "abstain")


def _rfc3339(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def certificate_of(vote: Vote) -> Certificate | None:
    return db.session.scalars(select(Certificate).where(Certificate.vote_id == vote.id)).first()


def hand_count_of(vote: Vote) -> HandCount | None:
    return db.session.scalars(select(HandCount).where(HandCount.vote_id == vote.id)).first()


def casting_of(vote: Vote) -> CastingVote | None:
    return db.session.scalars(select(CastingVote).where(CastingVote.vote_id == vote.id)).first()


# ---------------------------------------------------------------- show of hands


def hand_choices(vote: Vote) -> list[str]:
    definition = casting.definition_of(vote)
    if vote.kind.value in ("motion", "special-session", "dissolve-regional-office", "president-sole"):
        return list(YES_NO_CHOICES)
    if vote.kind.value in ("host-city", "president", "regional-office-bid"):
        return [o["id"] for o in definition["options"]] + ["abstain"]
    raise Invalid("Elections are counted by signed ballots only; a show of hands cannot fill several seats.")


def record_hands(vote: Vote, counts: dict[str, int], staff: StaffAccount) -> HandCount:
    """The chair records counts taken by hand; the vote closes; a second staff account must confirm."""
    vote = casting._lock_vote(vote.id)
    if vote.is_secret:
        raise Conflict("A secret ballot cannot be counted by a show of hands, which shows every member's vote.",
                       hint="Close it; if the phones cannot be used, open a new vote without secrecy and count hands.")
    if vote.log_size:
        raise Conflict(f"This vote already holds {vote.log_size} signed ballots; hand counts cannot be mixed with them.",
                       hint="Close it and open a new vote to take by hand.")
    if hand_count_of(vote) is not None:
        raise Conflict("Counts by hand were already recorded for this vote.")
    choices = hand_choices(vote)
    clean: dict[str, int] = {}
    for choice in choices:
        raw = counts.get(choice, 0)
        try:
            n = int(raw)
        except (TypeError, ValueError):
            raise Invalid(f"The count for {choice} must be a whole number.") from None
        if n < 0:
            raise Invalid(f"The count for {choice} cannot be negative.")
        clean[choice] = n
    present = len(casting.definition_of(vote)["roll"]["present"])
    if sum(clean.values()) > present:
        raise Invalid(f"The counts add up to {sum(clean.values())}, more than the {present} members present at opening.",
                      hint="Count again: each member present has one vote.")
    if vote.state == VoteState.OPEN:
        casting.close_vote(vote)
    # Staff are named by their registry reference (s<id>), as the certificate and the verifier do.
    row = HandCount(vote_id=vote.id, counts=clean, recorded_by=staff_ref(staff)[0], recorded_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.append("vote.hands_recorded", "vote", str(vote.id), None, {"counts": clean})
    return row


def confirm_hands(vote: Vote, staff: StaffAccount) -> HandCount:
    row = hand_count_of(vote)
    if row is None:
        raise NotFound("No counts by hand were recorded for this vote.")
    if row.confirmed_by is not None:
        raise Conflict("These counts were already confirmed.")
    me = staff_ref(staff)[0]
    if row.recorded_by == me:
        raise Forbidden("The counts must be confirmed by a second staff account, not the one that recorded them.")
    row.confirmed_by, row.confirmed_at = me, utcnow()
    audit.append("vote.hands_confirmed", "vote", str(vote.id), None, {"counts": row.counts})
    return row


# ---------------------------------------------------------------- the casting vote


def request_casting_vote(vote: Vote) -> CastingVote:
    """A tie that the rule set lets the Secretary General break (Art. 12.7, wego-2017 at the EXCOM)."""
    if vote.state == VoteState.OPEN:
        raise Conflict("Close the vote before asking for a casting vote.")
    rule_set = load_rule_set(vote.meeting.rule_set)
    if not rule_set.casting_vote_allowed(vote.meeting.body.value):
        raise Forbidden(f"Rule set {rule_set.id} allows no casting vote at this body.",
                        hint="The statute's way out of this tie is on the tally: a repeat round or no decision.")
    result = results.tally_item(vote.agenda_item, upto=vote)
    outcome = result.outcome
    if outcome is None or outcome.decision != Decision.AWAITING_CASTING_VOTE:
        raise Conflict("The tally does not call for a casting vote.")
    existing = casting_of(vote)
    if existing is not None:
        return existing
    row = CastingVote(vote_id=vote.id, tied=list(outcome.tied), requested_by=audit.current_actor(), requested_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.append("vote.casting_requested", "vote", str(vote.id), None, {"tied": list(outcome.tied)})
    return row


def cast_casting_vote(vote: Vote, staff: StaffAccount, ballot_text: str, signature_b64: str) -> CastingVote:
    """The Secretary General's signed choice among the tied options."""
    row = casting_of(vote)
    if row is None:
        raise NotFound("No casting vote was requested on this vote.")
    if row.cast_at is not None:
        raise Conflict("The casting vote was already cast.")
    key = active_key(staff=staff)
    if key is None:
        raise Forbidden("Your device has no signing key.", hint="Set one up on the 'Signing key' page first.")
    try:
        data = (ballot_text or "").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, escaped in the JSON: not text a device signs
        raise Invalid("The casting vote's text is not valid Unicode.", hint="Reload the page and sign again.") from None
    try:
        ballot = parse_ballot(data)
        signature = b64url_decode(signature_b64 or "")
    except (NotCanonical, InvalidBallot, ValueError) as err:
        raise Invalid(f"The casting vote is malformed: {err}") from None
    holder, member = staff_ref(staff)
    if (ballot.vote != casting.vote_ref(vote) or ballot.round != vote.round or ballot.vote_sha256 != vote.definition_sha256
            or ballot.delegate != holder or ballot.member != member or ballot.key != key.key_id):
        raise Invalid("The casting vote was signed for another vote or by another key.", hint="Reload the page and sign again.")
    choice = ballot.to_json()["choice"]
    if choice not in row.tied:
        raise Invalid("A casting vote must choose one of the tied options.")
    if not PublicKey.from_spki_b64(key.public_key).verify(BALLOT_LABEL, data, signature):
        raise Forbidden("The signature does not match the casting vote.")
    seq, _ = registry_head()
    row.ballot, row.signature, row.key_id, row.registry_seq = data, signature, key.key_id, seq
    row.choice, row.cast_at = choice, utcnow()
    audit.append("vote.casting_cast", "vote", str(vote.id), None, {"choice": choice, "key": key.key_id})
    return row


# ---------------------------------------------------------------- certification


def _method_and_hands(vote: Vote) -> tuple[str, dict[str, Any] | None, dict[str, int] | None]:
    hands = hand_count_of(vote)
    if hands is None:
        return (SEALED_BALLOTS if vote.is_secret else SIGNED_BALLOTS), None, None
    if hands.confirmed_by is None:
        raise Conflict("The counts by hand are waiting for a second staff account to confirm them.")
    return SHOW_OF_HANDS, {"counts": hands.counts, "recorded_by": hands.recorded_by,
                           "confirmed_by": hands.confirmed_by}, dict(hands.counts)


def item_outcome(vote: Vote) -> results.ItemResult:
    """The tally of the vote's item up to this round, with the casting vote and hand counts in force."""
    return results.tally_item(vote.agenda_item, upto=vote)


def prepare(vote: Vote, chair: StaffAccount) -> Certificate:
    """Build the certificate, sign it with the organization key, and wait for the chair's signature."""
    if vote.state == VoteState.OPEN:
        raise Conflict("Close the vote before certifying it.")
    if vote.state == VoteState.CERTIFIED:
        raise Conflict("This vote is already certified.")
    key = active_key(staff=chair)
    if key is None:
        raise Forbidden("Your device has no signing key to co-sign the certificate.",
                        hint="Open 'Signing key' (Account menu) on this laptop and create one, then certify.")
    method, hands, counts = _method_and_hands(vote)
    result = item_outcome(vote)
    if result.outcome is None:
        raise Conflict(result.error or "The tally could not be computed.")
    outcome = result.outcome
    if outcome.decision == Decision.AWAITING_CASTING_VOTE:
        raise Conflict("This tie awaits the Secretary General's casting vote before it can be certified.")
    definition = casting.definition_of(vote)
    rule_set = load_rule_set(vote.meeting.rule_set)
    choices = results.choices_of(vote)
    summary = counts_summary(definition, choices, counts)
    seq, head = registry_head()
    cv = casting_of(vote)
    casting_json = None
    if cv is not None and cv.ballot is not None:
        from ballots.signatures import b64url_encode

        casting_json = {"ballot": cv.ballot.decode("utf-8"), "signature": b64url_encode(cv.signature or b""),
                        "key": cv.key_id, "registry_seq": cv.registry_seq}
    try:
        body = build_body(
            vote.definition, outcome=outcome, counts=summary,
            checkpoint=Checkpoint.from_json(vote.checkpoint) if vote.checkpoint else {}, rule_set=rule_set,
            parameters=rule_parameters(rule_set, vote.kind.value, vote.meeting.body.value),
            registry_seq=seq, registry_head=head, closed_at=_rfc3339(vote.closed_at or utcnow()),
            certified_at=_rfc3339(utcnow()), chair_holder=staff_ref(chair)[0], chair_key_id=key.key_id,
            method=method, show_of_hands=hands, casting_vote=casting_json, sealed=sealed_summary(vote),
        )
    except CertificateError as err:
        raise Conflict(f"The certificate could not be built: {err}") from None
    doc = sign_by_organization(body, org_key())
    existing = certificate_of(vote)
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    row = Certificate(vote_id=vote.id, document=doc, sha256=certificate_hash(doc), method=method,
                      certified_at=utcnow(), certified_by=f"staff:{chair.username}")
    db.session.add(row)
    db.session.flush()
    return row


def sealed_summary(vote: Vote) -> dict[str, Any] | None:
    """What the certificate says of a secret vote's sealed ballots (ballots.certificate SEALED_KEYS)."""
    if not vote.is_secret:
        return None
    import hashlib

    from ballots.canonical import canonical_bytes as jcs

    if vote.opening is None or vote.sealed_checkpoint is None:
        raise Conflict("Open the sealed ballots with the tellers' key before certifying.")
    definition = casting.definition_of(vote)
    return {"teller_key_id": definition["secret"]["teller_key_id"], "envelopes": vote.log_size,
            "sealed": int(vote.sealed_checkpoint["size"]), "invalid": int(vote.opening["invalid"]),
            "checkpoint": vote.sealed_checkpoint,
            "choices_sha256": hashlib.sha256(jcs(list(vote.opening["choices"]))).hexdigest()}


def signing_text(cert: Certificate) -> str:
    """What the chair's browser signs after the label: the body's canonical JSON."""
    return canonical_bytes(cert.document["body"]).decode("utf-8")


def complete(vote: Vote, chair: StaffAccount, signature_b64: str, sha256: str) -> Certificate:
    """Add the chair's signature; the vote is then certified."""
    cert = certificate_of(vote)
    if cert is None or cert.sha256 != sha256:
        raise Conflict("The certificate changed since it was prepared.", hint="Press 'Certify' again.")
    if vote.state == VoteState.CERTIFIED:
        raise Conflict("This vote is already certified.")
    key = active_key(staff=chair)
    if key is None or cert.document["body"]["chair"]["key_id"] != key.key_id:
        raise Forbidden("The certificate must be signed with the chair's key on this device.")
    try:
        doc = add_chair_signature(cert.document, key.key_id, signature_b64, PublicKey.from_spki_b64(key.public_key))
    except CertificateError as err:
        raise Invalid(str(err).capitalize() + ".") from None
    cert.document = doc
    cert.certified_at = utcnow()
    vote.state = VoteState.CERTIFIED
    db.session.flush()
    audit.append("vote.certify", "vote", str(vote.id), None, {"certificate_sha256": cert.sha256, "method": cert.method})
    return cert


def chair_key(chair: StaffAccount) -> DeviceKey | None:
    return active_key(staff=chair)

