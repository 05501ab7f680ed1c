"""Who is signed in: a staff account or (issue 4) a delegate holding an enrolled key."""

from __future__ import annotations

import time

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import Delegate, DeviceKey, StaffAccount


class StaffUser(UserMixin):
    """A signed-in staff account; the session id carries a fragment of the password hash so that
    changing the password ends every other session."""

    kind = "staff"

    def __init__(self, account: StaffAccount):
        self.account = account
        self.role = account.role.value
        self.display_name = account.display_name

    def get_id(self) -> str:
        return f"s:{self.account.id}:{self.account.password_hash[-12:]}"

    @property
    def actor(self) -> str:
        return f"staff:{self.account.username}"


class DelegateUser(UserMixin):
    """A delegate signed in through an enrolled device key; the session ends when the key is
    revoked or the meeting it was issued for is over."""

    kind = "delegate"
    role = "delegate"

    def __init__(self, delegate: Delegate, key: DeviceKey, until: int):
        self.delegate = delegate
        self.key = key
        self.until = until
        self.display_name = delegate.display_name

    def get_id(self) -> str:
        return f"d:{self.delegate.id}:{self.key.key_id}:{self.until}"

    @property
    def actor(self) -> str:
        return f"delegate:{self.delegate.id}"


class Anonymous(AnonymousUserMixin):
    role = None
    kind = "anonymous"
    actor = "anonymous"


login_manager.anonymous_user = Anonymous
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
# "basic", not "strong": a phone moving from hall Wi-Fi to mobile data changes address, and must
# stay signed in; delegate sessions are tied to their enrolled key instead (load_user).
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | DelegateUser | None:
    kind, _, rest = user_id.partition(":")
    if kind == "s":
        ident, _, fragment = rest.partition(":")
        if not ident.isdigit():
            return None
        account = db.session.get(StaffAccount, int(ident))
        if account is None or not account.is_active or account.password_hash[-12:] != fragment:
            return None
        return StaffUser(account)
    if kind == "d":
        ident, key_id, until = (rest.split(":") + ["", "", ""])[:3]
        if not ident.isdigit() or not until.isdigit() or int(until) < int(time.time()):
            return None
        key = db.session.get(DeviceKey, key_id)
        if key is None or key.revoked_at is not None or key.delegate_id != int(ident):
            return None
        delegate = key.delegate
        if delegate is None or not delegate.is_active:
            return None
        return DelegateUser(delegate, key, int(until))
    return None


def staff_by_username(username: str) -> StaffAccount | None:
    return db.session.scalars(select(StaffAccount).where(StaffAccount.username == username)).first()
