"""The certificate as a one-page A4 PDF (fpdf2): result, counts, the rule in words, the hashes and
signatures, and a QR code of the certificate's address and hash."""

from __future__ import annotations

import io
from typing import Any

from fpdf import FPDF

from ..qr import qr_png
from .badges import _find_fonts, _latin1


def render(view: dict[str, Any]) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    fonts = _find_fonts()
    if fonts is not None:
        pdf.add_font("Cert", "", fonts[0])
        pdf.add_font("Cert", "B", fonts[1])
        pdf.add_font("CertMono", "", fonts[2])
        sans, mono, t = "Cert", "CertMono", (lambda s: s)
    else:
        sans, mono, t = "helvetica", "courier", _latin1
    body, vote, cert = view["body"], view["vote"], view["cert"]
    definition = view["definition"]
    w = pdf.epw

    pdf.set_font(sans, "B", 11)
    pdf.cell(w, 6, t("World Smart Sustainable Cities Organization (WeGO) · Certified result"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(sans, "", 10)
    pdf.cell(w, 6, t(f"{definition['meeting']['title']} · Agenda {definition['agenda_item']['number']}: "
                     f"{definition['agenda_item']['title']}"[:120]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(sans, "B", 15)
    pdf.multi_cell(w, 8, t(vote.question), new_x="LMARGIN", new_y="NEXT")
    if vote.round > 1:
        pdf.set_font(sans, "", 10)
        pdf.cell(w, 6, t(f"Round {vote.round}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(sans, "B", 20)
    pdf.multi_cell(w, 10, t(view["headline"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(sans, "", 11)
    q = body["outcome"].get("quorum") or {}
    if q:
        pdf.cell(w, 6, t(f"Members present {q['present']} of {q['total']}; quorum {q['required']} "
                         f"({'met' if q['met'] else 'not met'})."), new_x="LMARGIN", new_y="NEXT")
    for line in view["count_lines"]:
        pdf.cell(w, 6, t(line), new_x="LMARGIN", new_y="NEXT")
    if body.get("method") == "show-of-hands":
        pdf.set_font(sans, "B", 11)
        pdf.cell(w, 6, t("Counted by a show of hands: not signed by delegates."), new_x="LMARGIN", new_y="NEXT")
    if body.get("method") == "sealed-ballots":
        sealed = body["sealed"]
        invalid = f", {sealed['invalid']} of them invalid (counted as abstentions)" if sealed["invalid"] else ""
        pdf.multi_cell(w, 6, t(f"Secret ballot: {sealed['envelopes']} signed envelopes; {sealed['sealed']} sealed ballots "
                               f"opened with the tellers' key {sealed['teller_key_id']}{invalid}."),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(sans, "B", 11)
    pdf.cell(w, 6, t("How the statute decided it"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(sans, "", 10)
    for i, step in enumerate(view["explanation"], start=1):
        pdf.multi_cell(w, 5, t(f"{i}. {step['text']} ({step['article']})"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(mono, "", 7.5)
    cp = body["checkpoint"]
    for line in (f"Certificate SHA-256: {cert.sha256}", f"Vote definition SHA-256: {body['vote_sha256']}",
                 f"Ballot log: {cp['size']} ballots, root {cp['root']}", f"Rule set: {body['rule_set']['id']} ({body['rule_set']['sha256'][:16]}…)",
                 f"Key registry head: {body['registry']['head']}",
                 f"Signed by the organization key {cert.document['signatures']['organization']['key_id']}",
                 f"and the chair's key {cert.document['signatures']['chair']['key_id']}",
                 f"Opened {body['opened_at']} · closed {body['closed_at']} · certified {body['certified_at']}"):
        pdf.cell(w, 4, t(line), new_x="LMARGIN", new_y="NEXT")
    png = qr_png(f"{view['verify_url']}#sha256={cert.sha256}", box_size=6, border=2)
    y = max(pdf.get_y() + 4, 220)
    if y > 250:
        pdf.add_page()
        y = 20
    pdf.image(io.BytesIO(png), x=pdf.l_margin, y=y, w=40, h=40)
    pdf.set_xy(pdf.l_margin + 45, y + 4)
    pdf.set_font(sans, "", 9)
    pdf.multi_cell(w - 45, 5, t("Scan to open this certificate online. Anyone can check it and every ballot behind it "
                                "with the published election record and the offline verifier "
                                "(python -m ballots.verify record.json)."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
