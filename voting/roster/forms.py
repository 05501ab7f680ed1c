"""Forms of the roster pages. They check shape only; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Form, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import EmailField, SearchField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from ..forms import PageForm
from ..models import Body, CandidacyKind, Category, DecisionKind, MemberStatus, Office, label

Choices = list[tuple[Any, str]]

WHEN_HELP = "Date and time as the venue's clock shows it, with its UTC offset, for example:\n2017-06-27T17:00+04:00"


def options(pairs: Choices) -> list[SelectChoice]:
    """(value, text) pairs as WTForms options."""
    return [SelectChoice(value, text) for value, text in pairs]


def enum_choices(enum_cls: Any) -> list[SelectChoice]:
    return options([(m.value, label(m)) for m in enum_cls])


def _date_field(text: str, description: str = "") -> StringField:
    """A date picker; browsers send the ISO date (2017-06-27) whatever format they show."""
    return StringField(text, validators=[Optional(), Length(max=10)], description=description,
                       render_kw={"type": "date", "placeholder": "2017-06-27"})


class MemberFilterForm(Form):
    """The members list's filters, read from the query string (a GET form: no CSRF token)."""

    q = SearchField("Search", validators=[Optional(), Length(max=100)], render_kw={"placeholder": "Search by city or country"})
    category = SelectField("Category", choices=[SelectChoice("", "Any category"), *enum_choices(Category)], validate_choice=False)
    region = SelectField("Region", choices=options([("", "Any region")]), validate_choice=False)
    status = SelectField("Status", choices=[SelectChoice("", "Any status"), *enum_choices(MemberStatus)], validate_choice=False)

    def __init__(self, *args: Any, regions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = options([("", "Any region"), *[(r, r) for r in regions]])


class MemberForm(PageForm):
    name = StringField("Name", validators=[InputRequired(message="Enter the member's name."), Length(max=160)])
    country = StringField("Country", validators=[InputRequired(message="Enter the country."), Length(max=80)])
    region = SelectField("Region", choices=[])
    category = SelectField("Category", choices=enum_choices(Category),
                           description="Only full members in good standing vote in the General Assembly (Art. 10.1).")
    status = SelectField("Status", choices=enum_choices(MemberStatus),
                         description="To withdraw or suspend a member, choose the status and give the date it takes effect.")
    status_effective_on = _date_field(
        "Status takes effect on",
        "Required for a suspension or withdrawal (Art. 12.2(a)); the member keeps voting until that day.",
    )
    fee_paid_through = StringField("Fees paid through (year)", validators=[Optional(), Length(max=4)],
                                   render_kw={"inputmode": "numeric", "placeholder": "2017"})
    joined_on = _date_field("Joined on")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: Any, regions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region.choices = options([(r, r) for r in regions])


class DelegateForm(PageForm):
    display_name = StringField("Display name", validators=[InputRequired(message="Enter the delegate's name."), Length(max=160)])
    email = EmailField("E-mail", validators=[InputRequired(message="Enter the delegate's e-mail address."), Length(max=254)],
                       description="Where the enrolment QR code is sent; seen only by the Secretariat.")
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], render_kw={"type": "tel"})
    is_voting = BooleanField("Voting representative (casts the member's vote)")


class DelegateEditForm(DelegateForm):
    is_active = BooleanField("Active (untick to deactivate; a delegate is never deleted)")


class SeatForm(PageForm):
    member_id = SelectField("Member", coerce=int, choices=[])
    office = SelectField("Office", choices=enum_choices(Office))
    term_start = IntegerField("First year of the term",
                              validators=[InputRequired(message="Enter the first year of the term, like 2016.")])
    term_end = IntegerField("Last year of the term",
                            validators=[InputRequired(message="Enter the last year of the term, like 2018.")])

    def __init__(self, *args: Any, members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member_id.choices = options(members)


class SeatEditForm(PageForm):
    office = SelectField("Office", choices=enum_choices(Office))
    term_start = IntegerField("First year of the term",
                              validators=[InputRequired(message="Enter the first year of the term, like 2016.")])
    term_end = IntegerField("Last year of the term",
                            validators=[InputRequired(message="Enter the last year of the term, like 2018.")])


class MeetingForm(PageForm):
    key = StringField("Short name", validators=[InputRequired(message="Enter a short name, like excom-2017."), Length(max=60)],
                      description="Lower-case letters, digits and hyphens, like excom-2017 or ga-2017.",
                      render_kw={"autocapitalize": "none"})
    title = StringField("Title", validators=[InputRequired(message="Enter the meeting's title."), Length(max=200)])
    body = SelectField("Body", choices=enum_choices(Body))
    rule_set = SelectField("Rule set", choices=[], description="The statute version whose thresholds apply.")
    starts_at = StringField("Starts at", validators=[InputRequired(message="Enter when the meeting starts.")],
                            description=WHEN_HELP, render_kw={"placeholder": "2017-06-27T17:00+04:00"})
    ends_at = StringField("Ends at", validators=[InputRequired(message="Enter when the meeting ends.")],
                          description=WHEN_HELP, render_kw={"placeholder": "2017-06-27T18:30+04:00"})
    venue = StringField("Venue", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    host_member_id = SelectField("Host member", choices=[])

    def __init__(self, *args: Any, rule_sets: list[str], members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule_set.choices = options([(r, r) for r in rule_sets])
        self.host_member_id.choices = options([("", "No host member"), *[(str(v), t) for v, t in members]])


class AgendaItemForm(PageForm):
    number = StringField("Number", validators=[InputRequired(message="Enter the item's number, like 3 or 7.1."), Length(max=20)],
                         description="As printed on the agenda; items are ordered by it.")
    title = StringField("Title", validators=[InputRequired(message="Enter the item's title."), Length(max=300)])
    presenter = StringField("Presented by", validators=[Optional(), Length(max=200)])
    decision = SelectField("Decision needed", choices=enum_choices(DecisionKind),
                           description="Decides which rule of the statute the vote follows.")
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=4000)])


class CandidacyForm(PageForm):
    member_id = SelectField("Member", coerce=int, choices=[])
    kind = SelectField("Candidacy or bid for", choices=enum_choices(CandidacyKind))
    notified_on = _date_field("Written notice received on",
                              "The date on the member's written notice: notice periods count from it.")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: Any, members: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member_id.choices = options(members)


class ImportForm(PageForm):
    kind = RadioField("The file holds", choices=options([("members", "Members"), ("delegates", "Delegates")]), default="members")
    file = FileField("CSV file (UTF-8)", validators=[FileRequired(message="Choose a CSV file to import.")])


class ConfirmForm(PageForm):
    """An empty form: only its CSRF token, for one-button actions such as deactivating."""
