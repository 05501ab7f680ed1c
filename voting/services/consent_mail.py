"""E-mail of a personal written-consent link (invitation or reminder), with its QR code inline.

The same shape as the enrolment e-mail (mail.py): plain text and HTML, the QR as an inline PNG, no
external images; a failure raises a DomainError saying why, in words for the Secretariat.
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
from ..models import Resolution
from ..qr import qr_png
from . import audit, consent
from .badges import role_words, typed_entry
from .mail import _describe


@dataclass(frozen=True)
class LinkMail:
    """What the e-mail says, as plain values (the HTML template reads the same)."""

    resolution: Resolution
    link: consent.IssuedLink
    reminder: bool
    deadline: str
    entry: str
    role: str
    rule: str
    cid: str

    @property
    def subject(self) -> str:
        what = "Reminder: your answer is needed" if self.reminder else "Written consent requested"
        return f"{what}: {self.resolution.title} (answer by {self.deadline})"

    @property
    def city(self) -> str:
        return self.link.delegate.member.name

    @property
    def key_note(self) -> str:
        if self.link.sets_up_phone:
            return ("Your phone does not hold a WeGO signing key yet: the link sets one up first (this works once). "
                    "Do not forward this e-mail: whoever uses the link first holds your signing key.")
        return ("The link works only on the phone that holds your WeGO signing key. Forwarded, it lets nobody answer "
                "for you. If that phone is lost or was reset, ask the Secretariat for a new link.")

    def text(self) -> str:
        r = self.resolution
        reminder = ("Your city has not answered yet. This is a reminder with a new personal link; the earlier one "
                    "still works on the phone that holds your key.\n\n") if self.reminder else ""
        return (
            f"Dear {self.link.delegate.display_name},\n\n"
            f"{reminder}"
            "The Executive Committee of WeGO is asked to decide this resolution by written consent "
            "(Art. 16.3 of the Statute), without a meeting:\n\n"
            f"    {r.title}\n\n"
            f"{self.rule}\n\n"
            f"As {self.role.lower()} of {self.city}, you can answer for {self.city}: consent, object or abstain. "
            "Open your personal link on your phone (or scan the attached QR code with its camera), read the full "
            "text, and answer. Your answer is signed on your phone, is final, and you get a receipt.\n\n"
            f"{self.link.url}\n\n"
            f"If the link does not open, go to {self.entry} and type this code:\n\n    {self.link.typed}\n\n"
            f"Answers count until {self.deadline}, or until the resolution is adopted, whichever comes first. "
            f"Each member answers once, whichever representative answers.\n\n"
            f"{self.key_note}\n\n"
            "WeGO Secretariat\n"
        )


def link_message(resolution: Resolution, issued: consent.IssuedLink, *, reminder: bool) -> EmailMessage:
    sender = str(current_app.config["MAIL_SENDER"])
    domain = sender.rpartition("@")[2] or "wego.invalid"
    cid = make_msgid(idstring="consent-qr", domain=domain)
    url = issued.url
    total = len(consent.roll_members(resolution))
    mail = LinkMail(resolution=resolution, link=issued, reminder=reminder,
                    deadline=consent.when(resolution.deadline_at, resolution), entry=typed_entry(url),
                    role=role_words(issued.delegate), rule=consent.threshold_words(resolution, total), cid=cid[1:-1])
    delegate = issued.delegate
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    try:
        msg["From"] = Address("WeGO Secretariat", addr_spec=sender)
        msg["To"] = Address(delegate.display_name, addr_spec=delegate.email)
    except ValueError:
        raise Invalid(f"The e-mail address {delegate.email} cannot be used to send mail; nothing was sent to "
                      f"{delegate.display_name}.",
                      hint="Correct the address on the roster, or give them the printed sheet.") from None
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(mail.text())
    msg.add_alternative(render_template("consent/email.html", mail=mail), subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(qr_png(url, box_size=8), maintype="image", subtype="png", cid=cid,
                          filename="written-consent-qr.png", disposition="inline")
    return msg


def send_link(resolution: Resolution, issued: consent.IssuedLink, *, reminder: bool) -> None:
    """Send one representative their link, or raise a DomainError saying why not."""
    config = current_app.config
    host, port = str(config["MAIL_HOST"]), int(config["MAIL_PORT"])
    msg = link_message(resolution, issued, reminder=reminder)
    email = issued.delegate.email
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
        raise Invalid(f"The mail server refused the address {email}: nothing was sent to "
                      f"{issued.delegate.display_name}.",
                      hint="Correct the address on the roster, or give them the printed sheet.") from None
    except (OSError, smtplib.SMTPException) as err:
        raise Unavailable(f"The e-mail to {email} could not be sent: the mail server {host}:{port} failed "
                          f"({_describe(err)}).",
                          hint="Print the sheet of links instead, or try again later. If it keeps failing, check "
                               "the MAIL_* settings in instance/config.py.") from None
    audit.append("consent_link.email", "delegate", str(issued.delegate.id), None,
                 {"resolution": resolution.id, "link": issued.row.id, "to": email, "reminder": reminder})
