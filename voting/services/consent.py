"""Resolutions of the Executive Committee by written consent (Art. 16.3; STATUTE_RULES.md §3, §4, I-5).

The Secretariat drafts a resolution; sending fixes its text (and the text's SHA-256) and opens a
vote of kind "written-consent" under a pseudo-meeting of the EXCOM ("consent-<id>"), so that the
ballots, log, checkpoints, receipts, certificates, results and record of meeting votes serve it
unchanged. Its roll lists every member seated on the day of sending, all "present": no quorum
applies and the threshold is a fraction of all members.

Answers are signed ballots (choice consent / object / abstain) accepted by casting.cast, which
calls check_answer before and after_answer after logging one. The resolution is adopted at the
moment the threshold is reached (the answer's time of receipt, certified); the vote then closes.
At the deadline without it, it is not adopted (close_if_due: the `voting consent close-due`
command, and every progress page or answer that finds it overdue). An answer after adoption or
after the deadline is refused, kept as a LateAnswer and published, never counted.

Personal links (docs/secretariat-consent.md "Links and phones"): one per voting representative,
/consent/<code>. For a representative without a device key the code is also a single-use
enrolment code (identity.issue_token), so the link sets up the phone; for one with a key, the link
only signs in a phone that proves it holds that key (it signs a one-time challenge, SIGNIN_LABEL).
A forwarded link opened on another phone is refused. The server never signs an answer.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ballots.canonical import Ballot as SignedBallot
from ballots.canonical import canonical_bytes, parse_ballot
from ballots.checkpoint import Checkpoint, vote_origin
from ballots.log import CompactRange
from ballots.recount import tally_votes
from ballots.rules import RuleSet, RuleSetError, Threshold, available_rule_sets, load_rule_set
from ballots.signatures import InvalidKey, PublicKey, b64url_decode, b64url_encode
from ballots.tally import ABSTAIN, CONSENT, OBJECT, CaseError, Decision, Outcome

from ..errors import N_, Conflict, DomainError, Forbidden, Invalid, NotFound
from ..extensions import db
from ..keys import org_key
from ..models import (
    AgendaItem,
    Ballot,
    Body,
    ConsentLink,
    ConsentRule,
    DecisionKind,
    Delegate,
    DeviceKey,
    LateAnswer,
    Meeting,
    Member,
    Resolution,
    ResolutionState,
    SignedCheckpoint,
    Vote,
    VoteKind,
    VoteState,
    utcnow,
)
from . import audit, identity
from . import roster as roster_service
from .casting import BallotRefused, definition_of, member_ref, vote_ref

ANSWERS = (CONSENT, OBJECT, ABSTAIN)
ANSWER_WORDS = {CONSENT: "Consent", OBJECT: "Object", ABSTAIN: "Abstain"}
RULE_WORDS = {
    ConsentRule.WRITTEN_CONSENT: "Resolution by written consent (Art. 16.3)",
    ConsentRule.DISSOLVE_REGIONAL_OFFICE: "Dissolving a regional office in writing (Art. 13.6(b))",
    ConsentRule.SPECIAL_SESSION: "Approving a special session of the General Assembly in writing (Art. 10.8)",
}
# What a phone signs (after this label) to prove it holds the delegate's key when following a link.
SIGNIN_LABEL = b"wego-signin/v1\n"
LINK_LABEL = b"wego-consent-link/v1\n"
MEETING_KEY = "consent-{id}"
CLOSED_AT_ADOPTION = "rule:threshold-reached"
CLOSED_AT_DEADLINE = "rule:deadline"
SESSION_GRACE = timedelta(days=1)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _local(moment: datetime, offset_minutes: int) -> datetime:
    return moment.astimezone(timezone(timedelta(minutes=offset_minutes)))


def when(moment: datetime | None, resolution: Resolution) -> str:
    """A time as the Secretariat's clock shows it, with its offset."""
    from ..templating import fmt_datetime

    return fmt_datetime(moment, resolution.utc_offset_minutes)


def short_when(moment: datetime | None, resolution: Resolution) -> str:
    """'28 Nov, 05:46' on the Secretariat's clock (the page says the offset once)."""
    if moment is None:
        return ""
    local = _local(moment, resolution.utc_offset_minutes)
    return f"{local:%d %b, %H:%M}"


def offset_words(resolution: Resolution) -> str:
    minutes = resolution.utc_offset_minutes
    hh, mm = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{hh:02d}:{mm:02d}"


def forwarded_message(delegate: Delegate) -> str:
    return _("This link is for %(name)s's phone; answer from the phone that holds your key, "
             "or ask the Secretariat for a new link.", name=delegate.display_name)


# ---------------------------------------------------------------- rules and thresholds


# A threshold as the statute says it (ballots.rules.Threshold.words), to be translated.
THRESHOLD_PHRASES = {words: words for words in (
    N_("one half or more"), N_("more than one half"), N_("two thirds or more"), N_("more than two thirds"),
    N_("three fourths or more"), N_("more than three fourths"), N_("one third or more"), N_("more than one third"),
)}


def threshold_of(rule_set: RuleSet, rule: ConsentRule | str) -> Threshold:
    """The fraction of all EXCOM members whose consent the rule needs (STATUTE_RULES.md §3, §4)."""
    rule = ConsentRule(rule)
    if rule == ConsentRule.DISSOLVE_REGIONAL_OFFICE:
        return rule_set.dissolve_regional_office.in_writing
    if rule == ConsentRule.SPECIAL_SESSION:
        return rule_set.special_session.approval
    return rule_set.written_consent.consent


