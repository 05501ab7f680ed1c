"""Load (issue 10, item 2): DELEGATES simulated delegates enrol, check in and vote on VOTES
consecutive votes against gunicorn, on SQLite (the default) and on PostgreSQL; throughput and
p50/p95/p99 latency per step. Goal: p99 at most 300 ms at 300 ballots/s on a 2-core machine.

Each delegate is a Python phone (ballots.client.VotingClient, the browser's protocol) on a thread of
this process; the server is gunicorn (-w 2 --threads 8, gthread) on a fresh instance folder. The
steps, each timed on its own:

  * setup (in-process, not timed per request): a General Assembly of DELEGATES full members, one
    voting representative each, with an enrolment code;
  * enrol: open the badge's URL (GET /e/<token>), GET /api/session, POST /api/enrol with a fresh
    Ed25519 key's proof, GET /api/session: 4 requests, CLIENTS phones at a time;
  * check-in: the venue QR, i.e. POST /c/<meeting>/<code> and the redirect to the badge page
    (2 requests), with the code of the current 30-second window computed in-process from the same
    database and SECRET_KEY (voting.services.attendance.current_code), CLIENTS phones at a time;
  * then for each vote: open (the service, in-process, as the chair's console calls it; timed),
    fetch (GET /api/votes/<id>, every phone, CLIENTS at a time; the phone then signs), cast (every
    phone sends its signed ballot once, paced by a token bucket of one token refilled RATE times a
    second, so sends are evenly spaced whatever the answers; a phone's latency runs from its
    scheduled send to the answer, so a server falling behind shows in it, and CLIENTS are never
    the bottleneck: up to POOL threads send at once), close (the service; timed; the log must hold
    every accepted ballot);
  * burst: BURST_VOTES more votes where every phone sends as fast as CLIENTS threads allow (no
    pacing): the most ballots per second; latency is per request (send to answer).

Printed per step: operations ok, errors by HTTP status (0: network error), seconds, operations per
second, p50/p95/p99 latency in ms, and the server's and phones' CPU per operation; for casting,
whether p99 <= 300 ms at the achieved rate. Figures only, no assertions (speed is watched, not
gated); the exit status is 1 only if a step had errors or a log lost a ballot.

    .venv/bin/python bench/load.py                       # 2,000 delegates x 10 votes, SQLite then PostgreSQL
    .venv/bin/python bench/load.py --quick               # 60 delegates x 2 votes (+1 burst), both databases
    .venv/bin/python bench/load.py --database sqlite --delegates 2000 --votes 3 --rate 300
    .venv/bin/python bench/load.py --database sqlite --votes 6 --rate 100,200,300   # votes take the rates in turn

PostgreSQL is a throwaway cluster in a temporary folder on 127.0.0.1:55450 (initdb and pg_ctl as the
postgres user when run as root; default durability settings), stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ballots.client import ClientError, VotingClient  # noqa: E402
from bench.common import (  # noqa: E402
    NETWORK_ERRORS,
    PG_PORT,
    Server,
    build_assembly,
    close_vote,
    dispose,
    enrol,
    load_average,
    make_app,
    open_motion,
    percentile,
    postgres_cluster,
)

GOAL_RATE = 300.0
GOAL_P99_MS = 300.0


@dataclass
class Step:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful operations only
    errors: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    offered: float = 0.0  # ballots per second, for paced casting

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1e3

    def line(self) -> str:
        ops = max(1, self.ok + sum(self.errors.values()))
        errors = ",".join(f"{s}:{n}" for s, n in sorted(self.errors.items())) or "-"
        return (f"  {self.name:<30} {self.ok:6d} {errors:>9} {self.seconds:7.1f} {self.rate:8.1f} "
                f"{self.ms(50):8.1f} {self.ms(95):8.1f} {self.ms(99):8.1f} "
                f"{self.server_cpu / ops * 1e3:8.1f} {self.client_cpu / ops * 1e3:8.1f}")


HEADER = (f"  {'step':<30} {'ok':>6} {'errors':>9} {'s':>7} {'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'srv ms':>8} {'cli ms':>8}")
LEGEND = "  (errors: HTTP status:count, 0 = network error; srv/cli ms: CPU per operation of gunicorn / of the phones)"


def merged(name: str, steps: Sequence[Step]) -> Step:
    out = Step(name)
    for s in steps:
        out.latencies += s.latencies
        out.errors.update(s.errors)
        out.seconds += s.seconds
        out.server_cpu += s.server_cpu
        out.client_cpu += s.client_cpu
    return out


def _status(call: Callable[[], int]) -> int:
    try:
        return call()
    except ClientError as err:
        return err.status
    except NETWORK_ERRORS:
        return 0


def closed_loop(name: str, calls: Sequence[Callable[[], int]], clients: int, server: Server) -> Step:
    """Every call once, `clients` at a time, as fast as answers come; latency per call."""
    results: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * len(calls)

    def one(i: int) -> None:
        start = time.perf_counter()
        status = _status(calls[i])
        results[i] = (status, start, time.perf_counter())

    cpu = (server.cpu_seconds(), time.process_time())
    begin = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(len(calls))))
    step = Step(name, seconds=time.perf_counter() - begin, server_cpu=server.cpu_seconds() - cpu[0],
                client_cpu=time.process_time() - cpu[1])
    for status, start, end in results:
        if 200 <= status < 300:
            step.latencies.append(end - start)
        else:
            step.errors[status] += 1
    return step


def paced(name: str, calls: Sequence[Callable[[], int]], rate: float, pool_size: int, server: Server) -> Step:
    """Start call i at begin + i / rate (a token bucket of one token); latency from that moment."""
    results: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * len(calls)

    def one(i: int, due: float) -> None:
        status = _status(calls[i])
        results[i] = (status, due, time.perf_counter())

    cpu = (server.cpu_seconds(), time.process_time())
    begin = time.perf_counter() + 0.02
    with ThreadPoolExecutor(pool_size) as pool:
        for i in range(len(calls)):
            due = begin + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, i, due)
    step = Step(name, seconds=max(r[2] for r in results) - begin, server_cpu=server.cpu_seconds() - cpu[0],
                client_cpu=time.process_time() - cpu[1])
    for status, due, end in results:
        if 200 <= status < 300:
            step.latencies.append(end - due)
        else:
            step.errors[status] += 1
    return step


def timed(name: str, action: Callable[[], Any]) -> tuple[Step, Any]:
    start = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - start
    return Step(name, [elapsed], seconds=elapsed), value


class VenueCode:
    """The hall's check-in code for the current 30-second window, as the projector shows it."""

    def __init__(self, app: Any, meeting_id: int):
        self.app, self.meeting = app, SimpleNamespace(id=meeting_id)
        self.lock = threading.Lock()
        self.window, self.code = -1, ""

    def now(self) -> str:
        from voting.services import attendance

        with self.lock:
            if int(time.time()) // attendance.WINDOW_SECONDS != self.window:
                with self.app.app_context():
                    current = attendance.current_code(self.meeting)  # type: ignore[arg-type]
                self.window, self.code = current.window, current.code
            return self.code


