"""Enrolment badges: who gets one for a meeting, the URL in their QR, the printed sheet (PDF),
and every delegate's key and code status for the Secretariat (issue 4, CRYPTO_DESIGN.md "Keys").

Codes themselves are issued by `identity.issue_token`; this module only reads and renders.
"""

from __future__ import annotations

import difflib
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for
from fpdf import FPDF
from sqlalchemy import func, select

from ..errors import Invalid
from ..extensions import db
from ..models import Body, Delegate, DeviceKey, EnrolmentToken, Meeting, Member, MemberStatus, utcnow
from ..qr import qr_png
from ..templating import fmt_datetime
from . import identity
from . import roster as roster_service

VOTING_ROLE = "Voting representative"
ATTENDEE_ROLE = "Attendee (no vote)"

# Unicode TrueType fonts, first found wins (city names such as "Beyoğlu" or "Łódź" need more than
# Latin-1). Without any of them the sheet falls back to the PDF core fonts, transliterated.
FONT_CANDIDATES: list[tuple[str, str, str]] = [
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
     "/usr/share/fonts/truetype/noto/NotoSansMono-Bold.ttf"),
]


def role_words(delegate: Delegate) -> str:
    """The person's role as the roster prints it."""
    return VOTING_ROLE if delegate.is_voting else ATTENDEE_ROLE


# ---------------------------------------------------------------- URLs


