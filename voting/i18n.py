"""The delegate pages in five languages (issue 10 item 7): Flask-Babel, which language a request is
answered in, the language switcher (GET and POST /language) and the messages the scripts show.

A delegate's explicit choice (a cookie set by the switcher) wins, then the browser's Accept-Language
among the five, then English. Only the delegate pages are translated (`TRANSLATED_*`); the staff
pages stay in English, so their `<html lang>` stays true. Translators: docs/translations.md.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask_babel import Babel, get_locale, get_translations
from flask_babel import gettext as _
from markupsafe import Markup

from .auth.access import public
from .errors import Invalid

# Each language named in its own language, in the order the switcher lists them.
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어", "ru": "Русский", "es": "Español", "fr": "Français"}
COOKIE = "wego_lang"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie; a delegate chooses once
# The delegate pages: the blueprints of enrolment, check-in, voting and receipts, the language
# route, the home page, and pages of no endpoint (404, 405), which the error page answers; and the
# delegate side of written consent (the typed code, the personal link, its sign-in and set-up calls,
# the answer page), whose blueprint also holds the Secretariat's pages, which stay in English.
TRANSLATED_BLUEPRINTS = frozenset({"assembly", "casting", "receiptcheck", "i18n"})
TRANSLATED_ENDPOINTS = frozenset({"auth.home", "consent.typed", "consent.link_page", "consent.api_signin",
                                  "consent.api_enrol", "consent.answer"})
JS_DIR = Path(__file__).resolve().parent / "static" / "js"
# What the scripts mark for translation: T("message", {...}) and P("singular", "plural", n, {...}),
# each message one double-quoted literal (pybabel extracts the same calls: babel.cfg).
_JS_T = re.compile(r'\bT\(\s*("(?:[^"\\\n]|\\.)*")')
_JS_P = re.compile(r'\bP\(\s*("(?:[^"\\\n]|\\.)*")\s*,\s*("(?:[^"\\\n]|\\.)*")')
# Numbers that fall in each CLDR plural category of our five languages (one, few, many, other).
_PLURAL_SAMPLES = (1, 2, 5, 0, 21, 22, 25, 11, 100, 1000000)

babel = Babel()
bp = Blueprint("i18n", __name__)


def translated_page() -> bool:
    """Whether this request is answered by a delegate page, which speaks the delegate's language."""
    if not has_request_context():
        return False
    endpoint = request.endpoint
    if endpoint is None:
        return True
    return endpoint in TRANSLATED_ENDPOINTS or endpoint.split(".", 1)[0] in TRANSLATED_BLUEPRINTS


def chosen_language() -> str | None:
    """The language the delegate chose with the switcher, if any."""
    value = request.cookies.get(COOKIE, "")
    return value if value in LANGUAGES else None


def select_locale() -> str | None:
    """The delegate's choice, else the browser's best match among the five, else English (None)."""
    if not translated_page():
        return None
    return chosen_language() or request.accept_languages.best_match(list(LANGUAGES))


def language() -> str:
    """The language code this request speaks ("en" outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def _safe_next(target: str | None) -> str:
    """Back to the page the switcher was on: a path on this site only (never another host)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith(("//", "/\\")) and not parts.scheme and not parts.netloc:
        return target
    return url_for("auth.home")


_PAGE = """{% extends "base.html" %}
{% block title %}{{ _("Language") }}{% endblock %}
{% block content %}
<section class="card narrow">
  <h1>{{ _("Language") }}</h1>
  <p class="lead">{{ lead }}</p>
  <form method="post" action="{{ url_for('i18n.set_language') }}" class="language-list">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <input type="hidden" name="next" value="{{ next }}">
    {% for code, name in languages.items() %}
      <button type="submit" name="lang" value="{{ code }}" lang="{{ code }}" class="button{% if code == html_lang %} primary{% endif %}"
              {% if code == html_lang %}aria-current="true"{% endif %}>{{ name }}</button>
    {% endfor %}
  </form>
</section>
{% endblock %}"""


@bp.route("/language", methods=["GET", "POST"])
@public
def set_language() -> Any:
    """GET: the five languages as buttons. POST (the switcher on every delegate page): remember the
    choice in a cookie and go back to the page it was made on."""
    if request.method == "GET":
        return render_template_string(_PAGE, next=_safe_next(request.args.get("next")),
                                      lead=_("Choose the language of these pages. Your phone remembers it."))
    code = request.form.get("lang", "")
    if code not in LANGUAGES:
        raise Invalid(_("Choose one of the languages in the list."), hint=_("Go back and choose again."))
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


# ---------------------------------------------------------------- the scripts' messages


@cache
def script_messages(script: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The messages (and singular/plural pairs) a script marks with T(...) and P(...)."""
    source = (JS_DIR / f"{script}.js").read_text("utf-8")
    singles = tuple(dict.fromkeys(json.loads(m) for m in _JS_T.findall(source)))
    plurals = tuple(dict.fromkeys((json.loads(s), json.loads(p)) for s, p in _JS_P.findall(source)))
    return singles, plurals


def js_catalog(*scripts: str) -> dict[str, Any]:
    """What the scripts need to speak this request's language: each message translated, and each
    plural message by CLDR category (the scripts pick one with Intl.PluralRules)."""
    lang = language()
    messages: dict[str, str] = {}
    plurals: dict[str, dict[str, str]] = {}
    if lang != "en":  # English is the scripts' own text
        translations = get_translations()
        locale = Locale.parse(lang)
        for script in scripts:
            singles, pairs = script_messages(script)
            for msgid in singles:
                messages[msgid] = translations.ugettext(msgid)
            for singular, plural in pairs:
                forms: dict[str, str] = {}
                for n in _PLURAL_SAMPLES:
                    forms.setdefault(locale.plural_form(n), translations.ungettext(singular, plural, n))
                forms.setdefault("other", translations.ungettext(singular, plural, 5))  # fractions
                plurals[singular] = forms
    return {"lang": lang, "messages": messages, "plurals": plurals}


def js_i18n(*scripts: str) -> Markup:
    """The data block the scripts read their messages from: JSON, never executed, so the strict CSP
    (no inline script) allows it. <, > and & are escaped so that no text can close the element."""
    text = json.dumps(js_catalog(*scripts), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="i18n">{text}</script>')


# ---------------------------------------------------------------- set-up


def init_i18n(app: Flask) -> None:
    """Flask-Babel with our locale selector, the switcher's route and what the templates need."""
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(Path(__file__).resolve().parent / "translations"))
    app.register_blueprint(bp)
    app.jinja_env.globals["js_i18n"] = js_i18n

    @app.before_request
    def _fresh_locale() -> None:
        # Flask-Babel caches the locale in `g`; a test client reusing one app context must not
        # carry one request's language into the next.
        g.pop("_flask_babel", None)

    @app.teardown_request
    def _forget_locale(_exc: BaseException | None) -> None:
        g.pop("_flask_babel", None)

    @app.context_processor
    def _languages() -> dict[str, object]:
        # The switcher shows on the delegate pages, but not on /language, which is one itself.
        switcher = translated_page() and request.endpoint != "i18n.set_language"
        return {"html_lang": language(), "languages": LANGUAGES, "language_switcher": switcher,
                "language_next": _here() if switcher else ""}


def _here() -> str:
    """Where the switcher comes back to: this page, or after a form's POST the page of its GET."""
    return request.full_path.rstrip("?") if request.method == "GET" else request.path
