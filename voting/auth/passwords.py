"""Staff passwords, hashed with argon2id."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# A hash of nothing anyone knows: verifying unknown usernames against it takes as long as a real
# check, so response time does not reveal which usernames exist.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))

WORDS = (
    "amber basil cedar delta ember fjord garnet harbor indigo juniper kestrel lagoon maple nectar "
    "orchid pepper quartz raven saffron tundra umber violet willow yarrow zephyr"
).split()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; constant work whether or not the account exists."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def one_time_password() -> str:
    """A readable one-time password: four words and four digits (about 36 bits, rate-limited)."""
    words = [secrets.choice(WORDS) for _ in range(4)]
    return "-".join(words) + f"-{secrets.randbelow(10000):04d}"