def threshold_words(resolution: Resolution, total: int | None = None) -> str:
    """'Two thirds or more of all 14 members must consent: at least 10 (Art. 16.3).'"""
    from ..templating import fmt_number

    t = threshold_of(load_rule_set(resolution.rule_set), resolution.rule)
    if t.words == "all":
        if total:
            return _("Every one of the %(total)s members must consent (%(article)s).", total=fmt_number(total),
                     article=t.article)
        return _("Every member must consent (%(article)s).", article=t.article)
    phrase = _(THRESHOLD_PHRASES[t.words]) if t.words in THRESHOLD_PHRASES else t.words
    if total:
        text = _("%(threshold)s of all %(total)s members must consent: at least %(required)s (%(article)s).",
                 threshold=phrase, total=fmt_number(total), required=fmt_number(t.required(total)), article=t.article)
    else:
        text = _("%(threshold)s of all members must consent (%(article)s).", threshold=phrase, article=t.article)
    return text[:1].upper() + text[1:]


def _check_rule(rule_set_id: str, rule: ConsentRule) -> None:
    try:
        rs = load_rule_set(rule_set_id)
    except RuleSetError:
        raise Invalid(f"Unknown rule set '{rule_set_id}'; use one of: {', '.join(available_rule_sets())}.") from None
    if rule == ConsentRule.SPECIAL_SESSION and rs.special_session.approval.of != "all_members":
        raise Invalid(f"Under {rs.id} a special session is approved by the members present at a meeting "
                      f"({rs.special_session.article}); it cannot be approved in writing.",
                      hint="Choose another rule, or put it on the agenda of an Executive Committee meeting.")


def default_rule_set() -> str:
    """The rule set of the newest meeting (the statute in force), else the newest rule set."""
    newest = db.session.scalars(select(Meeting).where(~Meeting.key.like("consent-%"))
                                .order_by(Meeting.starts_at.desc())).first()
    sets = available_rule_sets()
    return newest.rule_set if newest is not None and newest.rule_set in sets else sets[-1]


# ---------------------------------------------------------------- drafting


def normalize_text(raw: Any) -> str:
    """The text as stored and hashed: line ends as \\n, no trailing blanks at line ends or at the end."""
    text = str(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def text_hash(text: str) -> str:
    """The SHA-256 (hex) of the text's UTF-8 bytes: what 'the text's hash' means everywhere."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_attachments(raw: Any) -> list[dict[str, str]]:
    """One attachment a line: 'Label | https://…' or just the address."""
    if isinstance(raw, list):
        lines = [f"{a.get('label', '')} | {a.get('url', '')}" if isinstance(a, Mapping) else str(a) for a in raw]
    else:
        lines = str(raw or "").splitlines()
    out = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        label, _, url = line.rpartition("|") if "|" in line else ("", "", line)
        label, url = label.strip(), url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in url):
            raise Invalid(f"Attachment line {n}: '{url}' is not a web address starting with https://.",
                          hint="Write one attachment a line, as: Budget 2026 | https://we-gov.org/files/budget.pdf")
        if len(label) > 200 or len(url) > 1000:
            raise Invalid(f"Attachment line {n} is too long (at most 200 characters of label, 1000 of address).")
        out.append({"label": label or url, "url": url})
    if len(out) > 20:
        raise Invalid("A resolution can link at most 20 attachments.")
    return out


def attachments_text(attachments: Sequence[Mapping[str, str]]) -> str:
    return "\n".join(f"{a['label']} | {a['url']}" if a["label"] != a["url"] else a["url"] for a in attachments)


def _deadline(raw: Any) -> datetime:
    """An aware time from '2026-03-31T18:00+09:00': the offset says whose clock the deadline is on."""
    if isinstance(raw, datetime):
        value = raw
    else:
        try:
            value = datetime.fromisoformat(str(raw or "").strip())
        except ValueError:
            raise Invalid(f"The deadline '{raw}' is not a date and time like 2026-03-31T18:00+09:00.") from None
    if value.tzinfo is None:
        raise Invalid("The deadline needs its UTC offset, like 2026-03-31T18:00+09:00 (Seoul time).")
    if not 2000 <= value.year <= 2999:
        raise Invalid(f"The deadline '{raw}' is not a plausible date.", hint="Write it like 2026-03-31T18:00+09:00.")
    return value


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    title = roster_service._text(values, "title", required=True, limit=300)
    text = normalize_text(values.get("text"))
    if not text:
        raise Invalid("Write the full text of the resolution.")
    if len(text) > 50_000:
        raise Invalid("The text is longer than 50,000 characters; link long documents as attachments.")
    try:
        rule = ConsentRule(str(values.get("rule") or ""))
    except ValueError:
        raise Invalid("Choose the rule that decides the resolution.") from None
    rule_set = roster_service._text(values, "rule_set", required=True, limit=60)
    _check_rule(rule_set, rule)
    deadline = _deadline(values.get("deadline"))
    offset = deadline.utcoffset() or timedelta(0)
    return {"title": title, "text": text, "attachments": parse_attachments(values.get("attachments")),
            "rule": rule, "rule_set": rule_set, "deadline_at": deadline.astimezone(UTC),
            "utc_offset_minutes": int(offset.total_seconds() // 60)}


def create_draft(values: Mapping[str, Any]) -> Resolution:
    clean = _values(values)
    now = utcnow()
    resolution = Resolution(**clean, state=ResolutionState.DRAFT, created_at=now, updated_at=now,
                            created_by=audit.current_actor())
    db.session.add(resolution)
    audit.record("resolution.draft", resolution, None)
    return resolution


def _refuse_sent(resolution: Resolution) -> NoReturn:
    raise Conflict(f"This resolution was sent on {when(resolution.sent_at, resolution)}; its text is fixed "
                   f"(SHA-256 {resolution.text_sha256}). An edit after sending is a new resolution.",
                   hint="Use 'Copy into a new draft' on the resolution's page, change the copy and send it.")


def update_draft(resolution: Resolution, values: Mapping[str, Any]) -> Resolution:
    if not resolution.is_draft:
        _refuse_sent(resolution)
    clean = _values(values)
    before = audit.snapshot(resolution)
    for key, value in clean.items():
        setattr(resolution, key, value)
    if audit.snapshot(resolution) != before:
        resolution.updated_at = utcnow()
        audit.record("resolution.edit", resolution, before)
    return resolution


def copy_as_draft(resolution: Resolution) -> Resolution:
    """A new draft with the same text (an edit after sending is a new resolution)."""
    deadline = max(resolution.deadline_at, utcnow() + timedelta(days=7))
    now = utcnow()
    copy = Resolution(title=resolution.title, text=resolution.text, attachments=list(resolution.attachments),
                      rule=resolution.rule, rule_set=resolution.rule_set, deadline_at=deadline,
                      utc_offset_minutes=resolution.utc_offset_minutes, state=ResolutionState.DRAFT,
                      created_at=now, updated_at=now, created_by=audit.current_actor(), copied_from_id=resolution.id)
    db.session.add(copy)
    audit.record("resolution.copy", copy, None)
    return copy


def discard_draft(resolution: Resolution) -> None:
    if not resolution.is_draft:
        raise Conflict("A sent resolution is kept for the record; it cannot be discarded.")
    for copy in db.session.scalars(select(Resolution).where(Resolution.copied_from_id == resolution.id)):
        copy.copied_from_id = None  # its copies stay, without the link to a draft that is gone
    audit.record("resolution.discard", resolution, audit.snapshot(resolution))
    db.session.delete(resolution)
    db.session.flush()


def get(resolution_id: int) -> Resolution:
    resolution = db.session.get(Resolution, resolution_id)
    if resolution is None:
        raise NotFound(f"There is no resolution number {resolution_id}.", hint="Choose one from the list of resolutions.")
    return resolution


def all_resolutions() -> list[Resolution]:
    return list(db.session.scalars(select(Resolution).order_by(Resolution.created_at.desc(), Resolution.id.desc())))


def of_vote(vote: Vote) -> Resolution:
    resolution = db.session.scalars(select(Resolution).where(Resolution.vote_id == vote.id)).first()
    if resolution is None:
        raise NotFound("This written-consent vote belongs to no resolution.")
    return resolution


# ---------------------------------------------------------------- who answers


def members_on(day: date) -> list[Member]:
    """The EXCOM members seated on that day, in good standing (roster.excom_members_on)."""
    return roster_service.excom_members_on(day)


def sending_day(resolution: Resolution, now: datetime | None = None) -> date:
    return _local(now or utcnow(), resolution.utc_offset_minutes).date()


def representatives(member: Member) -> list[Delegate]:
    """A member's voting representatives: whichever of them answers, the member has one answer."""
    return [d for d in member.delegates if d.is_active and d.is_voting]


def roll_members(resolution: Resolution) -> list[Member]:
    """The members on the resolution's roll (as frozen when sent), or who would be if sent today."""
    if resolution.vote is not None:
        ids = [int(m["id"][1:]) for m in definition_of(resolution.vote)["roll"]["members"]]
        by_id = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}
        return [by_id[i] for i in ids if i in by_id]
    return members_on(sending_day(resolution))