def enrolment_url(token: str) -> str:
    """https://HOST/e/TOKEN: PUBLIC_BASE_URL when configured, else the address of this request."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return str(base).rstrip("/") + "/e/" + token
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for("assembly.enrol", token=token, _external=True)
    raise Invalid("The address to print in the QR codes is not configured.",
                  hint="Set PUBLIC_BASE_URL (for example https://vote.we-gov.org) in instance/config.py "
                       "or as VOTING_PUBLIC_BASE_URL, then run the command again.")


def typed_entry(url: str) -> str:
    """Where to type the code by hand, as printed under the QR: 'HOST/e' (no scheme)."""
    parts = urlsplit(url)
    path = parts.path.rsplit("/", 1)[0]  # .../e/TOKEN -> .../e
    return parts.netloc + path


# ---------------------------------------------------------------- who gets a badge


def meeting_day(meeting: Meeting) -> date:
    """The meeting's first day as the venue's calendar shows it (the statute's day)."""
    return meeting.starts_at.astimezone(timezone(timedelta(minutes=meeting.utc_offset_minutes))).date()


def _sort_key(d: Delegate) -> tuple[str, bool, str, int]:
    return (d.member.name.casefold(), not d.is_voting, d.display_name.casefold(), d.id)


def meeting_members(meeting: Meeting) -> list[Member]:
    """The members a meeting concerns: EXCOM, those seated that year; GA, every member that has not
    withdrawn by the meeting's day (suspended members still attend, without a vote)."""
    day = meeting_day(meeting)
    if meeting.body == Body.EXCOM:
        return roster_service.excom_members_on(day)
    members = db.session.scalars(select(Member)).all()
    return [m for m in members if m.status != MemberStatus.WITHDRAWN or m.in_good_standing_on(day)]


def delegates_for_meeting(meeting: Meeting) -> list[Delegate]:
    """The active delegates of the members the meeting concerns, by member name, voting first."""
    member_ids = [m.id for m in meeting_members(meeting)]
    if not member_ids:
        return []
    delegates = db.session.scalars(
        select(Delegate).where(Delegate.member_id.in_(member_ids), Delegate.is_active)
    ).all()
    return sorted(delegates, key=_sort_key)


def only_member(delegates: Sequence[Delegate], name: str) -> list[Delegate]:
    """The delegates of the member called `name` (case does not matter); a clear error otherwise."""
    wanted = name.strip().casefold()
    names = sorted({d.member.name for d in delegates}, key=str.casefold)
    chosen = [d for d in delegates if d.member.name.casefold() == wanted]
    if not chosen:
        close = difflib.get_close_matches(name.strip(), names, n=5, cutoff=0.5)
        hint = ("Did you mean: " + ", ".join(close) + "?") if close else \
            "Check the spelling; the name must be the member's name as on the roster."
        raise Invalid(f"No delegate of a member called '{name}' is expected at this meeting.", hint=hint)
    return chosen


def all_active_delegates() -> list[Delegate]:
    return sorted(db.session.scalars(select(Delegate).where(Delegate.is_active)).all(), key=_sort_key)


# ---------------------------------------------------------------- key and code status


NONE, UNUSED, USED, REVOKED, EXPIRED = "none", "unused", "used", "revoked", "expired"


def code_state(record: EnrolmentToken | None, now: datetime) -> str:
    """The code's state, in the order identity.check_token tests them."""
    if record is None:
        return NONE
    if record.used_at is not None:
        return USED
    if record.revoked_at is not None:
        return REVOKED
    if record.expires_at <= now:
        return EXPIRED
    return UNUSED


@dataclass(frozen=True)
class KeyStatus:
    """One delegate's phone (active key), last switched-off phone, and latest enrolment code."""

    delegate: Delegate
    key: DeviceKey | None
    last_revoked: DeviceKey | None
    code: EnrolmentToken | None
    code_state: str

    @property
    def has_phone(self) -> bool:
        return self.key is not None

    @property
    def waiting(self) -> bool:
        """No phone yet, but a code that can still be used is out (on a badge or in an e-mail)."""
        return self.key is None and self.code_state == UNUSED

    @property
    def needs_code(self) -> bool:
        """No phone and no usable code: the delegate cannot set up a phone until given one."""
        return self.key is None and self.code_state != UNUSED

    @property
    def group(self) -> str:
        return "phone" if self.has_phone else ("waiting" if self.waiting else "needs-code")


STATUS_FILTERS = {
    "": "Any status",
    "phone": "Phone set up",
    "waiting": "No phone yet, code waiting",
    "needs-code": "No phone, no usable code",
}


def key_statuses(delegates: Sequence[Delegate], now: datetime | None = None) -> list[KeyStatus]:
    """Key and code status of each delegate, in the order given (three queries in all)."""
    now = now or utcnow()
    ids = [d.id for d in delegates]
    if not ids:
        return []
    keys = db.session.scalars(
        select(DeviceKey).where(DeviceKey.delegate_id.in_(ids)).order_by(DeviceKey.enrolled_at)
    ).all()
    active: dict[int, DeviceKey] = {}
    revoked: dict[int, DeviceKey] = {}
    for k in keys:
        assert k.delegate_id is not None
        if k.revoked_at is None:
            active[k.delegate_id] = k
        else:
            revoked[k.delegate_id] = k
    latest_ids = (select(func.max(EnrolmentToken.id)).where(EnrolmentToken.delegate_id.in_(ids))
                  .group_by(EnrolmentToken.delegate_id))
    codes = {t.delegate_id: t for t in db.session.scalars(select(EnrolmentToken).where(EnrolmentToken.id.in_(latest_ids)))}
    out = []
    for d in delegates:
        code = codes.get(d.id)
        out.append(KeyStatus(d, active.get(d.id), revoked.get(d.id), code, code_state(code, now)))
    return out


def status_counts(statuses: Iterable[KeyStatus]) -> dict[str, int]:
    counts = {"all": 0, "phone": 0, "waiting": 0, "needs-code": 0}
    for s in statuses:
        counts["all"] += 1
        counts[s.group] += 1
    return counts


# ---------------------------------------------------------------- the badge sheet (PDF)


@dataclass(frozen=True)
class Badge:
    """What one printed card shows, as plain text."""

    city: str
    country: str
    name: str
    role: str
    is_voting: bool
    meeting: str
    url: str
    typed: str
    entry: str
    expires: str


def badge_for(delegate: Delegate, token: identity.IssuedToken | str, meeting: Meeting | None) -> Badge:
    raw = token.token if isinstance(token, identity.IssuedToken) else token
    expires = ""
    if isinstance(token, identity.IssuedToken):
        expires = fmt_datetime(token.record.expires_at, meeting.utc_offset_minutes if meeting else 0)
    url = enrolment_url(raw)
    return Badge(city=delegate.member.name, country=delegate.member.country, name=delegate.display_name,
                 role=role_words(delegate), is_voting=delegate.is_voting, meeting=meeting.title if meeting else "",
                 url=url, typed=identity.format_token(raw), entry=typed_entry(url), expires=expires)


def _find_fonts() -> tuple[str, str, str] | None:
    for regular, bold, mono in FONT_CANDIDATES:
        if Path(regular).is_file():
            return regular, (bold if Path(bold).is_file() else regular), (mono if Path(mono).is_file() else regular)
    return None


# Letters that do not decompose into a Latin-1 base letter plus accents.
_LATIN1_SPELLINGS = str.maketrans({"ı": "i", "İ": "I", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
                                   "Œ": "OE", "œ": "oe", "ŋ": "ng", "‐": "-", "–": "-", "—": "-", "’": "'", "…": "..."})


def _latin1(text: str) -> str:
    """For the core-font fallback only: 'Beyoğlu' -> 'Beyoglu', 'Łódź' -> 'Lódz', anything else -> '?'."""
    out = []
    for ch in text.translate(_LATIN1_SPELLINGS):
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


class _Sheet(FPDF):
    """A4, 2 x 4 cut-out cards of 95 x 69.25 mm within 10 mm margins."""

    COLS, ROWS = 2, 4
    MARGIN = 10.0
    CARD_W = (210 - 2 * MARGIN) / COLS
    CARD_H = (297 - 2 * MARGIN) / ROWS
    PAD = 5.0
    QR = 44.0

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(self.MARGIN, self.MARGIN, self.MARGIN)
        fonts = _find_fonts()
        self.unicode = fonts is not None
        if fonts is not None:
            regular, bold, mono = fonts
            self.add_font("Badge", "", regular)
            self.add_font("Badge", "B", bold)
            self.add_font("BadgeMono", "", mono)
            self.sans, self.mono = "Badge", "BadgeMono"
        else:
            self.sans, self.mono = "helvetica", "courier"
        self.footer_text = footer

    def t(self, text: str) -> str:
        return text if self.unicode else _latin1(text)

    def fit(self, text: str, width: float, style: str, size: float, smallest: float) -> float:
        """The largest font size from `size` down to `smallest` at which text fits on one line."""
        while size > smallest:
            self.set_font(self.sans, style, size)
            if self.get_string_width(text) <= width:
                return size
            size -= 0.5
        self.set_font(self.sans, style, smallest)
        return smallest

    def lines(self, x: float, y: float, w: float, text: str, style: str, size: float, smallest: float,
              max_lines: int = 2) -> float:
        """Text in at most max_lines lines (shrinking, then cutting with '…'); returns the y below it."""
        text = self.t(text)
        one_line = self.fit(text, w, style, size, max(smallest, size * 0.8))
        if self.get_string_width(text) <= w:
            size = one_line  # a little smaller on one line reads better than a wrapped last word
        else:
            size = self.fit(text, w * max_lines * 0.92, style, size, smallest)
        height = size * 0.42
        words, rows, current = text.split(), [], ""
        for word in words:
            trial = f"{current} {word}".strip()
            if self.get_string_width(trial) <= w or not current:
                current = trial
            else:
                rows.append(current)
                current = word
        if current:
            rows.append(current)
        if len(rows) > max_lines:
            rows = rows[:max_lines]
            ell = "…" if self.unicode else "..."
            while rows[-1] and self.get_string_width(rows[-1] + ell) > w:
                rows[-1] = rows[-1][:-1]
            rows[-1] += ell
        for row in rows:
            while self.get_string_width(row) > w and len(row) > 1:  # one very long word
                row = row[:-1]
            self.set_xy(x, y)
            self.cell(w, height, row)
            y += height
        return y

    def footer(self) -> None:
        self.set_font(self.sans, "", 7)
        self.set_text_color(110)
        self.set_xy(self.MARGIN, 297 - self.MARGIN + 2)
        self.cell(210 - 2 * self.MARGIN, 4, self.t(f"{self.footer_text} · page {self.page_no()} of {{nb}}"),
                  align="C")

    def cut_lines(self) -> None:
        self.set_draw_color(170)
        self.set_line_width(0.2)
        self.set_dash_pattern(dash=1.5, gap=1.5)
        left, top = self.MARGIN, self.MARGIN
        right, bottom = left + self.COLS * self.CARD_W, top + self.ROWS * self.CARD_H
        for c in range(self.COLS + 1):
            self.line(left + c * self.CARD_W, top, left + c * self.CARD_W, bottom)
        for r in range(self.ROWS + 1):
            self.line(left, top + r * self.CARD_H, right, top + r * self.CARD_H)
        self.set_dash_pattern()

    def card(self, x: float, y: float, badge: Badge) -> None:
        pad, qr = self.PAD, self.QR
        inner_w = self.CARD_W - 2 * pad
        qr_x, qr_y = x + self.CARD_W - pad - qr, y + 3.5
        self.image(io.BytesIO(qr_png(badge.url, box_size=6, border=4)), x=qr_x, y=qr_y, w=qr, h=qr)
        self.set_text_color(90)
        self.set_font(self.sans, "", 6.5)
        self.set_xy(qr_x, qr_y + qr - 1.5)
        self.cell(qr, 3, self.t("Scan with your phone's camera"), align="C")

        col_x, col_w = x + pad, inner_w - qr - 2
        cy = y + pad
        self.set_text_color(16, 36, 62)
        cy = self.lines(col_x, cy, col_w, badge.city, "B", 15, 9, max_lines=2)
        self.set_text_color(90)
        cy = self.lines(col_x, cy + 0.3, col_w, badge.country, "", 8, 6.5, max_lines=1)
        self.set_text_color(20)
        cy = self.lines(col_x, cy + 3, col_w, badge.name, "", 10.5, 7, max_lines=2)
        if badge.is_voting:
            self.set_text_color(11, 92, 173)
        else:
            self.set_text_color(90)
        cy = self.lines(col_x, cy + 1, col_w, badge.role, "B" if badge.is_voting else "", 9, 7, max_lines=1)
        if badge.meeting:
            self.set_text_color(90)
            self.lines(col_x, max(cy + 3, y + 36), col_w, badge.meeting, "", 7.5, 6, max_lines=2)

        by = qr_y + qr + 2.5
        self.set_text_color(40)
        self.lines(x + pad, by, inner_w, f"or open {badge.entry} and type:", "", 8, 6, max_lines=1)
        self.set_font(self.mono, "", 12.5)
        self.set_text_color(0)
        self.set_xy(x + pad, by + 4)
        self.cell(inner_w, 6, badge.typed, align="L")
        if badge.expires:
            self.set_text_color(90)
            self.lines(x + pad, by + 10.5, inner_w,
                       f"Works once, until {badge.expires}. A new code replaces this one.", "", 6.5, 5.5, max_lines=1)
        self.set_text_color(0)


def render_badges(badges: Sequence[Badge], title: str, footer: str) -> bytes:
    """The PDF of the given cards, eight to an A4 page, in order."""
    pdf = _Sheet(footer)
    pdf.set_title(title)
    pdf.set_author("WeGO Secretariat")
    pdf.set_creator("WeGO Voting")
    per_page = _Sheet.COLS * _Sheet.ROWS
    for i, badge in enumerate(badges):
        slot = i % per_page
        if slot == 0:
            pdf.add_page()
            pdf.cut_lines()
        col, row = slot % _Sheet.COLS, slot // _Sheet.COLS
        pdf.card(_Sheet.MARGIN + col * _Sheet.CARD_W, _Sheet.MARGIN + row * _Sheet.CARD_H, badge)
    if not badges:
        pdf.add_page()
    return bytes(pdf.output())


def badge_sheet_pdf(meeting: Meeting | None,
                    delegates_with_tokens: Sequence[tuple[Delegate, identity.IssuedToken | str]]) -> bytes:
    """The printable badge sheet: one card per (delegate, fresh code), A4, 2 x 4 cards a page."""
    badges = [badge_for(d, t, meeting) for d, t in delegates_with_tokens]
    printed = fmt_datetime(utcnow(), meeting.utc_offset_minutes if meeting else 0)
    what = meeting.title if meeting else "Enrolment codes"
    footer = f"{what} · {len(badges)} badge{'s' if len(badges) != 1 else ''} printed {printed}; earlier codes no longer work"
    return render_badges(badges, f"Badges: {what}", footer)
