"""Speed of casting: 200 delegates' phones sending signed ballots to the app under gunicorn.

Builds an instance folder and a database in a temporary directory, loads a General Assembly of
MEMBERS full members each with one voting representative checked in, serves the app with gunicorn
(`-w 2 --threads 8`, the production setup), and enrols one Python client (ballots.client, exactly
the phone's protocol) per delegate. Then, in each of ROUNDS rounds:

  * cast: the chair opens a vote, every phone has fetched it, and all of them sign and send their
    ballot at the same instant (threads released by a barrier);
  * baseline: the same phones each send POST /api/bench/write, a request of the same app that does
    one committed database write (voting/bench_views.py, on only with VOTING_BENCH_ENDPOINTS);
  * the same two again on a new vote with the sends spread evenly over --spread seconds, for the
    latency a delegate sees when the hall votes within a second rather than at one instant.

Printed: ballots accepted per second and p50/p95/p99 latency (sign + send + answer) per round and
over all rounds, the same for the baseline, and the ratio ballots/s / baseline writes/s. In a
burst every answer also waits for the ballots queued before it: the last of 200 at 300/s waits
~670 ms however fast each ballot is served, which the spread phases leave out. Figures only, no
assertions: speed is watched, not gated. Goals (issue 5): >= 300 ballots/s on SQLite,
p99 <= 250 ms, ratio >= 0.5.

    .venv/bin/python bench/cast.py [--members 200] [--rounds 3] [--workers 2] [--threads 8] [--spread 1.0]
                                   [--database-url postgresql+psycopg://USER@HOST:PORT/NAME]

With --database-url the benchmark creates (and afterwards drops) the database NAME_bench there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ballots.client import VotingClient  # noqa: E402

GOAL_RATE = 300.0
GOAL_P99_MS = 250.0
GOAL_RATIO = 0.5


# ---------------------------------------------------------------- database and scenario


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """SQLite in the instance folder, or a fresh PostgreSQL database beside the one named."""
    if url is None:
        yield f"sqlite:///{workdir / 'instance' / 'voting.sqlite'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_bench"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Setup:
    app: Any
    meeting_id: int
    tokens: list[str]


def prepare(url: str, members: int) -> Setup:
    """Migrate, and load the meeting, members, delegates (checked in) and enrolment codes."""
    from voting import create_app, migrate
    from voting.extensions import db, writing
    from voting.keys import ensure_org_key
    from voting.services import attendance, identity, meetings, roster

    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        migrate.upgrade(db.engine)
        ensure_org_key(app)  # before the workers start, so that they load one key
        with writing():
            now = datetime.now(UTC)
            meeting = meetings.create_meeting({
                "key": "ga-bench", "body": "ga", "rule_set": "wego-2017", "title": "Benchmark General Assembly",
                "starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(hours=8),
            })
            tokens = []
            for n in range(1, members + 1):
                member = roster.create_member({"name": f"Bench City {n:03d}", "country": "Benchland",
                                               "region": "Europe", "category": "full"})
                delegate = roster.add_delegate(member, {"display_name": f"Bench City {n:03d} representative",
                                                        "email": f"rep{n}@bench.invalid", "is_voting": True})
                attendance.set_presence(meeting, delegate, True, via="desk")
                tokens.append(identity.issue_token(delegate, meeting).token)
            db.session.commit()
            return Setup(app, meeting.id, tokens)


def open_vote(setup: Setup, number: int) -> int:
    from voting.extensions import db, writing
    from voting.models import Meeting
    from voting.services import casting, meetings

    with setup.app.app_context(), writing():
        meeting = db.session.get(Meeting, setup.meeting_id)
        item = meetings.add_agenda_item(meeting, {"number": str(number), "title": f"Benchmark motion {number}"})
        vote = casting.open_vote(item, "motion", f"Benchmark motion {number}: approve?")
        db.session.commit()
        return int(vote.id)


def close_vote(setup: Setup, vote_id: int) -> tuple[int, int]:
    """Close the vote; (its log size, its stored ballots)."""
    from sqlalchemy import func, select

    from voting.extensions import db, writing
    from voting.models import Ballot, Vote
    from voting.services import casting

    with setup.app.app_context(), writing():
        vote = casting.close_vote(db.session.get(Vote, vote_id))
        stored = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)) or 0
        db.session.commit()
        return vote.log_size, stored


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(instance: Path, url: str, workers: int, threads: int, app: str = "wsgi:app") -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "VOTING_INSTANCE_PATH": str(instance), "VOTING_DATABASE_URL": url,
           "VOTING_RATELIMIT_ENABLED": "false", "VOTING_BENCH_ENDPOINTS": "true"}
    binary = Path(sys.executable).with_name("gunicorn")
    command = [str(binary) if binary.exists() else "gunicorn", "-w", str(workers), "--threads", str(threads),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", app]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    _SERVER[:] = [proc.pid]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/api/session", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield base
    finally:
        _SERVER.clear()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------- load


@dataclass
class Phase:
    label: str
    ok: int
    refused: int
    seconds: float
    latencies: list[float]  # seconds, of the accepted requests
    server_cpu: float = 0.0  # CPU seconds the gunicorn processes spent in the phase
    client_cpu: float = 0.0  # CPU seconds this process (the phones) spent

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """A latency percentile in ms (nearest rank)."""
        data = sorted(self.latencies)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, max(0, round(q / 100 * len(data)) - 1))] * 1e3

    def line(self) -> str:
        return (f"  {self.label:<22} {self.ok:5d} ok {self.refused:3d} refused  {self.rate:8.1f}/s   "
                f"p50 {self.pct(50):7.1f} ms  p95 {self.pct(95):7.1f} ms  p99 {self.pct(99):7.1f} ms   "
                f"CPU/request: server {self.server_cpu / max(1, self.ok + self.refused) * 1e3:4.1f} ms, "
                f"phones {self.client_cpu / max(1, self.ok + self.refused) * 1e3:4.1f} ms")


_SERVER: list[int] = []  # the gunicorn master's pid
_TICK = os.sysconf("SC_CLK_TCK")


def server_cpu() -> float:
    """CPU seconds used so far by the gunicorn master and its workers (Linux /proc; 0 elsewhere)."""
    if not _SERVER:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == _SERVER[0] or ppid == _SERVER[0]:
            total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    return total


def burst(label: str, jobs: list[Callable[[], int]], accepted: int, spread: float = 0.0) -> Phase:
    """Run every job in its own thread, all released at one instant (spread=0) or at even steps
    over `spread` seconds; a job's latency runs from its release to its answer."""
    barrier = threading.Barrier(len(jobs) + 1)
    results: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * len(jobs)
    step = spread / len(jobs)
    zero = [0.0]

    def run(i: int) -> None:
        barrier.wait()
        if step:
            time.sleep(max(0.0, zero[0] + i * step - time.perf_counter()))
        start = time.perf_counter()
        try:
            status = jobs[i]()
        except Exception as exc:  # a network error counts as a refusal, and is shown
            print(f"    {label}: {exc!r}", file=sys.stderr)
            status = 0
        results[i] = (status, start, time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    cpu = (server_cpu(), time.process_time())
    zero[0] = time.perf_counter() + 0.01
    barrier.wait()
    for t in threads:
        t.join()
    cpu = (server_cpu() - cpu[0], time.process_time() - cpu[1])
    begin = min(r[1] for r in results)
    end = max(r[2] for r in results)
    good = [r for r in results if r[0] == accepted]
    return Phase(label, len(good), len(results) - len(good), end - begin, [r[2] - r[1] for r in good], *cpu)


def enrol_all(base: str, tokens: list[str]) -> list[VotingClient]:
    def enrol(token: str) -> VotingClient:
        phone = VotingClient(base, timeout=60)
        phone.enrol(token, device="bench/cast.py")
        return phone

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(enrol, tokens))


