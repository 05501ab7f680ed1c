"""Staff accounts: creation with one-time passwords, sign-in, password change."""

from __future__ import annotations

import re

from ..auth.passwords import check_password, hash_password, one_time_password
from ..auth.principal import staff_by_username
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models import Role, StaffAccount, utcnow
from . import audit

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
MIN_PASSWORD = 12


def _public(account: StaffAccount) -> dict[str, object]:
    snap = audit.snapshot(account)
    snap.pop("password_hash", None)  # never in the audit log
    return snap


def create_staff(username: str, role: str, display_name: str, email: str | None = None) -> tuple[StaffAccount, str]:
    """A new account with a one-time password, which is returned once and stored only hashed."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Invalid("A username is 2–60 lower-case letters, digits, dots, hyphens or underscores.")
    if staff_by_username(username) is not None:
        raise Conflict(f"There is already a staff account named {username}.")
    password = one_time_password()
    account = StaffAccount(
        username=username, display_name=display_name, email=email,
        password_hash=hash_password(password), role=Role(role), must_change_password=True,
    )
    db.session.add(account)
    db.session.flush()
    audit.append("staff.create", "staff_account", str(account.id), None, _public(account))
    return account, password


def reset_password(username: str) -> str:
    account = staff_by_username(username)
    if account is None:
        raise NotFound(f"No staff account named {username}.")
    password = one_time_password()
    account.password_hash = hash_password(password)
    account.must_change_password = True
    audit.append("staff.reset_password", "staff_account", str(account.id), None, _public(account))
    return password


def authenticate(username: str, password: str) -> StaffAccount | None:
    account = staff_by_username(username.strip().lower())
    ok = check_password(account.password_hash if account else None, password)
    if not ok or account is None or not account.is_active:
        return None
    account.last_login_at = utcnow()
    return account


def change_password(account: StaffAccount, current: str, new: str, repeat: str) -> None:
    if not check_password(account.password_hash, current):
        raise Invalid("The current password is not right.")
    if new != repeat:
        raise Invalid("The two new passwords differ.")
    if len(new) < MIN_PASSWORD:
        raise Invalid(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if new == current:
        raise Invalid("Choose a password different from the one-time password.")
    account.password_hash = hash_password(new)
    account.must_change_password = False
    audit.append("staff.change_password", "staff_account", str(account.id), None, _public(account))
