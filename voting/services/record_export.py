"""The election record of a meeting (docs/record-format.md): everything an observer needs to check
every certified result with `python -m ballots.verify`, and nothing that the server alone knows."""

from __future__ import annotations

from importlib import resources
from typing import Any

from sqlalchemy import select

from ballots.signatures import b64url_encode

from ..extensions import db
from ..keys import org_key
from ..models import Ballot, Meeting, SignedCheckpoint, Vote
from . import casting, certification, consent
from .identity import registry_events


def rule_set_text(rule_set_id: str) -> str:
    return resources.files("ballots").joinpath("rulesets", f"{rule_set_id}.toml").read_text(encoding="utf-8")


def build_record(meeting: Meeting, *, certified_only: bool = False) -> dict[str, Any]:
    """The record as a JSON value; votes in agenda order and by round, ballots in log order."""
    import hashlib

    key = org_key()
    items = []
    exported: list[Vote] = []
    rule_sets: dict[str, dict[str, str]] = {}
    for item in meeting.agenda:
        votes = db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id).order_by(Vote.round)).all()
        out_votes = []
        for vote in votes:
            cert = certification.certificate_of(vote)
            certified = cert is not None and "chair" in cert.document.get("signatures", {})
            if certified_only and not certified:
                continue
            if vote.state.value == "open":
                continue  # an open vote's ballots are not published: no partial results
            definition = casting.definition_of(vote)
            rs = definition["rule_set"]
            if rs not in rule_sets:
                text = rule_set_text(rs)
                rule_sets[rs] = {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "toml": text}
            ballots = db.session.scalars(select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.leaf_index)).all()
            checkpoints = db.session.scalars(select(SignedCheckpoint).where(SignedCheckpoint.vote_id == vote.id)
                                             .order_by(SignedCheckpoint.size)).all()
            cv = certification.casting_of(vote)
            exported.append(vote)
            out_votes.append({
                "definition": vote.definition.decode("utf-8"),
                "ballots": [{"ballot": b.bytes.decode("utf-8"), "signature": b64url_encode(b.signature), "key": b.key_id,
                             "registry_seq": b.registry_seq} for b in ballots],
                "checkpoints": [c.body for c in checkpoints],
                "certificate": cert.document if certified and cert is not None else None,
                "casting_vote": ({"ballot": cv.ballot.decode("utf-8"), "signature": b64url_encode(cv.signature or b""),
                                  "key": cv.key_id, "registry_seq": cv.registry_seq}
                                 if cv is not None and cv.ballot is not None else None),
            })
        if out_votes:
            items.append({"agenda_item": {"number": item.number, "title": item.title, "decision": item.decision.value},
                          "votes": out_votes})
    return {
        "v": 1,
        "type": "wego-election-record",
        "meeting": {"key": meeting.key, "title": meeting.title, "body": meeting.body.value},
        "organization": {"public_key": key.public_spki_b64(), "key_id": key.key_id},
        "rule_sets": rule_sets,
        "registry": registry_events(),
        "items": items,
        "written_consent": consent.record_section(exported),
        "secret": secret_section(meeting, exported),
    }


def secret_section(meeting: Meeting, exported: list[Vote]) -> dict[str, Any]:
    """The secret votes' sealed ballots in log (tracker) order, their log's checkpoint and what the
    tellers opened (sorted choices, never beside a tracker), and the tellers' keys, with the private
    part where the meeting published it after the count. Empty when the meeting had no secret vote."""
    from . import tellers

    votes = {}
    for vote in exported:
        if not vote.is_secret:
            continue
        votes[casting.vote_ref(vote)] = {
            "sealed": [b64url_encode(b) for b in tellers.sealed_of(vote)],
            "checkpoint": vote.sealed_checkpoint,
            "opening": ({"choices": vote.opening["choices"], "invalid": vote.opening["invalid"]}
                        if vote.opening is not None else None),
        }
    if not votes:
        return {}
    used = {casting.definition_of(v)["secret"]["teller_key_id"] for v in exported if v.is_secret}
    keys = [{"key_id": k.key_id, "public_key": k.public_key, "private_key": k.published_private_key}
            for k in tellers.keys_of(meeting) if k.key_id in used]
    return {"teller_keys": keys, "votes": votes}
