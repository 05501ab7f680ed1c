"""Speed of the tally: 1,000,000 motion ballots, and a 200-member block vote over 30 candidates.

Each figure is the best of several repeats (time.perf_counter), set against a plain
collections.Counter pass over the same ballots in the same run; the goal is to stay within 3x
of that. The baseline and the tallies are timed in turn within every repeat, so load from other
processes weighs on both alike. Figures only, no assertions: speed is watched, not gated.

    .venv/bin/python bench/tally.py
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from itertools import chain
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballots.rules import load_rule_set  # noqa: E402
from ballots.tally import Roll, tally_excom_election, tally_motion  # noqa: E402

REPEATS = 7
GOAL = 3.0


def race(runs: dict[str, Callable[[], object]], repeats: int = REPEATS, inner: int = 1) -> dict[str, float]:
    """Best time per call of each run, the runs taking turns within every repeat."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, run in runs.items():
            start = time.perf_counter()
            for _ in range(inner):
                run()
            best[label] = min(best[label], (time.perf_counter() - start) / inner)
    return best


def report(title: str, baseline_label: str, times: dict[str, float]) -> None:
    print(title)
    baseline = times[baseline_label]
    for label, seconds in times.items():
        if label == baseline_label:
            print(f"  {label:<50} {seconds * 1e3:9.3f} ms   (baseline)")
            continue
        ratio = seconds / baseline
        verdict = "within" if ratio <= GOAL else "over"
        print(f"  {label:<50} {seconds * 1e3:9.3f} ms   {ratio:5.2f}x  ({verdict} the {GOAL:g}x goal)")


def motions(rs: object, rng: random.Random) -> None:
    n = 1_000_000
    members = [f"city-{i:07d}" for i in range(n)]
    ballots = {m: rng.choice(("yes", "no", "abstain")) for m in members}
    member_set = frozenset(members)
    present_set = frozenset(members)  # equal but a distinct object: the subset check runs in full
    roll = Roll("ga", member_set, present_set)  # what the app holds: the roll frozen at opening (I-2)
    times = race({
        "Counter(ballots.values())": lambda: Counter(ballots.values()),
        "tally_motion, Roll validated at opening": lambda: tally_motion(rs, "ga", roll, None, ballots),
        "tally_motion, roll as frozensets (checked each time)":
            lambda: tally_motion(rs, "ga", member_set, present_set, ballots),
        "tally_motion, roll as lists (sets built each time)":
            lambda: tally_motion(rs, "ga", members, members, ballots),
    })
    report(f"Motion: {n:,} ballots (a body of {n:,} members, all present)", "Counter(ballots.values())", times)
    outcome = tally_motion(rs, "ga", roll, None, ballots)
    print(f"  -> {outcome.decision}; {outcome.counts_map}")


def block_vote(rs: object, rng: random.Random) -> None:
    members = [f"city-{i:03d}" for i in range(200)]
    candidates = [f"cand-{i:02d}" for i in range(30)]
    seats = 20
    # Each member names 10 to 20 candidates, favouring the lower-numbered ones, so the count
    # elects some candidates, leaves others below the threshold and ranks the rest.
    def ballot() -> list[str]:
        ranked = sorted(candidates, key=lambda c: rng.random() * (1 + int(c[-2:]) / 6))
        return ranked[:rng.randint(10, seats)]

    ballots = {m: ballot() for m in members}
    names = sum(len(b) for b in ballots.values())
    roll = Roll("ga", members, members)
    times = race({
        "Counter(chain.from_iterable(ballots.values()))": lambda: Counter(chain.from_iterable(ballots.values())),
        "tally_excom_election (validate, rank, explain)":
            lambda: tally_excom_election(rs, roll, None, candidates, seats, [ballots]),
    }, inner=300)
    report(f"Block vote: 200 members, 30 candidates, {seats} seats ({names:,} names)",
           "Counter(chain.from_iterable(ballots.values()))", times)
    outcome = tally_excom_election(rs, roll, None, candidates, seats, [ballots])
    print(f"  -> {outcome.decision}; {len(outcome.winners)} elected; {len(outcome.explanation)} explanation steps")


def main() -> None:
    rs = load_rule_set("wego-2017")
    rng = random.Random(2017)  # seeded: the same ballots on every run
    print(f"bench/tally.py: best of {REPEATS}, Python {sys.version.split()[0]}")
    motions(rs, rng)
    block_vote(rs, rng)


if __name__ == "__main__":
    main()
