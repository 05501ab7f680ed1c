"""Documented defaults. instance/config.py overrides them, then VOTING_* environment variables.

Every key here may be set in instance/config.py (as a Python assignment) or in the environment
as VOTING_<KEY> (for example VOTING_DATABASE_URL=postgresql+psycopg://… selects PostgreSQL).
Environment values are parsed as JSON when they parse (numbers, true/false, lists), else taken
as strings.
"""

from __future__ import annotations

import json
import os
from typing import Any

# The database. None means SQLite at instance/voting.sqlite (the embedded default).
DATABASE_URL: str | None = None

# Cookie and session hardening; Secure cookies work on http://127.0.0.1 and localhost in
# browsers (secure contexts) and must stay on behind TLS in production.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = True
REMEMBER_COOKIE_HTTPONLY = True
PERMANENT_SESSION_LIFETIME = 14 * 24 * 3600  # seconds; delegate sessions end with the meeting

# Largest request body accepted (bytes): a CSV roster of a few thousand rows fits easily.
MAX_CONTENT_LENGTH = 2 * 1024 * 1024

# The regions members belong to (configurable list, issue 2).
REGIONS = ["Asia-Pacific", "Europe", "Africa", "Middle East", "Latin America", "North America"]

# The rule set whose roster parameters (voting representatives per member) apply to the roster.
ROSTER_RULE_SET = "wego-2014"

# Public base URL printed in QR codes (https://HOST); None uses the request's host.
PUBLIC_BASE_URL: str | None = None

# How many reverse proxies in front of the app set X-Forwarded-For, -Proto, -Host and -Port
# (docs/deploy.md): 0 when clients reach the app directly (`make run`, or gunicorn on its own);
# 1 behind one nginx; 2 behind a load balancer and then nginx. The app then takes the client's
# address (for the login rate limit), https and the public host from those headers. Never set it
# higher than the number of proxies that really overwrite the headers: clients could forge them.
TRUST_PROXY_HOPS = 0

# Enrolment QR codes expire after this many hours (issue 4).
ENROL_TOKEN_TTL_HOURS = 72

# Login rate limits (Flask-Limiter syntax) and the limiter's storage. memory:// counts per worker
# process, so with W workers on S servers a client may try up to W x S times the limit; a shared
# store (redis://host:6379, needs the redis client) makes it one limit (docs/deploy.md).
LOGIN_RATE_LIMIT = "10 per minute"
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True

# Outgoing mail (enrolment QR codes, written-consent links).
MAIL_HOST = "localhost"
MAIL_PORT = 25
MAIL_SENDER = "secretariat@we-gov.org"
MAIL_USE_TLS = False
MAIL_USERNAME: str | None = None
MAIL_PASSWORD: str | None = None

# Where the organization's Ed25519 signing key lives (relative to instance/ unless absolute).
ORG_KEY_FILE = "org_signing_key.pem"

# Origin string written into every checkpoint (C2SP style), normally the public host name.
LOG_ORIGIN = "wego-voting"

WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: a chair's page may stay open all day


def defaults() -> dict[str, Any]:
    """The documented defaults above as a dict."""
    return {k: v for k, v in globals().items() if k.isupper()}


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """VOTING_* variables with the prefix removed; JSON values are parsed."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith("VOTING_") or name.startswith("VOTING_TEST_"):
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[name.removeprefix("VOTING_")] = value
    return out