# ---------------------------------------------------------------- sending


@dataclass
class SendReport:
    """What sending (or reminding) did: the links issued, the e-mails sent and those that failed."""

    issued: list[IssuedLink] = field(default_factory=list)
    mailed: int = 0
    failures: list[tuple[Delegate, str]] = field(default_factory=list)
    without_representative: list[Member] = field(default_factory=list)

    @property
    def members(self) -> int:
        return len({i.delegate.member_id for i in self.issued})


def send(resolution: Resolution, confirm_sha256: str, *, email: bool = True) -> SendReport:
    """Fix the text, open the written-consent vote, and issue (and e-mail) every personal link."""
    if not resolution.is_draft:
        _refuse_sent(resolution)
    current = text_hash(resolution.text)
    if (confirm_sha256 or "").strip().lower() != current:
        raise Conflict("The text changed since you reviewed it, so it was not sent.",
                       hint=f"Read the text again: its SHA-256 is now {current}. Then confirm and send.")
    now = utcnow()
    if resolution.deadline_at <= now + timedelta(minutes=10):
        raise Invalid(f"The deadline {when(resolution.deadline_at, resolution)} is past or too close; nothing was sent.",
                      hint="Edit the draft and set a deadline that leaves the members time to answer.")
    _check_rule(resolution.rule_set, resolution.rule)
    day = sending_day(resolution, now)
    members = members_on(day)
    if not members:
        raise Invalid(f"No member holds an Executive Committee seat on {day:%d %b %Y}, so nobody could answer.",
                      hint="Check the EXCOM seats on the roster first.")
    key = MEETING_KEY.format(id=resolution.id)
    if db.session.scalars(select(Meeting).where(Meeting.key == key)).first() is not None:
        raise Conflict(f"A meeting named {key} already exists; the resolution cannot be filed under it.",
                       hint="Rename that meeting (its short name) and send again.")
    title = f"Written consent: {resolution.title}"
    meeting = Meeting(key=key, body=Body.EXCOM, rule_set=resolution.rule_set,
                      title=title if len(title) <= 200 else title[:199] + "…", starts_at=now,
                      ends_at=resolution.deadline_at, utc_offset_minutes=resolution.utc_offset_minutes)
    item = AgendaItem(meeting=meeting, number="1", position=1, title=resolution.title,
                      decision=DecisionKind.WRITTEN_CONSENT, summary="")
    db.session.add_all([meeting, item])
    db.session.flush()
    before = audit.snapshot(resolution)
    resolution.text_sha256 = current
    resolution.vote = _open_vote(resolution, item, members, now)
    resolution.meeting = meeting
    resolution.state, resolution.sent_at, resolution.sent_by = ResolutionState.SENT, now, audit.current_actor()
    audit.record("resolution.send", resolution, before)
    report = SendReport()
    for member in members:
        reps = representatives(member)
        if not reps:
            report.without_representative.append(member)
        for delegate in reps:
            report.issued.append(issue_link(resolution, delegate, "invitation"))
    if email:
        _mail_all(resolution, report, reminder=False)
    return report


