# registered in voting/__init__.py
"""Receipt checks on the web (issue 7 item 3): a delegate or observer pastes, loads, picks or scans
a receipt, and the page checks it in the browser against the published election record.

The server never answers "yes, this receipt holds": it serves the page, the static script, the
record (results.record) and, for a vote id, which meeting's record to fetch. Every verdict is
computed by voting/static/js/receipt-check.js with WebCrypto (docs/crypto-formats.md "Receipt").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request, url_for
from sqlalchemy import select

from ..auth.access import public
from ..errors import NotFound
from ..extensions import db
from ..models import Meeting, Vote

bp = Blueprint("receiptcheck", __name__)


@bp.get("/verify")
@public
def verify_page() -> Any:
    """The receipt check. With ?meeting=<key> it checks against that meeting's record only, so a
    receipt of another meeting is named as such; ?vote=<id>&leaf=<hex> (a receipt QR's address)
    starts a check of that ballot at once."""
    scope = None
    key = request.args.get("meeting", "").strip()
    if key:
        scope = db.session.scalars(select(Meeting).where(Meeting.key == key)).first()
        if scope is None:
            raise NotFound("There is no such meeting.", hint="Open the receipt check without a meeting, from the home page.")
    return render_template(
        "results/verify.html", scope=scope,
        scope_record_url=url_for("results.record", meeting_key=scope.key) if scope is not None else "",
        where_template=url_for("receiptcheck.vote_where", vote_id=0).replace("/0/", "/{id}/"),
    )


@bp.get("/api/public/votes/<int:vote_id>/where")
@public
def vote_where(vote_id: int) -> Any:
    """Which published record holds a vote: its meeting's key and the record's address. No verdict:
    whether a receipt of this vote holds is decided in the browser from the record itself."""
    vote = db.session.get(Vote, vote_id)
    if vote is None:
        raise NotFound(f"This server has no vote v{vote_id}.",
                       hint="The receipt may come from another server, or its vote was changed.")
    key = vote.meeting.key
    return jsonify({"meeting_key": key, "record_url": url_for("results.record", meeting_key=key)})
