"""The draft form of a resolution. It checks shape only; services.consent decides what is valid."""

from __future__ import annotations

from typing import Any

from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..forms import PageForm
from ..models import ConsentRule
from ..services.consent import RULE_WORDS

DEADLINE_HELP = ("Date and time as your clock shows it, with its UTC offset, for example 2026-03-31T18:00+09:00. "
                 "Answers after it are recorded as late and not counted.")
ATTACHMENTS_HELP = ("Optional. One a line: a label, a vertical bar, and the address, for example "
                    "Budget 2026 | https://we-gov.org/files/budget-2026.pdf")


class ResolutionForm(PageForm):
    title = StringField("Title", validators=[InputRequired(message="Give the resolution a title."), Length(max=300)])
    text = TextAreaField("Full text", validators=[InputRequired(message="Write the full text of the resolution.")],
                         description="Exactly what the members consent to. Its SHA-256 is fixed when you send it; "
                                     "a change after sending is a new resolution.",
                         render_kw={"rows": 12})
    attachments = TextAreaField("Attachments (links)", validators=[Optional(), Length(max=25_000)],
                                description=ATTACHMENTS_HELP, render_kw={"rows": 3})
    # The service checks both choices and says what is wrong in words.
    rule = SelectField("Rule", choices=[SelectChoice(r.value, RULE_WORDS[r]) for r in ConsentRule], validate_choice=False,
                       description="Unanimity where the rule set demands it: dissolving a regional office in writing "
                                   "under wego-2014 needs every member's consent (Art. 13.6(b)).")
    rule_set = SelectField("Rule set", choices=[], validate_choice=False, description="The statute version whose thresholds apply.")
    deadline = StringField("Deadline", validators=[InputRequired(message="Set the deadline for answers.")],
                           description=DEADLINE_HELP, render_kw={"autocomplete": "off", "placeholder": "2026-03-31T18:00+09:00"})

    def __init__(self, *args: Any, rule_sets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule_set.choices = [SelectChoice(r, r) for r in rule_sets]