def _open_vote(resolution: Resolution, item: AgendaItem, members: list[Member], now: datetime) -> Vote:
    """The written-consent vote, with a definition of open_vote's shape (docs/record-format.md)."""
    meeting = item.meeting
    seq, head = identity.registry_head()
    vote = Vote(meeting=meeting, agenda_item=item, round=1, kind=VoteKind.WRITTEN_CONSENT, question=resolution.title,
                state=VoteState.OPEN, definition=b"", definition_sha256=secrets.token_hex(32),  # replaced below
                opened_at=now, opened_by=audit.current_actor(), log_size=0, log_state=CompactRange().to_json(),
                checkpoint=None)
    db.session.add(vote)
    db.session.flush()
    ref = vote_ref(vote)
    origin = vote_origin(str(current_app.config["LOG_ORIGIN"]), ref)
    refs = [member_ref(m) for m in members]
    definition = {
        "v": 1,
        "vote": ref,
        "origin": origin,
        "meeting": {"key": meeting.key, "title": meeting.title, "body": meeting.body.value},
        "agenda_item": {"number": item.number, "title": item.title, "decision": item.decision.value},
        "round": 1,
        "kind": VoteKind.WRITTEN_CONSENT.value,
        "question": resolution.title,
        "text": resolution.text,
        "text_sha256": text_hash(resolution.text),
        "attachments": [{"label": a["label"], "url": a["url"]} for a in resolution.attachments],
        "deadline": _rfc3339(resolution.deadline_at),
        "rule": resolution.rule.value,
        "options": [],
        "seats": None,
        "rule_set": resolution.rule_set,
        # Written consent counts all members (Art. 16.3): every one is on the roll as present; no quorum.
        "roll": {"members": [{"id": r, "name": m.name} for r, m in zip(refs, members, strict=True)],
                 "present": refs, "total": len(members), "quorum_required": 0},
        "registry": {"seq": seq, "head": head},
        "opened_at": _rfc3339(now),
        "secret": False,
    }
    vote.definition = canonical_bytes(definition)
    vote.definition_sha256 = hashlib.sha256(vote.definition).hexdigest()
    empty = Checkpoint(origin, 0, CompactRange().root()).sign(org_key())
    vote.checkpoint = empty.to_json()
    db.session.add(SignedCheckpoint(vote_id=vote.id, size=0, root=empty.root.hex(), body=empty.to_json()))
    db.session.flush()
    audit.append("vote.open", "vote", str(vote.id), None,
                 {"vote": ref, "definition_sha256": vote.definition_sha256, "present": len(refs),
                  "resolution": resolution.id})
    return vote


# ---------------------------------------------------------------- personal links


@dataclass(frozen=True)
class IssuedLink:
    token: str
    row: ConsentLink
    delegate: Delegate

    @property
    def url(self) -> str:
        return link_url(self.token)

    @property
    def typed(self) -> str:
        return identity.format_token(self.token)

    @property
    def sets_up_phone(self) -> bool:
        return self.row.enrolment_token_id is not None


def link_hash(token: str) -> str:
    return hashlib.sha256(LINK_LABEL + token.encode("ascii")).hexdigest()


def link_url(token: str) -> str:
    """https://HOST/consent/CODE: PUBLIC_BASE_URL when configured, else this request's address."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return str(base).rstrip("/") + "/consent/" + token
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for("consent.link_page", link=token, _external=True)
    raise Invalid("The address to print in the links is not configured.",
                  hint="Set PUBLIC_BASE_URL (for example https://vote.we-gov.org) in instance/config.py "
                       "or as VOTING_PUBLIC_BASE_URL, then try again.")


def issue_link(resolution: Resolution, delegate: Delegate, purpose: str) -> IssuedLink:
    """A new personal link. Without an active device key it also sets up a phone (once): it is then
    an enrolment code, valid until the deadline, and any earlier unused code of theirs stops working."""
    if resolution.state == ResolutionState.DRAFT:
        raise Conflict("Send the resolution before giving out links to it.")
    enrolment = None
    if identity.active_key(delegate=delegate) is None:
        issued = identity.issue_token(delegate, resolution.meeting)
        issued.record.expires_at = max(issued.record.expires_at, resolution.deadline_at)
        token, enrolment = issued.token, issued.record
    else:
        token = identity._encode(secrets.token_bytes(identity.TOKEN_BYTES))
    row = ConsentLink(resolution_id=resolution.id, delegate=delegate, token_hash=link_hash(token),
                      enrolment_token=enrolment, purpose=purpose, created_at=utcnow(),
                      created_by=audit.current_actor())
    db.session.add(row)
    db.session.flush()
    audit.append("consent_link.issue", "delegate", str(delegate.id), None,
                 {"resolution": resolution.id, "link": row.id, "purpose": purpose,
                  "sets_up_phone": enrolment is not None})
    return IssuedLink(token, row, delegate)


class LinkRefused(DomainError):
    """A personal link that cannot be used, saying why and what to do."""

    def __init__(self, reason: str, message: str, hint: str, status: int):
        super().__init__(message, hint=hint, status=status, reason=reason)
        self.reason = reason
        self.code = f"consent_link_{reason}"


def find_link(raw: str) -> ConsentLink:
    token = identity.normalize_token(raw)
    if not identity.TOKEN_RE.match(token):
        raise LinkRefused("malformed", _("This link is not complete or the code has a typing error."),
                          _("Open the link from the e-mail again, or type the code exactly as printed."), 400)
    link = db.session.scalars(select(ConsentLink).where(ConsentLink.token_hash == link_hash(token))).first()
    if link is None:
        raise LinkRefused("unknown", _("This is not a link we sent for a resolution."),
                          _("Check that you opened your own link. The Secretariat can send you a new one."), 404)
    if not link.delegate.is_active:
        raise LinkRefused("inactive", _("%(name)s is no longer on the roster.", name=link.delegate.display_name),
                          _("Ask the Secretariat."), 403)
    return link


@dataclass(frozen=True)
class LinkState:
    """What a phone following a link may do: sign in with the delegate's key, or set up a phone."""

    link: ConsentLink
    key: DeviceKey | None
    can_enrol: bool
    enrol_problem: str | None

    @property
    def delegate(self) -> Delegate:
        return self.link.delegate

    @property
    def resolution(self) -> Resolution:
        return self.link.resolution


