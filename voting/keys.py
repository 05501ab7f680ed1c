"""The organization's Ed25519 signing key, kept in instance/ (mode 0600), created on first use."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from ballots.signatures import OrgKey


def org_key_path(app: Flask | None = None) -> Path:
    app = app or current_app
    path = Path(app.config["ORG_KEY_FILE"])
    return path if path.is_absolute() else Path(app.instance_path) / path


def ensure_org_key(app: Flask | None = None) -> tuple[OrgKey, bool]:
    """Load the key, or create it when there is none; returns (key, created)."""
    app = app or current_app
    cached = app.extensions.get("voting.org_key")
    if cached is not None:
        return cached, False
    path = org_key_path(app)
    created = False
    if not path.exists():
        try:
            OrgKey.generate().save_pem(path)
            created = True
        except FileExistsError:
            pass  # another worker created it first; load theirs
    key = OrgKey.load_pem(path)
    app.extensions["voting.org_key"] = key
    return key, created


def org_key() -> OrgKey:
    return ensure_org_key()[0]
