"""Resolutions by written consent (Art. 16.3): the Secretariat drafts, sends, follows and reminds;
each voting representative follows a personal link to the answer page and signs on the phone;
the chair certifies in the console like any vote (docs/secretariat-consent.md)."""

from __future__ import annotations

import re
import secrets
from functools import partial
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ballots.rules import available_rule_sets

from ..assembly.casting import _member_ballot
from ..auth.access import ANY_STAFF, public, roles
from ..auth.principal import DelegateUser
from ..errors import Conflict, DomainError, Invalid, NotFound
from ..extensions import db, limiter, writing
from ..models import Delegate, Resolution, VoteState
from ..qr import qr_svg
from ..services import consent, identity, outcome_words
from ..services.casting import definition_of
from ..services.identity import delegate_ref
from .forms import ResolutionForm

bp = Blueprint("consent", __name__)

TOKEN_LIMIT = "60 per minute"
SIGNIN_CHALLENGE = "consent_signin"  # session key: the one-time challenge a phone signs to sign in
LINK_ACTIONS = {"email": "E-mail a new link", "show": "Show a new link on screen", "lost-phone": "Lost phone"}


def _settled(resolution_id: int) -> Resolution:
    """The resolution, closed first if its deadline has passed (on a GET too: its own short writing
    transaction, so that nobody sees a resolution still open after its deadline)."""
    resolution = consent.get(resolution_id)
    if consent.is_overdue(resolution):
        db.session.rollback()
        with writing():
            consent.close_if_due(consent.get(resolution_id))
            db.session.commit()
        resolution = consent.get(resolution_id)
    return resolution


def _form(resolution: Resolution | None) -> ResolutionForm:
    form = ResolutionForm(rule_sets=available_rule_sets())
    if request.method == "GET":
        if resolution is not None:
            form.title.data, form.text.data = resolution.title, resolution.text
            form.attachments.data = consent.attachments_text(resolution.attachments)
            form.rule.data, form.rule_set.data = resolution.rule.value, resolution.rule_set
            from ..services.meetings import local_input

            form.deadline.data = local_input(resolution.deadline_at, resolution.utc_offset_minutes)
        else:
            form.rule_set.data = consent.default_rule_set()
    return form


def _values(form: ResolutionForm) -> dict[str, Any]:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


def _refused(err: DomainError, template: str, **context: Any) -> tuple[str, int]:
    flash(f"{err.message} {err.hint}".strip(), "error")
    return render_template(template, **context), 409 if isinstance(err, Conflict) else 422


# ---------------------------------------------------------------- the Secretariat


@bp.get("/resolutions")
@roles(*ANY_STAFF)
def resolutions() -> Any:
    """Every resolution by written consent: drafts, those collecting answers, and decided ones."""
    rows = consent.all_resolutions()
    return render_template("consent/list.html", rows=rows, state_words=consent.state_words,
                           certified=consent.is_certified)


@bp.route("/resolutions/new", methods=["GET", "POST"])
@roles("secretariat")
def new() -> Any:
    """Draft a resolution: title, full text, links to attachments, the rule and the deadline."""
    form = _form(None)
    if request.method == "POST":
        if not form.validate():
            flash("Some fields need correcting; they are marked below.", "error")
            return render_template("consent/form.html", form=form, resolution=None), 422
        try:
            resolution = consent.create_draft(_values(form))
        except DomainError as err:
            return _refused(err, "consent/form.html", form=form, resolution=None)
        flash("The draft is saved. Read it through, then send it to the Executive Committee.", "success")
        return redirect(url_for(".detail", resolution_id=resolution.id))
    return render_template("consent/form.html", form=form, resolution=None)


@bp.route("/resolutions/<int:resolution_id>/edit", methods=["GET", "POST"])
@roles("secretariat")
def edit(resolution_id: int) -> Any:
    """Change a draft; a sent resolution's text is fixed (an edit after sending is a new resolution)."""
    resolution = consent.get(resolution_id)
    if not resolution.is_draft:
        consent._refuse_sent(resolution)
    form = _form(resolution)
    if request.method == "POST":
        if not form.validate():
            flash("Some fields need correcting; they are marked below.", "error")
            return render_template("consent/form.html", form=form, resolution=resolution), 422
        try:
            consent.update_draft(resolution, _values(form))
        except DomainError as err:
            return _refused(err, "consent/form.html", form=form, resolution=resolution)
        flash("The draft is updated.", "success")
        return redirect(url_for(".detail", resolution_id=resolution.id))
    return render_template("consent/form.html", form=form, resolution=resolution)


