"""`voting consent close-due`: close every resolution whose deadline has passed (I-5), e.g. from cron."""

from __future__ import annotations

import click

from ..cli import transactional
from ..services import consent


@click.group("consent")
def consent_group() -> None:
    """Resolutions of the Executive Committee by written consent (Art. 16.3)."""


@consent_group.command("close-due")
@transactional
def close_due() -> None:
    """Decide every resolution still open after its deadline: not adopted, unless the rule set decides
    at the deadline and the threshold is reached. Pages and answers do the same when they find one."""
    closed = consent.close_due()
    if not closed:
        click.echo("No resolution is open past its deadline.")
    for r in closed:
        click.echo(f"Resolution {r.id} “{r.title}”: {consent.state_words(r)}. The chair can certify it now.")


@consent_group.command("list")
@transactional
def list_command() -> None:
    """Every resolution, its state and its deadline."""
    for r in consent.all_resolutions():
        click.echo(f"{r.id:>4}  {consent.state_words(r):<48}  deadline {consent.when(r.deadline_at, r)}  {r.title}")
