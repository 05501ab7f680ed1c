"""Speed of the offline verifier (python -m ballots.verify) on records of 1,000 and 100,000 ballots.

The records are built with tests/ballots/record_factory.py: a General Assembly of 500 members,
each with its own Ed25519 device key (the registry enrols a key once, ever, so members cannot
share keys), holding motions of 500 signed ballots each, every vote certified; the chair's key is
Ed25519 too, so every signature in the record is Ed25519. The figure is ballots verified per
second by verify_record (everything: registry, canonical form, keys, signatures, roots, every
checkpoint's signature, recount, certificates), set against bare Ed25519 verification (pyca
cryptography, keys loaded beforehand) of the same ballot signatures, and of every signature the
verifier checks, in the same run and taking turns. Goal: at least 0.6 of the bare ballot rate.
Figures only, no assertions.

    .venv/bin/python bench/verify.py            1,000 and 100,000 ballots
    .venv/bin/python bench/verify.py --quick    1,000 ballots only
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballots.canonical import canonical_bytes  # noqa: E402
from ballots.checkpoint import Checkpoint  # noqa: E402
from ballots.record import verify_record  # noqa: E402
from ballots.registry import KeyRegistry  # noqa: E402
from ballots.signatures import (  # noqa: E402
    BALLOT_LABEL,
    CERTIFICATE_LABEL,
    CHECKPOINT_LABEL,
    PublicKey,
    b64url_decode,
)
from tests.ballots.record_factory import MeetingSim  # noqa: E402

MEMBERS = 500
GOAL = 0.6


def build(ballots: int, seed: int = 2025) -> dict[str, Any]:
    """A GA record of `ballots` ballots: motions of 500 ballots each, all certified."""
    sim = MeetingSim(body="ga", key="ga-bench", title="General Assembly (benchmark)", members=MEMBERS,
                     present=MEMBERS, ecdsa_every=0, chair_algorithm="Ed25519", seed=seed, keep_receipts=False)
    rng = random.Random(seed)
    for n in range(ballots // MEMBERS):
        vote = sim.open_vote(str(n + 1), f"Motion {n + 1}", "motion", f"Adopt motion {n + 1}?")
        for m in sim.present:
            sim.cast(vote, m, rng.choice(("yes", "yes", "no", "abstain")))
        sim.certify(vote)
    return sim.record()


def signatures(record: dict[str, Any]) -> tuple[list[tuple[Any, bytes, bytes]], list[tuple[Any, bytes, bytes]]]:
    """(ballot signatures, every other signature) as (cryptography key, signature, signed bytes)."""
    registry = KeyRegistry.from_events(record["registry"])
    org = PublicKey.from_spki_b64(record["organization"]["public_key"])._key
    ballots, others = [], []
    for item in record["items"]:
        for vote in item["votes"]:
            for b in vote["ballots"]:
                ballots.append((registry.public_key(b["key"])._key, b64url_decode(b["signature"]),
                                BALLOT_LABEL + b["ballot"].encode("utf-8")))
            for cj in vote["checkpoints"]:
                cp = Checkpoint.from_json(cj)
                others.append((org, cp.signature, CHECKPOINT_LABEL + cp.body()))
            cert = vote["certificate"]
            message = CERTIFICATE_LABEL + canonical_bytes(cert["body"])
            chair = registry.public_key(cert["signatures"]["chair"]["key_id"])._key
            others.append((org, b64url_decode(cert["signatures"]["organization"]["signature"]), message))
            others.append((chair, b64url_decode(cert["signatures"]["chair"]["signature"]), message))
    return ballots, others


def bare(items: list[tuple[Any, bytes, bytes]]) -> None:
    for key, signature, message in items:
        key.verify(signature, message)


def race(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each run, the runs taking turns within every repeat."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def measure(n: int, repeats: int) -> None:
    start = time.perf_counter()
    record = build(n)
    built = time.perf_counter() - start
    ballots, others = signatures(record)
    assert len(ballots) == n
    gc.freeze()  # as python -m ballots.verify does once the record is loaded
    report = verify_record(record)
    assert report.ok, report.to_text()[-2000:]
    times = race({
        "verify_record (everything)": lambda: verify_record(record),
        "bare Ed25519, ballot signatures": lambda: bare(ballots),
        "bare Ed25519, every signature": lambda: bare(ballots + others),
    }, repeats)
    full, only_ballots, every = (times["verify_record (everything)"], times["bare Ed25519, ballot signatures"],
                                 times["bare Ed25519, every signature"])
    votes = n // MEMBERS
    print(f"{n:,} ballots in {votes} votes ({len(ballots) + len(others):,} signatures in all; built in {built:.1f} s; "
          f"best of {repeats})")
    print(f"  verify_record                      {full:8.2f} s   {n / full:8,.0f} ballots/s")
    print(f"  bare Ed25519, the ballot signatures {only_ballots:7.2f} s   {n / only_ballots:8,.0f} ballots/s   "
          f"ratio {only_ballots / full:.2f} (goal {GOAL})")
    gc.unfreeze()
    print(f"  bare Ed25519, every signature       {every:7.2f} s   {(len(ballots) + len(others)) / every:8,.0f} sig/s"
          f"      ratio {every / full:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 ballots only")
    args = parser.parse_args()
    print(f"bench/verify.py: Python {sys.version.split()[0]}")
    measure(1_000, repeats=5)
    if not args.quick:
        measure(100_000, repeats=2)


if __name__ == "__main__":
    main()
