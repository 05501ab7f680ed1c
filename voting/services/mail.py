"""Outgoing mail: one delegate's enrolment QR code (MAIL_* settings in the instance config).

The caller issues the code in the same transaction; when sending fails this raises a DomainError,
the request rolls back, and no code exists that nobody received.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template

from ..errors import Invalid, Unavailable
from ..models import Delegate, Meeting
from ..qr import qr_png
from ..templating import fmt_datetime
from . import audit, identity
from .badges import enrolment_url, role_words, typed_entry


@dataclass(frozen=True)
class EnrolmentMail:
    """What the enrolment e-mail says, as plain values (the HTML template reads the same)."""

    delegate: Delegate
    meeting: Meeting | None
    url: str
    entry: str
    typed: str
    expires: str
    role: str
    cid: str

    @property
    def subject(self) -> str:
        return f"Your code to set up your phone for {self.meeting.title}" if self.meeting else \
            "Your code to set up your phone for WeGO voting"

    def text(self) -> str:
        where = f" for {self.meeting.title}" if self.meeting else ""
        return (
            f"Dear {self.delegate.display_name},\n\n"
            f"This is your personal code to set up your phone for voting{where}, as {self.role.lower()} of "
            f"{self.delegate.member.name}: open the link below on your phone (or scan the attached QR code with "
            "its camera) and press \"Set up this phone\".\n\n"
            f"{self.url}\n\n"
            f"If the link does not open, go to {self.entry} and type this code:\n\n    {self.typed}\n\n"
            f"The code works once, until {self.expires}. Any earlier code you were given no longer works. "
            "Do not forward this e-mail: whoever uses the code first holds your signing key.\n"
            "If you did not expect it, or the code does not work, ask the Secretariat desk.\n\n"
            "WeGO Secretariat\n"
        )


def enrolment_message(delegate: Delegate, issued: identity.IssuedToken, meeting: Meeting | None) -> EmailMessage:
    """The e-mail: plain text and HTML, the QR as an inline PNG (Content-ID), no external images."""
    sender = str(current_app.config["MAIL_SENDER"])
    domain = sender.rpartition("@")[2] or "wego.invalid"
    cid = make_msgid(idstring="enrol-qr", domain=domain)
    url = enrolment_url(issued.token)
    mail = EnrolmentMail(
        delegate=delegate, meeting=meeting, url=url, entry=typed_entry(url), typed=issued.typed,
        expires=fmt_datetime(issued.record.expires_at, meeting.utc_offset_minutes if meeting else 0),
        role=role_words(delegate), cid=cid[1:-1],
    )
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    try:
        msg["From"] = Address("WeGO Secretariat", addr_spec=sender)
        msg["To"] = Address(delegate.display_name, addr_spec=delegate.email)  # names such as "Ayşe" are encoded
    except ValueError:  # e.g. a non-ASCII local part, which plain SMTP cannot carry
        raise Invalid(f"The e-mail address {delegate.email} cannot be used to send mail (it has letters outside "
                      "plain ASCII before the @, or is not a valid address). Nothing was sent and no new code was issued.",
                      hint="Correct the delegate's e-mail address on the roster, or show the QR code on screen "
                           "instead.") from None
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(mail.text())
    msg.add_alternative(render_template("badges/email.html", mail=mail), subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(qr_png(url, box_size=8), maintype="image", subtype="png", cid=cid,
                          filename="enrolment-qr.png", disposition="inline")
    return msg


def _describe(err: BaseException) -> str:
    """The server's failure in a few words for the Secretariat."""
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return "it refused the user name or password in MAIL_USERNAME / MAIL_PASSWORD"
    if isinstance(err, smtplib.SMTPResponseException):
        said = err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else str(err.smtp_error)
        return f"it answered {err.smtp_code} {said}"
    if isinstance(err, ConnectionRefusedError):
        return "nothing answers at that address: connection refused"
    if isinstance(err, TimeoutError):
        return "it did not answer in time"
    return str(err) or type(err).__name__


def send_enrolment_email(delegate: Delegate, token: identity.IssuedToken, meeting: Meeting | None) -> None:
    """Send the delegate their enrolment code by e-mail, or raise a DomainError saying why not."""
    config = current_app.config
    host, port = str(config["MAIL_HOST"]), int(config["MAIL_PORT"])
    msg = enrolment_message(delegate, token, meeting)
    use_ssl = bool(config.get("MAIL_USE_SSL"))
    try:
        smtp_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
        with smtp_class(host, port, timeout=float(config.get("MAIL_TIMEOUT", 15))) as smtp:
            if config.get("MAIL_USE_TLS") and not use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused:
        raise Invalid(f"The mail server refused the address {delegate.email}: nothing was sent and no new code "
                      "was issued.",
                      hint="Correct the delegate's e-mail address on the roster, or show the QR code on screen "
                           "instead.") from None
    except (OSError, smtplib.SMTPException) as err:
        raise Unavailable(f"The e-mail to {delegate.email} could not be sent: the mail server {host}:{port} "
                          f"failed ({_describe(err)}). No new code was issued; the delegate's earlier code, "
                          "if any, still works.",
                          hint="Show the QR code on screen instead, or try again later. If it keeps failing, "
                               "check the MAIL_* settings in instance/config.py.") from None
    audit.append("enrolment_token.email", "delegate", str(delegate.id), None,
                 {"token_id": token.record.id, "to": delegate.email, "meeting_id": meeting.id if meeting else None})