def link_state(link: ConsentLink) -> LinkState:
    key = identity.active_key(delegate=link.delegate)
    record = link.enrolment_token
    problem = None
    if record is None:
        problem = forwarded_message(link.delegate)
    elif record.used_at is not None:
        problem = forwarded_message(link.delegate)
    elif record.revoked_at is not None:
        problem = _("A newer link replaced this one for setting up a phone. Use the newest e-mail or printed "
                    "sheet from the Secretariat, or ask the Secretariat for a new link.")
    elif record.expires_at <= utcnow():
        problem = _("This link could set up a phone until %(when)s. Ask the Secretariat for a new link.",
                    when=when(record.expires_at, link.resolution))
    return LinkState(link, key, problem is None, problem)


def enrolment_challenge(link: ConsentLink) -> str:
    """What the phone signs to set itself up through this link: the enrolment code's hash."""
    return link.enrolment_token.token_hash if link.enrolment_token is not None else ""


def enrol(raw_token: str, public_key_b64: str, signature_b64: str, device: str) -> DeviceKey:
    """Set up a phone through a link that can (its delegate's earlier key, if any, is revoked)."""
    link = find_link(raw_token)
    state = link_state(link)
    if not state.can_enrol:
        raise Forbidden(state.enrol_problem or forwarded_message(link.delegate))
    key = identity.enrol_delegate(identity.normalize_token(raw_token), public_key_b64, signature_b64, device)
    link.last_used_at = utcnow()
    return key


def signin_message(holder: str, key_id: str, challenge: str) -> bytes:
    """The bytes a phone signs after SIGNIN_LABEL to prove it holds the delegate's key."""
    return canonical_bytes({"v": 1, "delegate": holder, "key": key_id, "challenge": challenge})


def sign_in(raw_token: str, key_id: str, signature_b64: str, challenge: str) -> DeviceKey:
    """A phone holding the delegate's active key proves it by signing the one-time challenge."""
    link = find_link(raw_token)
    delegate = link.delegate
    key = identity.active_key(delegate=delegate)
    if key is None or key.key_id != key_id or not challenge:
        raise Forbidden(forwarded_message(delegate))
    try:
        signature = b64url_decode(signature_b64)
        valid = PublicKey.from_spki_b64(key.public_key).verify(
            SIGNIN_LABEL, signin_message(identity.delegate_ref(delegate)[0], key.key_id, challenge), signature)
    except (ValueError, InvalidKey):
        valid = False
    if not valid:
        raise Forbidden(forwarded_message(delegate))
    link.last_used_at = utcnow()
    audit.append("consent_link.sign_in", "delegate", str(delegate.id), None,
                 {"resolution": link.resolution_id, "link": link.id, "key": key.key_id})
    return key


def session_until(resolution: Resolution) -> int:
    """A delegate signed in through a link stays signed in until a day after the deadline."""
    end = (resolution.deadline_at + SESSION_GRACE).timestamp()
    return int(max(end, utcnow().timestamp() + 3600))


def latest_links(resolution: Resolution) -> dict[int, ConsentLink]:
    """Each representative's newest link of this resolution."""
    rows = db.session.scalars(select(ConsentLink).where(ConsentLink.resolution_id == resolution.id)
                              .order_by(ConsentLink.id)).all()
    return {r.delegate_id: r for r in rows}


# ---------------------------------------------------------------- e-mail, reminders, the sheet


def _mail_all(resolution: Resolution, report: SendReport, *, reminder: bool) -> None:
    from . import consent_mail

    for issued in report.issued:
        try:
            consent_mail.send_link(resolution, issued, reminder=reminder)
        except DomainError as err:
            issued.row.mail_error = err.message[:500]
            report.failures.append((issued.delegate, err.message))
        else:
            issued.row.emailed_at = utcnow()
            report.mailed += 1


def _need_open(resolution: Resolution, what: str) -> None:
    if resolution.is_draft:
        raise Conflict(f"Send the resolution before {what}.")
    if not resolution.is_open:
        raise Conflict(f"The resolution is closed ({state_words(resolution).lower()}); no {what} now.",
                       hint="Answers given now are recorded as late and not counted.")


def remind(resolution: Resolution) -> SendReport:
    """A new link by e-mail to each voting representative of the members that have not answered."""
    _need_open(resolution, "reminders")
    answered = answered_members(resolution)
    report = SendReport()
    for member in roll_members(resolution):
        if member_ref(member) in answered:
            continue
        reps = representatives(member)
        if not reps:
            report.without_representative.append(member)
        for delegate in reps:
            report.issued.append(issue_link(resolution, delegate, "reminder"))
    _mail_all(resolution, report, reminder=True)
    return report


