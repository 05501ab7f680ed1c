"""The base of the forms the application's pages post (Flask-WTF, with its CSRF token)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_wtf import FlaskForm


class PageForm(FlaskForm):
    """A form a page posts. A JSON body is not such a form: Flask-WTF would read any JSON value as
    the fields and fail (a 500) on one that is not an object, so the form is read as empty instead
    and says which fields are missing."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if has_request_context() and request.is_json:
                return None
            return super().wrap_formdata(form, formdata)
