"""Enrolment codes (QR), device keys and the key registry (CRYPTO_DESIGN.md "Keys")."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ballots.chain import GENESIS
from ballots.registry import ENROL, REVOKE, RegistryError, RegistryEvent
from ballots.signatures import ENROL_LABEL, InvalidKey, PublicKey, b64url_decode, enrolment_message

from ..errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import ChainHead, Delegate, DeviceKey, EnrolmentToken, KeyEvent, Meeting, StaffAccount, utcnow
from ..templating import fmt_utc
from . import audit

KEY_CHAIN = "keys"
# 128 random bits, written in Crockford-style base32 (no I, L, O, U) so a typed code is unambiguous.
TOKEN_BYTES = 16
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


class TokenRefused(DomainError):
    """An enrolment code that cannot be used, with which of the reasons it is."""

    def __init__(self, reason: str, message: str, hint: str, status: int):
        super().__init__(message, hint=hint, status=status, reason=reason)
        self.reason = reason
        self.code = f"enrolment_code_{reason}"  # JSON "error": which refusal, not "bad_request" for a 404/410


def _encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _digit in range(26):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def normalize_token(typed: str) -> str:
    """What a person typed (spaces, dashes, lower case, O for 0, I/L for 1) as the canonical token."""
    text = re.sub(r"[\s\-]", "", typed or "").upper()
    return text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def format_token(token: str) -> str:
    """The token in groups for typing: XXXXX-XXXXX-XXXXX-XXXXX-XXXXXX."""
    return "-".join(token[i:i + 5] for i in range(0, 20, 5)) + "-" + token[20:]


def token_hash(token: str) -> str:
    return hashlib.sha256(b"wego-enrol-token/v1\n" + token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: EnrolmentToken

    @property
    def typed(self) -> str:
        return format_token(self.token)


def issue_token(delegate: Delegate, meeting: Meeting | None = None) -> IssuedToken:
    """A new single-use code for the delegate; any earlier unused code of theirs stops working."""
    now = utcnow()
    for old in db.session.scalars(
        select(EnrolmentToken).where(
            EnrolmentToken.delegate_id == delegate.id,
            EnrolmentToken.used_at.is_(None),
            EnrolmentToken.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now
    token = _encode(secrets.token_bytes(TOKEN_BYTES))
    hours = int(current_app.config["ENROL_TOKEN_TTL_HOURS"])
    record = EnrolmentToken(
        delegate=delegate, meeting=meeting, token_hash=token_hash(token),
        created_at=now, expires_at=now + timedelta(hours=hours), issued_by=audit.current_actor(),
    )
    db.session.add(record)
    db.session.flush()
    audit.append("enrolment_token.issue", "delegate", str(delegate.id), None,
                 {"token_id": record.id, "expires_at": record.expires_at.isoformat(), "meeting_id": meeting.id if meeting else None})
    return IssuedToken(token, record)


def check_token(raw: str, *, for_update: bool = False) -> EnrolmentToken:
    """The token's record if it can be used now; otherwise TokenRefused saying which problem it has."""
    token = normalize_token(raw)
    if not TOKEN_RE.match(token):
        raise TokenRefused(
            "malformed", _("This enrolment code is not complete or has a typing error."),
            _("Scan the QR code on your badge again, or type the code exactly as printed. "
              "If it still fails, ask the Secretariat desk."), 400)
    query = select(EnrolmentToken).where(EnrolmentToken.token_hash == token_hash(token))
    if for_update:
        query = query.with_for_update()
    record = db.session.scalars(query).first()
    if record is None:
        raise TokenRefused(
            "unknown", _("This enrolment code is not one we issued."),
            _("Check that you scanned your own badge. The Secretariat desk can issue you a new code."), 404)
    when = record.used_at or record.revoked_at
    if record.used_at is not None:
        raise TokenRefused(
            "used", _("This enrolment code was already used, on %(when)s UTC, to set up a phone.", when=fmt_utc(when)),
            _("Each code works once. If that was not you, or you lost that phone, ask the Secretariat desk "
              "for a new code; it will switch off the old phone."), 410)
    if record.revoked_at is not None:
        raise TokenRefused(
            "revoked", _("This enrolment code was replaced by a newer one and no longer works."),
            _("Use the newest code the Secretariat gave you, or ask the Secretariat desk for a new one."), 410)
    if record.expires_at <= utcnow():
        raise TokenRefused(
            "expired", _("This enrolment code expired on %(when)s UTC.", when=fmt_utc(record.expires_at)),
            _("Ask the Secretariat desk for a new code."), 410)
    return record


# ---------------------------------------------------------------- the key registry


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _append_key_event(kind: str, delegate: str, member: str, key_id: str, at: datetime,
                      public_key: str | None = None, device: str | None = None, reason: str | None = None) -> KeyEvent:
    head = audit.lock_head(db.session, KEY_CHAIN)
    body = RegistryEvent(head.seq + 1, kind, delegate, member, key_id, _rfc3339(at),
                         public_key=public_key, device=device, reason=reason).chained(head.hash or GENESIS)
    row = KeyEvent(**body.to_json())
    head.seq, head.hash = body.seq, body.hash
    db.session.add(row)
    db.session.flush()
    return row


def registry_events() -> list[dict[str, object]]:
    """The registry as published: every event in order."""
    rows = db.session.scalars(select(KeyEvent).order_by(KeyEvent.seq)).all()
    return [RegistryEvent(**{k: getattr(r, k) for k in ("seq", "kind", "delegate", "member", "key_id", "at", "public_key",
                                                        "device", "reason", "prev_hash", "hash")}).to_json() for r in rows]