@dataclass
class Run:
    engine: str
    server: str
    steps: list[Step] = field(default_factory=list)
    casts: list[Step] = field(default_factory=list)
    bursts: list[Step] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


@contextmanager
def _database(kind: str, workdir: Path, settings: Sequence[str] = ()) -> Iterator[str]:
    if kind == "postgres":
        with postgres_cluster(PG_PORT, "voting_load", settings) as url:
            yield url
    else:
        yield f"sqlite:///{workdir / 'instance' / 'voting.sqlite'}"


def run(kind: str, args: argparse.Namespace) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="wego-bench-load-"))
    instance = workdir / "instance"
    app = None
    server: Server | None = None
    try:
        with _database(kind, workdir, args.pg_setting) as url:
            engine = ("PostgreSQL (own cluster; " + (", ".join(args.pg_setting) or "default settings, fsync on") + ")"
                      if kind == "postgres" else "SQLite (WAL, synchronous=NORMAL)")
            app = make_app(url, instance)
            server = Server(instance, url, workers=args.workers, threads=args.threads, log=workdir / "gunicorn.log")
            result = Run(engine, server.config)
            print(f"\n== {engine}: {args.delegates} delegates, {args.votes} paced votes at {rates(args)}/s + "
                  f"{args.burst_votes} burst; {server.config}; phones: {args.clients} threads (closed-loop steps), up "
                  f"to {args.pool} sending at once (paced); {os.cpu_count()} CPUs, load average {load_average()}")
            setup, assembly = timed("setup (in-process, 1 op)",
                                    lambda: build_assembly(app, args.delegates, checked_in=False, key="ga-load"))
            print(f"  setup: {args.delegates} members, delegates and enrolment codes loaded in {setup.seconds:.1f} s")
            server.start()
            base = server.base
            phones: list[VotingClient | None] = [None] * len(assembly.tokens)

            def enrol_call(i: int) -> Callable[[], int]:
                def call() -> int:
                    phones[i] = enrol(base, assembly.tokens[i], "bench/load.py")
                    return 200
                return call

            print(HEADER)
            step = closed_loop("enrol (4 requests each)", [enrol_call(i) for i in range(len(phones))], args.clients, server)
            result.steps.append(step)
            print(step.line(), flush=True)
            ready = [p for p in phones if p is not None]
            venue = VenueCode(app, assembly.meeting_id)

            def checkin_call(phone: VotingClient) -> Callable[[], int]:
                def call() -> int:
                    phone.checkin(assembly.meeting_key, venue.now())
                    return 200
                return call

            step = closed_loop("check-in (venue code, 2 req.)", [checkin_call(p) for p in ready], args.clients, server)
            result.steps.append(step)
            print(step.line(), flush=True)

            plan = [(n, False) for n in range(1, args.votes + 1)] + \
                   [(n, True) for n in range(args.votes + 1, args.votes + args.burst_votes + 1)]
            for number, burst in plan:
                label = f"vote {number}" + (" (burst)" if burst else "")
                step, vote_id = timed(f"{label}: open (service)", lambda n=number: open_motion(app, assembly.meeting_id, n))
                result.steps.append(step)
                print(step.line())
                signed: list[dict[str, str] | None] = [None] * len(ready)

                def fetch_call(i: int, vote_id: int = vote_id, signed: list[Any] = signed) -> Callable[[], int]:
                    def call() -> int:
                        phone = ready[i]
                        signed[i] = phone.sign_ballot(phone.vote_info(vote_id), "yes" if i % 3 else "no")
                        return 200
                    return call

                step = closed_loop(f"{label}: fetch + sign", [fetch_call(i) for i in range(len(ready))], args.clients, server)
                result.steps.append(step)
                print(step.line())

                def cast_call(i: int, vote_id: int = vote_id, signed: list[Any] = signed) -> Callable[[], int]:
                    return lambda: ready[i].submit(vote_id, signed[i])[0] if signed[i] is not None else -1  # type: ignore[arg-type]

                calls = [cast_call(i) for i in range(len(ready))]
                if burst:
                    step = closed_loop(f"{label}: cast, unthrottled", calls, args.clients, server)
                    result.bursts.append(step)
                else:
                    rate = args.rates[(number - 1) % len(args.rates)]
                    step = paced(f"{label}: cast @{rate:g}/s", calls, rate, args.pool, server)
                    step.offered = rate
                    result.casts.append(step)
                result.steps.append(step)
                print(step.line())
                step, size = timed(f"{label}: close (service)", lambda v=vote_id: close_vote(app, v))
                result.steps.append(step)
                print(step.line(), flush=True)
                accepted = result.bursts[-1].ok if burst else result.casts[-1].ok
                if size != accepted:
                    result.lost.append(f"{label}: log size {size}, ballots accepted {accepted}")
                    print(f"  !! {result.lost[-1]}")
            return result
    finally:
        if server is not None:
            server.stop()
        if app is not None:
            dispose(app)
        shutil.rmtree(workdir, ignore_errors=True)


