"""Typed domain errors and the one place that maps them (and HTTP errors) to responses."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """An error a person can act on: what happened and what to do. Maps to a 4xx status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, hint: str = "", status: int | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if status is not None:
            self.status = status
        self.details = details


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Invalid(DomainError):
    status = 422
    code = "invalid"


class Unavailable(DomainError):
    """A temporary condition (database busy or unreachable): the request may be retried."""

    status = 503
    code = "retry"


RETRY_AFTER_SECONDS = 2
# SQLite reports schema and SQL mistakes as OperationalError too; only these mean "not now".
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def database_unavailable(err: BaseException | None) -> bool:
    """Whether a database error means "out of reach or busy for now", so that the same request
    sent again can succeed: a lost or refused connection, a lock wait, a serialization failure."""
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    if not isinstance(err, OperationalError):
        return False
    if type(err.orig).__module__.startswith("sqlite3"):
        return any(word in str(err.orig).lower() for word in _SQLITE_TRANSIENT)
    return True  # PostgreSQL: connection (08), rollback (40), resources (53), shutdown (57), lock (55P03)


def database_unavailable_error() -> Unavailable:
    return Unavailable(_("The system is busy for a moment: the database did not answer."),
                       hint=_("Wait a few seconds and try again. Nothing was lost, and a ballot sent again counts only once."))


def N_(message: str) -> str:
    """Marks a message for translation (pybabel extracts N_) that is translated where it is used:
    HTTP_WORDS stay plain English strings, so code comparing them with a page keeps working."""
    return message


def http_words(status: int, default: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """The title and hint for an HTTP status, in the request's language."""
    title, hint = HTTP_WORDS.get(status, default)
    return (_(title) if title else title), (_(hint) if hint else hint)


HTTP_WORDS = {
    400: (N_("The request could not be understood"), N_("Go back and try again. If it happens again, ask the Secretariat desk.")),
    401: (N_("Please sign in"), N_("Sign in, then try again.")),
    403: (N_("This page is not for your role"), N_("If you think you should see it, ask the Secretariat desk.")),
    404: (N_("There is nothing at this address"), N_("Check the address, or start again from the home page.")),
    410: (N_("This code no longer works"), N_("Ask the Secretariat desk for a new one.")),
    405: (N_("That action is not possible here"), N_("Go back and use the buttons on the page.")),
    413: (N_("What you sent is too large"), N_("Send a smaller file (at most 2 MB).")),
    429: (N_("Too many attempts"), N_("Wait a minute, then try again.")),
    500: (N_("Something went wrong on our side"),
          N_("Nothing you did caused this. Try again in a moment; if it persists, ask the Secretariat desk.")),
    503: (N_("The system is busy for a moment"), N_("Wait a few seconds and try again; nothing was lost.")),
}


def wants_json() -> bool:
    """API clients (JSON bodies, /api/ paths, Accept: application/json) get JSON errors."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, title: str, message: str, hint: str, code: str, **details: Any) -> tuple[Response | str, int]:
    """Render one error as JSON or as a page written for people."""
    if wants_json():
        body = {"error": code, "message": message, "hint": hint}
        body.update(details)
        return jsonify(body), status
    return render_template("error.html", status=status, title=title, message=message, hint=hint), status


def register_error_handlers(app: Flask) -> None:
    """Domain errors and HTTP errors become clear pages or JSON; never a bare traceback."""

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        title = http_words(err.status, HTTP_WORDS[400])[0]
        body, status = error_response(err.status, title, err.message, err.hint, err.code, **err.details)
        return (body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}) if isinstance(err, Unavailable) else (body, status)

    def _database_unavailable(err: BaseException) -> Any:
        """503 with Retry-After: the phone keeps the signed ballot and sends the same bytes again."""
        app.logger.warning("database unavailable: %s", str(err).splitlines()[0] if str(err) else type(err).__name__)
        from .extensions import db

        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the pool replaces it on the next checkout
            pass
        unavailable = database_unavailable_error()
        try:
            return _domain(unavailable)
        except DBAPIError:  # the page's header asks the database who is signed in
            title = http_words(503)[0]
            page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{unavailable.message}</p><p>{unavailable.hint}</p>"
            return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    @app.errorhandler(DBAPIError)
    def _database(err: DBAPIError) -> Any:
        if database_unavailable(err):
            return _database_unavailable(err)
        return _unexpected(err)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        if status == 500 and database_unavailable(getattr(err, "original_exception", None)):
            return _database_unavailable(err.original_exception)  # type: ignore[attr-defined]  # the commit failed
        title, hint = http_words(status, (err.name, ""))
        message = err.description if status in (400, 405, 429) and err.description else title
        if status == 400 and "CSRF" in (err.description or ""):
            message = _("This form had expired or was sent from elsewhere.")
            hint = _("Reload the page and send the form again.")
        if status == 429:
            message = _("Too many attempts in a short time.")
        return error_response(status, title, message, hint, err.name.lower().replace(" ", "_"))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        app.logger.exception("unexpected error")
        title, hint = http_words(500)
        return error_response(500, title, title + ".", hint, "internal_error")
