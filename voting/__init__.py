"""The WeGO voting application: `create_app` builds it from defaults, instance config and environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from . import config as default_config
from .errors import DomainError
from .extensions import csrf, db, limiter, login_manager, write_intent

REPO_ROOT = Path(__file__).resolve().parent.parent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number past the id columns' range (32-bit INTEGER on PostgreSQL,
    64-bit on SQLite) names no row, so routing answers 404 instead of the database overflowing."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where nesting too deep to parse is malformed JSON (a ValueError, answered with a
    message) rather than a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("The JSON is nested too deeply.") from None


def _instance_path() -> str:
    return os.environ.get("VOTING_INSTANCE_PATH") or str(REPO_ROOT / "instance")


def _secret_key(instance: Path) -> str:
    """The session secret from instance/secret_key, created (mode 0600) on first start."""
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker created it a moment ago
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults < instance/config.py < VOTING_* environment < test_config."""
    app = Flask(
        __name__,
        instance_path=_instance_path(),
        instance_relative_config=True,
        template_folder=str(REPO_ROOT / "templates"),
    )
    app.config.from_mapping(default_config.defaults())
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(default_config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.json = JSONProvider(app)
    app.url_map.converters["int"] = RowIdConverter  # before any route is added

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'voting.sqlite'}"
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)

    hops = int(app.config.get("TRUST_PROXY_HOPS") or 0)
    if hops > 0:  # behind TLS-terminating proxies: the client's address, scheme and host (docs/deploy.md)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from .errors import register_error_handlers
    from .i18n import init_i18n
    from .templating import register_templating

    register_error_handlers(app)
    register_templating(app)
    init_i18n(app)
    _register_request_hooks(app)
    _register_blueprints(app)

    from .cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .assembly.casting import bp as casting_bp
    from .assembly.views import bp as assembly_bp
    from .auth.views import bp as auth_bp
    from .badges.views import bp as badges_bp
    from .chair.console import bp as console_bp
    from .chair.views import bp as chair_bp
    from .consent.views import bp as consent_bp
    from .roster.views import bp as roster_bp
    from .verify.receipt_views import bp as receiptcheck_bp
    from .verify.views import bp as results_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(assembly_bp)
    app.register_blueprint(casting_bp)
    app.register_blueprint(chair_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(badges_bp)
    app.register_blueprint(results_bp)
    app.register_blueprint(receiptcheck_bp)
    app.register_blueprint(consent_bp)
    if app.config.get("BENCH_ENDPOINTS"):  # bench/cast.py's baseline write; never on in production
        from .bench_views import bp as bench_bp

        app.register_blueprint(bench_bp)


def _register_request_hooks(app: Flask) -> None:
    """One place commits: a request that ends below 400 commits, anything else rolls back."""

    @app.before_request
    def _mark_writer() -> None:
        request.environ["voting.write_token"] = write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.before_request
    def _refuse_nul() -> None:
        """No address, query or form of ours holds a NUL character, and PostgreSQL cannot store one:
        refuse it in words rather than fail in the database."""
        values = [request.path, *(v for _k, v in request.args.items(multi=True))]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [v for _k, v in request.form.items(multi=True)]
        if any("\x00" in value for value in values):
            raise DomainError("What was sent holds a NUL character (an invisible control code), so it was not used.",
                              hint="Type the text again rather than pasting it, then send it again.")

    @app.after_request
    def _commit_and_harden(response: Response) -> Response:
        session = db.session
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if request.endpoint and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def _unmark_writer(_exc: BaseException | None) -> None:
        token = request.environ.pop("voting.write_token", None)
        if token is not None:
            write_intent.reset(token)
