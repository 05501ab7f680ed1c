"""Public results: certified results of a meeting, printable certificates (page and PDF), the
election record for download, and the meeting memorandum draft for staff."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from sqlalchemy import select

from ..auth.access import ANY_STAFF, public, roles
from ..errors import NotFound
from ..extensions import db
from ..models import Meeting, Vote, VoteState
from ..qr import qr_png, qr_svg
from ..services import casting, certification, memorandum, outcome_words, record_export

bp = Blueprint("results", __name__)


def _meeting_by_key(key: str) -> Meeting:
    meeting = db.session.scalars(select(Meeting).where(Meeting.key == key)).first()
    if meeting is None:
        raise NotFound("There is no such meeting.", hint="Start from the home page.")
    return meeting


def _certified(vote_id: int) -> tuple[Vote, Any]:
    vote = db.session.get(Vote, vote_id)
    cert = certification.certificate_of(vote) if vote is not None else None
    if vote is None or cert is None or vote.state != VoteState.CERTIFIED:
        raise NotFound("There is no certified result at this address (yet).",
                       hint="Results appear here once the chair certifies them.")
    return vote, cert


def _base() -> str:
    return (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


def result_view(vote: Vote, cert: Any) -> dict[str, Any]:
    body = cert.document["body"]
    definition = casting.definition_of(vote)
    return {
        "vote": vote, "cert": cert, "body": body, "definition": definition,
        "headline": outcome_words.headline(body, definition),
        "count_lines": outcome_words.count_lines(body, definition),
        "explanation": outcome_words.explained(body, definition),
        "verify_url": f"{_base()}{url_for('results.certificate_page', vote_id=vote.id)}",
    }


@bp.get("/results/<meeting_key>")
@public
def meeting_results(meeting_key: str) -> Any:
    """Every certified result of a meeting, in agenda order, and the record to check them with."""
    meeting = _meeting_by_key(meeting_key)
    rows = []
    for item in meeting.agenda:
        votes = db.session.scalars(select(Vote).where(Vote.agenda_item_id == item.id, Vote.state == VoteState.CERTIFIED)
                                   .order_by(Vote.round)).all()
        rows.append((item, [result_view(v, certification.certificate_of(v)) for v in votes]))
    return render_template("results/meeting.html", meeting=meeting, rows=rows)


@bp.get("/results/<meeting_key>/record.json")
@public
def record(meeting_key: str) -> Any:
    """The election record: certified votes, their ballots, checkpoints and the key registry."""
    meeting = _meeting_by_key(meeting_key)
    data = record_export.build_record(meeting, certified_only=True)
    return Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="record-{meeting.key}.json"'})


@bp.get("/results/votes/<int:vote_id>/certificate")
@public
def certificate_page(vote_id: int) -> Any:
    """The printable certificate: the result, the rule in words, signatures and a QR of its hash."""
    vote, cert = _certified(vote_id)
    view = result_view(vote, cert)
    qr = qr_svg(f"{view['verify_url']}#sha256={cert.sha256}", label="QR code of the certificate's address and hash")
    return render_template("results/certificate.html", qr=qr, **view)


@bp.get("/results/votes/<int:vote_id>/certificate.json")
@public
def certificate_json(vote_id: int) -> Any:
    _vote, cert = _certified(vote_id)
    return Response(json.dumps(cert.document, ensure_ascii=False, indent=1), mimetype="application/json")


@bp.get("/results/votes/<int:vote_id>/qr.png")
@public
def certificate_qr(vote_id: int) -> Any:
    vote, cert = _certified(vote_id)
    url = f"{_base()}{url_for('results.certificate_page', vote_id=vote.id)}#sha256={cert.sha256}"
    return Response(qr_png(url, box_size=8), mimetype="image/png")


@bp.get("/results/votes/<int:vote_id>/certificate.pdf")
@public
def certificate_pdf(vote_id: int) -> Any:
    from ..services.certificate_pdf import render

    vote, cert = _certified(vote_id)
    pdf = render(result_view(vote, cert))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-v{vote.id}.pdf"'})


@bp.get("/chair/meetings/<int:meeting_id>/memorandum")
@roles(*ANY_STAFF)
def memorandum_page(meeting_id: int) -> Any:
    """The meeting memorandum draft, in the manner of the handbook's 2016 memorandum."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("There is no such meeting.")
    return render_template("results/memorandum.html", meeting=meeting, text=memorandum.draft(meeting),
                           entries=memorandum.entries(meeting))


@bp.get("/chair/meetings/<int:meeting_id>/memorandum.md")
@roles(*ANY_STAFF)
def memorandum_md(meeting_id: int) -> Any:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("There is no such meeting.")
    return Response(memorandum.draft(meeting), mimetype="text/markdown",
                    headers={"Content-Disposition": f'attachment; filename="memorandum-{meeting.key}.md"'})