def new_link(resolution: Resolution, delegate: Delegate, action: str) -> IssuedLink:
    """One representative's new link: e-mailed ("email"), shown on screen ("show"), or, for a lost
    phone, after switching off their key so that the link sets up a new one ("lost-phone")."""
    if resolution.is_draft:
        raise Conflict("Send the resolution before giving out links to it.")
    if not delegate.is_active or not delegate.is_voting or delegate.member not in roll_members(resolution):
        raise Conflict(f"{delegate.display_name} is not a voting representative of a member on this resolution's roll.")
    if action not in ("email", "show", "lost-phone"):
        raise Invalid("Choose E-mail a new link, Show a new link or Lost phone.")
    if action == "lost-phone":
        key = identity.active_key(delegate=delegate)
        if key is not None:
            identity.revoke_key(key, "lost phone: a new written-consent link sets up another")
    issued = issue_link(resolution, delegate, "lost-phone" if action == "lost-phone" else "new-link")
    if action in ("email", "lost-phone"):
        from . import consent_mail

        consent_mail.send_link(resolution, issued, reminder=False)  # a failure rolls the request back
        issued.row.emailed_at = utcnow()
    return issued


def sheet_pdf(resolution: Resolution, member_id: int | None = None) -> bytes:
    """The printable sheet: a new link (card with QR) for each voting representative, or one member's."""
    from . import badges

    if resolution.is_draft:
        raise Conflict("Send the resolution before printing its links.")
    members = [m for m in roll_members(resolution) if member_id is None or m.id == member_id]
    cards = []
    deadline = when(resolution.deadline_at, resolution)
    for member in members:
        for delegate in representatives(member):
            issued = issue_link(resolution, delegate, "sheet")
            url = issued.url
            cards.append(badges.Badge(
                city=member.name, country=member.country, name=delegate.display_name, role=badges.VOTING_ROLE,
                is_voting=True, meeting=f"Answer by {deadline}. Written consent: {resolution.title}", url=url,
                typed=issued.typed, entry=badges.typed_entry(url), expires=""))
    if not cards:
        raise Invalid("No voting representative is on the roster for this choice; nothing was printed.")
    printed = when(utcnow(), resolution)
    footer = (f"Resolution {resolution.id} · {len(cards)} personal link{'s' if len(cards) != 1 else ''} printed "
              f"{printed}; links to set up a phone given out earlier no longer do so")
    return badges.render_badges(cards, f"Written consent links: {resolution.title}", footer)


# ---------------------------------------------------------------- answers (called by casting.cast)


def _refuse(reason: str, message: str, status: int, hint: str = "", **details: Any) -> NoReturn:
    raise BallotRefused(reason, message, hint=hint, status=status, **details)


def check_answer(vote: Vote, definition: Mapping[str, Any], ballot: SignedBallot, data: bytes, digest: str,
                 signature: bytes, key: DeviceKey, delegate: Delegate, earlier: Ballot | None, seq: int) -> None:
    """The written-consent rules for a signed answer whose signature and key cast() has checked:
    an EXCOM member's voting representative, once per member, consent/object/abstain, in time.
    A late answer is stored (committed) as a LateAnswer, then refused."""
    resolution = of_vote(vote)
    member = delegate.member
    if ballot.member not in {m["id"] for m in definition["roll"]["members"]}:
        _refuse("not_excom_member", _("%(member)s is not a member of the Executive Committee on this resolution's "
                                      "roll, so it cannot answer. Resolutions by written consent are answered by the "
                                      "EXCOM members seated when the resolution was sent (Art. 16.3).",
                                      member=member.name), 403)
    if not delegate.is_voting:
        _refuse("not_representative", _("You attend for %(member)s without a vote; its voting representatives "
                                        "answer for it.", member=member.name), 403)
    if earlier is not None:
        who = db.session.get(Delegate, earlier.delegate_id)
        at = when(earlier.received_at, resolution)
        if who is not None and who.id == delegate.id:
            message = _("%(member)s already answered this resolution, on %(when)s by you. Each member answers once; "
                        "a signed answer is final.", member=member.name, when=at)
        else:
            message = _("%(member)s already answered this resolution, on %(when)s by its other representative, "
                        "%(name)s. Each member answers once; a signed answer is final.", member=member.name, when=at,
                        name=who.display_name if who else _("another representative"))
        _refuse("already_answered", message, 409, hint=_("One answer per member, whichever representative gives it."))
    late = db.session.scalars(select(LateAnswer).where(LateAnswer.vote_id == vote.id,
                                                       LateAnswer.member_ref == ballot.member)).first()
    if late is not None:
        if late.bytes_sha256 == digest:
            _refuse("late", _late_message(resolution, late.reason, late.received_at), 409, late=True)
        _refuse("already_answered", _("%(member)s already answered this resolution, on %(when)s, too late to count. "
                                      "Each member answers once.", member=member.name,
                                      when=when(late.received_at, resolution)), 409)
    choice = ballot.to_json()["choice"]
    if choice not in ANSWERS:
        _refuse("choice", _("'%(choice)s' is not an answer to a resolution; answer consent, object or abstain.",
                            choice=choice), 422)
    now = utcnow()
    if resolution.is_open and now > resolution.deadline_at:
        close_if_due(resolution, now)
    if not resolution.is_open or vote.state != VoteState.OPEN:
        reason = "adopted" if resolution.state == ResolutionState.ADOPTED else "deadline"
        _record_late(vote, resolution, ballot, data, digest, signature, key, delegate, seq, reason, now,
                     rollback=False)