@bp.get("/resolutions/<int:resolution_id>")
@roles(*ANY_STAFF)
def detail(resolution_id: int) -> Any:
    """A draft to read and send, or the progress of a sent resolution: who has answered, by member."""
    resolution = _settled(resolution_id)
    prog = consent.progress(resolution)
    vote = resolution.vote
    certificate = None
    if vote is not None and vote.state == VoteState.CERTIFIED:
        from ..services import certification

        certificate = certification.certificate_of(vote)
    return render_template(
        "consent/detail.html", r=resolution, p=prog, state=consent.state_words(resolution),
        rule_words=consent.RULE_WORDS[resolution.rule], threshold=consent.threshold_words(resolution, prog.total),
        current_hash=consent.text_hash(resolution.text), when=lambda t: consent.when(t, resolution),
        short=lambda t: consent.short_when(t, resolution), utc_words=consent.offset_words(resolution),
        named=_namer(prog), certificate=certificate, answer_words=consent.ANSWER_WORDS, link_actions=LINK_ACTIONS,
        overdue=consent.is_overdue(resolution))


def _namer(prog: consent.Progress) -> Any:
    """The tally's explanation names members by ref ('m5'); the page says their names."""
    return partial(outcome_words.in_words, labels={row.ref: row.member.name for row in prog.rows})


@bp.post("/resolutions/<int:resolution_id>/send")
@roles("secretariat")
def send(resolution_id: int) -> Any:
    """Send: the Secretariat confirms the text's hash it read; the text is then fixed."""
    resolution = consent.get(resolution_id)
    if request.form.get("confirm") != "yes":
        raise Invalid("Tick the box to confirm you have read the text whose SHA-256 is shown; nothing was sent.")
    report = consent.send(resolution, request.form.get("text_sha256", ""), email=request.form.get("email") == "yes")
    _flash_report(report, "Sent")
    return redirect(url_for(".detail", resolution_id=resolution.id))


def _flash_report(report: consent.SendReport, verb: str) -> None:
    people = len(report.issued)
    text = (f"{verb}: {people} personal link{'s' if people != 1 else ''} for {report.members} "
            f"member{'s' if report.members != 1 else ''}")
    text += f", {report.mailed} e-mailed." if report.mailed or report.failures else " (not e-mailed: print the sheet)."
    flash(text, "success")
    for delegate, message in report.failures:
        flash(f"{delegate.display_name} ({delegate.member.name}): {message}", "error")
    if report.without_representative:
        names = ", ".join(m.name for m in report.without_representative)
        flash(f"No voting representative is on the roster for: {names}. They cannot answer until one is added "
              "and given a link.", "error")


@bp.post("/resolutions/<int:resolution_id>/copy")
@roles("secretariat")
def copy(resolution_id: int) -> Any:
    """An edit after sending is a new resolution: a new draft with the same text, to change and send."""
    draft = consent.copy_as_draft(consent.get(resolution_id))
    flash(f"A new draft (resolution {draft.id}) holds the same text. Change it, then send it; the original stays "
          "as it was sent.", "success")
    return redirect(url_for(".edit", resolution_id=draft.id))


@bp.post("/resolutions/<int:resolution_id>/discard")
@roles("secretariat")
def discard(resolution_id: int) -> Any:
    resolution = consent.get(resolution_id)
    title = resolution.title
    consent.discard_draft(resolution)
    flash(f"The draft “{title}” is discarded.", "success")
    return redirect(url_for(".resolutions"))


@bp.post("/resolutions/<int:resolution_id>/remind")
@roles("secretariat")
def remind(resolution_id: int) -> Any:
    """E-mail a new link to the voting representatives of every member that has not answered."""
    resolution = _settled(resolution_id)
    report = consent.remind(resolution)
    _flash_report(report, "Reminders sent")
    return redirect(url_for(".detail", resolution_id=resolution.id))


@bp.post("/resolutions/<int:resolution_id>/links/<int:delegate_id>")
@roles("secretariat")
def link_action(resolution_id: int, delegate_id: int) -> Any:
    """One representative's new link: e-mailed, shown on screen, or (lost phone) after switching off their key."""
    resolution = _settled(resolution_id)
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None:
        raise NotFound(f"There is no delegate number {delegate_id}.")
    action = request.form.get("action", "")
    issued = consent.new_link(resolution, delegate, action)
    if action == "show":
        return render_template("consent/link_qr.html", r=resolution, issued=issued,
                               qr=qr_svg(issued.url, label=f"Personal link of {delegate.display_name}"),
                               entry=consent_entry(issued.url), deadline=consent.when(resolution.deadline_at, resolution))
    what = "Their phone's key is switched off; the new link sets up a new phone." if action == "lost-phone" else \
        "Earlier links keep working on the phone that holds their key."
    flash(f"E-mailed a new link to {delegate.display_name} at {delegate.email}. {what}", "success")
    return redirect(url_for(".detail", resolution_id=resolution.id, _anchor=f"m{delegate.member_id}"))


def consent_entry(url: str) -> str:
    from ..services.badges import typed_entry

    return typed_entry(url)


@bp.get("/resolutions/<int:resolution_id>/sheet")
@roles("secretariat")
def sheet_form(resolution_id: int) -> Any:
    """Confirm before printing: the sheet gives every representative (or one member's) a new link."""
    resolution = consent.get(resolution_id)
    return render_template("consent/sheet.html", r=resolution, members=consent.roll_members(resolution), error="")


