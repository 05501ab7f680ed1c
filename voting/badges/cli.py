"""`voting badges --meeting KEY --out badges.pdf [--member NAME]`: a fresh code for each delegate, printed."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy import select

from ..cli import transactional
from ..errors import Invalid
from ..extensions import db
from ..models import Meeting
from ..services import badges, identity


@click.command("badges")
@click.option("--meeting", "meeting_key", required=True, metavar="KEY",
              help="The meeting's short name, as on its page (for example ga-2017).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The PDF file to write (A4, eight cut-out badges a page).")
@click.option("--member", "member_name", default=None, metavar="NAME",
              help="Only the delegates of this member (its name as on the roster).")
@transactional
def badges_command(meeting_key: str, out: Path, member_name: str | None) -> None:
    """Print enrolment badges: a new single-use code for each delegate of the meeting's members.

    Each delegate's earlier unused code stops working; phones already set up keep working.
    """
    meeting = db.session.scalars(select(Meeting).where(Meeting.key == meeting_key)).first()
    if meeting is None:
        keys = db.session.scalars(select(Meeting.key).order_by(Meeting.starts_at.desc())).all()
        raise Invalid(f"There is no meeting '{meeting_key}'.",
                      hint=("Meetings: " + ", ".join(keys) + ".") if keys else "No meeting has been set up yet.")
    if not out.parent.resolve().is_dir():
        raise Invalid(f"The folder {out.parent} does not exist.", hint="Create it, or choose another --out file.")
    delegates = badges.delegates_for_meeting(meeting)
    if member_name:
        delegates = badges.only_member(delegates, member_name)
    if not delegates:
        raise Invalid(f"No active delegate is on the roster for {meeting.title}.",
                      hint="Add delegates to the members first (Members page or `voting roster import`).")

    issued = [(d, identity.issue_token(d, meeting)) for d in delegates]
    pdf = badges.badge_sheet_pdf(meeting, issued)
    # Write beside the target, commit, then move into place: no PDF of codes that were never stored,
    # and no stored codes (which revoke the earlier ones) without their PDF.
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_bytes(pdf)
        db.session.commit()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)

    pages = -(-len(issued) // 8)
    members = len({d.member_id for d in delegates})
    expires = issued[0][1].record.expires_at
    click.echo(f"Wrote {len(issued)} badge{'s' if len(issued) != 1 else ''} for {members} "
               f"member{'s' if members != 1 else ''} of {meeting.title} to {out} "
               f"({pages} A4 page{'s' if pages != 1 else ''}).")
    click.echo(f"The codes work once each and expire on {expires:%d %b %Y at %H:%M} UTC. "
               "Each delegate's earlier unused code no longer works.")
