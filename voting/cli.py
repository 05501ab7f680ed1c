"""The `voting` command: every operator command (Flask's CLI group)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from .errors import DomainError
from .extensions import db, writing


def transactional(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command as one writing transaction: commit at the end, or roll back and say why."""

    @wraps(fn)
    @with_appcontext
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .services import audit

        audit.set_cli_actor(f"cli:{getpass.getuser()}")
        with writing():
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except DomainError as err:
                db.session.rollback()
                raise click.ClickException(err.message + (f" {err.hint}" if err.hint else "")) from None
            finally:
                db.session.close()

    return wrapper


def register_commands(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(db_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(roster_group)
    app.cli.add_command(staff_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(export_command)
    from .badges.cli import badges_command; app.cli.add_command(badges_command)  # noqa: E702, I001
    from .consent.cli import consent_group; app.cli.add_command(consent_group)  # noqa: E702, I001
    from .backup import backup_command, restore_command  # noqa: I001
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create instance/ (secret key, organization signing key) and bring the database up to date."""
    from . import migrate
    from .keys import ensure_org_key, org_key_path

    key, created = ensure_org_key()
    migrate.upgrade(db.engine)
    click.echo(f"Instance folder: {current_app.instance_path}")
    click.echo(f"Organization signing key: {org_key_path()} ({'created' if created else 'kept'})")
    click.echo(f"Organization public key (Ed25519, SPKI base64url): {key.public_spki_b64()}")
    click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)} (up to date)")


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every pending migration."""
    from . import migrate

    migrate.upgrade(db.engine)
    click.echo("Database is up to date.")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers)."""
    from . import migrate

    migrate.revision(db.engine, message)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only when the roster is empty (used by `make run`).")
@transactional
def demo_command(if_empty: bool) -> None:
    """Load the demo assembly from the 2017 handbook and create staff accounts."""
    from .demo.loader import load_demo
    from .models import Member

    if if_empty and db.session.scalar(select(func.count()).select_from(Member)):
        click.echo("The roster already holds members; demo not loaded.")
        return
    report = load_demo()
    for line in report.lines():
        click.echo(line)


@click.group("roster")
def roster_group() -> None:
    """Import and export members and delegates as CSV."""


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["members", "delegates"]), default=None,
              help="What the file holds; guessed from its columns when omitted.")
@transactional
def roster_import(file: Path, kind: str | None) -> None:
    """Import FILE.csv: every row, or nothing when any row is bad."""
    from .services import roster

    data = file.read_bytes()
    if kind is None:
        first = data.splitlines()[0].decode("utf-8-sig", "replace") if data else ""
        kind = "delegates" if "display_name" in first else "members"
    try:
        created = roster.import_members(data) if kind == "members" else roster.import_delegates(data)
    except roster.ImportRejected as err:
        click.echo("The file was not imported; nothing was changed.", err=True)
        for e in err.errors:
            click.echo(f"  line {e.line}: {e.reason}", err=True)
        db.session.rollback()
        sys.exit(1)
    click.echo(f"Imported {len(created)} {kind}.")


@roster_group.command("export")
@click.option("--kind", type=click.Choice(["members", "delegates"]), default="members")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write (default: standard output).")
@with_appcontext
def roster_export(kind: str, out: Path | None) -> None:
    """Export the roster as CSV (the same columns the import takes)."""
    from .services import roster

    text = roster.export_members() if kind == "members" else roster.export_delegates()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}.")


@click.group("staff")
def staff_group() -> None:
    """Staff accounts."""


@staff_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["secretariat", "chair", "secretary-general", "observer"]), required=True)
@click.option("--name", "display_name", default=None)
@transactional
def staff_add(username: str, role: str, display_name: str | None) -> None:
    """Create a staff account and print its one-time password once."""
    from .services import staff

    _account, password = staff.create_staff(username, role, display_name or username)
    click.echo(f"{username} ({role}): one-time password {password}")


@staff_group.command("reset-password")
@click.argument("username")
@transactional
def staff_reset(username: str) -> None:
    """Give a staff account a new one-time password (printed once)."""
    from .services import staff

    password = staff.reset_password(username)
    click.echo(f"{username}: new one-time password {password}")


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Re-hash the audit chain; exit 1 at the first break."""
    from .models import AuditEvent
    from .services.audit import verify_audit_chain

    brk = verify_audit_chain()
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    if brk is None:
        click.echo(f"Audit chain holds: {count} events.")
        return
    click.echo(f"Audit chain BROKEN at event {brk.seq if brk.seq is not None else brk.index + 1}: {brk.reason}.", err=True)
    sys.exit(1)


@click.command("export")
@click.option("--meeting", "meeting_key", required=True, help="The meeting's short name, e.g. excom-2017.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--all-closed", is_flag=True, help="Include closed votes not yet certified (for the Secretariat's own checks).")
@with_appcontext
def export_command(meeting_key: str, out: Path, all_closed: bool) -> None:
    """Write the meeting's election record (docs/record-format.md) for `python -m ballots.verify`."""
    import json

    from .models import Meeting
    from .services.record_export import build_record

    meeting = db.session.scalars(select(Meeting).where(Meeting.key == meeting_key)).first()
    if meeting is None:
        raise click.ClickException(f"No meeting named {meeting_key}. Meetings: "
                                   + ", ".join(db.session.scalars(select(Meeting.key)).all()))
    record = build_record(meeting, certified_only=not all_closed)
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    votes = sum(len(i["votes"]) for i in record["items"])
    click.echo(f"Wrote {out}: {votes} votes, {len(record['registry'])} key-registry events. "
               f"Check it with: python -m ballots.verify {out}")


def main() -> None:
    """Entry point of the `voting` console script."""
    from . import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=True, help="WeGO voting: operator commands.")
    cli.main(prog_name="voting")
