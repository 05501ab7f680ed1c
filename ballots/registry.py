"""The key registry: an append-only hash chain of delegate key enrolments and revocations.

Its head hash goes into each vote's definition when the vote opens, so which keys could sign
in that vote is fixed and anyone holding the registry can check it (CRYPTO_DESIGN.md "Keys").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ballots.chain import GENESIS, event_hash, verify_chain
from ballots.signatures import InvalidKey, PublicKey

ENROL = "enrol"
REVOKE = "revoke"
ACTIVE = "active"
REVOKED = "revoked"
UNKNOWN = "unknown"

MAX_ID_LENGTH = 64
MAX_DEVICE_LENGTH = 100
MAX_REASON_LENGTH = 500

_COMMON = ("seq", "kind", "delegate", "member", "key_id", "at")
_FIELDS = {ENROL: frozenset(_COMMON + ("public_key", "device")), REVOKE: frozenset(_COMMON + ("reason",))}
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RegistryError(ValueError):
    """A registry event or chain that breaks the registry's rules."""


def _check_text(name: str, value: Any, limit: int) -> None:
    """A non-empty one-line string of at most limit characters."""
    if not isinstance(value, str) or not value:
        raise RegistryError(f"The registry event's {name} must be a non-empty string.")
    if len(value) > limit:
        raise RegistryError(f"The registry event's {name} is longer than {limit} characters.")
    if _CONTROL.search(value):
        raise RegistryError(f"The registry event's {name} contains a control character.")


def _check_time(value: Any) -> None:
    """An RFC 3339 UTC timestamp such as 2025-05-14T10:32:00Z."""
    if not isinstance(value, str) or not _RFC3339_UTC.fullmatch(value):
        raise RegistryError("The registry event's time must be RFC 3339 in UTC, e.g. 2025-05-14T10:32:00Z.")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RegistryError(f"The registry event's time {value} is not a real date and time.") from exc


@dataclass(frozen=True)
class RegistryEvent:
    """One enrolment or revocation, with the chain hashes that bind it to every event before it."""

    seq: int
    kind: str
    delegate: str
    member: str
    key_id: str
    at: str
    public_key: str | None = None
    device: str | None = None
    reason: str | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def __post_init__(self) -> None:
        """Refuse an event of the wrong shape; whether it fits the registry is KeyRegistry's check."""
        if type(self.seq) is not int or self.seq < 1:
            raise RegistryError("A registry event's seq must be a whole number of at least 1.")
        if self.kind not in _FIELDS:
            raise RegistryError(f"A registry event's kind must be {ENROL!r} or {REVOKE!r}, not {self.kind!r}.")
        for name in ("delegate", "member", "key_id"):
            _check_text(name, getattr(self, name), MAX_ID_LENGTH)
        _check_time(self.at)
        if self.kind == ENROL:
            if self.public_key is None or self.device is None or self.reason is not None:
                raise RegistryError("An enrolment carries a public key and a device label, and no reason.")
            _check_text("public key", self.public_key, 1000)
            _check_text("device", self.device, MAX_DEVICE_LENGTH)
        else:
            if self.reason is None or self.public_key is not None or self.device is not None:
                raise RegistryError("A revocation carries a reason, and no public key or device label.")
            _check_text("reason", self.reason, MAX_REASON_LENGTH)
        for name in ("prev_hash", "hash"):
            value = getattr(self, name)
            if not isinstance(value, str) or (value and not _HEX64.fullmatch(value)):
                raise RegistryError(f"A registry event's {name} must be 64 lowercase hex characters.")

    def body(self) -> dict[str, Any]:
        """The hashed content: the fields of its kind, without the chain hashes."""
        return {name: getattr(self, name) for name in sorted(_FIELDS[self.kind])}

    def chained(self, prev_hash: str) -> RegistryEvent:
        """This event linked after prev_hash, with its own hash filled in."""
        return RegistryEvent(**self.body(), prev_hash=prev_hash, hash=event_hash(prev_hash, self.body()))

    def to_json(self) -> dict[str, Any]:
        """The event as stored and published: its body plus prev_hash and hash."""
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RegistryEvent:
        """An event from to_json's form, refusing unknown or missing fields."""
        if not isinstance(obj, Mapping) or obj.get("kind") not in _FIELDS:
            raise RegistryError(f"A registry event is a JSON object whose kind is {ENROL!r} or {REVOKE!r}.")
        expected = _FIELDS[obj["kind"]] | {"prev_hash", "hash"}
        if set(obj) != expected:
            raise RegistryError(f"A registry {obj['kind']} event has exactly the keys {', '.join(sorted(expected))}.")
        return cls(**obj)


@dataclass(frozen=True)
class _KeyState:
    """What the registry knows of one key: who holds it and when it was enrolled and revoked."""

    delegate: str
    member: str
    public_key: PublicKey
    enrolled_seq: int
    revoked_seq: int | None = None


