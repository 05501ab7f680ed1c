"""Crash run (issue 10, item 3): kill -9 the server again and again while phones cast ballots.

A General Assembly of MEMBERS full members (every representative checked in at the desk, one
phone each, enrolled over HTTP) votes on VOTES motions opened at once, so MEMBERS x VOTES ballots in
all. CLIENTS phones at a time fetch a vote, sign a ballot once and send it; on a network error, a
5xx or a 429 they send the SAME signed bytes again (the phone's 'Send again', backing off up to 1 s)
until a receipt comes back. Meanwhile a killer thread sends SIGKILL to gunicorn's whole process
group (master and workers, mid-request and mid-commit) at KILLS random points of the run (drawn
from the ballots receipted so far, each at least one receipt after the last restart), waits up to
half a second, and starts gunicorn again. After each restart, every ballot receipted before the kill
must be in the database at its receipt's index with its leaf hash.

At the end the votes are closed, and it must hold that: every receipt a phone holds is for its own
ballot, signed by the organization, included at its index, and its checkpoint a prefix of the final
log; no member has two ballots in a vote; each vote's stored log (size, checkpoint) is the log of its
stored ballots; no ballot is stored that no phone holds a receipt for. Then the votes are certified
(a chair account with a Python device key, through the services) and the exported election record
must pass ballots.record.verify_record. Exit status 0 only when everything holds.

    .venv/bin/python bench/crash.py                  # 500 members x 10 votes = 5,000 ballots, 20 kills, SQLite
    .venv/bin/python bench/crash.py --quick          # 50 x 4 = 200 ballots, 3 kills
    .venv/bin/python bench/crash.py --database postgres   # a throwaway cluster on 127.0.0.1:55451
    .venv/bin/python bench/crash.py --database-url postgresql+psycopg://USER@HOST:PORT/NAME  # creates NAME_crash there

tests/voting/test_crash_fault.py runs a short version in CI.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PG_PORT,
    Sent,
    Server,
    build_assembly,
    certify,
    check_logs,
    close_vote,
    dispose,
    enrol,
    export_and_verify,
    fetch_until_answered,
    load_average,
    make_app,
    open_motion,
    postgres_cluster,
    receipts_in_log,
    scratch_database,
    send_until_receipt,
)

CRASH_PG_PORT = PG_PORT + 1  # beside bench/load.py's cluster, so that both can run at once


@dataclass
class CrashConfig:
    members: int = 500
    votes: int = 10
    kills: int = 20
    clients: int = 32
    workers: int = 2
    threads: int = 8
    database: str = "sqlite"  # "sqlite" or "postgres" (a throwaway cluster)
    database_url: str | None = None  # an existing PostgreSQL server: NAME_crash is created there
    seed: int | None = None
    max_down: float = 0.5  # seconds the server stays dead before the restart (drawn up to this)
    deadline: float = 900.0  # seconds for the casting; a ballot still without a receipt then is unfinished
    workdir: Path | None = None
    keep: bool = False

    @classmethod
    def quick(cls, **changes: object) -> CrashConfig:
        return cls(**{"members": 50, "votes": 4, "kills": 3, "clients": 16, **changes})  # type: ignore[arg-type]


@dataclass
class CrashResult:
    engine: str = ""
    server: str = ""
    kills: int = 0
    ballots: int = 0  # stored in the database
    expected: int = 0  # members x votes
    receipts: int = 0
    attempts: int = 0  # ballot submissions, retries included
    replays: int = 0  # a retry answered with the receipt of a ballot stored when its first answer was lost
    failed_sends: Counter[int] = field(default_factory=Counter)  # status of each failed attempt (0: network error)
    refused: Counter[int] = field(default_factory=Counter)  # 4xx refusals that ended a phone's tries (must be none)
    unfinished: int = 0  # ballots still without a receipt at the deadline
    duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    lost_after_restart: list[str] = field(default_factory=list)
    unreceipted: int = 0
    problems: list[str] = field(default_factory=list)
    record_ok: bool = False
    record_checks: int = 0
    record_failures: list[str] = field(default_factory=list)
    cast_seconds: float = 0.0
    restart_seconds: list[float] = field(default_factory=list)  # from the kill until gunicorn answers again
    seconds: float = 0.0

    @property
    def retries(self) -> int:
        return self.attempts - (self.receipts + self.unfinished + sum(self.refused.values()))

    @property
    def ok(self) -> bool:
        return (not self.lost and not self.lost_after_restart and not self.duplicates and not self.problems
                and not self.unreceipted and not self.refused and not self.unfinished and self.record_ok
                and self.receipts == self.ballots == self.expected)

    def lines(self) -> list[str]:
        fails = ", ".join(f"{n} {'network errors' if s == 0 else s}" for s, n in sorted(self.failed_sends.items())) or "none"
        downtime = sum(self.restart_seconds) / len(self.restart_seconds) if self.restart_seconds else 0.0
        return [
            f"  kills (SIGKILL to gunicorn's process group): {self.kills}; from a kill until gunicorn answered "
            f"again {downtime:.1f} s on average",
            f"  ballots stored {self.ballots} of {self.expected}; receipts held by phones {self.receipts}; "
            f"casting took {self.cast_seconds:.1f} s",
            f"  sends {self.attempts}, of which retries {self.retries} (failed attempts: {fails}); replays "
            f"(same receipt again after a lost answer) {self.replays}",
            f"  duplicates {self.duplicates} (must be 0); lost {len(self.lost)} at the end, "
            f"{len(self.lost_after_restart)} in the checks after each restart (must be 0); stored without a "
            f"receipt {self.unreceipted}; refused {sum(self.refused.values())}; unfinished {self.unfinished}",
            f"  logs: {'consistent' if not self.problems else '; '.join(self.problems[:5])}",
            f"  record: verify_record {'OK' if self.record_ok else 'FAILED'} ({self.record_checks} checks)"
            + (": " + "; ".join(self.record_failures[:5]) if self.record_failures else ""),
            f"RESULT: {'PASS' if self.ok else 'FAIL'} ({self.seconds:.0f} s in all)",
        ]


@contextmanager
def _database(config: CrashConfig, workdir: Path) -> Iterator[str]:
    if config.database_url:
        with scratch_database(config.database_url, "crash") as url:
            yield url
    elif config.database == "postgres":
        with postgres_cluster(CRASH_PG_PORT, "voting_crash") as url:
            yield url
    else:
        yield f"sqlite:///{workdir / 'instance' / 'voting.sqlite'}"


class Progress:
    """Receipts counted as they arrive; the killer waits on it."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False
        self.cond = threading.Condition()

    def add(self) -> None:
        with self.cond:
            self.count += 1
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_for(self, target: int) -> bool:
        """Wait until `target` receipts (True) or the end of the run (False)."""
        with self.cond:
            self.cond.wait_for(lambda: self.done or self.count >= target)
            return not self.done