@bp.post("/resolutions/<int:resolution_id>/sheet.pdf")
@roles("secretariat")
def sheet_pdf(resolution_id: int) -> Any:
    resolution = consent.get(resolution_id)
    if resolution.is_draft:
        raise Conflict("Send the resolution before printing its links.", hint="Its links exist once it is sent.")
    if request.form.get("confirm") != "yes":
        return render_template("consent/sheet.html", r=resolution, members=consent.roll_members(resolution),
                               error="Tick the box to confirm that new links are issued."), 422
    member = request.form.get("member", "")
    if member and not re.fullmatch(r"[0-9]{1,9}", member):
        raise Invalid("Choose a member from the list, or every member.")
    pdf = consent.sheet_pdf(resolution, int(member) if member else None)
    name = f"written-consent-{resolution.id}-links.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='-._')}"})


# ---------------------------------------------------------------- the delegates


@bp.route("/consent", methods=["GET", "POST"])
@public
@limiter.limit(TOKEN_LIMIT, methods=["POST"])
def typed() -> Any:
    """The typed fallback: the code printed under the QR code."""
    if request.method == "POST":
        token = identity.normalize_token(request.form.get("code", ""))
        consent.find_link(token)
        return redirect(url_for(".link_page", link=token))
    return render_template("consent/typed.html")


@bp.get("/consent/<link>")
@public
@limiter.limit(TOKEN_LIMIT)
def link_page(link: str) -> Any:
    """What a personal link opens: sign in with the key this phone holds, or set up this phone."""
    row = consent.find_link(link)
    state = consent.link_state(row)
    challenge = secrets.token_hex(32)
    session[SIGNIN_CHALLENGE] = {"link": row.id, "challenge": challenge}
    resolution = row.resolution
    return render_template(
        "consent/link.html", state=state, r=resolution, delegate=row.delegate, token=identity.normalize_token(link),
        holder=delegate_ref(row.delegate)[0], challenge=challenge, enrol_challenge=consent.enrolment_challenge(row),
        deadline=consent.when(resolution.deadline_at, resolution),
        # A phone without the key that cannot set itself up either: a forwarded link, or an outdated one.
        refusal=consent.forwarded_message(row.delegate) if state.key else state.enrol_problem)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(_("The request must be a JSON object."), hint=_("Reload the page and try again."))
    return body


def _signed_in(row_token: str, key: Any) -> Any:
    delegate = key.delegate
    link = consent.find_link(row_token)
    logout_user()
    login_user(DelegateUser(delegate, key, consent.session_until(link.resolution)))
    return jsonify({"ok": True, "key_id": key.key_id, "holder": delegate_ref(delegate)[0],
                    "delegate": delegate.display_name, "member": delegate.member.name,
                    "next": url_for(".answer", resolution_id=link.resolution_id)})


@bp.post("/api/consent/signin")
@public
@limiter.limit(TOKEN_LIMIT)
def api_signin() -> Any:
    """{"link", "key", "signature"}: the phone signed this page's one-time challenge with its key."""
    body = _json_body()
    token = str(body.get("link", ""))
    row = consent.find_link(token)
    seen = session.pop(SIGNIN_CHALLENGE, None)
    challenge = seen.get("challenge", "") if isinstance(seen, dict) and seen.get("link") == row.id else ""
    if not challenge:
        raise Invalid(_("This page has expired."), hint=_("Open your link again."))
    key = consent.sign_in(token, str(body.get("key", "")), str(body.get("signature", "")), challenge)
    return _signed_in(token, key)


@bp.post("/api/consent/enrol")
@public
@limiter.limit(TOKEN_LIMIT)
def api_enrol() -> Any:
    """{"link", "public_key", "signature", "device"}: set up this phone through a link that can."""
    body = _json_body()
    token = str(body.get("link", ""))
    key = consent.enrol(token, str(body.get("public_key", "")), str(body.get("signature", "")),
                        str(body.get("device", "")))
    return _signed_in(token, key)


@bp.get("/consent/answer/<int:resolution_id>")
@roles("delegate")
def answer(resolution_id: int) -> Any:
    """The full text, the attachments and three answers; the phone signs the chosen one."""
    resolution = _settled(resolution_id)
    if resolution.vote is None:
        raise NotFound(_("This resolution has not been sent yet."), hint=_("Open the link the Secretariat sent you."))
    vote = resolution.vote
    definition = definition_of(vote)
    delegate = current_user.delegate
    ref = delegate_ref(delegate)[1]
    on_roll = ref in {m["id"] for m in definition["roll"]["members"]}
    mine = _member_ballot(vote, ref)
    by = db.session.get(Delegate, mine.delegate_id) if mine is not None else None
    late = next((x for x in consent.late_answers(resolution) if x.member_ref == ref), None)
    total = definition["roll"]["total"]
    return render_template(
        "consent/answer.html", r=resolution, vote=vote, definition=definition, delegate=delegate, on_roll=on_roll,
        mine=mine, answered_by=by, late=late, threshold=consent.threshold_words(resolution, total),
        when=lambda t: consent.when(t, resolution), state=consent.state_words(resolution))