def registry_head() -> tuple[int, str]:
    head = db.session.get(ChainHead, KEY_CHAIN)
    return (head.seq, head.hash) if head else (0, GENESIS)


def delegate_ref(delegate: Delegate) -> tuple[str, str]:
    """How the registry names a delegate and the member it represents."""
    return f"d{delegate.id}", f"m{delegate.member_id}"


def staff_ref(account: StaffAccount) -> tuple[str, str]:
    return f"s{account.id}", "staff"


def revoke_key(key: DeviceKey, reason: str) -> None:
    if key.revoked_at is not None:
        return
    now = utcnow()
    holder, member = (delegate_ref(key.delegate) if key.delegate else staff_ref(key.staff))  # type: ignore[arg-type]
    event = _append_key_event(REVOKE, holder, member, key.key_id, now, reason=reason)
    key.revoked_at, key.revoke_reason = now, reason
    db.session.flush()
    audit.append("device_key.revoke", "device_key", key.key_id, None, {"reason": reason, "registry_seq": event.seq})


def active_key(*, delegate: Delegate | None = None, staff: StaffAccount | None = None) -> DeviceKey | None:
    query = select(DeviceKey).where(DeviceKey.revoked_at.is_(None))
    query = query.where(DeviceKey.delegate_id == delegate.id) if delegate else query.where(DeviceKey.staff_id == staff.id)  # type: ignore[union-attr]
    return db.session.scalars(query).first()


def _parse_proof(public_key_b64: str, signature_b64: str, device: str) -> tuple[PublicKey, bytes, str]:
    try:
        key = PublicKey.from_spki_b64(public_key_b64)
    except (InvalidKey, ValueError):
        raise Invalid(_("The phone sent a public key we cannot read."),
                      hint=_("Reload the page and try again; if it fails again, try another browser.")) from None
    try:
        signature = b64url_decode(signature_b64)
    except (ValueError, TypeError):
        raise Invalid(_("The phone's proof of its key is garbled."), hint=_("Reload the page and try again.")) from None
    label = re.sub(r"[\x00-\x1f\x7f\ud800-\udfff]", "", str(device or "")).strip()[:100] or "Unknown device"
    return key, signature, label


def _enrol(key: PublicKey, signature: bytes, device: str, challenge: str, holder: str, member: str,
           delegate: Delegate | None, staff: StaffAccount | None) -> DeviceKey:
    if not key.verify(ENROL_LABEL, enrolment_message(holder, key.key_id, challenge), signature):
        raise Forbidden(_("The phone could not prove it holds the key it sent."),
                        hint=_("Reload the page and try again. If it keeps failing, ask the Secretariat desk."))
    if db.session.get(DeviceKey, key.key_id) is not None:
        raise Conflict(_("This key is already registered."), hint=_("Reload the page to create a fresh key."))
    previous = active_key(delegate=delegate, staff=staff)
    if previous is not None:
        revoke_key(previous, "replaced by a newly enrolled device")
    now = utcnow()
    try:
        event = _append_key_event(ENROL, holder, member, key.key_id, now, public_key=key.spki_b64, device=device)
    except RegistryError as err:
        raise Invalid(_("The key registry refused the key: %(reason)s", reason=err)) from None
    record = DeviceKey(key_id=key.key_id, delegate=delegate, staff=staff, public_key=key.spki_b64,
                       algorithm=key.algorithm, device=device, enrolled_at=now, enrol_seq=event.seq)
    db.session.add(record)
    db.session.flush()
    audit.append("device_key.enrol", "device_key", key.key_id, None,
                 {"holder": holder, "member": member, "device": device, "registry_seq": event.seq})
    return record


def enrol_delegate(raw_token: str, public_key_b64: str, signature_b64: str, device: str) -> DeviceKey:
    """Use a code once: check the key's proof of possession, revoke the delegate's old key, enrol."""
    record = check_token(raw_token, for_update=True)
    delegate = record.delegate
    if not delegate.is_active:
        raise Forbidden(_("This delegate is no longer on the roster."), hint=_("Ask the Secretariat desk."))
    key, signature, label = _parse_proof(public_key_b64, signature_b64, device)
    holder, member = delegate_ref(delegate)
    device_key = _enrol(key, signature, label, record.token_hash, holder, member, delegate, None)
    record.used_at, record.used_by_key = utcnow(), device_key.key_id
    return device_key


def enrol_staff(account: StaffAccount, challenge: str, public_key_b64: str, signature_b64: str, device: str) -> DeviceKey:
    """A signed-in staff member's device key (the chair's co-signs certificates)."""
    key, signature, label = _parse_proof(public_key_b64, signature_b64, device)
    holder, member = staff_ref(account)
    return _enrol(key, signature, label, challenge, holder, member, None, account)


def reissue(delegate: Delegate, meeting: Meeting | None = None) -> IssuedToken:
    """A lost phone: revoke the delegate's key and issue a new code."""
    key = active_key(delegate=delegate)
    if key is not None:
        revoke_key(key, "code re-issued by the Secretariat (lost or replaced phone)")
    return issue_token(delegate, meeting)


def get_key(key_id: str) -> DeviceKey:
    key = db.session.get(DeviceKey, key_id)
    if key is None:
        raise NotFound("No such device key.")
    return key

