"""Pieces shared by bench/load.py, bench/crash.py and their short CI version (tests/voting/test_crash_fault.py):
a throwaway PostgreSQL cluster, gunicorn in its own process group (so that one signal stops or kills
master and workers alike), a General Assembly loaded through the services, votes opened, closed and
certified in-process against the same database, phones that retry the same signed bytes, and the
checks that a vote's log holds every receipted ballot once.

bench/cast.py stays as it is; its `free_port` is reused here.
"""

from __future__ import annotations

import http.client
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ballots.client import VotingClient  # noqa: E402
from bench.cast import free_port  # noqa: E402

PG_PORT = 55450
NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    data = sorted(values)
    if not data:
        return float("nan")
    return data[min(len(data) - 1, max(0, round(q / 100 * len(data)) - 1))]


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# ---------------------------------------------------------------- PostgreSQL


def pg_bin() -> Path:
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if dirs:
        return dirs[-1]
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise SystemExit("no PostgreSQL server binaries (apt-get install postgresql)")


@contextmanager
def postgres_cluster(port: int = PG_PORT, database: str = "voting_bench", settings: Sequence[str] = ()) -> Iterator[str]:
    """A fresh cluster in a temporary folder on 127.0.0.1:port (default settings: fsync and
    synchronous_commit on, as in production; `settings` such as "synchronous_commit=off" are
    added), stopped and removed afterwards whatever happens."""
    binary = pg_bin()
    data = Path(tempfile.mkdtemp(prefix="wego-bench-pg-"))
    owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
        owner = ["runuser", "-u", "postgres", "--"]
    started = False
    try:
        subprocess.run([*owner, str(binary / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--no-locale"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200"
        opts += "".join(f" -c {setting}" for setting in settings)
        done = subprocess.run([*owner, str(binary / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w",
                               "-t", "60", "-o", opts, "start"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            log = (data / "server.log").read_text(errors="replace")[-2000:] if (data / "server.log").exists() else ""
            raise SystemExit(f"PostgreSQL did not start on port {port} (taken?): {done.stderr.decode()}{log}")
        started = True
        from sqlalchemy import create_engine, text

        admin = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        if started:
            subprocess.run([*owner, str(binary / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def scratch_database(url: str, suffix: str) -> Iterator[str]:
    """A new database NAME_suffix beside the one `url` names (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{suffix}"
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


# ---------------------------------------------------------------- gunicorn


class Server:
    """gunicorn serving wsgi:app from an instance folder, in its own process group: `kill()` is
    kill -9 of master and workers at once (a power cut of the app, not of the database)."""

    def __init__(self, instance: Path, url: str, *, workers: int = 2, threads: int = 8, port: int | None = None,
                 log: Path | None = None):
        self.instance, self.url, self.workers, self.threads = instance, url, workers, threads
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log or instance.parent / "gunicorn.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def config(self) -> str:
        return f"gunicorn -w {self.workers} --threads {self.threads} (gthread)"

    def start(self, timeout: float = 90.0) -> None:
        env = {**os.environ, "VOTING_INSTANCE_PATH": str(self.instance), "VOTING_DATABASE_URL": self.url,
               "VOTING_RATELIMIT_ENABLED": "false"}
        binary = Path(sys.executable).with_name("gunicorn")
        command = [str(binary) if binary.exists() else "gunicorn", "-w", str(self.workers), "--threads", str(self.threads),
                   "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.base + "/api/session", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except NETWORK_ERRORS:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{tail}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no worker finishes its request or its commit."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the live processes of the group (Linux /proc; 0 elsewhere)."""
        if self.proc is None:
            return 0.0
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # process group
                total += (int(fields[11]) + int(fields[12])) / tick
        return total


# ---------------------------------------------------------------- the assembly, in-process


@dataclass
class Assembly:
    app: Any
    meeting_id: int
    meeting_key: str
    tokens: list[str]


def make_app(url: str, instance: Path) -> Any:
    """The app against the benchmark's database and instance folder (the server's secret and
    organization key are created here, before any worker starts, so that all share them)."""
    from voting import create_app, migrate
    from voting.extensions import db
    from voting.keys import ensure_org_key

    instance.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("VOTING_INSTANCE_PATH")
    os.environ["VOTING_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    finally:
        if previous is None:
            os.environ.pop("VOTING_INSTANCE_PATH", None)
        else:
            os.environ["VOTING_INSTANCE_PATH"] = previous
    with app.app_context():
        migrate.upgrade(db.engine)
        ensure_org_key(app)
    return app


def dispose(app: Any) -> None:
    from voting.extensions import db

    with app.app_context():
        db.remove()
        db.engine.dispose()


def build_assembly(app: Any, members: int, *, checked_in: bool, key: str = "ga-bench") -> Assembly:
    """A General Assembly of `members` full members, one voting representative each with an
    enrolment code; checked in at the desk when `checked_in`."""
    from voting.extensions import db, writing
    from voting.services import attendance, identity, meetings, roster

    with app.app_context(), writing():
        now = datetime.now(UTC)
        meeting = meetings.create_meeting({
            "key": key, "body": "ga", "rule_set": "wego-2017", "title": f"Benchmark General Assembly ({key})",
            "starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(hours=12),
        })
        tokens = []
        for n in range(1, members + 1):
            member = roster.create_member({"name": f"Bench City {n:04d}", "country": "Benchland", "region": "Europe",
                                           "category": "full"})
            delegate = roster.add_delegate(member, {"display_name": f"Bench City {n:04d} representative",
                                                    "email": f"rep{n}@bench.invalid", "is_voting": True})
            if checked_in:
                attendance.set_presence(meeting, delegate, True, via="desk")
            tokens.append(identity.issue_token(delegate, meeting).token)
            if n % 250 == 0:
                db.session.commit()
        db.session.commit()
        return Assembly(app, int(meeting.id), key, tokens)


def open_motion(app: Any, meeting_id: int, number: int) -> int:
    """A new agenda item and a yes/no motion on it, opened (as the chair's console does)."""
    from voting.extensions import db, writing
    from voting.models import Meeting
    from voting.services import casting, meetings

    with app.app_context(), writing():
        item = meetings.add_agenda_item(db.session.get(Meeting, meeting_id),
                                        {"number": str(number), "title": f"Benchmark motion {number}"})
        vote = casting.open_vote(item, "motion", f"Benchmark motion {number}: approve?")
        db.session.commit()
        return int(vote.id)


def close_vote(app: Any, vote_id: int) -> int:
    """Close the vote; its log size."""
    from voting.extensions import db, writing
    from voting.models import Vote
    from voting.services import casting

    with app.app_context(), writing():
        vote = casting.close_vote(db.session.get(Vote, vote_id))
        size = int(vote.log_size)
        db.session.commit()
        return size


def certify(app: Any, vote_ids: Sequence[int]) -> None:
    """Certify closed votes as the chair would: a chair account whose device key (a Python Ed25519
    key here) co-signs each certificate after the organization key."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from ballots.signatures import (
        CERTIFICATE_LABEL,
        ENROL_LABEL,
        b64url_encode,
        enrolment_message,
        key_id_for,
    )
    from voting.extensions import db, writing
    from voting.models import Vote
    from voting.services import certification, identity, staff

    key = ed25519.Ed25519PrivateKey.generate()
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with app.app_context(), writing():
        chair, _password = staff.create_staff(f"bench-chair-{secrets.token_hex(3)}", "chair", "Benchmark chair")
        holder = identity.staff_ref(chair)[0]
        challenge = secrets.token_hex(32)
        message = enrolment_message(holder, key_id_for(spki), challenge)
        identity.enrol_staff(chair, challenge, b64url_encode(spki), b64url_encode(key.sign(ENROL_LABEL + message)),
                             "bench chair laptop")
        db.session.commit()
        for vote_id in vote_ids:
            vote = db.session.get(Vote, vote_id)
            cert = certification.prepare(vote, chair)
            text = certification.signing_text(cert)
            certification.complete(vote, chair, b64url_encode(key.sign(CERTIFICATE_LABEL + text.encode("utf-8"))),
                                   cert.sha256)
            db.session.commit()


def export_and_verify(app: Any, meeting_id: int) -> Any:
    """The meeting's published record (as `voting export` writes it), checked by ballots.record."""
    import json

    from ballots.record import verify_record
    from voting.extensions import db
    from voting.models import Meeting
    from voting.services.record_export import build_record

    with app.app_context():
        record = build_record(db.session.get(Meeting, meeting_id), certified_only=True)
        db.session.rollback()
    return verify_record(json.loads(json.dumps(record)))


# ---------------------------------------------------------------- phones


def enrol(base: str, token: str, device: str, timeout: float = 60.0) -> VotingClient:
    phone = VotingClient(base, timeout=timeout)
    phone.enrol(token, device=device)
    return phone


@dataclass
class Sent:
    """What a phone knows of one ballot: the exact signed bytes it sent and the receipt it got."""

    vote_id: int
    member: str
    signed: dict[str, str]
    key_id: str
    receipt: dict[str, Any] | None = None
    status: int = 0
    attempts: int = 0
    replays: int = 0
    statuses: list[int] = field(default_factory=list)


def fetch_until_answered(phone: VotingClient, vote_id: int, deadline: float) -> dict[str, Any]:
    """GET the vote, retrying network errors and 5xx (the phone reloads) until the deadline."""
    pause = 0.1
    while True:
        try:
            status, answer = phone.request("GET", f"/api/votes/{vote_id}")
        except NETWORK_ERRORS:
            status, answer = 0, {}
        if status == 200:
            return dict(answer)
        if (status and status < 500 and status != 429) or time.monotonic() > deadline:
            raise RuntimeError(f"vote {vote_id} could not be fetched: {status} {answer}")
        time.sleep(pause * (0.5 + random.random()))
        pause = min(1.0, pause * 2)


def send_until_receipt(phone: VotingClient, sent: Sent, deadline: float) -> Sent:
    """Send the same signed bytes until a receipt comes back (201, or 200 for a replay), as the
    phone's 'Send again' does: on a network error, a 5xx or a 429. A 4xx refusal ends it."""
    pause = 0.1
    while True:
        sent.attempts += 1
        try:
            status, answer = phone.submit(sent.vote_id, sent.signed)
        except NETWORK_ERRORS:
            status, answer = 0, {}
        sent.statuses.append(status)
        sent.status = status
        if status in (200, 201) and isinstance(answer, dict) and "receipt" in answer:
            if answer.get("replay"):
                sent.replays += 1
            sent.receipt = answer["receipt"]
            return sent
        if (status and status < 500 and status != 429) or time.monotonic() > deadline:
            return sent
        time.sleep(pause * (0.5 + random.random()))
        pause = min(1.0, pause * 2)


# ---------------------------------------------------------------- the logs against the receipts


@dataclass
class LogFindings:
    ballots: int = 0
    receipts: int = 0
    lost: list[str] = field(default_factory=list)  # receipted ballots not in the log as receipted
    duplicates: int = 0  # ballots beyond the first of a member in a vote
    unreceipted: int = 0  # stored ballots no phone holds a receipt for
    problems: list[str] = field(default_factory=list)  # log, root or receipt inconsistencies

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicates and not self.problems


def receipts_in_log(app: Any, sent: Sequence[Sent]) -> list[str]:
    """The receipted ballots that are not in the database at their receipt's index with its leaf hash."""
    from sqlalchemy import select

    from voting.extensions import db
    from voting.models import Ballot

    with app.app_context():
        rows = db.session.execute(select(Ballot.vote_id, Ballot.leaf_index, Ballot.leaf_hash)).all()
        db.session.rollback()
    stored = {(int(v), int(i)): h for v, i, h in rows}
    return [f"vote {s.vote_id} #{s.receipt['index']} ({s.member})" for s in sent
            if s.receipt is not None and stored.get((s.vote_id, s.receipt["index"])) != s.receipt["leaf_hash"]]


def check_logs(app: Any, vote_ids: Sequence[int], sent: Sequence[Sent]) -> LogFindings:
    """Each vote's stored ballots form its log (indexes 0..n-1, one per member, the stored root the
    root of the ballots' leaves), and every receipt a phone holds is for its own ballot, signed,
    included at its index, and its checkpoint a prefix of the final log."""
    from sqlalchemy import select

    from ballots.checkpoint import Checkpoint
    from ballots.log import CompactRange, ballot_entry, leaf_hash
    from ballots.receipts import Receipt, check_receipt
    from voting.extensions import db
    from voting.keys import org_key
    from voting.models import Ballot, Vote

    found = LogFindings(receipts=sum(1 for s in sent if s.receipt is not None))
    by_vote: dict[int, list[Sent]] = {}
    for s in sent:
        by_vote.setdefault(s.vote_id, []).append(s)
    with app.app_context():
        key = org_key().public_key()
        for vote_id in vote_ids:
            vote = db.session.get(Vote, vote_id)
            rows = db.session.scalars(select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.leaf_index)).all()
            found.ballots += len(rows)
            found.duplicates += len(rows) - len({r.member_ref for r in rows})
            if [r.leaf_index for r in rows] != list(range(len(rows))):
                found.problems.append(f"vote {vote_id}: leaf indexes are not 0..{len(rows) - 1}")
            prefix = [CompactRange()]
            for r in rows:
                leaf = leaf_hash(ballot_entry(r.bytes, r.signature, r.key_id))
                if leaf.hex() != r.leaf_hash:
                    found.problems.append(f"vote {vote_id} #{r.leaf_index}: stored leaf hash is not the ballot's")
                prefix.append(prefix[-1].append(leaf))
            final = Checkpoint.from_json(vote.checkpoint)
            if vote.log_size != len(rows) or final.size != len(rows) or final.root != prefix[-1].root():
                found.problems.append(f"vote {vote_id}: stored log (size {vote.log_size}, checkpoint {final.size}) "
                                      f"is not the log of its {len(rows)} ballots")
            leaves = {r.leaf_index: r.leaf_hash for r in rows}
            receipted = set()
            for s in by_vote.get(vote_id, []):
                if s.receipt is None:
                    continue
                receipt = Receipt.from_json(s.receipt)
                receipted.add(receipt.index)
                if leaves.get(receipt.index) != receipt.leaf_hash.hex():
                    found.lost.append(f"vote {vote_id} #{receipt.index} ({s.member})")
                    continue
                entry = ballot_entry(s.signed["ballot"].encode("utf-8"), _b64(s.signed["signature"]), s.key_id)
                wrong = check_receipt(receipt, key, entry=entry)
                cp = receipt.checkpoint
                if cp.size > len(rows) or prefix[cp.size].root() != cp.root:
                    wrong.append("its checkpoint is not a prefix of the final log")
                found.problems.extend(f"vote {vote_id} receipt #{receipt.index}: {w}" for w in wrong)
            found.unreceipted += len(rows) - len(receipted)
        db.session.rollback()
    return found


def _b64(text: str) -> bytes:
    from ballots.signatures import b64url_decode

    return b64url_decode(text)
