"""Speed of the tally: 1,000,000 motion ballots, and a 200-member block vote over 30 candidates.

Each figure is the best of several repeats (time.perf_counter) and is set against a plain
collections.Counter pass over the same ballots in the same run; the goal is to stay within 3x
of that. Figures only, no assertions: speed is watched, not gated (house rule: no timed tests).

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
from ballots.tally import tally_excom_election, tally_motion  # noqa: E402

REPEATS = 5
GOAL = 3.0


def best(run: Callable[[], object], repeats: int = REPEATS, inner: int = 1) -> float:
    """The fastest of `repeats` timings of `inner` calls, per call, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            run()
        times.append((time.perf_counter() - start) / inner)
    return min(times)


def show(label: str, seconds: float, baseline: float) -> None:
    ratio = seconds / baseline
    verdict = "within" if ratio <= GOAL else "OVER"
    print(f"  {label:<44} {seconds * 1e3:10.3f} ms   {ratio:5.2f}x Counter ({verdict} the {GOAL:g}x goal)")


def motions(rs: object, rng: random.Random) -> None:
    n = 1_000_000
    members = [f"city-{i:07d}" for i in range(n)]
    ballots = {m: rng.choice(("yes", "no", "abstain")) for m in members}
    roll = frozenset(members)
    baseline = best(lambda: Counter(ballots.values()))
    print(f"Motion, {n:,} ballots (GA of {n:,} members, all present)")
    print(f"  {'Counter(ballots.values())':<44} {baseline * 1e3:10.3f} ms")
    outcome = tally_motion(rs, "ga", roll, roll, ballots)
    show("tally_motion, roll given as frozensets", best(lambda: tally_motion(rs, "ga", roll, roll, ballots)),
         baseline)
    show("tally_motion, roll given as lists", best(lambda: tally_motion(rs, "ga", members, members, ballots)),
         baseline)
    print(f"  decision: {outcome.decision}, counts {outcome.counts_map}")


def block_vote(rs: object, rng: random.Random) -> None:
    members = [f"city-{i:03d}" for i in range(200)]
    candidates = [f"cand-{i:02d}" for i in range(30)]
    seats = 20
    ballots = {m: rng.sample(candidates, rng.randint(0, seats)) for m in members}
    names = sum(len(b) for b in ballots.values())
    inner = 200
    baseline = best(lambda: Counter(chain.from_iterable(ballots.values())), inner=inner)
    print(f"Block vote, 200 members, 30 candidates, {seats} seats ({names:,} names on the ballots)")
    print(f"  {'Counter(chain.from_iterable(ballots))':<44} {baseline * 1e3:10.3f} ms")
    roll = frozenset(members)
    tally = best(lambda: tally_excom_election(rs, roll, roll, candidates, seats, [ballots]), inner=inner)
    show("tally_excom_election (validate, rank, explain)", tally, baseline)
    outcome = tally_excom_election(rs, roll, roll, candidates, seats, [ballots])
    print(f"  decision: {outcome.decision}, elected {len(outcome.winners)}, "
          f"explanation {len(outcome.explanation)} steps")


def main() -> None:
    rs = load_rule_set("wego-2017")
    rng = random.Random(2017)  # seeded: the same ballots on every run
    print(f"bench/tally.py: best of {REPEATS}, Python {sys.version.split()[0]}")
    motions(rs, rng)
    block_vote(rs, rng)


if __name__ == "__main__":
    main()