def _late_message(resolution: Resolution, reason: str, at: datetime) -> str:
    if reason == "adopted":
        return _("This resolution was adopted on %(when)s, before your answer arrived (%(arrived)s). Your answer is "
                 "recorded as late and is not counted.", when=when(resolution.adopted_at, resolution),
                 arrived=when(at, resolution))
    return _("The deadline for answers passed on %(when)s, before your answer arrived (%(arrived)s). Your answer is "
             "recorded as late and is not counted.", when=when(resolution.deadline_at, resolution),
             arrived=when(at, resolution))


def _record_late(vote: Vote, resolution: Resolution, ballot: SignedBallot, data: bytes, digest: str,
                 signature: bytes, key: DeviceKey, delegate: Delegate, seq: int, reason: str, now: datetime, *,
                 rollback: bool) -> NoReturn:
    """Keep the late answer even though the request fails: this is committed here, then refused (I-5)."""
    ids = (vote.id, resolution.id, key.key_id, delegate.id)
    if rollback:
        db.session.rollback()  # the answer was logged a moment too late: undo that first
        from .casting import _lock_vote

        vote = _lock_vote(ids[0])
        resolution = get(ids[1])
        delegate = db.session.get(Delegate, ids[3])  # type: ignore[assignment]
        if resolution.is_open:
            close_if_due(resolution, now)
    row = LateAnswer(vote_id=vote.id, member_ref=ballot.member, member_id=delegate.member_id, delegate_id=delegate.id,
                     key_id=ids[2], bytes=data, bytes_sha256=digest, signature=signature, registry_seq=seq,
                     received_at=now, reason=reason, choice=str(ballot.to_json()["choice"]))
    db.session.add(row)
    db.session.flush()
    audit.append("consent.late_answer", "vote", str(vote.id), None,
                 {"resolution": resolution.id, "member": ballot.member, "delegate": delegate.id, "reason": reason,
                  "received_at": _rfc3339(now)})
    message = _late_message(resolution, reason, now)
    db.session.commit()
    _refuse("late", message, 409, hint=_("Late answers are published with the result, but never counted."), late=True)


def after_answer(vote: Vote, row: Ballot) -> None:
    """An answer was logged: keep times strictly in log order, then adopt if the threshold is reached."""
    resolution = of_vote(vote)
    previous = db.session.scalar(select(func.max(Ballot.received_at))
                                 .where(Ballot.vote_id == vote.id, Ballot.id != row.id))
    if previous is not None and row.received_at <= previous:
        row.received_at = previous + timedelta(microseconds=1)
    if row.received_at > resolution.deadline_at:
        # Checked in time, logged a moment after the deadline: late after all.
        key, delegate = db.session.get(DeviceKey, row.key_id), db.session.get(Delegate, row.delegate_id)
        assert key is not None and delegate is not None
        _record_late(vote, resolution, parse_ballot(row.bytes), row.bytes, row.bytes_sha256, row.signature, key,
                     delegate, row.registry_seq, "deadline", row.received_at, rollback=True)
    outcome = outcome_so_far(vote, deadline_passed=False)
    if outcome is not None and outcome.decision == Decision.ADOPTED:
        before = audit.snapshot(resolution)
        resolution.state, resolution.adopted_at, resolution.closed_at = (
            ResolutionState.ADOPTED, row.received_at, row.received_at)
        vote.state, vote.closed_at, vote.closed_by = VoteState.CLOSED, row.received_at, CLOSED_AT_ADOPTION
        db.session.flush()
        audit.record("resolution.adopted", resolution, before)
        audit.append("vote.close", "vote", str(vote.id), None,
                     {"vote": vote_ref(vote), "ballots": vote.log_size, "checkpoint": vote.checkpoint,
                      "reason": "adopted: the threshold was reached (I-5)"})


def answer_times(vote: Vote) -> dict[str, str] | None:
    """member ref → the time its answer was received (RFC 3339), for the recount; None for other votes."""
    if vote.kind != VoteKind.WRITTEN_CONSENT:
        return None
    rows = db.session.execute(select(Ballot.member_ref, Ballot.received_at).where(Ballot.vote_id == vote.id)
                              .order_by(Ballot.leaf_index)).all()
    return {m: _rfc3339(at) for m, at in rows}


def outcome_so_far(vote: Vote, *, deadline_passed: bool) -> Outcome | None:
    """The tally of the answers logged so far (ballots.recount, as the verifier runs it)."""
    from .results import choices_of

    try:
        return tally_votes([definition_of(vote)], [choices_of(vote)], answered_at=[answer_times(vote) or {}],
                           deadline_passed=deadline_passed)
    except (CaseError, ValueError) as err:
        current_app.logger.error("written consent tally failed for vote %s: %s", vote.id, err)
        return None


# ---------------------------------------------------------------- the deadline


def close_if_due(resolution: Resolution, now: datetime | None = None) -> bool:
    """At the deadline, decide and close a resolution still open: adopted only if the rule set
    decides at the deadline and the threshold is reached, otherwise not adopted (I-5)."""
    now = now or utcnow()
    if not resolution.is_open or now <= resolution.deadline_at or resolution.vote is None:
        return False
    from .casting import _lock_vote

    vote = _lock_vote(resolution.vote.id)
    db.session.refresh(resolution)
    if not resolution.is_open:
        return False
    outcome = outcome_so_far(vote, deadline_passed=True)
    before = audit.snapshot(resolution)
    deadline = resolution.deadline_at
    if outcome is not None and outcome.decision == Decision.ADOPTED:
        resolution.state, resolution.adopted_at = ResolutionState.ADOPTED, deadline
    else:
        resolution.state = ResolutionState.NOT_ADOPTED
    resolution.closed_at = deadline
    vote.state, vote.closed_at, vote.closed_by = VoteState.CLOSED, deadline, CLOSED_AT_DEADLINE
    db.session.flush()
    audit.record("resolution.closed_at_deadline", resolution, before)
    audit.append("vote.close", "vote", str(vote.id), None,
                 {"vote": vote_ref(vote), "ballots": vote.log_size, "checkpoint": vote.checkpoint,
                  "reason": "the deadline passed (I-5)"})
    return True


