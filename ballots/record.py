"""The election record of a meeting (what is published) and its full, offline verification.

CRYPTO_DESIGN.md "Election record and verifier"; the format is docs/record-format.md (with the
JSON Schema docs/record.schema.json). verify_record checks every signature against the key
registry, one counted ballot per member, the rebuilt Merkle roots against every signed checkpoint,
the recount under the record's own rule-set text against each certificate, and both signatures of
every certificate. Each failure is named by agenda item, vote, entry and check, in words.

Resolutions by written consent (Art. 16.3) are votes of kind "written-consent" in "items"; the
record's "written_consent" section gives, for each, the time each logged answer was received (the
recount finds the moment of adoption from them, I-5) and every late answer, which must be a valid
signed answer received after the certified moment of adoption or after the deadline.

A secret vote's ballots are signed envelopes (choice "sealed"); the record's "secret" section
gives, per secret vote, its sealed ballots in tracker order, the sealed log's signed checkpoint and
what the tellers opened (the choices sorted, never beside a tracker), and the tellers' keys, with
the private part where the meeting published it. The verifier rebuilds the sealed log, checks one
sealed ballot per envelope, re-opens every sealed ballot when the key is published, and recounts
from the opened choices.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ballots.canonical import (
    BALLOT_KEYS,
    MAX_BALLOT_BYTES,
    Ballot,
    InvalidBallot,
    NotCanonical,
    canonical_bytes,
    parse_ballot,
    parse_canonical,
    sha256_hex,
)
from ballots.certificate import (
    CASTING_VOTE_KEYS,
    METHODS,
    SEALED_BALLOTS,
    SHOW_OF_HANDS,
    SHOW_OF_HANDS_KEYS,
    STAFF_MEMBER,
    parse_time,
    verify_certificate,
)
from ballots.checkpoint import Checkpoint, InvalidCheckpoint, origin_vote
from ballots.log import EMPTY_ROOT, ballot_entry, consistency_proof, leaf_hash, node_hash
from ballots.receipts import InvalidReceipt, Receipt, check_consistency, check_receipt, short_code
from ballots.recount import (
    CONSENT_RULES,
    ELECTION_KINDS,
    VOTE_KINDS,
    WRITTEN_KINDS,
    YES_NO_KINDS,
    ballot_rounds,
    choice_problem,
    counts_summary,
    rule_parameters,
    tally_votes,
)
from ballots.registry import ACTIVE, UNKNOWN, KeyRegistry, RegistryError
from ballots.rules import BODIES, RuleSet, RuleSetError, load_rule_set_file
from ballots.sealed import (
    ENC_SIZE,
    ENVELOPE_CHOICE,
    PAD_BLOCK,
    SUITE_NAME,
    TAG_SIZE,
    SealedError,
    TellerKey,
    lay_onto_voters,
    normal_choice,
    open_all,
    plaintext_bytes_for,
    sort_choices,
    tracker,
    tracker_code,
    tracker_leaf,
)
from ballots.signatures import BALLOT_LABEL, ED25519, InvalidKey, PublicKey, b64url_decode, b64url_encode
from ballots.tally import CaseError, Outcome

__all__ = ["RECORD_TYPE", "RECORD_VERSION", "Check", "Report", "VoteLine", "find_tracker", "verify_receipt",
           "verify_record"]

RECORD_VERSION = 1
RECORD_TYPE = "wego-election-record"
RECORD_KEYS = frozenset({"v", "type", "meeting", "organization", "rule_sets", "registry", "items",
                         "written_consent", "secret"})
MEETING_KEYS = frozenset({"key", "title", "body"})
ITEM_KEYS = frozenset({"agenda_item", "votes"})
AGENDA_KEYS = frozenset({"number", "title", "decision"})
VOTE_ENTRY_KEYS = frozenset({"definition", "ballots", "checkpoints", "certificate", "casting_vote"})
BALLOT_ENTRY_KEYS = frozenset({"ballot", "signature", "key", "registry_seq"})
DEFINITION_KEYS = frozenset({"v", "vote", "origin", "meeting", "agenda_item", "round", "kind", "question", "options",
                             "seats", "rule_set", "roll", "registry", "opened_at", "secret"})
# A written-consent vote's definition also holds the resolution's text, its hash, the attachments,
# the deadline and the rule that decides it.
WRITTEN_DEFINITION_KEYS = DEFINITION_KEYS | {"text", "text_sha256", "attachments", "deadline", "rule"}
WRITTEN_ENTRY_KEYS = frozenset({"vote", "received_at", "late"})
LATE_ENTRY_KEYS = BALLOT_ENTRY_KEYS | {"received_at"}
ROLL_KEYS = frozenset({"members", "present", "total", "quorum_required"})
# A secret ballot (CRYPTO_DESIGN.md "Secret ballots", docs/record-format.md "Secret votes").
SECRET_DEFINITION_KEYS = frozenset({"teller_key", "teller_key_id", "suite", "plaintext_bytes"})
SECRET_KEYS = frozenset({"teller_keys", "votes"})
TELLER_KEY_KEYS = frozenset({"key_id", "public_key", "private_key"})
SECRET_VOTE_KEYS = frozenset({"sealed", "checkpoint", "opening"})
OPENING_KEYS = frozenset({"choices", "invalid"})

_RULE_SET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_STAFF_REF = re.compile(r"s[0-9]+")


class Check(NamedTuple):
    """One check: where (agenda item, vote, entry), what was checked, whether it holds, and the detail."""

    scope: str
    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VoteLine:
    """The one-line summary of a vote in the report."""

    scope: str
    label: str
    ballots: int
    root: str | None
    recount: str


@dataclass(frozen=True)
class Report:
    """The verifier's findings: every check (passing ones grouped per vote) and a line per vote."""

    meeting: str
    checks: tuple[Check, ...]
    votes: tuple[VoteLine, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every check holds (and there was something to check)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that do not hold, in the order found."""
        return tuple(c for c in self.checks if not c.ok)

    def failures_in(self, scope: str) -> list[Check]:
        """The failures within a scope (the scope itself and every entry under it)."""
        return [c for c in self.failures if c.scope == scope or c.scope.startswith(scope + ",")]

    def to_text(self) -> str:
        """The report as a person reads it: a line per vote, then every failure named precisely."""
        lines = [f"WeGO election record: {self.meeting}"]
        for c in self.checks:
            if c.scope in ("organization", "registry") and c.ok:
                lines.append(f"{c.scope.capitalize()}: {c.detail}")
            elif c.scope.startswith("rule set ") and c.ok:
                lines.append(f"{c.scope.capitalize()}: {c.detail}")
        for v in self.votes:
            bad = self.failures_in(v.scope)
            root = f"root {v.root[:12]}…" if v.root else "root not rebuilt"
            verdict = "OK" if not bad else f"FAILED ({len(bad)} problem{'s' if len(bad) != 1 else ''})"
            word = "ballot" if v.ballots == 1 else "ballots"
            lines.append(f"{v.label}: {v.ballots} {word}, {root}, recount: {v.recount} — {verdict}")
        for c in self.checks:
            if c.ok and c.check in ("written consent", "sealed ballots"):
                lines.append(f"{c.scope[:1].upper()}{c.scope[1:]}: {c.detail}")
        failures = self.failures
        if failures:
            lines.append("")
            lines.append(f"Problems ({len(failures)}):")
            lines.extend(f"  {c.scope}: {c.detail}" for c in failures)
            lines.append("")
            lines.append(f"RESULT: FAILED: {len(failures)} of {len(self.checks)} checks do not hold. "
                         "Do not rely on this record; ask the Secretariat for the original file.")
        elif self.checks:
            lines.append("")
            sealed = any(c.check == "sealed ballots" for c in self.checks)
            lines.append(f"RESULT: OK: all {len(self.checks)} checks hold. Every ballot signature, log root, "
                         "checkpoint, recount and certificate signature verifies"
                         + (", and every secret vote has one sealed ballot per envelope in its signed sealed log."
                            if sealed else "."))
        else:
            lines.append("RESULT: FAILED: nothing could be checked.")
        return "\n".join(lines)


class _Collector:
    """Gathers checks while the record is walked."""

    def __init__(self) -> None:
        self.checks: list[Check] = []
        self.votes: list[VoteLine] = []

    def ok(self, scope: str, check: str, detail: str) -> None:
        self.checks.append(Check(scope, check, True, detail))

    def fail(self, scope: str, check: str, detail: str) -> None:
        self.checks.append(Check(scope, check, False, detail))


@dataclass
class _Context:
    """What every vote is checked against: the meeting, the organization key, rule sets, the registry."""

    meeting: Any = None
    org: PublicKey | None = None
    rule_sets: dict[str, RuleSet] = field(default_factory=dict)
    rules_dir: Path | None = None
    registry: KeyRegistry | None = None
    seen_votes: set[str] = field(default_factory=set)
    # The "written_consent" section by vote id, and the record's written-consent votes as verified.
    written: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    written_votes: dict[str, _Vote] = field(default_factory=dict)
    # The "secret" section: the tellers' keys by key id (None: listed but unreadable), each secret
    # vote's sealed ballots by vote id, and the secret votes the record's items hold.
    teller_keys: dict[str, TellerKey | None] = field(default_factory=dict)
    secret: dict[str, Any] = field(default_factory=dict)
    secret_seen: set[str] = field(default_factory=set)


@dataclass
class _Vote:
    """One vote as verified: its definition, counted choices, log and certificate."""

    scope: str
    ref: str
    entry: Any
    definition: dict[str, Any] | None = None
    sha256: str = ""
    choices: dict[str, Any] = field(default_factory=dict)
    ballots: int = 0
    leaves: list[bytes] | None = None
    final: dict[str, Any] | None = None
    root: str | None = None
    casting: str | None = None
    casting_ok: bool = True
    show: dict[str, int] | None = None
    recount: str = "not certified"
    leaf_members: list[str | None] = field(default_factory=list)
    # A secret vote: its sealed ballots as verified, and why its choices cannot be counted (or None).
    sealed: list[bytes] | None = None
    sealed_checkpoint: dict[str, Any] | None = None
    opening: dict[str, Any] | None = None
    sealed_problem: str | None = None


def _short(value: Any, limit: int = 80) -> str:
    """A value as a person can read it in one line."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _loads(text: Any) -> Any:
    """Lenient JSON for naming things in messages only (never for a check)."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _majority(values: Sequence[Any], fallback: str) -> str:
    """The most frequent text among values (the first on a tie): one changed copy cannot rename a vote."""
    texts = [v for v in values if isinstance(v, str) and v]
    if not texts:
        return fallback
    counts = Counter(texts)
    best = max(counts.values())
    return next(v for v in texts if counts[v] == best)


# --- reading ballots fast ------------------------------------------------------------------------

_SAFE_INT = 2**53


class _Unsure(Exception):
    """The fast reading cannot vouch for these bytes; the reference parser decides."""


def _no_float(text: str) -> Any:
    raise _Unsure


def _plain(value: Any) -> None:
    """Refuse (as unsure) anything whose C-json form might differ from RFC 8785's: floats, huge ints, odd keys."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if -_SAFE_INT < value < _SAFE_INT:
            return
        raise _Unsure
    if isinstance(value, list):
        for item in value:
            _plain(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            # Below U+D800, sorting by code point (Python) and by UTF-16 unit (RFC 8785) agree.
            if max(key, default="\0") >= "\ud800":
                raise _Unsure
            _plain(item)
        return
    raise _Unsure


def read_ballot(data: bytes) -> Ballot:
    """parse_ballot, faster: the C json module's compact sorted form is accepted only where it is provably
    the RFC 8785 form (string keys below U+D800, no floats, integers within 2**53); anything else, and
    every refusal, goes to ballots.canonical.parse_ballot, which decides and explains."""
    try:
        if len(data) > MAX_BALLOT_BYTES:
            raise _Unsure
        obj = json.loads(data.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
        if type(obj) is not dict or obj.keys() != BALLOT_KEYS:
            raise _Unsure
        for value in obj.values():
            if type(value) is not str:
                _plain(value)
        again = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        if again != data:
            raise _Unsure
    except (_Unsure, ValueError, RecursionError):
        return parse_ballot(data)
    return Ballot(**obj)


# --- the record as a whole ----------------------------------------------------------------------


def verify_record(record: Any, *, rulesets_dir: str | Path | None = None) -> Report:
    """Verify a whole election record; rulesets_dir: trusted rule-set files the record's must equal."""
    c = _Collector()
    with tempfile.TemporaryDirectory(prefix="wego-verify-") as tmp:
        meeting = _verify(record, c, Path(tmp), rulesets_dir)
    return Report(meeting, tuple(c.checks), tuple(c.votes))


def _meeting_label(meeting: Any) -> str:
    if isinstance(meeting, Mapping):
        body = {"ga": "General Assembly", "excom": "Executive Committee"}.get(meeting.get("body"), meeting.get("body"))
        return f"meeting {meeting.get('key')} “{meeting.get('title')}” ({body})"
    return "meeting unknown"


def _verify(record: Any, c: _Collector, tmp: Path, rulesets_dir: str | Path | None) -> str:
    if not isinstance(record, Mapping):
        c.fail("record", "format", "The record is not a JSON object.")
        return "meeting unknown"
    missing, extra = sorted(RECORD_KEYS - set(record)), sorted(set(record) - RECORD_KEYS)
    if missing or extra:
        c.fail("record", "format", "The record " + "; ".join(
            ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has unexpected {', '.join(extra)}"] if extra else []))
            + ".")
    if type(record.get("v")) is not int or record.get("v") != RECORD_VERSION or record.get("type") != RECORD_TYPE:
        c.fail("record", "format", f"The file is not a {RECORD_TYPE} of version {RECORD_VERSION} "
                                   f"(type {_short(record.get('type'))}, v {_short(record.get('v'))}).")
    ctx = _Context(meeting=record.get("meeting"))
    _check_meeting(c, ctx.meeting)
    ctx.org = _organization(c, record.get("organization"))
    ctx.rules_dir = tmp / "verified"
    ctx.rules_dir.mkdir()
    _rule_sets(c, ctx, record.get("rule_sets"), tmp, rulesets_dir)
    ctx.registry = _registry(c, record.get("registry"))
    _read_secret(c, ctx, record.get("secret", {}))
    _read_written(c, ctx, record.get("written_consent", []))
    items = record.get("items")
    if not isinstance(items, list):
        c.fail("record", "format", "The record's items must be a list of agenda items.")
        items = []
    for index, item in enumerate(items):
        _verify_item(c, ctx, item, index)
    _verify_written(c, ctx)
    for ref in sorted(set(ctx.secret) - ctx.secret_seen):
        c.fail(f"secret, vote {ref}", "vote", f"The record's secret section holds sealed ballots of vote {ref}, which is "
                                              "not a secret vote of this record.")
    return _meeting_label(ctx.meeting)


def _check_meeting(c: _Collector, meeting: Any) -> None:
    if not isinstance(meeting, Mapping) or set(meeting) != MEETING_KEYS \
            or not all(isinstance(meeting[k], str) for k in MEETING_KEYS) or meeting["body"] not in BODIES:
        c.fail("meeting", "format", "The record's meeting must be {\"key\", \"title\", \"body\"} with body "
                                    "\"ga\" or \"excom\", as in every vote definition.")


def _organization(c: _Collector, org: Any) -> PublicKey | None:
    scope = "organization"
    if not isinstance(org, Mapping) or set(org) != {"public_key", "key_id"}:
        c.fail(scope, "format", "The organization must be {\"public_key\", \"key_id\"}.")
        return None
    try:
        key = PublicKey.from_spki_b64(org["public_key"])
    except (InvalidKey, TypeError) as exc:
        c.fail(scope, "public key", f"The organization's public key cannot be read: {exc}")
        return None
    if key.algorithm != ED25519:
        c.fail(scope, "public key", "The organization key must be an Ed25519 key.")
        return None
    if org["key_id"] != key.key_id:
        c.fail(scope, "key id", f"The organization's key id {_short(org['key_id'])} is not the id of its public key "
                                f"({key.key_id}).")
    else:
        c.ok(scope, "key id", f"Ed25519 key {key.key_id}")
    return key


def _rule_sets(c: _Collector, ctx: _Context, rule_sets: Any, tmp: Path, trusted: str | Path | None) -> None:
    if not isinstance(rule_sets, Mapping) or not rule_sets:
        c.fail("rule sets", "format", "The record must hold the text of every rule set it uses: "
                                      "{id: {\"sha256\", \"toml\"}}.")
        return
    staging = tmp / "staging"
    staging.mkdir()
    for rid, entry in rule_sets.items():
        scope = f"rule set {rid}"
        if not isinstance(rid, str) or not _RULE_SET_ID.fullmatch(rid):
            c.fail(scope, "format", "A rule-set id is 1 to 64 letters, digits, '.', '_' or '-'.")
            continue
        if not isinstance(entry, Mapping) or set(entry) != {"sha256", "toml"} or not isinstance(entry["toml"], str):
            c.fail(scope, "format", "A rule set is {\"sha256\", \"toml\"} with the file's text.")
            continue
        try:
            data = entry["toml"].encode("utf-8")
        except UnicodeEncodeError:
            c.fail(scope, "text", "The rule set's text is not valid Unicode.")
            continue
        if sha256_hex(data) != entry["sha256"]:
            c.fail(scope, "sha256", f"The rule set's text hashes to {sha256_hex(data)}, not to the stated "
                                    f"{_short(entry['sha256'])}: the text was changed.")
            continue
        path = staging / f"{rid}.toml"
        path.write_bytes(data)
        try:
            rs = load_rule_set_file(path)
        except RuleSetError as exc:
            c.fail(scope, "loads", f"The rule set does not load: {exc}")
            continue
        if trusted is not None:
            mine = Path(trusted) / f"{rid}.toml"
            try:
                theirs = sha256_hex(mine.read_bytes())
            except OSError:
                c.fail(scope, "trusted copy", f"There is no file {mine} to compare the record's rule set with.")
                continue
            if theirs != entry["sha256"]:
                c.fail(scope, "trusted copy", f"The record's rule set differs from your copy {mine}.")
                continue
        (ctx.rules_dir / f"{rid}.toml").write_bytes(data)  # type: ignore[operator]
        ctx.rule_sets[rid] = rs
        c.ok(scope, "sha256", f"{rs.title}; sha256 {entry['sha256'][:12]}…")


def _registry(c: _Collector, events: Any) -> KeyRegistry | None:
    if not isinstance(events, list):
        c.fail("registry", "format", "The key registry must be the list of its events, in order.")
        return None
    try:
        registry = KeyRegistry.from_events(events)
    except (RegistryError, TypeError, ValueError) as exc:
        c.fail("registry", "chain and rules", f"The key registry does not verify: {exc} Ballot keys and "
                                              "signatures are not checked against it.")
        return None
    c.ok("registry", "chain and rules", f"{len(registry)} events, head {registry.head[:12]}…")
    return registry


# --- an agenda item -----------------------------------------------------------------------------


def _peek_ref(entry: Any, index: int) -> str:
    """A vote's id for messages, by majority of the copies that name it (definition, certificate, ballots)."""
    if not isinstance(entry, Mapping):
        return f"#{index + 1}"
    named: list[Any] = []
    d = _loads(entry.get("definition"))
    if isinstance(d, Mapping):
        named.append(d.get("vote"))
    cert = entry.get("certificate")
    if isinstance(cert, Mapping) and isinstance(cert.get("body"), Mapping):
        named.append(cert["body"].get("vote"))
    ballots = entry.get("ballots")
    if isinstance(ballots, list):
        for b in ballots[:3]:
            parsed = _loads(b.get("ballot")) if isinstance(b, Mapping) else None
            if isinstance(parsed, Mapping):
                named.append(parsed.get("vote"))
    checkpoints = entry.get("checkpoints")
    if isinstance(checkpoints, list) and checkpoints and isinstance(checkpoints[-1], Mapping):
        origin = checkpoints[-1].get("origin")
        named.append(origin_vote(origin) if isinstance(origin, str) else None)
    return _majority(named, f"#{index + 1}")


def _peek_number(item: Mapping[str, Any], index: int) -> str:
    named: list[Any] = []
    agenda = item.get("agenda_item")
    if isinstance(agenda, Mapping):
        named.append(agenda.get("number"))
    votes = item.get("votes")
    for entry in votes if isinstance(votes, list) else []:
        d = _loads(entry.get("definition")) if isinstance(entry, Mapping) else None
        if isinstance(d, Mapping) and isinstance(d.get("agenda_item"), Mapping):
            named.append(d["agenda_item"].get("number"))
    # The definitions are the signed copies: on a tie they decide.
    return _majority(named[1:] + named[:1], f"item {index + 1}")


def _verify_item(c: _Collector, ctx: _Context, item: Any, index: int) -> None:
    if not isinstance(item, Mapping) or set(item) != ITEM_KEYS or not isinstance(item.get("votes"), list) \
            or not item["votes"]:
        c.fail(f"item {index + 1}", "format", "An agenda item is {\"agenda_item\", \"votes\"} with at least one vote.")
        return
    item_scope = f"agenda {_peek_number(item, index)}"
    agenda = item["agenda_item"]
    if not isinstance(agenda, Mapping) or set(agenda) != AGENDA_KEYS:
        c.fail(f"{item_scope}, agenda item", "format", "The agenda item must be {\"number\", \"title\", \"decision\"}.")
    votes = [_verify_vote(c, ctx, item_scope, agenda, entry, j) for j, entry in enumerate(item["votes"])]
    for v in votes:
        _read_show(v)
    for j, v in enumerate(votes):
        _verify_certificate(c, ctx, votes, j)
        d = v.definition
        label = f"Agenda {item_scope.removeprefix('agenda ')}, vote {v.ref}"
        if d is not None:
            label += f" (round {d.get('round')}{', secret ballot' if d.get('secret') else ''})"
        c.votes.append(VoteLine(v.scope, label, v.ballots, v.root, v.recount))


# --- a vote -------------------------------------------------------------------------------------


def _definition_problems(d: Mapping[str, Any]) -> list[str]:
    """What makes a definition unusable: its shape (docs/record-format.md "Vote definition")."""
    keys = WRITTEN_DEFINITION_KEYS if d.get("kind") in WRITTEN_KINDS else DEFINITION_KEYS
    if set(d) != keys:
        missing, extra = sorted(keys - set(d)), sorted(set(d) - keys)
        return [f"The definition lacks {missing} / has unexpected {extra} keys."]
    problems = []
    if d["v"] != 1 or type(d["v"]) is not int:
        problems.append("The definition's version 'v' must be 1.")
    if not isinstance(d["vote"], str) or not d["vote"]:
        problems.append("The definition's vote id must be text.")
    elif not isinstance(d["origin"], str) or origin_vote(d["origin"]) != d["vote"]:
        problems.append(f"The definition's log origin {_short(d['origin'])} does not end in /vote/{d['vote']}.")
    if not isinstance(d["meeting"], Mapping) or set(d["meeting"]) != MEETING_KEYS or d["meeting"].get("body") not in BODIES:
        problems.append("The definition's meeting must be {\"key\", \"title\", \"body\"}.")
    if not isinstance(d["agenda_item"], Mapping) or set(d["agenda_item"]) != AGENDA_KEYS:
        problems.append("The definition's agenda item must be {\"number\", \"title\", \"decision\"}.")
    if type(d["round"]) is not int or d["round"] < 1:
        problems.append("The definition's round must be a whole number of at least 1.")
    kind = d["kind"]
    if kind not in VOTE_KINDS:
        problems.append(f"The vote kind {_short(kind)} is not one of {', '.join(VOTE_KINDS)}.")
    options = d["options"]
    if not isinstance(options, list) or not all(
            isinstance(o, Mapping) and {"id", "label"} <= set(o) <= {"id", "label", "region"}
            and isinstance(o["id"], str) and o["id"] and o["id"] != "abstain" for o in options):
        problems.append("The definition's options must be {\"id\", \"label\"} objects with ids other than 'abstain'.")
    elif len({o["id"] for o in options}) != len(options):
        problems.append("The definition lists an option twice.")
    elif kind in YES_NO_KINDS and len(options) != (1 if kind == "president-sole" else 0):
        problems.append("A yes/no vote lists no options (a sole-candidate presidential vote lists its one candidate).")
    elif kind in WRITTEN_KINDS and options:
        problems.append("A resolution by written consent lists no options: the answers are consent, object, abstain.")
    elif kind in VOTE_KINDS and kind not in YES_NO_KINDS and kind not in WRITTEN_KINDS and not options:
        problems.append("The vote lists no options.")
    seats = d["seats"]
    if kind in ELECTION_KINDS:
        if type(seats) is not int or seats < 1:
            problems.append("An election's seats must be a whole number of at least 1.")
    elif seats is not None:
        problems.append("Only an EXCOM election has seats.")
    if not isinstance(d["rule_set"], str):
        problems.append("The definition's rule set must be an id.")
    roll = d["roll"]
    if not isinstance(roll, Mapping) or set(roll) != ROLL_KEYS:
        problems.append("The definition's roll must be {\"members\", \"present\", \"total\", \"quorum_required\"}.")
    else:
        members, present = roll["members"], roll["present"]
        if not isinstance(members, list) or not all(isinstance(m, Mapping) and set(m) == {"id", "name"}
                                                    and isinstance(m["id"], str) for m in members):
            problems.append("The roll's members must be {\"id\", \"name\"} objects.")
        elif len({m["id"] for m in members}) != len(members):
            problems.append("The roll lists a member twice.")
        elif not isinstance(present, list) or not all(isinstance(p, str) for p in present) \
                or len(set(present)) != len(present):
            problems.append("The roll's present must list member ids, each once.")
        elif not set(present) <= {m["id"] for m in members}:
            problems.append("The roll lists as present a member who is not on it.")
        if type(roll["total"]) is not int or type(roll["quorum_required"]) is not int or \
                (isinstance(members, list) and roll["total"] < len(members)):
            problems.append("The roll's total and quorum_required must be whole numbers (total ≥ members).")
    reg = d["registry"]
    if not isinstance(reg, Mapping) or set(reg) != {"seq", "head"} or type(reg["seq"]) is not int or reg["seq"] < 0 \
            or not isinstance(reg["head"], str) or not _HEX64.fullmatch(reg["head"]):
        problems.append("The definition's registry must be {\"seq\", \"head\"}.")
    if parse_time(d["opened_at"]) is None:
        problems.append("The definition's opened_at must be an RFC 3339 UTC time.")
    if d["secret"] is not False:
        problems.extend(_secret_definition_problems(d))
    if kind in WRITTEN_KINDS:
        problems.extend(_written_definition_problems(d))
    return problems


def _secret_definition_problems(d: Mapping[str, Any]) -> list[str]:
    """A secret vote's definition: the tellers' public key its choices are sealed to, the HPKE suite,
    and one plaintext length for every choice (docs/crypto-formats.md "Sealed ballots")."""
    secret = d["secret"]
    if d["kind"] in WRITTEN_KINDS:
        return ["A resolution by written consent is signed openly; it cannot be a secret ballot."]
    if not isinstance(secret, Mapping) or set(secret) != SECRET_DEFINITION_KEYS:
        return ["The definition's secret is false, or {\"teller_key\", \"teller_key_id\", \"suite\", "
                "\"plaintext_bytes\"} for a secret ballot."]
    problems = []
    try:
        key = TellerKey.from_b64(secret["teller_key"]) if isinstance(secret["teller_key"], str) else None
    except SealedError:
        key = None
    if key is None:
        problems.append("The secret vote's teller_key is not a raw X25519 public key in base64url.")
    elif secret["teller_key_id"] != key.key_id:
        problems.append(f"The secret vote's teller_key_id {_short(secret['teller_key_id'])} is not the id of its "
                        f"teller_key ({key.key_id}).")
    if secret["suite"] != SUITE_NAME:
        problems.append(f"The secret vote's HPKE suite {_short(secret['suite'])} is not {SUITE_NAME}.")
    size = secret["plaintext_bytes"]
    if type(size) is not int or size < PAD_BLOCK or size % PAD_BLOCK:
        problems.append(f"The secret vote's plaintext_bytes must be a whole multiple of {PAD_BLOCK}.")
    elif isinstance(d["options"], list) and size < plaintext_bytes_for(d):
        problems.append(f"The secret vote's plaintext_bytes {size} is too short for its longest possible choice "
                        f"({plaintext_bytes_for(d)} bytes needed).")
    return problems


def _written_definition_problems(d: Mapping[str, Any]) -> list[str]:
    """A written-consent definition: its text and hash, attachments, deadline, rule, and a roll of all members."""
    problems = []
    if not isinstance(d["text"], str) or not d["text"]:
        problems.append("The resolution's text must be given.")
    elif d["text_sha256"] != sha256_hex(d["text"].encode("utf-8")):
        problems.append(f"The resolution's text hashes to {sha256_hex(d['text'].encode('utf-8'))[:12]}…, not to the "
                        f"stated text_sha256 {_short(d['text_sha256'])}: the text was changed.")
    if not isinstance(d["attachments"], list) or not all(
            isinstance(a, Mapping) and set(a) == {"label", "url"} and all(isinstance(a[k], str) for k in a)
            for a in d["attachments"]):
        problems.append("The attachments must be {\"label\", \"url\"} objects.")
    deadline, opened = parse_time(d["deadline"]), parse_time(d["opened_at"])
    if deadline is None:
        problems.append("The deadline must be an RFC 3339 UTC time.")
    elif opened is not None and deadline <= opened:
        problems.append("The deadline must be after the resolution was sent (opened_at).")
    if d["rule"] not in CONSENT_RULES:
        problems.append(f"The rule {_short(d['rule'])} is not one of {', '.join(CONSENT_RULES)}.")
    if not isinstance(d["meeting"], Mapping) or d["meeting"].get("body") != "excom":
        problems.append("A resolution by written consent is a decision of the Executive Committee (Art. 16.3).")
    roll = d["roll"]
    if isinstance(roll, Mapping) and isinstance(roll.get("members"), list) and isinstance(roll.get("present"), list):
        ids = [m.get("id") for m in roll["members"] if isinstance(m, Mapping)]
        if sorted(map(str, roll["present"])) != sorted(map(str, ids)) or roll.get("total") != len(ids) \
                or roll.get("quorum_required") != 0:
            problems.append("Written consent counts all members (Art. 16.3): the roll lists every member as present, "
                            "its total is their number and no quorum applies (quorum_required 0).")
    if d["round"] != 1:
        problems.append("A resolution by written consent is decided in one round.")
    return problems


def _check_definition(c: _Collector, ctx: _Context, v: _Vote, agenda: Any) -> None:
    """Cross-checks of a well-formed definition against the record: meeting, agenda, rule set, registry."""
    d = v.definition
    assert d is not None
    scope = v.scope
    good = True
    if d["meeting"] != ctx.meeting:
        c.fail(f"{scope}, meeting", "meeting", f"The vote's definition names the meeting {_short(d['meeting'])}, but "
                                               f"the record is of {_short(ctx.meeting)}.")
        good = False
    if d["agenda_item"] != agenda:
        c.fail(f"{scope}, agenda item", "agenda item", f"The vote's definition names the agenda item "
                                                       f"{_short(d['agenda_item'])}, but the record files it under "
                                                       f"{_short(agenda)}.")
        good = False
    if d["vote"] in ctx.seen_votes:
        c.fail(scope, "unique", f"The record holds vote {d['vote']} twice.")
        good = False
    ctx.seen_votes.add(d["vote"])
    rs = ctx.rule_sets.get(d["rule_set"])
    if rs is None:
        c.fail(scope, "rule set", f"The vote runs under the rule set {_short(d['rule_set'])}, which the record does not "
                                  "hold or which does not verify.")
        good = False
    else:
        body, total = d["meeting"]["body"], d["roll"]["total"]
        if d["kind"] in WRITTEN_KINDS:
            pass  # no quorum applies (checked with the definition's shape)
        elif rs.quorum(body).required(total) != d["roll"]["quorum_required"]:
            c.fail(scope, "definition", f"The definition says {d['roll']['quorum_required']} members make a quorum of "
                                        f"{total}; the rule set {rs.id} says {rs.quorum(body).required(total)}.")
            good = False
    reg = ctx.registry
    if reg is not None:
        seq, head = d["registry"]["seq"], d["registry"]["head"]
        try:
            at = reg.seq_of(head)
        except RegistryError:
            at = None
        if at != seq:
            c.fail(scope, "registry head", f"The definition's key-registry head {head[:12]}… is not the head of the "
                                           f"published registry at seq {seq}.")
            good = False
    if good:
        roll = d["roll"]
        c.ok(scope, "definition", f"{d['kind']}, round {d['round']}, {len(roll['present'])} of {len(roll['members'])} "
                                  f"members present, registry seq {d['registry']['seq']}, sha256 {v.sha256[:12]}…")


def _verify_vote(c: _Collector, ctx: _Context, item_scope: str, agenda: Any, entry: Any, index: int) -> _Vote:
    ref = _peek_ref(entry, index)
    v = _Vote(f"{item_scope}, vote {ref}", ref, entry)
    if not isinstance(entry, Mapping) or set(entry) != VOTE_ENTRY_KEYS:
        c.fail(v.scope, "format", "A vote is {\"definition\", \"ballots\", \"checkpoints\", \"certificate\", "
                                  "\"casting_vote\"}.")
        return v
    text = entry["definition"]
    try:
        data = text.encode("utf-8")
        d = parse_canonical(data)
    except (AttributeError, UnicodeEncodeError, NotCanonical) as exc:
        c.fail(v.scope, "definition", f"The vote's definition is not canonical JSON text: {exc}")
        return v
    v.sha256 = sha256_hex(data)
    problems = _definition_problems(d)
    for p in problems:
        c.fail(v.scope, "definition", p)
    if problems:
        return v
    v.definition = d
    if d["kind"] in WRITTEN_KINDS:
        ctx.written_votes[d["vote"]] = v
    _check_definition(c, ctx, v, agenda)
    _verify_ballots(c, ctx, v, entry["ballots"])
    _verify_log(c, ctx, v, entry["checkpoints"])
    v.casting = _verify_casting(c, ctx, v, entry["casting_vote"])
    if d["secret"] is not False:
        _verify_sealed(c, ctx, v)
    return v


def _verify_ballots(c: _Collector, ctx: _Context, v: _Vote, ballots: Any) -> None:
    """Every signed ballot: canonical, of this vote, by a registered key of its delegate, on the roll, valid."""
    d = v.definition
    assert d is not None
    if not isinstance(ballots, list):
        c.fail(v.scope, "format", "The vote's ballots must be a list, in leaf order.")
        return
    v.ballots = len(ballots)
    members = {m["id"] for m in d["roll"]["members"]}
    present = frozenset(d["roll"]["present"])
    def_seq = d["registry"]["seq"]
    ref, number, sha = d["vote"], d["round"], v.sha256
    reg = ctx.registry
    leaves: list[bytes] | None = []
    first_of: dict[str, int] = {}
    counted: dict[str, Any] = {}
    bad = 0
    for i, e in enumerate(ballots):
        scope = f"{v.scope}, ballot {i}"
        if type(e) is not dict or e.keys() != BALLOT_ENTRY_KEYS:
            c.fail(scope, "format", "A logged ballot is {\"ballot\", \"signature\", \"key\", \"registry_seq\"}.")
            leaves, bad = None, bad + 1
            continue
        try:
            data = e["ballot"].encode("utf-8")
            signature = b64url_decode(e["signature"])
            leaf = leaf_hash(ballot_entry(data, signature, e["key"]))
        except (AttributeError, UnicodeError, ValueError, TypeError) as exc:
            c.fail(scope, "format", f"The ballot's text, signature or key cannot be read ({exc}), so its log entry "
                                    "cannot be rebuilt.")
            leaves, bad = None, bad + 1
            continue
        if leaves is not None:
            leaves.append(leaf)
        try:
            b = read_ballot(data)
        except (NotCanonical, InvalidBallot) as exc:
            c.fail(scope, "format", f"The ballot is not a canonical ballot: {exc}")
            bad += 1
            continue
        scope = f"{scope} (member {b.member})"
        if len(v.leaf_members) == i:
            v.leaf_members.append(b.member)
        problems: list[tuple[str, str]] = []
        if b.vote != ref or b.round != number or b.vote_sha256 != sha:
            problems.append(("vote", f"The ballot was signed for vote {b.vote} round {b.round} with definition hash "
                                     f"{b.vote_sha256[:12]}…, not for vote {ref} round {number} ({sha[:12]}…)."))
        if e["key"] != b.key:
            problems.append(("key", f"The record files the ballot under the key {_short(e['key'])}, but the ballot "
                                    f"names {b.key}."))
        if b.member not in members:
            problems.append(("roll", f"{b.member} is not a voting member on the vote's roll."))
        elif b.member not in present:
            problems.append(("roll", f"{b.member} was not on the roll of members present when the vote opened."))
        if d["secret"] is not False:
            if b.choice != ENVELOPE_CHOICE:
                problems.append(("choice", "In a secret ballot the signed ballot is an envelope whose choice is "
                                           f"\"{ENVELOPE_CHOICE}\"; this one shows a choice."))
        else:
            problem = choice_problem(d, b.choice)
            if problem is not None:
                problems.append(("choice", f"The ballot's choice is not valid: {problem}."))
        if reg is not None:
            problems.extend(_key_problems(reg, b.key, b.delegate, b.member, def_seq, e["registry_seq"], data,
                                          signature, written=d["kind"] in WRITTEN_KINDS))
        earlier = first_of.get(b.member)
        if earlier is not None:
            problems.append(("one ballot per member", f"{b.member} already voted in this vote (ballot {earlier}); one "
                                                      "vote per member, whichever representative casts it."))
        else:
            first_of[b.member] = i
            if not problems:
                counted[b.member] = b.choice
        if problems:
            bad += 1
            for check, detail in problems:
                c.fail(scope, check, detail)
    v.choices = counted
    v.leaves = leaves
    if reg is None and ballots:
        c.fail(v.scope, "signatures", "The ballots' keys and signatures are not checked: the key registry does not "
                                      "verify (see above).")
    if not bad and ballots:
        checked = "signature and key checked against the registry" if reg is not None else "registry not available"
        c.ok(v.scope, "ballots", f"{len(ballots)} ballots canonical, of this vote, members present, choices valid, "
                                 f"one per member; {checked}")


def _key_problems(reg: KeyRegistry, key: str, delegate: str, member: str, def_seq: int, rseq: Any, data: bytes,
                  signature: bytes, *, written: bool = False) -> list[tuple[str, str]]:
    """A ballot's key: its delegate's and member's, enrolled by the vote's opening, not revoked when cast; and the signature.

    A written answer (written=True) comes days after sending: its key must be active when it was
    received (at the ballot's registry seq), and may have been enrolled after the resolution was sent.
    """
    try:
        holder = reg.holder(key)
        public_key = reg.public_key(key)
    except RegistryError:
        return [("key", f"The key {key} is not in the key registry.")]
    problems = []
    if holder != (delegate, member):
        problems.append(("key", f"The key {key} is enrolled for {holder[0]} of {holder[1]}, not for {delegate} of "
                                f"{member}."))
    if written:
        if type(rseq) is not int or not def_seq <= rseq <= len(reg):
            problems.append(("key", f"The answer's registry seq {_short(rseq)} is not between the resolution's "
                                    f"{def_seq} and the registry's last event {len(reg)}."))
        elif reg.status(key, rseq) != ACTIVE:
            problems.append(("key", f"The key {key} is {reg.status(key, rseq)} at registry seq {rseq}, when the "
                                    "answer was received."))
        if not public_key.verify(BALLOT_LABEL, data, signature):
            problems.append(("signature", f"The signature does not verify under the key {key}: the answer was "
                                          "changed after signing, or another key signed it."))
        return problems
    status = reg.status(key, def_seq)
    if status == UNKNOWN:
        problems.append(("key", f"The key {key} was enrolled after the vote opened (registry seq {def_seq}), so it "
                                "cannot sign in this vote."))
    elif status != ACTIVE:
        problems.append(("key", f"The key {key} was revoked before the vote opened (registry seq {def_seq})."))
    if type(rseq) is not int or not def_seq <= rseq <= len(reg):
        problems.append(("key", f"The ballot's registry seq {_short(rseq)} is not between the vote's {def_seq} and "
                                f"the registry's last event {len(reg)}."))
    elif status == ACTIVE and reg.status(key, rseq) != ACTIVE:
        problems.append(("key", f"The key {key} was revoked at or before registry seq {rseq}, when the ballot was "
                                "cast."))
    if not public_key.verify(BALLOT_LABEL, data, signature):
        problems.append(("signature", f"The signature does not verify under the key {key}: the ballot was changed "
                                      "after signing, or another key signed it."))
    return problems


def _prefix_roots(leaves: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    """The RFC 6962 root of the first n leaves for each n in sizes, in one pass (as CompactRange appends)."""
    roots: dict[int, bytes] = {}
    if 0 in sizes:
        roots[0] = EMPTY_ROOT
    peaks: list[bytes] = []
    for n, leaf in enumerate(leaves, 1):
        h, s = leaf, n - 1
        while s & 1:
            h = node_hash(peaks.pop(), h)
            s >>= 1
        peaks.append(h)
        if n in sizes:
            r = peaks[-1]
            for p in reversed(peaks[:-1]):
                r = node_hash(p, r)
            roots[n] = r
    return roots


def _sizes(sizes: Sequence[int]) -> str:
    """Sizes as ranges, e.g. "6 to 11" or "3, 7 to 9"."""
    parts: list[str] = []
    start = prev = None
    for n in [*sizes, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start} to {prev}")
        start = prev = n
    return ", ".join(parts)


def _verify_log(c: _Collector, ctx: _Context, v: _Vote, checkpoints: Any) -> None:
    """Every signed checkpoint: signed, of this vote's log, its root the root of that many of the record's ballots."""
    d = v.definition
    assert d is not None
    if not isinstance(checkpoints, list):
        c.fail(v.scope, "checkpoints", "The vote's checkpoints must be a list, in size order.")
        return
    parsed: list[Checkpoint] = []
    bad = 0
    for k, cj in enumerate(checkpoints):
        size = cj.get("size") if isinstance(cj, Mapping) else None
        scope = f"{v.scope}, checkpoint {size if type(size) is int else f'#{k + 1}'}"
        try:
            cp = Checkpoint.from_json(cj)
        except InvalidCheckpoint as exc:
            c.fail(scope, "format", str(exc))
            bad += 1
            continue
        parsed.append(cp)
        if cp.origin != d["origin"]:
            c.fail(scope, "origin", f"The checkpoint is of the log {cp.origin!r}, not of this vote's {d['origin']!r}.")
            bad += 1
        if ctx.org is not None and not cp.verify(ctx.org):
            c.fail(scope, "signature", "The checkpoint's signature does not verify under the organization key.")
            bad += 1
    if ctx.org is None:
        c.fail(v.scope, "checkpoints", "The checkpoints' signatures are not checked: the organization key does not "
                                       "read (see above).")
        bad += 1
    n = v.ballots
    sizes = [cp.size for cp in parsed]
    if sizes != list(range(n + 1)):
        c.fail(v.scope, "checkpoints", f"The record must hold one signed checkpoint for every log size from 0 to {n}, "
                                       f"in order; it holds {_short(sizes, 60)}.")
        bad += 1
    final = next((cp for cp in parsed if cp.size == n), None)
    if v.leaves is None:
        c.fail(v.scope, "log", "The log cannot be rebuilt, because a ballot above cannot be read.")
        return
    roots = _prefix_roots(v.leaves, {cp.size for cp in parsed if cp.size <= n})
    wrong = [cp for cp in parsed if cp.size in roots and cp.root != roots[cp.size]]
    if wrong:
        # Once a logged ballot differs, every later root differs too: name the first, count the rest.
        first = wrong[0]
        later = [cp.size for cp in wrong[1:]]
        rest = f" The checkpoints of sizes {_sizes(later)} do not match either." if later else ""
        c.fail(f"{v.scope}, checkpoint {first.size}", "root",
               f"The checkpoint's root {first.root.hex()[:12]}… is not the root of the record's first {first.size} "
               f"ballots ({roots[first.size].hex()[:12]}…): a ballot logged by then was changed, removed or "
               f"reordered.{rest}")
        bad += 1
    v.root = roots[n].hex() if n in roots else None
    if final is not None:
        v.final = final.to_json()
    if not bad:
        c.ok(v.scope, "log", f"{n} leaves rebuild the root {v.root}; {len(parsed)} checkpoints signed, each the root "
                             "of a prefix of the same log (so each is consistent with the final one)")


def _verify_casting(c: _Collector, ctx: _Context, v: _Vote, entry: Any) -> str | None:
    """The Secretary General's signed casting vote: a staff key's ballot for this vote, valid when cast."""
    if entry is None:
        return None
    d = v.definition
    assert d is not None
    scope = f"{v.scope}, casting vote"
    v.casting_ok = False
    if not isinstance(entry, Mapping) or set(entry) != CASTING_VOTE_KEYS:
        c.fail(scope, "format", "A casting vote is {\"ballot\", \"signature\", \"key\", \"registry_seq\"}.")
        return None
    try:
        data = entry["ballot"].encode("utf-8")
        signature = b64url_decode(entry["signature"])
        b = parse_ballot(data)
    except (AttributeError, UnicodeError, ValueError, TypeError) as exc:
        c.fail(scope, "format", f"The casting vote cannot be read: {exc}")
        return None
    problems = []
    if b.vote != d["vote"] or b.round != d["round"] or b.vote_sha256 != v.sha256:
        problems.append(f"It was signed for vote {b.vote} round {b.round}, not for this vote.")
    if b.member != STAFF_MEMBER or not _STAFF_REF.fullmatch(b.delegate):
        problems.append(f"It is cast by {b.delegate} for {b.member}; a casting vote is cast by the Secretary "
                        "General's staff account (member 'staff').")
    if entry["key"] != b.key:
        problems.append(f"The record files it under the key {_short(entry['key'])}, but it names {b.key}.")
    if not isinstance(b.choice, str):
        problems.append("A casting vote names one choice.")
    reg = ctx.registry
    if reg is None:
        problems.append("It cannot be checked without a valid key registry.")
    else:
        try:
            holder, public_key = reg.holder(b.key), reg.public_key(b.key)
        except RegistryError:
            problems.append(f"The key {b.key} is not in the key registry.")
        else:
            if holder != (b.delegate, b.member):
                problems.append(f"The key {b.key} is enrolled for {holder[0]} of {holder[1]}, not for {b.delegate}.")
            rseq = entry["registry_seq"]
            if type(rseq) is not int or not d["registry"]["seq"] <= rseq <= len(reg):
                problems.append(f"Its registry seq {_short(rseq)} is not between the vote's and the registry's last.")
            elif reg.status(b.key, rseq) != ACTIVE:
                problems.append(f"The key {b.key} is {reg.status(b.key, rseq)} at registry seq {rseq}.")
            if not public_key.verify(BALLOT_LABEL, data, signature):
                problems.append(f"Its signature does not verify under the key {b.key}.")
    for p in problems:
        c.fail(scope, "casting vote", p)
    if problems:
        return None
    v.casting_ok = True
    c.ok(scope, "casting vote", f"{b.delegate} cast {b.choice}")
    return str(b.choice)


# --- secret ballots -----------------------------------------------------------------------------


def _read_secret(c: _Collector, ctx: _Context, section: Any) -> None:
    """The record's secret section: the tellers' keys, and each secret vote's sealed ballots (checked
    with its vote). Empty when the meeting had no secret vote."""
    if isinstance(section, Mapping) and not section:
        return
    if not isinstance(section, Mapping) or set(section) != SECRET_KEYS or not isinstance(section["teller_keys"], list) \
            or not isinstance(section["votes"], Mapping):
        c.fail("secret", "format", "The record's secret section is {} or {\"teller_keys\": [...], \"votes\": {...}}.")
        return
    for k, entry in enumerate(section["teller_keys"]):
        scope = f"secret, tellers' key #{k + 1}"
        if not isinstance(entry, Mapping) or set(entry) != TELLER_KEY_KEYS or not isinstance(entry["key_id"], str):
            c.fail(scope, "format", "A tellers' key is {\"key_id\", \"public_key\", \"private_key\"} (private_key "
                                    "null unless the meeting published it after the count).")
            continue
        key_id = entry["key_id"]
        scope = f"secret, tellers' key {key_id}"
        if key_id in ctx.teller_keys:
            c.fail(scope, "format", f"The record lists the tellers' key {key_id} twice.")
            continue
        ctx.teller_keys[key_id] = None
        private = entry["private_key"]
        if not isinstance(entry["public_key"], str) or not (private is None or isinstance(private, str)):
            c.fail(scope, "format", "The tellers' public and private keys are base64url text (private_key may be null).")
            continue
        try:
            key = TellerKey.from_b64(entry["public_key"], private)
        except SealedError as exc:
            c.fail(scope, "tellers' key", f"The tellers' key does not read: {exc}.")
            continue
        if key.key_id != key_id:
            c.fail(scope, "tellers' key", f"The key id {key_id} is not the id of its public key ({key.key_id}).")
            continue
        ctx.teller_keys[key_id] = key
        c.ok(scope, "tellers' key", "X25519 public key" + (", with its private key, published after the count"
                                                           if key.private is not None else "; private key not published"))
    ctx.secret = dict(section["votes"])


def _sealed_bytes(part: Mapping[str, Any], size: int) -> tuple[list[bytes], list[str]]:
    """The sealed ballots of a vote's secret part, and what is wrong with them."""
    sealed = part.get("sealed")
    if not isinstance(sealed, list):
        return [], ["The sealed ballots must be a list, in tracker order."]
    out: list[bytes] = []
    problems: list[str] = []
    want = ENC_SIZE + size + TAG_SIZE
    for i, text in enumerate(sealed):
        try:
            data = b64url_decode(text)
            if b64url_encode(data) != text:
                raise ValueError("not in canonical base64url")
        except (ValueError, TypeError) as exc:
            problems.append(f"Sealed ballot {i + 1} is not base64url text ({exc}).")
            continue
        if len(data) != want:
            problems.append(f"Sealed ballot {i + 1} is {len(data)} bytes long, not the vote's {want} "
                            f"(32-byte encapsulated key, {size}-byte padded plaintext, 16-byte tag).")
        out.append(data)
    trackers = [tracker(b) for b in out]
    if any(b <= a for a, b in zip(trackers, trackers[1:], strict=False)):
        problems.append("The sealed ballots are not in strictly increasing tracker order: one is out of order or "
                        "appears twice.")
    return out, problems


def _verify_sealed(c: _Collector, ctx: _Context, v: _Vote) -> None:
    """A secret vote's sealed ballots: the sealed log WeGO signed at the close, one sealed ballot per
    envelope, what the tellers opened (re-opened when the key is published), and the choices the
    recount runs on: the opened choices laid onto the envelopes' members, both in sorted order."""
    d = v.definition
    assert d is not None
    secret = d["secret"]
    ref = d["vote"]
    scope = f"{v.scope}, sealed ballots"
    ctx.secret_seen.add(ref)
    counted, v.choices = v.choices, {}
    v.sealed_problem = "its sealed ballots do not verify (see above)"
    key_id = secret["teller_key_id"]
    if key_id not in ctx.teller_keys:
        c.fail(scope, "tellers' key", f"The record's secret section does not list the tellers' key {key_id} the "
                                      "vote's choices are sealed to.")
    else:
        listed = ctx.teller_keys[key_id]
        if listed is not None and listed.public_b64 != secret["teller_key"]:
            c.fail(scope, "tellers' key", f"The tellers' key {key_id} listed in the record is not the one in the "
                                          "vote's definition.")
    part = ctx.secret.get(ref)
    if not isinstance(part, Mapping) or set(part) != SECRET_VOTE_KEYS:
        c.fail(scope, "format", f"The record's secret section holds no {{\"sealed\", \"checkpoint\", \"opening\"}} "
                                f"for secret vote {ref}: its sealed ballots are missing.")
        return
    size = secret["plaintext_bytes"]
    sealed, problems = _sealed_bytes(part, size)
    for p in problems:
        c.fail(scope, "format", p)
    n = len(sealed)
    bad = len(problems)
    try:
        cp = Checkpoint.from_json(part["checkpoint"])
    except InvalidCheckpoint as exc:
        c.fail(scope, "sealed log", f"The sealed log's checkpoint does not read: {exc}")
        return
    origin = f"{d['origin']}/sealed"
    if cp.origin != origin:
        c.fail(scope, "sealed log", f"The sealed log's checkpoint is of the log {cp.origin!r}, not of {origin!r}.")
        bad += 1
    if ctx.org is None or not cp.verify(ctx.org):
        c.fail(scope, "sealed log", "The sealed log's checkpoint is not signed by the organization key.")
        bad += 1
    if not problems:
        root = _prefix_roots([tracker_leaf(b) for b in sealed], {n})[n]
        if cp.size != n or cp.root != root:
            c.fail(scope, "sealed log", f"The record's {n} sealed ballots give the root {root.hex()[:12]}…, but the "
                                        f"signed checkpoint says {cp.size} ballots with root {cp.root.hex()[:12]}…: "
                                        "sealed ballots were changed, added or removed after the close.")
            bad += 1
    v.sealed, v.sealed_checkpoint = sealed, part["checkpoint"]
    if n != v.ballots:
        c.fail(scope, "one sealed ballot per envelope", f"The vote has {v.ballots} signed envelopes but {n} sealed "
                                                         "ballots: a sealed ballot was added or dropped.")
        bad += 1
    opening = part["opening"]
    if opening is None:
        v.sealed_problem = "the tellers have not opened its sealed ballots"
        if not bad:
            c.ok(scope, "sealed ballots", f"{n} sealed ballots, one per envelope, rebuild the sealed log WeGO signed "
                                          "at the close; not opened yet")
        return
    if not isinstance(opening, Mapping) or set(opening) != OPENING_KEYS or not isinstance(opening["choices"], list) \
            or type(opening["invalid"]) is not int or opening["invalid"] < 0:
        c.fail(scope, "opening", "What the tellers opened is {\"choices\": [...], \"invalid\": <count>} or null.")
        return
    choices, invalid = opening["choices"], opening["invalid"]
    if len(choices) + invalid != n:
        c.fail(scope, "opening", f"The tellers opened {len(choices)} valid and {invalid} invalid sealed ballots, but "
                                 f"the record holds {n}.")
        bad += 1
    if list(sort_choices(choices)) != choices:
        c.fail(scope, "opening", "The opened choices are not in sorted order: their order must say nothing of which "
                                 "sealed ballot held which.")
        bad += 1
    wrong = [p for p in (choice_problem(d, ch) for ch in choices) if p is not None]
    if wrong:
        c.fail(scope, "opening", f"{len(wrong)} opened choice{'s are' if len(wrong) != 1 else ' is'} not valid for "
                                 f"this vote: {wrong[0]}.")
        bad += 1
    elif any(normal_choice(d, ch) != ch for ch in choices):
        c.fail(scope, "opening", "An opened block-vote choice lists its candidates out of ballot-paper order: the "
                                 "order a voter wrote the names in could mark the ballot.")
        bad += 1
    key = ctx.teller_keys.get(key_id)
    reopened = ""
    if key is not None and key.private is not None and not problems:
        try:
            mine = open_all(key, sealed, d, v.sha256, choice_problem)
        except SealedError as exc:
            c.fail(scope, "re-opening", f"The sealed ballots cannot be re-opened with the published key: {exc}.")
            bad += 1
        else:
            if mine.to_json() != {"choices": choices, "invalid": invalid}:
                c.fail(scope, "re-opening", f"Re-opened with the published tellers' key, the sealed ballots hold "
                                            f"{len(mine.choices)} valid and {mine.invalid} invalid choices, not the "
                                            f"{len(choices)} and {invalid} the tellers published: the opening is "
                                            "not what the sealed ballots say.")
                bad += 1
            reopened = "; re-opened with the published tellers' key, the same choices"
    elif key is not None:
        reopened = "; the tellers' key is not published, so the opening is taken as the tellers certified it"
    if bad:
        return
    try:
        v.choices = lay_onto_voters(sorted(counted), {"choices": choices, "invalid": invalid}, d)
    except SealedError as exc:
        c.fail(scope, "opening", f"The opened choices cannot be counted: {exc}.")
        return
    v.opening = {"choices": choices, "invalid": invalid}
    v.sealed_problem = None
    c.ok(scope, "sealed ballots", f"{n} sealed ballots, one per envelope, rebuild the sealed log WeGO signed at the "
                                  f"close; {len(choices)} opened valid, {invalid} invalid{reopened}")


def _sealed_certificate_problems(v: _Vote, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A certificate's method and sealed figures against the vote: a secret vote is certified by
    the method sealed-ballots, counting the record's sealed log and opening."""
    d = v.definition
    assert d is not None
    method = body.get("method")
    if d["secret"] is False:
        if method == SEALED_BALLOTS or "sealed" in body:
            return [("method", "The vote is not a secret ballot, but its certificate counts sealed ballots.")]
        return []
    if method != SEALED_BALLOTS:
        return [("method", f"The vote is a secret ballot, but its certificate's method is {_short(method)}, not "
                           f"{SEALED_BALLOTS!r}.")]
    if v.sealed_problem is not None:
        return [("sealed", f"The certificate cannot be checked against the sealed ballots: {v.sealed_problem}.")]
    assert v.opening is not None and v.sealed is not None
    want = {"teller_key_id": d["secret"]["teller_key_id"], "envelopes": v.ballots, "sealed": len(v.sealed),
            "invalid": v.opening["invalid"], "checkpoint": v.sealed_checkpoint,
            "choices_sha256": sha256_hex(canonical_bytes(v.opening["choices"]))}
    said = body.get("sealed")
    if not isinstance(said, Mapping):
        return [("sealed", "A sealed-ballots certificate says what the tellers opened (its \"sealed\").")]
    return [("sealed", f"The certificate's sealed {key} is {_short(said.get(key))}, but the record's sealed ballots "
                       f"give {_short(value)}.") for key, value in want.items() if said.get(key) != value]


# --- certificates and the recount ---------------------------------------------------------------


def _body(v: _Vote) -> Mapping[str, Any] | None:
    cert = v.entry.get("certificate") if isinstance(v.entry, Mapping) else None
    body = cert.get("body") if isinstance(cert, Mapping) else None
    return body if isinstance(body, Mapping) else None


def _read_show(v: _Vote) -> None:
    """A show-of-hands vote's counts, as its certificate states them (the only record of them)."""
    body = _body(v)
    if body is not None and body.get("method") == SHOW_OF_HANDS:
        show = body.get("show_of_hands")
        if isinstance(show, Mapping) and isinstance(show.get("counts"), Mapping):
            v.show = dict(show["counts"])


def _describe(outcome: Mapping[str, Any]) -> str:
    decision = str(outcome.get("decision", "?")).replace("_", " ")
    winners = outcome.get("winners")
    if isinstance(winners, list) and winners:
        if outcome.get("decision") == "next_round":
            return f"{decision} (elected so far: {', '.join(map(str, winners))})"
        return f"{decision}: {', '.join(map(str, winners))}"
    return decision


def _difference(mine: Mapping[str, Any], theirs: Any) -> str:
    if not isinstance(theirs, Mapping):
        return "the certificate states no outcome"
    if mine.get("decision") != theirs.get("decision"):
        return f"the recount decides {_describe(mine)!r}, the certificate says {_describe(theirs)!r}"
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            if key == "explanation" and isinstance(theirs.get(key), list):
                for n, (a, b) in enumerate(zip(mine[key], theirs[key], strict=False), 1):
                    if a != b:
                        return f"the explanation differs at step {n}: the recount says {_short(a.get('text'), 120)}"
            return f"the recount agrees on {_describe(mine)!r} but its {key!r} is {_short(mine.get(key))}, the " \
                   f"certificate's {_short(theirs.get(key))}"
    return "they differ"


def _recount(ctx: _Context, votes: list[_Vote], j: int) -> Outcome | str:
    """The outcome of the ballot ending at vote j, or why it cannot be recounted."""
    definitions = [v.definition for v in votes]
    if any(d is None for d in definitions[: j + 1]):
        return "a vote definition of this agenda item does not read"
    defs: list[dict[str, Any]] = [d for d in definitions[: j + 1] if d is not None]
    try:
        positions = ballot_rounds(defs, j)
    except CaseError as exc:
        return str(exc)
    rounds = [votes[k] for k in positions]
    if any(not r.casting_ok for r in rounds):
        return "a casting vote of this ballot does not verify"
    sealed = next((r for r in rounds if r.sealed_problem is not None), None)
    if sealed is not None:
        return f"secret round {sealed.definition['round'] if sealed.definition else '?'} cannot be counted: " \
               f"{sealed.sealed_problem}"
    castings = {r.definition["round"]: r.casting for r in rounds if r.casting is not None and r.definition}
    casting: Any = None
    if castings:
        kind = defs[j]["kind"]
        casting = next(iter(castings.values())) if kind in YES_NO_KINDS else castings
    answered_at = None
    if defs[j]["kind"] in WRITTEN_KINDS:
        times = _answer_times(ctx, votes[j])
        if isinstance(times, str):
            return times
        answered_at = [times]
    try:
        return tally_votes([defs[k] for k in positions], [{} if r.show is not None else r.choices for r in rounds],
                           casting, [r.show for r in rounds], rulesets_dir=ctx.rules_dir, answered_at=answered_at)
    except CaseError as exc:
        return str(exc)


def _answer_times(ctx: _Context, v: _Vote) -> dict[str, str] | str:
    """member → the time its counted answer was received, from the record's written_consent section."""
    entry = ctx.written.get(v.ref)
    times = entry.get("received_at") if isinstance(entry, Mapping) else None
    if not isinstance(times, list) or len(times) != len(v.leaf_members) or \
            not all(parse_time(t) is not None for t in times):
        return (f"the record's written_consent section does not give a time of receipt for each of the "
                f"{v.ballots} answers of {v.ref}")
    out: dict[str, str] = {}
    for member, at in zip(v.leaf_members, times, strict=True):
        if member is not None and member in v.choices and member not in out:
            out[member] = at
    return out


def _verify_certificate(c: _Collector, ctx: _Context, votes: list[_Vote], j: int) -> None:
    v = votes[j]
    if not isinstance(v.entry, Mapping) or v.entry.get("certificate") is None:
        return
    scope = f"{v.scope}, certificate"
    cert = v.entry["certificate"]
    d = v.definition
    if d is None:
        c.fail(scope, "certificate", "The certificate cannot be checked: the vote's definition does not read.")
        v.recount = "not run"
        return
    bad = 0

    def fail(check: str, detail: str) -> None:
        nonlocal bad
        bad += 1
        c.fail(scope, check, detail)

    if ctx.org is None or ctx.registry is None:
        fail("signatures", "The certificate's signatures are not checked: the organization key or the key "
                           "registry does not verify (see above).")
    else:
        for problem in verify_certificate(cert, ctx.org, ctx.registry):
            fail("signatures", problem)
    body = _body(v)
    if body is None:
        v.recount = "not run"
        return
    roll = d["roll"]
    expected = {"vote": d["vote"], "vote_sha256": v.sha256, "meeting": d["meeting"], "agenda_item": d["agenda_item"],
                "round": d["round"], "roll": {"present": roll["present"], "total": roll["total"]},
                "opened_at": d["opened_at"], "checkpoint": v.final, "casting_vote": v.entry.get("casting_vote")}
    for key, value in expected.items():
        if body.get(key) != value:
            source = "the record's final checkpoint" if key == "checkpoint" else \
                "the record's casting vote" if key == "casting_vote" else "the vote's definition"
            fail(key, f"The certificate's {key} is {_short(body.get(key))}, but {source} says {_short(value)}.")
    rs = ctx.rule_sets.get(d["rule_set"])
    if rs is not None:
        want = {"id": rs.id, "sha256": rs.sha256, "parameters": rule_parameters(rs, d["kind"], d["meeting"]["body"])}
        if body.get("rule_set") != want:
            fail("rule set", f"The certificate's rule set {_short(body.get('rule_set'))} is not the record's {rs.id} "
                             "with the thresholds it applies to this vote.")
    reg = body.get("registry")
    if not isinstance(reg, Mapping) or type(reg.get("seq")) is not int or reg["seq"] < d["registry"]["seq"]:
        fail("registry", "The certificate's registry seq must be at or after the vote's own.")
    times = [parse_time(body.get(k)) for k in ("opened_at", "closed_at", "certified_at")]
    if any(t is None for t in times) or not times[0] <= times[1] <= times[2]:  # type: ignore[operator]
        fail("times", "The certificate's times must be RFC 3339 UTC with opened ≤ closed ≤ certified.")
    method = body.get("method")
    show = body.get("show_of_hands")
    if method not in METHODS:
        fail("method", f"The method {_short(method)} is not one of {', '.join(METHODS)}.")
    elif method == SHOW_OF_HANDS:
        if not isinstance(show, Mapping) or set(show) != SHOW_OF_HANDS_KEYS \
                or not all(isinstance(show[k], str) and _STAFF_REF.fullmatch(show[k])
                           for k in ("recorded_by", "confirmed_by")) or show["recorded_by"] == show["confirmed_by"]:
            fail("show of hands", "A show of hands names its counts and two different staff accounts (s<id>): the "
                                  "one who recorded them and the one who confirmed them.")
        if v.ballots:
            fail("show of hands", f"The certificate counts by a show of hands, but {v.ballots} signed ballots were "
                                  "logged in this vote.")
    elif show is not None:
        fail("show of hands", "Only a show-of-hands certificate carries show-of-hands counts.")
    for check, problem in _sealed_certificate_problems(v, body):
        fail(check, problem)
    try:
        if v.sealed_problem is not None:
            raise CaseError(f"the secret vote cannot be counted: {v.sealed_problem}")
        counts = counts_summary(d, {} if v.show is not None else v.choices, v.show)
    except CaseError as exc:
        fail("counts", f"The counts cannot be recomputed: {exc}")
    else:
        if body.get("counts") != counts:
            fail("counts", f"The certificate's counts {_short(body.get('counts'))} are not the record's "
                           f"{_short(counts)}.")
    if d["kind"] in WRITTEN_KINDS:
        for problem in _written_certificate_problems(d, body):
            fail("written consent", problem)
    outcome = _recount(ctx, votes, j)
    if isinstance(outcome, str):
        fail("recount", f"The recount cannot be run: {outcome}")
        v.recount = "not run"
    else:
        mine = outcome.to_json()
        v.recount = _describe(mine)
        if body.get("outcome") != mine:
            fail("recount", f"The recount under {d['rule_set']} differs from the certificate: "
                            f"{_difference(mine, body.get('outcome'))}.")
    if not bad:
        c.ok(scope, "certificate", f"signed by the organization and the chair {body['chair']['holder']}; figures, "
                                   f"roll, checkpoint and recount ({v.recount}) agree")


# --- written consent ----------------------------------------------------------------------------


def _written_certificate_problems(d: Mapping[str, Any], body: Mapping[str, Any]) -> list[str]:
    """The answering closes at adoption or at the deadline (I-5): the certificate's times must say so."""
    outcome = body.get("outcome") if isinstance(body.get("outcome"), Mapping) else {}
    closed, deadline = parse_time(body.get("closed_at")), parse_time(d["deadline"])
    if closed is None or deadline is None:
        return []
    decision = outcome.get("decision")  # type: ignore[union-attr]
    adopted = parse_time(outcome.get("adopted_at"))  # type: ignore[union-attr]
    if decision == "adopted":
        if adopted is None:
            return ["An adopted resolution's certificate states the moment of adoption (outcome.adopted_at)."]
        if adopted > deadline:
            return [f"The resolution is certified adopted at {outcome.get('adopted_at')}, after its deadline "  # type: ignore[union-attr]
                    f"{d['deadline']}."]
        if closed < adopted:
            return ["The certificate closes the answering before the moment of adoption it states."]
    elif closed < deadline:
        return [f"The certificate says the resolution was not adopted, but closes the answering at {body.get('closed_at')}, "
                f"before the deadline {d['deadline']}: a resolution not yet adopted is open until its deadline."]
    return []


def _read_written(c: _Collector, ctx: _Context, section: Any) -> None:
    """Index the written_consent section by vote; its entries are checked once the votes are verified."""
    if not isinstance(section, list):
        c.fail("written consent", "format", "The record's written_consent must be a list of "
                                            "{\"vote\", \"received_at\", \"late\"} entries.")
        return
    for k, entry in enumerate(section):
        scope = f"written consent #{k + 1}"
        if not isinstance(entry, Mapping) or set(entry) != WRITTEN_ENTRY_KEYS or not isinstance(entry["vote"], str):
            c.fail(scope, "format", "A written_consent entry is {\"vote\", \"received_at\", \"late\"}.")
            continue
        if entry["vote"] in ctx.written:
            c.fail(scope, "format", f"The record gives vote {entry['vote']} two written_consent entries.")
            continue
        ctx.written[entry["vote"]] = entry


def _verify_written(c: _Collector, ctx: _Context) -> None:
    """Each written-consent vote's times of receipt and late answers (docs/record-format.md)."""
    for ref in ctx.written:
        if ref not in ctx.written_votes:
            c.fail(f"written consent, vote {ref}", "vote", f"The written_consent section names vote {ref}, which is "
                                                           "not a resolution by written consent of this record.")
    for ref, v in ctx.written_votes.items():
        scope = f"{v.scope}, written consent"
        entry = ctx.written.get(ref)
        if entry is None:
            c.fail(scope, "format", f"The record's written_consent section has no entry for vote {ref}: the times "
                                    "its answers were received, and its late answers.")
            continue
        problems = _times_problems(v, entry["received_at"])
        late_problems, late_count = _late_problems(ctx, v, entry["late"])
        for p in problems:
            c.fail(scope, "times", p)
        for where, p in late_problems:
            c.fail(f"{scope}, late answer {where}" if where is not None else scope, "late answers", p)
        if not problems and not late_problems:
            c.ok(scope, "written consent", f"{len(entry['received_at'])} answers received in log order before the "
                                           f"deadline; {late_count} late answer{'s' if late_count != 1 else ''} "
                                           "signed, after the moment, not counted")


def _times_problems(v: _Vote, times: Any) -> list[str]:
    d = v.definition
    assert d is not None
    if not isinstance(times, list) or len(times) != v.ballots:
        return [f"received_at must give one time for each of the {v.ballots} logged answers, in leaf order."]
    parsed = [parse_time(t) for t in times]
    if any(t is None for t in parsed):
        return ["Each time of receipt must be an RFC 3339 UTC time."]
    problems = []
    if any(b <= a for a, b in zip(parsed, parsed[1:], strict=False)):  # type: ignore[operator]
        problems.append("The times of receipt must increase strictly in log order (the log is the order of receipt).")
    opened, deadline = parse_time(d["opened_at"]), parse_time(d["deadline"])
    if parsed and opened is not None and parsed[0] < opened:  # type: ignore[operator]
        problems.append("An answer is dated before the resolution was sent.")
    if parsed and deadline is not None and parsed[-1] > deadline:  # type: ignore[operator]
        problems.append(f"An answer in the log was received after the deadline {d['deadline']}; it should have been "
                        "refused as late.")
    return problems


def _late_problems(ctx: _Context, v: _Vote, late: Any) -> tuple[list[tuple[int | None, str]], int]:
    """Every late answer: a valid signed answer of this vote, by a member who had not answered, received
    after the certified moment of adoption or after the deadline."""
    d = v.definition
    assert d is not None
    if not isinstance(late, list):
        return [(None, "late must be a list of signed answers.")], 0
    body = _body(v)
    outcome = body.get("outcome") if body is not None and isinstance(body.get("outcome"), Mapping) else None
    deadline = parse_time(d["deadline"])
    adopted = parse_time(outcome.get("adopted_at")) if outcome is not None and \
        outcome.get("decision") == "adopted" else None
    members = {m["id"] for m in d["roll"]["members"]}
    seen: set[str] = set()
    problems: list[tuple[int | None, str]] = []
    for k, e in enumerate(late):
        if type(e) is not dict or e.keys() != LATE_ENTRY_KEYS:
            problems.append((k, "A late answer is {\"ballot\", \"signature\", \"key\", \"registry_seq\", "
                                "\"received_at\"}."))
            continue
        try:
            data = e["ballot"].encode("utf-8")
            signature = b64url_decode(e["signature"])
            b = read_ballot(data)
        except (AttributeError, UnicodeError, ValueError, TypeError, NotCanonical, InvalidBallot) as exc:
            problems.append((k, f"It cannot be read: {exc}"))
            continue
        if b.vote != d["vote"] or b.round != d["round"] or b.vote_sha256 != v.sha256:
            problems.append((k, f"It was signed for vote {b.vote}, not for this resolution's vote {d['vote']}."))
        if e["key"] != b.key:
            problems.append((k, f"The record files it under the key {_short(e['key'])}, but it names {b.key}."))
        if b.member not in members:
            problems.append((k, f"{b.member} is not a member on the resolution's roll."))
        elif b.member in v.choices or b.member in seen:
            problems.append((k, f"{b.member} answered already; a member answers once."))
        seen.add(b.member)
        problem = choice_problem(d, b.choice)
        if problem is not None:
            problems.append((k, f"Its answer is not valid: {problem}."))
        if ctx.registry is None:
            problems.append((k, "Its key and signature cannot be checked without a valid key registry."))
        else:
            problems.extend((k, detail) for _check, detail in _key_problems(
                ctx.registry, b.key, b.delegate, b.member, d["registry"]["seq"], e["registry_seq"], data, signature,
                written=True))
        at = parse_time(e["received_at"])
        if at is None:
            problems.append((k, "Its received_at must be an RFC 3339 UTC time."))
        elif body is None:
            pass  # not certified: the moment it is late against is not certified yet
        elif not ((deadline is not None and at > deadline) or (adopted is not None and at > adopted)):
            problems.append((k, f"It was received at {e['received_at']}, before the certified moment of adoption "
                                "and before the deadline, so it should have been counted."))
    return problems, len(late)


# --- receipts -----------------------------------------------------------------------------------


def _find_vote(record: Any, vote: str) -> tuple[Mapping[str, Any], dict[str, Any]] | None:
    items = record.get("items") if isinstance(record, Mapping) else None
    for item in items if isinstance(items, list) else []:
        votes = item.get("votes") if isinstance(item, Mapping) else None
        for entry in votes if isinstance(votes, list) else []:
            if not isinstance(entry, Mapping):
                continue
            text = entry.get("definition")
            try:
                d = parse_canonical(text.encode("utf-8")) if isinstance(text, str) else None
            except (UnicodeError, NotCanonical):
                d = None
            if d is not None and d.get("vote") == vote:
                return entry, d
    return None


def _leaves(ballots: Any) -> list[bytes]:
    if not isinstance(ballots, list):
        raise ValueError("the vote's ballots are not a list")
    leaves = []
    for i, e in enumerate(ballots):
        try:
            leaves.append(leaf_hash(ballot_entry(e["ballot"].encode("utf-8"), b64url_decode(e["signature"]), e["key"])))
        except (AttributeError, KeyError, TypeError, UnicodeError, ValueError) as exc:
            raise ValueError(f"ballot {i} cannot be read ({exc})") from None
    return leaves


def _split_tracker(receipt_json: Any) -> tuple[Any, Any]:
    """A secret vote's receipt file is the envelope's receipt with the tracker beside it."""
    if isinstance(receipt_json, Mapping) and "tracker" in receipt_json:
        return {k: x for k, x in receipt_json.items() if k != "tracker"}, receipt_json["tracker"]
    return receipt_json, None


def _sealed_log(record: Any, ref: str, d: Mapping[str, Any], org_key: PublicKey) -> tuple[list[str], list[str]]:
    """A secret vote's trackers in the record, in sealed-log order, and what is wrong with its sealed
    log (the sealed ballots must rebuild the root of the signed checkpoint of the sealed log)."""
    secret = d.get("secret")
    section = record.get("secret") if isinstance(record, Mapping) else None
    votes = section.get("votes") if isinstance(section, Mapping) else None
    part = votes.get(ref) if isinstance(votes, Mapping) else None
    if not isinstance(secret, Mapping) or not isinstance(part, Mapping):
        return [], [f"The record holds no sealed ballots of vote {ref}."]
    size = secret.get("plaintext_bytes")
    sealed, problems = _sealed_bytes(part, size if type(size) is int else 0)
    try:
        cp = Checkpoint.from_json(part.get("checkpoint"))  # type: ignore[arg-type]
    except InvalidCheckpoint as exc:
        return [tracker(b) for b in sealed], [*problems, f"The sealed log's checkpoint of vote {ref} does not read: {exc}"]
    n = len(sealed)
    if cp.origin != f"{d.get('origin')}/sealed" or not cp.verify(org_key):
        problems.append(f"The sealed log's checkpoint of vote {ref} is not WeGO's signed checkpoint of that log.")
    elif cp.size != n or cp.root != _prefix_roots([tracker_leaf(b) for b in sealed], {n})[n]:
        problems.append(f"The record's sealed ballots of vote {ref} do not rebuild the signed root of its sealed log.")
    return [tracker(b) for b in sealed], problems


def _tracker_problems(record: Any, ref: str, d: Mapping[str, Any], tracker_hex: Any, org_key: PublicKey) -> list[str]:
    if not isinstance(tracker_hex, str) or not _HEX64.fullmatch(tracker_hex):
        return ["The receipt's tracker is not 64 lowercase hex characters."]
    if not isinstance(d.get("secret"), Mapping):
        return [f"The receipt names a tracker, but vote {ref} is not a secret ballot."]
    trackers, problems = _sealed_log(record, ref, d, org_key)
    if tracker_hex not in trackers:
        problems.append(f"No sealed ballot of vote {ref} in the record has the tracker {tracker_code(tracker_hex)}: "
                        "the sealed vote this receipt names is not in the count.")
    return problems


def find_tracker(record: Any, tracker_hex: str) -> tuple[str | None, list[str]]:
    """Which secret vote of the record holds the sealed ballot with this tracker, and what is wrong
    with that vote's sealed log; (None, why) when no vote holds it."""
    if not isinstance(tracker_hex, str) or not _HEX64.fullmatch(tracker_hex.lower()):
        return None, ["A tracker is 64 hex characters (the receipt file saved on the phone holds it)."]
    tracker_hex = tracker_hex.lower()
    org = record.get("organization") if isinstance(record, Mapping) else None
    try:
        org_key = PublicKey.from_spki_b64(org["public_key"])  # type: ignore[index]
    except (InvalidKey, TypeError, KeyError):
        return None, ["The record's organization key cannot be read, so no tracker can be checked against it."]
    section = record.get("secret") if isinstance(record, Mapping) else None
    votes = section.get("votes") if isinstance(section, Mapping) else None
    for ref in votes if isinstance(votes, Mapping) else {}:
        found = _find_vote(record, ref)
        if found is None:
            continue
        trackers, problems = _sealed_log(record, ref, found[1], org_key)
        if tracker_hex in trackers:
            return ref, problems
    return None, [f"No secret vote of this record ({_meeting_label(record.get('meeting'))}) has a sealed ballot with "
                  f"the tracker {tracker_code(tracker_hex)}."]


def verify_receipt(record: Any, receipt_json: Any) -> list[str]:
    """What is wrong with a delegate's receipt against a record, in words; empty when it holds.

    The receipt's vote must be in the record, its leaf the record's ballot at its index, its
    inclusion proof valid against its signed checkpoint, that checkpoint the record's own of that
    size, and consistent with the final checkpoint the certificate certifies. A secret vote's
    receipt may carry the tracker beside it: its sealed ballot must be in the vote's sealed log.
    """
    receipt_json, tracker_hex = _split_tracker(receipt_json)
    try:
        receipt = Receipt.from_json(receipt_json)
    except InvalidReceipt as exc:
        return [f"The receipt cannot be read: {exc}"]
    org = record.get("organization") if isinstance(record, Mapping) else None
    try:
        org_key = PublicKey.from_spki_b64(org["public_key"])  # type: ignore[index]
    except (InvalidKey, TypeError, KeyError):
        return ["The record's organization key cannot be read, so no receipt can be checked against it."]
    found = _find_vote(record, receipt.vote)
    if found is None:
        meeting = record.get("meeting") if isinstance(record, Mapping) else None
        return [f"This record ({_meeting_label(meeting)}) holds no vote {receipt.vote}: the receipt belongs to "
                "another meeting's record, or the vote is missing from this one."]
    entry, d = found
    problems = check_receipt(receipt, org_key, origin=d.get("origin"))
    if tracker_hex is not None:
        problems.extend(_tracker_problems(record, receipt.vote, d, tracker_hex, org_key))
    try:
        leaves = _leaves(entry.get("ballots"))
    except ValueError as exc:
        return [*problems, f"The record's log of vote {receipt.vote} cannot be rebuilt: {exc}."]
    cp = receipt.checkpoint
    if receipt.index >= len(leaves):
        problems.append(f"The record holds {len(leaves)} ballots of vote {receipt.vote}; the receipt's leaf "
                        f"{receipt.index} is not among them.")
    elif leaves[receipt.index] != receipt.leaf_hash:
        problems.append(f"The ballot at leaf {receipt.index} of vote {receipt.vote} in the record is not the ballot of "
                        "this receipt: their leaf hashes differ.")
    same_size = [c for c in entry.get("checkpoints") or [] if isinstance(c, Mapping) and c.get("size") == cp.size]
    if not same_size:
        problems.append(f"The record has no checkpoint of size {cp.size} for vote {receipt.vote}, the one the receipt "
                        "was given.")
    elif same_size[0] != cp.to_json():
        problems.append(f"The record's signed checkpoint of size {cp.size} differs from the receipt's: two different "
                        "logs of the same size were signed.")
    cert = entry.get("certificate")
    try:
        if isinstance(cert, Mapping) and isinstance(cert.get("body"), Mapping):
            final = Checkpoint.from_json(cert["body"].get("checkpoint"))
        else:
            cps = entry.get("checkpoints")
            final = Checkpoint.from_json(cps[-1] if isinstance(cps, list) and cps else None)  # type: ignore[arg-type]
            problems.append(f"Vote {receipt.vote} is not certified; the receipt is checked against its last "
                            "checkpoint.")
    except InvalidCheckpoint as exc:
        return [*problems, f"The final checkpoint of vote {receipt.vote} cannot be read: {exc}"]
    if cp.size > len(leaves) or final.size != len(leaves):
        problems.append(f"The final checkpoint is of {final.size} ballots and the record holds {len(leaves)}; the "
                        f"receipt's log had {cp.size}.")
        return problems
    proof = consistency_proof(leaves, cp.size)
    problems.extend(check_consistency(cp, final, proof, org_key))
    return problems


def receipt_summary(receipt_json: Any) -> str:
    """A line naming the receipt's ballot, for the verifier's output."""
    receipt_json, tracker_hex = _split_tracker(receipt_json)
    try:
        receipt = Receipt.from_json(receipt_json)
    except InvalidReceipt:
        return "the receipt"
    line = f"the ballot at leaf {receipt.index} of vote {receipt.vote} (code {short_code(receipt.leaf_hash)})"
    if isinstance(tracker_hex, str) and _HEX64.fullmatch(tracker_hex):
        line = f"the envelope at leaf {receipt.index} of vote {receipt.vote} (code {short_code(receipt.leaf_hash)}) " \
               f"and its sealed vote (tracker {tracker_code(tracker_hex)})"
    return line
