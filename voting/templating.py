"""Jinja filters and globals: people's words for enum values, dates in the hall's time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from flask import Flask
from flask_login import current_user

from .models.common import label


def fmt_datetime(value: datetime | None, offset_minutes: int = 0) -> str:
    """'27 Jun 2017, 17:00 (UTC+04:00)': the clock of the hall, with its offset said."""
    if value is None:
        return ""
    tz = timezone(timedelta(minutes=offset_minutes)) if offset_minutes else UTC
    local = value.astimezone(tz)
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    return f"{local:%d %b %Y, %H:%M} (UTC{sign}{hh:02d}:{mm:02d})"


def fmt_date(value: date | None) -> str:
    return "" if value is None else f"{value:%d %b %Y}"


def register_templating(app: Flask) -> None:
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["date"] = fmt_date

    @app.context_processor
    def _globals() -> dict[str, object]:
        role = getattr(current_user, "role", None)
        return {"current_role": role}
