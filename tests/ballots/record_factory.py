"""A simulated meeting, built entirely in Python, whose election record the verifier can check.

It does what the app does (voting/services/casting.py and identity.py), with Python keys in place
of phones: registry events from KeyRegistry.enrol_event / revoke_event, vote definitions exactly as
open_vote builds them, ballots signed with ballots.client.DeviceKey, one RFC 6962 log per vote
(CompactRange) with a checkpoint signed after every append, receipts, casting votes and
certificates (ballots.certificate). It checks nothing a server would refuse: tests use it to make
records that must fail, too. The app's tests may reuse it.

    sim = MeetingSim(body="excom", members=14, present=12)
    vote = sim.open_vote("3", "Minutes", "motion", "Adopt the minutes?")
    sim.cast_all(vote, {"m1": "yes", "m2": "no"})
    sim.certify(vote)
    record = sim.record()
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ballots.canonical import canonical_bytes, sha256_hex
from ballots.certificate import (
    SEALED_BALLOTS,
    SHOW_OF_HANDS,
    SIGNED_BALLOTS,
    add_chair_signature,
    build_body,
    chair_message,
    sign_by_organization,
)
from ballots.chain import GENESIS
from ballots.checkpoint import Checkpoint, vote_origin
from ballots.client import DeviceKey
from ballots.log import CompactRange, ballot_entry, leaf_hash
from ballots.receipts import Receipt
from ballots.recount import (
    YES_NO_KINDS,
    ballot_rounds,
    choice_problem,
    counts_summary,
    rule_parameters,
    tally_votes,
)
from ballots.registry import ENROL, KeyRegistry, RegistryEvent
from ballots.rules import RULESETS_DIR, load_rule_set, quorum_required
from ballots.sealed import (
    ENVELOPE_CHOICE,
    SUITE_NAME,
    TellerKey,
    lay_onto_voters,
    open_all,
    plaintext_bytes_for,
    seal,
    tracker,
    tracker_leaf,
)
from ballots.signatures import BALLOT_LABEL, OrgKey, b64url_encode

STAFF = "staff"
CHAIR, SECRETARY_GENERAL, RECORDER, CONFIRMER = "s1", "s2", "s3", "s4"

# The agenda item's decision (DecisionKind) for each vote kind (VoteKind), as the app files them.
AGENDA_DECISION = {
    "motion": "motion", "special-session": "special-session", "dissolve-regional-office": "dissolve-regional-office",
    "host-city": "host-city", "president": "president", "president-sole": "president",
    "regional-office-bid": "regional-office-bid", "excom-approval": "excom-election", "excom-block": "excom-election",
}

CITY_NAMES = ["Seoul", "Sejong", "Hà Nội", "Taipei", "Chengdu", "Ulaanbaatar", "Makati", "Jakarta", "Kazan",
              "Mexico City", "Surabaya", "Kathmandu", "Bucharest", "Addis Ababa", "Bogotá", "Nairobi",
              "Ramallah", "Tbilisi", "Almaty", "Colombo"]


def rfc3339(moment: datetime) -> str:
    """The app's timestamp format (voting/services/casting.py _rfc3339)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def vote_definition(ref: str, meeting: Mapping[str, str], agenda_item: Mapping[str, str], number: int, kind: str,
                    question: str, options: Sequence[tuple[str, str]], seats: int | None, rule_set: str,
                    roll: Mapping[str, Any], registry: tuple[int, str], opened_at: str,
                    host: str = "wego.example") -> dict[str, Any]:
    """A vote definition with exactly the keys and values voting/services/casting.py open_vote writes."""
    return {
        "v": 1,
        "vote": ref,
        "origin": vote_origin(host, ref),
        "meeting": dict(meeting),
        "agenda_item": dict(agenda_item),
        "round": number,
        "kind": kind,
        "question": question,
        "options": [{"id": i, "label": label} for i, label in options],
        "seats": seats,
        "rule_set": rule_set,
        "roll": dict(roll),
        "registry": {"seq": registry[0], "head": registry[1]},
        "opened_at": opened_at,
        "secret": False,
    }