def cast_round(phones: list[VotingClient], vote_id: int, label: str, spread: float = 0.0) -> Phase:
    with ThreadPoolExecutor(16) as pool:  # every phone shows the ballot before anyone votes
        infos = list(pool.map(lambda p: p.vote_info(vote_id), phones))

    def job(phone: VotingClient, info: dict[str, Any]) -> Callable[[], int]:
        return lambda: phone.submit(vote_id, phone.sign_ballot(info, "yes"))[0]

    return burst(label, [job(p, i) for p, i in zip(phones, infos, strict=True)], accepted=201, spread=spread)


def baseline_round(phones: list[VotingClient], label: str, spread: float = 0.0) -> Phase:
    def job(phone: VotingClient) -> Callable[[], int]:
        return lambda: phone.request("POST", "/api/bench/write", {})[0]

    return burst(label, [job(p) for p in phones], accepted=201, spread=spread)


def combined(label: str, phases: list[Phase]) -> Phase:
    return Phase(label, sum(p.ok for p in phases), sum(p.refused for p in phases), sum(p.seconds for p in phases),
                 [x for p in phases for x in p.latencies], sum(p.server_cpu for p in phases),
                 sum(p.client_cpu for p in phases))


def check_vote(setup: Setup, vote_id: int, phase: Phase) -> None:
    size, stored = close_vote(setup, vote_id)
    if size != stored or stored != phase.ok:
        print(f"  !! {phase.label}: log size {size}, ballots stored {stored}, accepted {phase.ok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--spread", type=float, default=1.0,
                        help="seconds over which the phones send in the spread phases (0: bursts only)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server to create a benchmark database on")
    parser.add_argument("--app", default="wsgi:app", help="the WSGI app gunicorn serves (to compare a variant)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="wego-bench-cast-"))
    instance = workdir / "instance"
    instance.mkdir()
    os.environ["VOTING_INSTANCE_PATH"] = str(instance)
    try:
        with database(args.database_url, workdir) as url:
            engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(f"bench/cast.py: {args.members} delegates, {args.rounds} rounds, {engine}, gunicorn -w {args.workers} "
                  f"--threads {args.threads} ({args.app}), {os.cpu_count()} CPUs, load average "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
            started = time.perf_counter()
            setup = prepare(url, args.members)
            print(f"  loaded {args.members} members, delegates checked in, codes issued in "
                  f"{time.perf_counter() - started:.1f} s")
            casts: list[Phase] = []
            baselines: list[Phase] = []
            spread_casts: list[Phase] = []
            spread_baselines: list[Phase] = []
            votes = iter(range(1, 2 * args.rounds + 1))
            with gunicorn(instance, url, args.workers, args.threads, args.app) as base:
                started = time.perf_counter()
                phones = enrol_all(base, setup.tokens)
                print(f"  enrolled {len(phones)} phones in {time.perf_counter() - started:.1f} s")
                baseline_round(phones, "warm-up")  # every worker thread has its connection and code paths
                for n in range(1, args.rounds + 1):
                    # Cast and baseline take turns, so that load from elsewhere weighs on both alike.
                    vote_id = open_vote(setup, next(votes))
                    casts.append(cast_round(phones, vote_id, f"cast, round {n}"))
                    check_vote(setup, vote_id, casts[-1])
                    baselines.append(baseline_round(phones, f"baseline, round {n}"))
                    if args.spread:
                        vote_id = open_vote(setup, next(votes))
                        spread_casts.append(cast_round(phones, vote_id, f"cast, round {n}", args.spread))
                        check_vote(setup, vote_id, spread_casts[-1])
                        spread_baselines.append(baseline_round(phones, f"baseline, round {n}", args.spread))
            print(f"\nAll {args.members} phones send at the same instant (throughput; latency includes the queue):")
            for phase in (*casts, *baselines):
                print(phase.line())
            cast, base_ = combined("cast, all rounds", casts), combined("baseline, all rounds", baselines)
            print(cast.line())
            print(base_.line())
            ratio = cast.rate / base_.rate if base_.rate else float("nan")
            ratios = [c.rate / b.rate for c, b in zip(casts, baselines, strict=True) if b.rate]
            print(f"  ratio ballots/s : baseline writes/s = {ratio:.2f} (per round "
                  + ", ".join(f"{r:.2f}" for r in ratios) + ")")
            print(f"  queueing floor of a burst: the last of {args.members} answers waits ~{args.members} / "
                  f"{cast.rate:.0f}/s = {args.members / cast.rate * 1e3 if cast.rate else float('nan'):.0f} ms "
                  "even if every ballot is served at once")
            spread_p99 = float("nan")
            if args.spread:
                print(f"\nThe {args.members} phones send evenly over {args.spread:g} s "
                      f"({args.members / args.spread:.0f} requests/s offered; latency as a delegate sees it):")
                for phase in (*spread_casts, *spread_baselines):
                    print(phase.line())
                spread = combined("cast, all rounds", spread_casts)
                print(spread.line())
                print(combined("baseline, all rounds", spread_baselines).line())
                spread_p99 = spread.pct(99)
            print("\nGoals (issue 5): " + "; ".join([
                f"{cast.rate:.0f} ballots/s vs >= {GOAL_RATE:.0f}" + ("" if engine == "SQLite" else " (set for SQLite)"),
                f"p99 {cast.pct(99):.0f} ms in the burst, {spread_p99:.0f} ms spread, vs <= {GOAL_P99_MS:.0f}",
                f"ratio {ratio:.2f} vs >= {GOAL_RATIO}",
            ]))
    finally:
        if args.keep:
            print(f"  instance kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