@dataclass(frozen=True)
class KeyRegistry:
    """The registry's events, checked on construction: an intact chain that obeys the rules."""

    events: tuple[RegistryEvent, ...] = ()
    _keys: dict[str, _KeyState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the chain, the numbering and every enrolment and revocation rule, in order."""
        events = tuple(self.events)
        object.__setattr__(self, "events", events)
        broken = verify_chain((e.seq, e.prev_hash, e.hash, e.body()) for e in events)
        if broken is not None:
            raise RegistryError(f"The key registry's chain is broken at event {broken.seq} "
                                f"(position {broken.index + 1}): {broken.reason}.")
        keys: dict[str, _KeyState] = {}
        for position, event in enumerate(events, start=1):
            if event.seq != position:
                raise RegistryError(f"Registry event {position} is numbered {event.seq}; events are numbered 1, 2, 3, ...")
            _apply(keys, event)
        object.__setattr__(self, "_keys", keys)

    @classmethod
    def from_events(cls, events: Iterable[RegistryEvent | Mapping[str, Any]]) -> KeyRegistry:
        """A registry from events or their JSON forms, checked."""
        return cls(tuple(e if isinstance(e, RegistryEvent) else RegistryEvent.from_json(e) for e in events))

    def __len__(self) -> int:
        """The number of events."""
        return len(self.events)

    @property
    def head(self) -> str:
        """The hash of the last event; the chain's genesis value when there is none."""
        return self.events[-1].hash if self.events else GENESIS

    def seq_of(self, head: str) -> int:
        """The sequence number whose hash is head (0 for the empty registry's head)."""
        if head == GENESIS:
            return 0
        for event in self.events:
            if event.hash == head:
                return event.seq
        raise RegistryError(f"The registry head {head} is not in this registry.")

    def status(self, key_id: str, at_seq: int | None = None) -> str:
        """The key's status ("active", "revoked" or "unknown") after the events up to at_seq (default: all)."""
        upto = len(self.events) if at_seq is None else at_seq
        state = self._keys.get(key_id)
        if state is None or state.enrolled_seq > upto:
            return UNKNOWN
        if state.revoked_seq is not None and state.revoked_seq <= upto:
            return REVOKED
        return ACTIVE

    def active_key_for(self, delegate: str, at_seq: int | None = None) -> str | None:
        """The key id of the delegate's active key after the events up to at_seq, or None."""
        for key_id, state in self._keys.items():
            if state.delegate == delegate and self.status(key_id, at_seq) == ACTIVE:
                return key_id
        return None

    def public_key(self, key_id: str) -> PublicKey:
        """The public key enrolled under key_id, whatever its status."""
        state = self._keys.get(key_id)
        if state is None:
            raise RegistryError(f"The key {key_id} was never enrolled.")
        return state.public_key

    def holder(self, key_id: str) -> tuple[str, str]:
        """The (delegate, member) the key was enrolled for."""
        state = self._keys.get(key_id)
        if state is None:
            raise RegistryError(f"The key {key_id} was never enrolled.")
        return state.delegate, state.member

    def enrol_event(self, delegate: str, member: str, public_key_b64: str, device: str, at: str) -> RegistryEvent:
        """The next event, enrolling a device key; refused if the registry would not accept it."""
        try:
            key = PublicKey.from_spki_b64(public_key_b64)
        except InvalidKey as exc:
            raise RegistryError(str(exc)) from exc
        event = RegistryEvent(len(self.events) + 1, ENROL, delegate, member, key.key_id, at,
                              public_key=public_key_b64, device=device)
        return self._next(event)

    def revoke_event(self, key_id: str, reason: str, at: str) -> RegistryEvent:
        """The next event, revoking a key; refused if the key is unknown or already revoked."""
        state = self._keys.get(key_id)
        if state is None:
            raise RegistryError(f"The key {key_id} cannot be revoked: it was never enrolled.")
        event = RegistryEvent(len(self.events) + 1, REVOKE, state.delegate, state.member, key_id, at, reason=reason)
        return self._next(event)

    def _next(self, event: RegistryEvent) -> RegistryEvent:
        """Chain the event after the head, and check it against a copy of the current state."""
        event = event.chained(self.head)
        _apply(dict(self._keys), event)
        return event

    def append(self, event: RegistryEvent) -> KeyRegistry:
        """The registry with one more event, checked."""
        return KeyRegistry(self.events + (event,))


def _apply(keys: dict[str, _KeyState], event: RegistryEvent) -> None:
    """Apply one event to the key states, or say which rule it breaks."""
    state = keys.get(event.key_id)
    if event.kind == ENROL:
        if state is not None:
            raise RegistryError(f"Event {event.seq} enrols the key {event.key_id}, which was enrolled before "
                                f"(event {state.enrolled_seq}); a key is enrolled once.")
        try:
            key = PublicKey.from_spki_b64(event.public_key or "")
        except InvalidKey as exc:
            raise RegistryError(f"Event {event.seq} enrols an unusable public key: {exc}") from exc
        if key.key_id != event.key_id:
            raise RegistryError(f"Event {event.seq} names the key {event.key_id}, but its public key's id is {key.key_id}.")
        for other_id, other in keys.items():
            if other.delegate == event.delegate and other.revoked_seq is None:
                raise RegistryError(f"Event {event.seq} enrols a new key for {event.delegate}, whose key {other_id} "
                                    "is still active; revoke it first.")
        keys[event.key_id] = _KeyState(event.delegate, event.member, key, event.seq)
        return
    if state is None:
        raise RegistryError(f"Event {event.seq} revokes the key {event.key_id}, which was never enrolled.")
    if state.revoked_seq is not None:
        raise RegistryError(f"Event {event.seq} revokes the key {event.key_id}, already revoked by event {state.revoked_seq}.")
    if (state.delegate, state.member) != (event.delegate, event.member):
        raise RegistryError(f"Event {event.seq} revokes the key {event.key_id} for {event.delegate} of {event.member}, "
                            f"but it was enrolled for {state.delegate} of {state.member}.")
    keys[event.key_id] = _KeyState(state.delegate, state.member, state.public_key, state.enrolled_seq, event.seq)
