"""Jinja filters and globals: people's words for enum values, dates in the hall's time, in the
language of the page (voting/i18n.py): English keeps its own '27 Jun 2017, 17:00'; the other
languages use their CLDR patterns through Babel ('2017년 6월 27일 17:00', '27 juin 2017, 17:00')."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from numbers import Number

from babel.dates import format_skeleton, get_datetime_format
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from .models.common import label


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def _local_words(moment: datetime, tz: timezone, *, year: bool = True) -> str:
    """Day, month (in words), year and the 24-hour time, as the locale writes them."""
    locale = _locale()
    day = format_skeleton("yMMMd" if year else "MMMd", moment, tzinfo=tz, locale=locale)
    clock = format_skeleton("Hm", moment, tzinfo=tz, locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", day).replace("{0}", clock)


def fmt_datetime(value: datetime | None, offset_minutes: int = 0) -> str:
    """'27 Jun 2017, 17:00 (UTC+04:00)': the clock of the hall, with its offset said."""
    if value is None:
        return ""
    tz = timezone(timedelta(minutes=offset_minutes)) if offset_minutes else UTC
    local = value.astimezone(tz)
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    offset = f"(UTC{sign}{hh:02d}:{mm:02d})"
    if _locale() == "en":
        return f"{local:%d %b %Y, %H:%M} {offset}"
    return f"{_local_words(value, tz)} {offset}"


def fmt_utc(value: datetime, *, year: bool = True) -> str:
    """A UTC moment inside a sentence that says "UTC" itself: '27 Jun 2017 at 17:00' in English."""
    if _locale() == "en":
        return f"{value.astimezone(UTC):%d %b %Y at %H:%M}" if year else f"{value.astimezone(UTC):%d %b at %H:%M}"
    return _local_words(value if value.tzinfo else value.replace(tzinfo=UTC), UTC, year=year)


def fmt_date(value: date | None) -> str:
    """'27 Jun 2017' in English, '2017년 6월 27일', '27 июн. 2017 г.', '27 jun 2017', '27 juin 2017'."""
    if value is None:
        return ""
    locale = _locale()
    if locale == "en":
        return f"{value:%d %b %Y}"
    return format_skeleton("yMMMd", datetime(value.year, value.month, value.day), locale=locale)


def fmt_number(value: Number | int | None) -> str:
    """A number as the page's language writes it (1,234 · 1 234 · 1.234)."""
    return "" if value is None else format_decimal(value, locale=_locale())


def register_templating(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["number"] = fmt_number

    @app.context_processor
    def _globals() -> dict[str, object]:
        role = getattr(current_user, "role", None)
        return {"current_role": role}