def rates(args: argparse.Namespace) -> str:
    return ",".join(f"{r:g}" for r in args.rates)


def summary(r: Run, args: argparse.Namespace) -> list[str]:
    lines = [f"\n== {r.engine}, {r.server}:", HEADER]
    names = {"enrol": "enrol", "check-in": "check-in"}
    for s in r.steps:
        for key in names:
            if s.name.startswith(key):
                lines.append(s.line())
    opens = merged("open (service), all votes", [s for s in r.steps if s.name.endswith("open (service)")])
    fetches = merged("fetch + sign, all votes", [s for s in r.steps if s.name.endswith("fetch + sign")])
    closes = merged("close (service), all votes", [s for s in r.steps if s.name.endswith("close (service)")])
    by_rate = {rate: [c for c in r.casts if c.offered == rate] for rate in args.rates}
    casts = {rate: merged(f"cast @{rate:g}/s, all such votes", steps) for rate, steps in by_rate.items() if steps}
    lines += [opens.line(), fetches.line(), *(c.line() for c in casts.values())]
    if r.bursts:
        lines.append(merged("cast unthrottled, burst votes", r.bursts).line())
    lines.append(closes.line())
    lines.append(LEGEND)
    for rate, cast in casts.items():
        worst = max(by_rate[rate], key=lambda s: s.ms(99))
        met = cast.ms(99) <= GOAL_P99_MS and cast.rate >= 0.95 * rate
        goal = " (the goal's rate)" if rate == GOAL_RATE else ""
        lines.append(f"  p99 <= {GOAL_P99_MS:.0f} ms at {rate:g} ballots/s offered{goal}: achieved {cast.rate:.0f} ballots/s, "
                     f"p99 {cast.ms(99):.0f} ms over {len(by_rate[rate])} vote(s), worst vote p99 {worst.ms(99):.0f} ms: "
                     f"{'MET' if met else 'NOT MET'}")
    if r.bursts:
        b = merged("burst", r.bursts)
        lines.append(f"  Unthrottled: {b.rate:.0f} ballots/s with {args.clients} phones sending at once, "
                     f"p99 {b.ms(99):.0f} ms per request")
    if r.lost:
        lines.append("  LOST: " + "; ".join(r.lost))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="60 delegates x 2 votes (+1 burst): a smoke run")
    parser.add_argument("--delegates", type=int)
    parser.add_argument("--votes", type=int)
    parser.add_argument("--burst-votes", type=int, default=1, help="unthrottled votes after the paced ones")
    parser.add_argument("--rate", default=f"{GOAL_RATE:g}",
                        help="ballots per second offered in the paced votes; a list (100,200,300): votes take them in turn")
    parser.add_argument("--clients", type=int, default=32, help="phones at a time in enrol, check-in, fetch and burst")
    parser.add_argument("--pool", type=int, default=128, help="most phones sending at once in the paced votes")
    parser.add_argument("--pg-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a PostgreSQL setting for the throwaway cluster, e.g. synchronous_commit=off (repeatable)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    args.delegates = args.delegates or (60 if args.quick else 2000)
    args.votes = args.votes if args.votes is not None else (2 if args.quick else 10)
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    started = time.perf_counter()
    args.rates = [float(x) for x in str(args.rate).split(",") if x.strip()]
    print(f"bench/load.py: {args.delegates} delegates, {args.votes} votes at {rates(args)} ballots/s "
          f"+ {args.burst_votes} unthrottled, on {', '.join(kinds)}; {os.cpu_count()} CPUs, load average {load_average()}")
    runs = [run(kind, args) for kind in kinds]
    for r in runs:
        for line in summary(r, args):
            print(line)
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average at the end {load_average()}")
    bad = any(r.lost or any(s.errors for s in r.steps) for r in runs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