def roll_of(members: Sequence[str], present: Sequence[str], rule_set: Any, body: str,
            total: int | None = None, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A definition's frozen roll: voting members, those present, the quorum base and its quorum."""
    total = len(members) if total is None else total
    return {"members": [{"id": m, "name": (names or {}).get(m, m)} for m in members], "present": list(present),
            "total": total, "quorum_required": quorum_required(rule_set, body, total)}


@dataclass
class Holder:
    """A delegate (d<id>, member m<id>) or a staff account (s<id>, member "staff") and its device key."""

    ref: str
    member: str
    key: DeviceKey


@dataclass
class SimVote:
    """One vote as the app stores it: exact definition bytes, logged ballots, checkpoints, certificate."""

    ref: str
    agenda: str
    definition: bytes
    data: dict[str, Any]
    sha256: str
    state: CompactRange = field(default_factory=CompactRange)
    ballots: list[dict[str, Any]] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    choices: dict[str, Any] = field(default_factory=dict)
    closed_at: str | None = None
    casting_vote: dict[str, Any] | None = None
    casting_choice: str | None = None
    show_of_hands: dict[str, int] | None = None
    certificate: dict[str, Any] | None = None
    # A secret vote: the tellers' key, the sealed ballots (in tracker order once closed), the sealed
    # log's checkpoint and what the tellers opened; each member's tracker (the phone's, for tests).
    teller: TellerKey | None = None
    sealed: list[bytes] = field(default_factory=list)
    sealed_checkpoint: dict[str, Any] | None = None
    opening: dict[str, Any] | None = None
    trackers: dict[str, str] = field(default_factory=dict)

    @property
    def round(self) -> int:
        return int(self.data["round"])


class MeetingSim:
    """One meeting of one body, with its roster, key registry, organization key and votes."""

    def __init__(self, *, body: str = "excom", rule_set: str = "wego-2017", key: str = "excom-2025",
                 title: str = "Executive Committee Meeting 2025", members: int = 14, present: int | None = None,
                 org_key: OrgKey | None = None, host: str = "wego.example", first_vote: int = 1,
                 first_member: int = 1, ecdsa_every: int = 4, chair_algorithm: str = "ECDSA-P256",
                 start: datetime | None = None, rulesets_dir: str | Path | None = None, seed: int = 1,
                 keep_receipts: bool = True) -> None:
        self.keep_receipts = keep_receipts
        self.org = org_key or OrgKey.generate()
        self.host = host
        self.rulesets_dir = Path(rulesets_dir) if rulesets_dir is not None else RULESETS_DIR
        self.rule_set = load_rule_set(rule_set, self.rulesets_dir)
        self.meeting = {"key": key, "title": title, "body": body}
        self.now = start or datetime(2025, 5, 14, 9, 0, tzinfo=UTC)
        self.rng = random.Random(seed)
        self.registry = KeyRegistry()
        self.next_vote = first_vote
        self.members = [{"id": f"m{n}", "name": CITY_NAMES[i % len(CITY_NAMES)] + ("" if i < len(CITY_NAMES)
                                                                                   else f" {i}")}
                        for i, n in enumerate(range(first_member, first_member + members))]
        count = members if present is None else present
        self.present = [m["id"] for m in self.members[:count]]
        self.delegates: dict[str, Holder] = {}
        self.by_member: dict[str, Holder] = {}
        enrolments = []
        for i, m in enumerate(self.members):
            algorithm = "ECDSA-P256" if ecdsa_every and i % ecdsa_every == ecdsa_every - 1 else "Ed25519"
            enrolments.append((f"d{m['id'][1:]}", m["id"], DeviceKey.generate(algorithm)))
        enrolments.append((CHAIR, STAFF, DeviceKey.generate(chair_algorithm)))
        enrolments.append((SECRETARY_GENERAL, STAFF, DeviceKey.generate("Ed25519")))
        for holder in self.enrol_many(enrolments):
            if holder.member != STAFF:
                self.by_member[holder.member] = holder
        self.staff = {CHAIR: self.delegates[CHAIR], SECRETARY_GENERAL: self.delegates[SECRETARY_GENERAL]}
        self.items: dict[str, dict[str, Any]] = {}
        # The tellers' keys of secret votes; published: their private parts go into the record.
        self.teller_keys: list[TellerKey] = []
        self.published_keys: set[str] = set()

    # ---- time and keys

    def tick(self, seconds: float = 1.0) -> str:
        """Advance the meeting's clock and return the new time, as the app writes times."""
        self.now += timedelta(seconds=seconds)
        return rfc3339(self.now)

    def enrol(self, ref: str, member: str, algorithm: str = "Ed25519", key: DeviceKey | None = None) -> Holder:
        """Enrol a new device key for a delegate or staff account (a registry event)."""
        key = key or DeviceKey.generate(algorithm)
        event = self.registry.enrol_event(ref, member, b64url_encode(key.spki), f"Python {key.algorithm}", self.tick())
        self.registry = self.registry.append(event)
        holder = Holder(ref, member, key)
        self.delegates[ref] = holder
        if member in self.by_member and self.by_member[member].ref == ref:
            self.by_member[member] = holder
        return holder

    def enrol_many(self, enrolments: Sequence[tuple[str, str, DeviceKey]]) -> list[Holder]:
        """Enrol many keys at once: the events chained as enrol_event chains them, the registry checked once."""
        events = list(self.registry.events)
        holders = []
        for ref, member, key in enrolments:
            event = RegistryEvent(len(events) + 1, ENROL, ref, member, key.key_id, self.tick(),
                                  public_key=b64url_encode(key.spki), device=f"Python {key.algorithm}")
            events.append(event.chained(events[-1].hash if events else GENESIS))
            holder = Holder(ref, member, key)
            self.delegates[ref] = holder
            holders.append(holder)
        self.registry = KeyRegistry(tuple(events))
        return holders

    def revoke(self, ref: str, reason: str = "lost phone") -> None:
        """Revoke a holder's current key (a registry event)."""
        event = self.registry.revoke_event(self.delegates[ref].key.key_id, reason, self.tick())
        self.registry = self.registry.append(event)

    def replace_key(self, ref: str, algorithm: str = "Ed25519") -> Holder:
        """A lost phone: revoke the old key and enrol a new one, as the Secretariat's re-issue does."""
        member = self.delegates[ref].member
        self.revoke(ref)
        return self.enrol(ref, member, algorithm)

    # ---- votes

    def _roll(self) -> dict[str, Any]:
        return roll_of([m["id"] for m in self.members], self.present, self.rule_set, self.meeting["body"],
                       names={m["id"]: m["name"] for m in self.members})

    def open_vote(self, agenda: str, agenda_title: str, kind: str, question: str,
                  options: Sequence[tuple[str, str]] = (), *, seats: int | None = None,
                  same_roll_as: SimVote | None = None, secret: TellerKey | None = None) -> SimVote:
        """Open a vote on an agenda item, freezing the roll and the registry head (casting.open_vote);
        secret: a secret ballot, its choices sealed to this tellers' key."""
        item = self.items.setdefault(agenda, {"agenda_item": {"number": agenda, "title": agenda_title,
                                                              "decision": AGENDA_DECISION[kind]}, "votes": []})
        number = len(item["votes"]) + 1
        ref = f"v{self.next_vote}"
        self.next_vote += 1
        roll = json.loads(json.dumps(same_roll_as.data["roll"])) if same_roll_as is not None else self._roll()
        definition = vote_definition(ref, self.meeting, item["agenda_item"], number, kind, question, options, seats,
                                     self.rule_set.id, roll, (len(self.registry), self.registry.head), self.tick(),
                                     host=self.host)
        if secret is not None:
            definition["secret"] = {"teller_key": secret.public_b64, "teller_key_id": secret.key_id,
                                    "suite": SUITE_NAME, "plaintext_bytes": plaintext_bytes_for(definition)}
            if secret not in self.teller_keys:
                self.teller_keys.append(secret)
        data = canonical_bytes(definition)
        vote = SimVote(ref, agenda, data, json.loads(data), sha256_hex(data), teller=secret)
        vote.checkpoints.append(Checkpoint(definition["origin"], 0, vote.state.root()).sign(self.org).to_json())
        item["votes"].append(vote)
        return vote

    def sign_ballot(self, vote: SimVote, holder: Holder, choice: Any, *, member: str | None = None) -> tuple[bytes, bytes]:
        """A ballot's canonical bytes and its signature, as the phone makes them (client.sign_ballot)."""
        nonce = b64url_encode(self.rng.getrandbits(144).to_bytes(18, "big"))
        ballot = {"v": 1, "vote": vote.ref, "round": vote.round, "vote_sha256": vote.sha256,
                  "member": member or holder.member, "delegate": holder.ref, "key": holder.key.key_id,
                  "choice": choice, "nonce": nonce}
        data = canonical_bytes(ballot)
        return data, holder.key.sign(BALLOT_LABEL, data)

    def append(self, vote: SimVote, data: bytes, signature: bytes, key_id: str) -> dict[str, Any]:
        """Append a signed ballot to the vote's log, sign the new checkpoint, and return the receipt."""
        leaf = leaf_hash(ballot_entry(data, signature, key_id))
        vote.state, proof = vote.state.append_with_proof(leaf)
        checkpoint = Checkpoint(vote.data["origin"], vote.state.size, vote.state.root()).sign(self.org)
        receipt = Receipt(vote.ref, vote.state.size - 1, leaf, tuple(proof), checkpoint).to_json()
        vote.ballots.append({"ballot": data.decode("utf-8"), "signature": b64url_encode(signature), "key": key_id,
                             "registry_seq": len(self.registry)})
        vote.leaves.append(leaf)
        vote.checkpoints.append(checkpoint.to_json())
        if self.keep_receipts:
            vote.receipts.append(receipt)
        return receipt

    def cast(self, vote: SimVote, member: str, choice: Any, *, holder: Holder | None = None) -> dict[str, Any]:
        """The member's delegate (or `holder`) signs and casts a ballot; the receipt."""
        holder = holder or self.by_member[member]
        if vote.teller is not None:
            return self.cast_sealed(vote, member, choice, holder=holder)
        data, signature = self.sign_ballot(vote, holder, choice, member=member)
        vote.choices.setdefault(member, choice)
        return self.append(vote, data, signature, holder.key.key_id)

    def seal(self, vote: SimVote, choice: Any) -> bytes:
        """A choice sealed to the vote's tellers' key, as the phone seals it."""
        assert vote.teller is not None
        return seal(vote.teller, vote.ref, vote.round, vote.sha256, choice, vote.data["secret"]["plaintext_bytes"])

    def cast_sealed(self, vote: SimVote, member: str, choice: Any, *, holder: Holder | None = None,
                    sealed: bytes | None = None) -> dict[str, Any]:
        """A secret vote: the member signs an envelope (choice "sealed") and seals the choice apart;
        the receipt carries the tracker beside it, as the phone's receipt file does."""
        holder = holder or self.by_member[member]
        data, signature = self.sign_ballot(vote, holder, ENVELOPE_CHOICE, member=member)
        sealed = self.seal(vote, choice) if sealed is None else sealed
        vote.choices.setdefault(member, ENVELOPE_CHOICE)
        vote.sealed.append(sealed)
        vote.trackers.setdefault(member, tracker(sealed))
        receipt = self.append(vote, data, signature, holder.key.key_id)
        if self.keep_receipts:
            vote.receipts[-1] = {**receipt, "tracker": tracker(sealed)}
        return {**receipt, "tracker": tracker(sealed)}

    def cast_all(self, vote: SimVote, choices: Mapping[str, Any]) -> None:
        """Cast one ballot per member, in the order given."""
        for member, choice in choices.items():
            self.cast(vote, member, choice)

    def close(self, vote: SimVote, *, open_sealed: bool = True) -> None:
        """Close; a secret vote's sealed log is written in tracker order and signed, and the tellers
        open it (unless open_sealed is False: the key is held elsewhere)."""
        vote.closed_at = self.tick()
        if vote.teller is None:
            return
        vote.sealed.sort(key=tracker)
        state = CompactRange()
        for item in vote.sealed:
            state = state.append(tracker_leaf(item))
        vote.sealed_checkpoint = Checkpoint(f"{vote.data['origin']}/sealed", state.size, state.root()) \
            .sign(self.org).to_json()
        if open_sealed:
            self.open_sealed(vote)

    def open_sealed(self, vote: SimVote) -> None:
        """The tellers open the sealed ballots: the sorted valid choices and how many were invalid."""
        assert vote.teller is not None
        vote.opening = open_all(vote.teller, vote.sealed, vote.data, vote.sha256, choice_problem).to_json()

    def publish_key(self, key: TellerKey) -> None:
        """The meeting publishes the tellers' private key after the count."""
        self.published_keys.add(key.key_id)

    def counted_choices(self, vote: SimVote) -> dict[str, Any]:
        """What the tally runs on: a secret vote's opened choices laid onto its envelopes' members."""
        if vote.teller is None:
            return vote.choices
        assert vote.opening is not None, "open the sealed ballots first"
        return lay_onto_voters(list(vote.choices), vote.opening, vote.data)

    def cast_casting_vote(self, vote: SimVote, choice: str) -> dict[str, Any]:
        """The Secretary General's signed casting vote on a tied vote (Art. 12.7)."""
        sg = self.staff[SECRETARY_GENERAL]
        data, signature = self.sign_ballot(vote, sg, choice)
        vote.casting_vote = {"ballot": data.decode("utf-8"), "signature": b64url_encode(signature),
                             "key": sg.key.key_id, "registry_seq": len(self.registry)}
        vote.casting_choice = choice
        return vote.casting_vote

    def outcome(self, vote: SimVote) -> Any:
        """The recount of the ballot ending at this vote, as the app runs it when the chair certifies."""
        votes: list[SimVote] = self.items[vote.agenda]["votes"]
        j = votes.index(vote)
        rounds = [votes[k] for k in ballot_rounds([v.data for v in votes[: j + 1]], j)]
        castings = {r.round: r.casting_choice for r in rounds if r.casting_choice is not None}
        casting: Any = None
        if castings:
            casting = next(iter(castings.values())) if vote.data["kind"] in YES_NO_KINDS else castings
        return tally_votes([r.data for r in rounds],
                           [{} if r.show_of_hands else self.counted_choices(r) for r in rounds],
                           casting, [r.show_of_hands for r in rounds], rulesets_dir=self.rulesets_dir)

    def certify(self, vote: SimVote, *, show_of_hands: Mapping[str, int] | None = None,
                chair: Holder | None = None) -> dict[str, Any]:
        """Close (if open), recount, and certify: the organization signs, then the chair's device."""
        if show_of_hands is not None:
            vote.show_of_hands = dict(show_of_hands)
        if vote.closed_at is None:
            self.close(vote)
        outcome = self.outcome(vote)
        chair = chair or self.staff[CHAIR]
        show = None
        if vote.show_of_hands is not None:
            show = {"counts": dict(vote.show_of_hands), "recorded_by": RECORDER, "confirmed_by": CONFIRMER}
        body = build_body(
            vote.definition, outcome=outcome,
            counts=counts_summary(vote.data, {} if vote.show_of_hands else self.counted_choices(vote),
                                  vote.show_of_hands),
            checkpoint=vote.checkpoints[-1], rule_set=self.rule_set,
            parameters=rule_parameters(self.rule_set, vote.data["kind"], self.meeting["body"]),
            registry_seq=len(self.registry), registry_head=self.registry.head, closed_at=vote.closed_at,
            certified_at=self.tick(), chair_holder=chair.ref, chair_key_id=chair.key.key_id,
            method=SHOW_OF_HANDS if show else SEALED_BALLOTS if vote.teller is not None else SIGNED_BALLOTS,
            show_of_hands=show, casting_vote=vote.casting_vote, sealed=self.sealed_summary(vote))
        doc = sign_by_organization(body, self.org)
        # The chair's browser signs the exact bytes chair_message gives (label included).
        signature = chair.key.sign(b"", chair_message(body))
        vote.certificate = add_chair_signature(doc, chair.key.key_id, signature,
                                               public_key=self.registry.public_key(chair.key.key_id))
        return vote.certificate

    def sealed_summary(self, vote: SimVote) -> dict[str, Any] | None:
        """What a secret vote's certificate says of its sealed ballots (certification.sealed_summary)."""
        if vote.teller is None:
            return None
        assert vote.opening is not None and vote.sealed_checkpoint is not None
        return {"teller_key_id": vote.teller.key_id, "envelopes": len(vote.ballots), "sealed": len(vote.sealed),
                "invalid": vote.opening["invalid"], "checkpoint": vote.sealed_checkpoint,
                "choices_sha256": sha256_hex(canonical_bytes(vote.opening["choices"]))}

    def secret_section(self) -> dict[str, Any]:
        """The record's secret section, as record_export.secret_section writes it."""
        votes = {v.ref: {"sealed": [b64url_encode(b) for b in sorted(v.sealed, key=tracker)],
                         "checkpoint": v.sealed_checkpoint, "opening": v.opening}
                 for item in self.items.values() for v in item["votes"] if v.teller is not None}
        if not votes:
            return {}
        keys = [{"key_id": k.key_id, "public_key": k.public_b64,
                 "private_key": k.private_b64 if k.key_id in self.published_keys else None} for k in self.teller_keys]
        return {"teller_keys": keys, "votes": votes}

    # ---- the record

    def rule_set_texts(self) -> dict[str, dict[str, str]]:
        path = self.rulesets_dir / f"{self.rule_set.id}.toml"
        text = path.read_bytes().decode("utf-8")
        return {self.rule_set.id: {"sha256": sha256_hex(text.encode("utf-8")), "toml": text}}

    def record(self) -> dict[str, Any]:
        """The election record as the app exports it (docs/record-format.md); a fresh copy each time."""
        record = {
            "v": 1,
            "type": "wego-election-record",
            "meeting": dict(self.meeting),
            "organization": {"public_key": self.org.public_spki_b64(), "key_id": self.org.key_id},
            "rule_sets": self.rule_set_texts(),
            "registry": [e.to_json() for e in self.registry.events],
            "items": [
                {"agenda_item": item["agenda_item"],
                 "votes": [{"definition": v.definition.decode("utf-8"), "ballots": v.ballots,
                            "checkpoints": v.checkpoints, "certificate": v.certificate,
                            "casting_vote": v.casting_vote} for v in item["votes"]]}
                for item in self.items.values()
            ],
            "written_consent": [],
            "secret": self.secret_section(),
        }
        return json.loads(json.dumps(record))

    def vote(self, ref: str) -> SimVote:
        for item in self.items.values():
            for v in item["votes"]:
                if v.ref == ref:
                    return v
        raise KeyError(ref)


# ---- choices ----------------------------------------------------------------------------------


def spread(members: Sequence[str], **counts: int) -> dict[str, str]:
    """The first members choose the first choice as many times as its count, and so on."""
    choices = [choice for choice, n in counts.items() for _ in range(n)]
    assert len(choices) <= len(members), "more votes than members"
    return dict(zip(members, choices, strict=False))


def block_ballots(members: Sequence[str], counts: Mapping[str, int], limit: int) -> dict[str, list[str]]:
    """Block-vote ballots giving each candidate exactly its count, no ballot naming more than `limit`."""
    ballots: dict[str, list[str]] = {m: [] for m in members}
    for candidate, n in counts.items():
        open_ = sorted((m for m in members if len(ballots[m]) < limit), key=lambda m: len(ballots[m]))
        assert len(open_) >= n, f"cannot give {candidate} {n} votes with {limit} names per ballot"
        for m in open_[:n]:
            ballots[m].append(candidate)
    return {m: b for m, b in ballots.items() if b}


def excom_meeting(org_key: OrgKey | None = None, *, first_vote: int = 1, seed: int = 1) -> MeetingSim:
    """An EXCOM meeting under wego-2017 (14 members, 12 present): a motion, a lost phone, a host-city
    ballot whose second round ties and goes to the Secretary General's casting vote, a special
    session counted by a show of hands, and a dissolution vote."""
    sim = MeetingSim(body="excom", key="excom-2025-seoul", title="Executive Committee Meeting, Seoul 2025",
                     members=14, present=12, org_key=org_key, first_vote=first_vote, seed=seed)
    p = sim.present
    minutes = sim.open_vote("3", "Minutes of the 2024 meeting", "motion", "Adopt the minutes of the 2024 meeting?")
    sim.cast_all(minutes, spread(p, yes=8, no=2, abstain=1))
    sim.certify(minutes)
    sim.replace_key(sim.by_member[p[2]].ref, "ECDSA-P256")  # m3 lost the phone; the new key votes from now on
    bids = [("sejong", "Sejong"), ("hanoi", "Hà Nội"), ("taipei", "Taipei")]
    r1 = sim.open_vote("4", "Host city of the 2026 General Assembly", "host-city", "Which city hosts the 2026 GA?",
                       bids)
    sim.cast_all(r1, spread(p, sejong=5, hanoi=5, taipei=2))
    sim.certify(r1)
    r2 = sim.open_vote("4", "Host city of the 2026 General Assembly", "host-city", "Which city hosts the 2026 GA?",
                       bids[:2], same_roll_as=r1)
    sim.cast_all(r2, spread(p, sejong=6, hanoi=6))
    sim.cast_casting_vote(r2, "hanoi")
    sim.certify(r2)
    session = sim.open_vote("5", "Special session of the General Assembly", "special-session",
                            "Approve a special session of the GA in 2026?")
    sim.certify(session, show_of_hands={"yes": 9, "no": 2, "abstain": 1})
    dissolve = sim.open_vote("6", "Regional office for Latin America", "dissolve-regional-office",
                             "Dissolve the regional office for Latin America?")
    sim.cast_all(dissolve, spread(p[::-1], yes=7, no=4))
    sim.certify(dissolve)
    return sim


def ga_meeting(org_key: OrgKey | None = None, *, first_vote: int = 101, seed: int = 2) -> MeetingSim:
    """A General Assembly under wego-2017 (20 full members, 16 present): a sole presidential candidate,
    an EXCOM block vote whose last seat ties and goes to a run-off, and an approval ballot."""
    sim = MeetingSim(body="ga", key="ga-2025-seoul", title="General Assembly, Seoul 2025", members=20, present=16,
                     org_key=org_key, first_vote=first_vote, first_member=101, seed=seed)
    p = sim.present
    president = sim.open_vote("7", "Election of the President City", "president-sole",
                              "Elect Seoul as President City for 2025–2027?", [("seoul", "Seoul")])
    sim.cast_all(president, spread(p, yes=12, no=2, abstain=1))
    sim.certify(president)
    candidates = [("kazan", "Kazan"), ("makati", "Makati"), ("jakarta", "Jakarta"), ("chengdu", "Chengdu"),
                  ("surabaya", "Surabaya")]
    first = sim.open_vote("8", "Election of EXCOM members", "excom-block", "Elect three EXCOM members",
                          candidates, seats=3)
    sim.cast_all(first, block_ballots(p, {"kazan": 14, "makati": 12, "jakarta": 10, "chengdu": 10,
                                          "surabaya": 2}, 3))
    sim.certify(first)
    runoff = sim.open_vote("8", "Election of EXCOM members", "excom-block", "Run-off for the last EXCOM seat",
                           [("jakarta", "Jakarta"), ("chengdu", "Chengdu")], seats=1, same_roll_as=first)
    sim.cast_all(runoff, {m: [c] for m, c in spread(p, jakarta=9, chengdu=6).items()})
    sim.certify(runoff)
    approval = sim.open_vote("9", "Executive Vice President seat", "excom-approval",
                             "Approve each candidate for the two remaining seats", [("almaty", "Almaty"),
                                                                                    ("tbilisi", "Tbilisi")], seats=2)
    marks = [{"almaty": "yes", "tbilisi": "yes"}] * 9 + [{"almaty": "no", "tbilisi": "yes"}] * 4 + \
        [{"almaty": "abstain", "tbilisi": "abstain"}] * 2
    sim.cast_all(approval, dict(zip(p, marks, strict=False)))
    sim.certify(approval)
    return sim


def all_receipts(sim: MeetingSim) -> Iterable[dict[str, Any]]:
    for item in sim.items.values():
        for v in item["votes"]:
            yield from v.receipts
