"""Speed of secret ballots against open ones, measured in the same run on the same server.

Uses bench/cast.py's setup: MEMBERS delegates checked in, gunicorn (`-w 2 --threads 8`), one Python
client per delegate (ballots.client, the phone's protocol). In each of ROUNDS rounds, taking turns
so that load from elsewhere weighs on both alike:

  * open: a motion; every phone signs and sends its ballot at the same instant;
  * secret: a secret motion; every phone seals its choice (HPKE, as hpke.js does), signs the
    envelope and sends both at the same instant;
  * the secret vote's close: the sealed log written in tracker order and every sealed ballot opened
    with the tellers' key (the server holds it here), against a baseline of the bare HPKE opening of
    the same ciphertexts with `cryptography` in this process.

Printed: ballots/s and p50/p95/p99 per phase, the ratio secret : open ballots/s, and the close's
time with its ratio to the bare openings. Figures only, no assertions.

    .venv/bin/python bench/secret.py [--members 200] [--rounds 3] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cast as bench  # noqa: E402  (bench/cast.py)

from ballots.client import VotingClient  # noqa: E402


def open_vote(setup: bench.Setup, number: int, secret: bool) -> int:
    from voting.extensions import db, writing
    from voting.models import Meeting
    from voting.services import casting, meetings

    with setup.app.app_context(), writing():
        meeting = db.session.get(Meeting, setup.meeting_id)
        item = meetings.add_agenda_item(meeting, {"number": str(number), "title": f"Benchmark motion {number}"})
        vote = casting.open_vote(item, "motion", f"Benchmark motion {number}: approve?", secret=secret)
        db.session.commit()
        return int(vote.id)


def close_timed(setup: bench.Setup, vote_id: int) -> tuple[float, int, int, list[bytes]]:
    """Close (for a secret vote: sealed log and opening); seconds, envelopes, opened, sealed bytes."""
    from voting.extensions import db, writing
    from voting.models import Vote
    from voting.services import casting, tellers

    with setup.app.app_context(), writing():
        started = time.perf_counter()
        vote = casting.close_vote(db.session.get(Vote, vote_id))
        db.session.commit()
        seconds = time.perf_counter() - started
        opened = len(vote.opening["choices"]) + int(vote.opening["invalid"]) if vote.opening else 0
        sealed = tellers.sealed_of(vote) if vote.is_secret else []
        return seconds, vote.log_size, opened, sealed


def bare_openings(setup: bench.Setup, vote_id: int, sealed: list[bytes]) -> float:
    """The same ciphertexts opened with cryptography's HPKE alone, no database and no checks."""
    from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

    from ballots.sealed import sealed_info
    from voting.extensions import db
    from voting.models import Vote
    from voting.services import tellers

    with setup.app.app_context():
        vote = db.session.get(Vote, vote_id)
        key = tellers.key_for(tellers.key_row_of(vote)).private_key()
        info = sealed_info(vote.definition_sha256)
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
    started = time.perf_counter()
    for item in sealed:
        suite.decrypt(item, key, info=info)
    return time.perf_counter() - started


def round_of(phones: list[VotingClient], vote_id: int, label: str) -> bench.Phase:
    with ThreadPoolExecutor(16) as pool:
        infos = list(pool.map(lambda p: p.vote_info(vote_id), phones))

    def job(phone: VotingClient, info: dict[str, Any]) -> Callable[[], int]:
        if info.get("secret"):
            return lambda: phone.submit(vote_id, phone.seal_choice(info, "yes"))[0]
        return lambda: phone.submit(vote_id, phone.sign_ballot(info, "yes"))[0]

    return bench.burst(label, [job(p, i) for p, i in zip(phones, infos, strict=True)], accepted=201)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wego-bench-secret-"))
    instance = workdir / "instance"
    instance.mkdir()
    os.environ["VOTING_INSTANCE_PATH"] = str(instance)
    try:
        with bench.database(args.database_url, workdir) as url:
            engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(f"bench/secret.py: {args.members} delegates, {args.rounds} rounds, {engine}, gunicorn -w {args.workers} "
                  f"--threads {args.threads}, {os.cpu_count()} CPUs, load average "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
            setup = bench.prepare(url, args.members)
            opens: list[bench.Phase] = []
            secrets_: list[bench.Phase] = []
            closes: list[tuple[float, float, int]] = []
            number = iter(range(1, 2 * args.rounds + 1))
            with bench.gunicorn(instance, url, args.workers, args.threads) as base:
                phones = bench.enrol_all(base, setup.tokens)
                bench.baseline_round(phones, "warm-up")
                for n in range(1, args.rounds + 1):
                    vote_id = open_vote(setup, next(number), secret=False)
                    opens.append(round_of(phones, vote_id, f"open, round {n}"))
                    close_timed(setup, vote_id)
                    vote_id = open_vote(setup, next(number), secret=True)
                    secrets_.append(round_of(phones, vote_id, f"secret, round {n}"))
                    seconds, envelopes, opened, sealed = close_timed(setup, vote_id)
                    if not (envelopes == opened == len(sealed) == secrets_[-1].ok):
                        print(f"  !! secret round {n}: {envelopes} envelopes, {len(sealed)} sealed, {opened} opened, "
                              f"{secrets_[-1].ok} accepted")
                    closes.append((seconds, bare_openings(setup, vote_id, sealed), len(sealed)))
            print(f"\nAll {args.members} phones send at the same instant:")
            for phase in (*opens, *secrets_):
                print(phase.line())
            o, s = bench.combined("open, all rounds", opens), bench.combined("secret, all rounds", secrets_)
            print(o.line())
            print(s.line())
            ratios = [b.rate / a.rate for a, b in zip(opens, secrets_, strict=True) if a.rate]
            print(f"  ratio secret : open ballots/s = {s.rate / o.rate if o.rate else float('nan'):.2f} (per round "
                  + ", ".join(f"{r:.2f}" for r in ratios) + ")")
            print("\nClosing a secret vote (sealed log in tracker order + opening every sealed ballot + commit):")
            for i, (seconds, bare, count) in enumerate(closes, 1):
                print(f"  round {i}: {count} sealed ballots, close {seconds * 1e3:.0f} ms, bare HPKE openings "
                      f"{bare * 1e3:.0f} ms, ratio {seconds / bare if bare else float('nan'):.1f}x")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
