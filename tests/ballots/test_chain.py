"""The append-only hash chain shared by the audit log and the key registry."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.chain import GENESIS, LABEL, ChainBreak, event_hash, verify_chain


def build(bodies):
    """Chain bodies as a writer would: (seq, prev_hash, hash, body) with seq from 1."""
    events, prev = [], GENESIS
    for seq, body in enumerate(bodies, start=1):
        h = event_hash(prev, body)
        events.append((seq, prev, h, body))
        prev = h
    return events


BODIES = [{"kind": "open", "vote": "v1"}, {"kind": "ballot", "n": 1}, {"kind": "close", "vote": "v1"}]


def test_event_hash_format():
    # SHA-256 over the label, the previous hash in hex, a newline and the RFC 8785 body.
    expected = hashlib.sha256(b"wego-chain/v1\n" + b"0" * 64 + b"\n" + b'{"a":1,"b":[true,null]}').hexdigest()
    assert LABEL == b"wego-chain/v1\n"
    assert event_hash(GENESIS, {"b": [True, None], "a": 1}) == expected


def test_event_hash_ignores_key_order_but_not_values():
    assert event_hash(GENESIS, {"a": 1, "b": 2}) == event_hash(GENESIS, {"b": 2, "a": 1})
    assert event_hash(GENESIS, {"a": 1}) != event_hash(GENESIS, {"a": 2})
    assert event_hash(GENESIS, {"a": 1}) != event_hash("1" * 64, {"a": 1})


def test_event_hash_refuses_a_short_previous_hash():
    with pytest.raises(ValueError, match="64 hex"):
        event_hash("abc", {})


def test_intact_chains_verify():
    assert verify_chain([]) is None
    assert verify_chain(build(BODIES)) is None


def test_changed_body_is_found():
    events = build(BODIES)
    seq, prev, h, _ = events[1]
    events[1] = (seq, prev, h, {"kind": "ballot", "n": 2})
    assert verify_chain(events) == ChainBreak(1, 2, "its content does not match its hash")


def test_rehashed_change_breaks_the_next_link():
    events = build(BODIES)
    seq, prev, _, _ = events[1]
    body = {"kind": "ballot", "n": 2}
    events[1] = (seq, prev, event_hash(prev, body), body)
    assert verify_chain(events) == ChainBreak(2, 3, "its previous-hash does not match the event before it")


def test_removed_and_reordered_events_are_found():
    events = build(BODIES)
    assert verify_chain(events[:1] + events[2:]) == ChainBreak(1, 3, "its previous-hash does not match the event before it")
    assert verify_chain([events[1], events[0], events[2]]).index == 0
    assert verify_chain(events[1:]).index == 0


def test_first_event_must_follow_genesis():
    events = build(BODIES)
    seq, _, _, body = events[0]
    other = "f" * 64
    assert verify_chain([(seq, other, event_hash(other, body), body)]) == ChainBreak(
        0, 1, "its previous-hash does not match the event before it")


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers(-100, 100) | st.text(max_size=5), max_size=3),
                min_size=1, max_size=8), st.data())
def test_any_single_change_is_found(bodies, data):
    events = build(bodies)
    assert verify_chain(events) is None
    position = data.draw(st.integers(0, len(events) - 1))
    seq, prev, h, body = events[position]
    events[position] = (seq, prev, h, {**body, "tampered": True})
    broken = verify_chain(events)
    assert broken is not None and broken.index == position and broken.seq == seq
