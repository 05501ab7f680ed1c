"""Declared access: every view says which roles it serves; the route-walk test reads these marks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_login import current_user

from ..errors import Forbidden
from ..extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
ANY_STAFF = frozenset({"secretariat", "chair", "secretary-general", "observer"})


def public(view: F) -> F:
    """Anyone, signed in or not."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def roles(*names: str) -> Callable[[F], F]:
    """Only signed-in staff with one of these roles; anonymous visitors are sent to sign in."""
    allowed = frozenset(names)
    unknown = allowed - ANY_STAFF - {"delegate"}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if getattr(current_user, "role", None) not in allowed:
                raise Forbidden(
                    "This page is for " + ", ".join(sorted(allowed)) + " only.",
                    hint="If you need it, ask the Secretariat desk to give your account that role.",
                )
            return view(*args, **kwargs)

        wrapper.access = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