def run(config: CrashConfig, say: Callable[[str], None] = print) -> CrashResult:
    rng = random.Random(config.seed)
    result = CrashResult(expected=config.members * config.votes)
    started = time.perf_counter()
    workdir = config.workdir or Path(tempfile.mkdtemp(prefix="wego-bench-crash-"))
    instance = workdir / "instance"
    app = None
    server: Server | None = None
    try:
        with _database(config, workdir) as url:
            result.engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            app = make_app(url, instance)
            server = Server(instance, url, workers=config.workers, threads=config.threads, log=workdir / "gunicorn.log")
            result.server = server.config
            say(f"bench/crash.py: {config.members} members x {config.votes} votes = {result.expected} ballots, "
                f"{result.engine}, {server.config}, {config.clients} phones at a time, {config.kills} kills; "
                f"load average {load_average()}")
            t = time.perf_counter()
            assembly = build_assembly(app, config.members, checked_in=True, key="ga-crash")
            server.start()
            with ThreadPoolExecutor(16) as pool:
                phones = list(pool.map(lambda token: enrol(server.base, token, "bench/crash.py"), assembly.tokens))
            vote_ids = [open_motion(app, assembly.meeting_id, n) for n in range(1, config.votes + 1)]
            say(f"  loaded, enrolled {len(phones)} phones, opened {len(vote_ids)} votes in {time.perf_counter() - t:.1f} s")

            progress = Progress()
            sent_all: list[Sent] = []
            lock = threading.Lock()
            deadline = time.monotonic() + config.deadline

            def vote_all(i: int) -> None:
                """One phone votes in every open vote, in its own order."""
                phone = phones[i]
                order = list(vote_ids)
                random.shuffle(order)
                for vote_id in order:
                    info = fetch_until_answered(phone, vote_id, deadline)
                    choice = random.choices(["yes", "no", "abstain"], weights=[6, 3, 1])[0]
                    assert phone.key is not None
                    sent = Sent(vote_id, info["member"], phone.sign_ballot(info, choice), phone.key.key_id)
                    with lock:
                        sent_all.append(sent)
                    send_until_receipt(phone, sent, deadline)
                    if sent.receipt is not None:
                        progress.add()

            def killer() -> None:
                total = result.expected
                points = sorted(rng.sample(range(max(1, total // 20), max(2, total * 19 // 20)), min(config.kills, total // 2)))
                floor = 0
                for point in points:
                    if not progress.wait_for(max(point, floor + 1)):
                        return
                    time.sleep(rng.uniform(0, 0.2))  # among the requests in flight
                    with lock:
                        before = [s for s in sent_all if s.receipt is not None]
                    assert server is not None
                    down = time.perf_counter()
                    server.kill()
                    result.kills += 1
                    time.sleep(rng.uniform(0, config.max_down))
                    for attempt in range(3):
                        try:
                            server.start()
                            break
                        except RuntimeError as err:
                            result.problems.append(f"restart {result.kills}, attempt {attempt + 1}: {err}")
                    else:
                        progress.finish()
                        return
                    result.restart_seconds.append(time.perf_counter() - down)
                    missing = receipts_in_log(app, before)
                    result.lost_after_restart.extend(missing)
                    floor = progress.count

            killing = threading.Thread(target=killer, name="killer", daemon=True)
            t = time.perf_counter()
            killing.start()
            with ThreadPoolExecutor(config.clients) as pool:
                for future in [pool.submit(vote_all, i) for i in range(len(phones))]:
                    future.result()
            progress.finish()
            killing.join()
            result.cast_seconds = time.perf_counter() - t
            server.stop()

            for s in sent_all:
                result.attempts += s.attempts
                result.replays += s.replays
                failures = s.statuses[:-1] if s.receipt is not None else s.statuses
                result.failed_sends.update(st for st in failures if st == 0 or st >= 500 or st == 429)
                if s.receipt is None:
                    if s.status and s.status < 500 and s.status != 429:
                        result.refused[s.status] += 1
                    else:
                        result.unfinished += 1
            for vote_id in vote_ids:
                close_vote(app, vote_id)
            found = check_logs(app, vote_ids, sent_all)
            result.ballots, result.receipts, result.duplicates = found.ballots, found.receipts, found.duplicates
            result.lost, result.unreceipted, result.problems = found.lost, found.unreceipted, found.problems
            certify(app, vote_ids)
            report = export_and_verify(app, assembly.meeting_id)
            result.record_ok = report.ok and len(report.votes) == len(vote_ids)
            result.record_checks = len(report.checks)
            result.record_failures = [f"{c.scope}: {c.detail}" for c in report.failures]
            dispose(app)
            app = None
    finally:
        if server is not None:
            server.stop()
        if app is not None:
            dispose(app)
        result.seconds = time.perf_counter() - started
        if config.keep:
            say(f"  kept {workdir}")
        elif config.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 members x 4 votes, 3 kills")
    parser.add_argument("--members", type=int)
    parser.add_argument("--votes", type=int)
    parser.add_argument("--kills", type=int)
    parser.add_argument("--clients", type=int, help="phones sending at a time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite",
                        help=f"postgres: a throwaway cluster on 127.0.0.1:{CRASH_PG_PORT}")
    parser.add_argument("--database-url", help="an existing PostgreSQL server (creates and drops NAME_crash)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (gunicorn.log, the SQLite file)")
    args = parser.parse_args()
    config = CrashConfig.quick() if args.quick else CrashConfig()
    for name in ("members", "votes", "kills", "clients"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    config.workers, config.threads, config.database = args.workers, args.threads, args.database
    config.database_url, config.seed, config.keep = args.database_url, args.seed, args.keep
    result = run(config)
    for line in result.lines():
        print(line)
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