def close_due(now: datetime | None = None) -> list[Resolution]:
    """Close every resolution whose deadline has passed (the `voting consent close-due` command)."""
    now = now or utcnow()
    due = db.session.scalars(select(Resolution).where(Resolution.state == ResolutionState.SENT,
                                                      Resolution.deadline_at < now)
                             .order_by(Resolution.id)).all()
    return [r for r in due if close_if_due(r, now)]


def is_overdue(resolution: Resolution, now: datetime | None = None) -> bool:
    return resolution.is_open and (now or utcnow()) > resolution.deadline_at


# ---------------------------------------------------------------- progress


def answered_members(resolution: Resolution) -> dict[str, Ballot]:
    if resolution.vote_id is None:
        return {}
    rows = db.session.scalars(select(Ballot).where(Ballot.vote_id == resolution.vote_id)).all()
    return {b.member_ref: b for b in rows}


def late_answers(resolution: Resolution) -> list[LateAnswer]:
    if resolution.vote_id is None:
        return []
    return list(db.session.scalars(select(LateAnswer).where(LateAnswer.vote_id == resolution.vote_id)
                                   .order_by(LateAnswer.received_at, LateAnswer.id)))


@dataclass(frozen=True)
class RepresentativeRow:
    delegate: Delegate
    has_key: bool
    link: ConsentLink | None


@dataclass(frozen=True)
class MemberRow:
    member: Member
    ref: str
    representatives: list[RepresentativeRow]
    answer: Ballot | None
    answered_by: str | None
    choice: str | None  # only once the resolution is closed
    late: LateAnswer | None


@dataclass(frozen=True)
class Progress:
    resolution: Resolution
    rows: list[MemberRow]
    total: int
    answered: int
    required: int
    late: list[LateAnswer]
    outcome: Outcome | None

    @property
    def waiting(self) -> list[MemberRow]:
        return [r for r in self.rows if r.answer is None and r.late is None]


def progress(resolution: Resolution) -> Progress:
    """Who has answered, by member, when and through which representative; what they answered only
    once the resolution is closed (no partial results, as at a meeting)."""
    members = roll_members(resolution)
    answers = answered_members(resolution)
    lates = late_answers(resolution)
    late_by = {x.member_ref: x for x in lates}
    links = latest_links(resolution) if not resolution.is_draft else {}
    ids = [d.id for m in members for d in representatives(m)]
    keyed = set(db.session.scalars(select(DeviceKey.delegate_id).where(DeviceKey.delegate_id.in_(ids),
                                                                      DeviceKey.revoked_at.is_(None)))) if ids else set()
    names = {d.id: d.display_name for d in db.session.scalars(select(Delegate).where(
        Delegate.id.in_([b.delegate_id for b in answers.values()])))} if answers else {}
    closed = resolution.is_closed
    rows = []
    for member in members:
        ref = member_ref(member)
        answer = answers.get(ref)
        choice = str(parse_ballot(answer.bytes).choice) if answer is not None and closed else None
        rows.append(MemberRow(member, ref, [RepresentativeRow(d, d.id in keyed, links.get(d.id))
                                            for d in representatives(member)],
                              answer, names.get(answer.delegate_id) if answer else None, choice, late_by.get(ref)))
    total = len(members)
    required = threshold_of(load_rule_set(resolution.rule_set), resolution.rule).required(total) if total else 0
    outcome = None
    if closed and resolution.vote is not None:
        outcome = outcome_so_far(resolution.vote, deadline_passed=True)
    return Progress(resolution, rows, total, len(answers), required, lates, outcome)


def state_words(resolution: Resolution) -> str:
    if resolution.state == ResolutionState.DRAFT:
        return "Draft"
    if resolution.state == ResolutionState.SENT:
        return "Collecting answers"
    if resolution.state == ResolutionState.ADOPTED:
        return f"Adopted on {when(resolution.adopted_at, resolution)}"
    return f"Not adopted (deadline {when(resolution.deadline_at, resolution)})"


def is_certified(resolution: Resolution) -> bool:
    return resolution.vote is not None and resolution.vote.state == VoteState.CERTIFIED


# ---------------------------------------------------------------- the record


def record_section(votes: Sequence[Vote]) -> list[dict[str, Any]]:
    """The record's "written_consent" section for the exported votes of kind written-consent: each
    answer's time of receipt (in log order) and every late answer (docs/record-format.md)."""
    out = []
    for vote in votes:
        if vote.kind != VoteKind.WRITTEN_CONSENT:
            continue
        times = db.session.scalars(select(Ballot.received_at).where(Ballot.vote_id == vote.id)
                                   .order_by(Ballot.leaf_index)).all()
        lates = db.session.scalars(select(LateAnswer).where(LateAnswer.vote_id == vote.id)
                                   .order_by(LateAnswer.received_at, LateAnswer.id)).all()
        out.append({"vote": vote_ref(vote), "received_at": [_rfc3339(t) for t in times],
                    "late": [{"ballot": x.bytes.decode("utf-8"), "signature": b64url_encode(x.signature),
                              "key": x.key_id, "registry_seq": x.registry_seq, "received_at": _rfc3339(x.received_at)}
                             for x in lates]})
    return out

