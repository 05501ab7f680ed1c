"""Benchmark-only endpoints (bench/cast.py): registered only when BENCH_ENDPOINTS is true.

POST /api/bench/write is the baseline a ballot is measured against: a signed-in delegate's request
that does one committed database write (an audit event, which also serializes on the audit chain's
head, as a ballot serializes on its vote) through the same app, session and commit hook.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask_login import current_user

from .auth.access import roles
from .services import audit

bp = Blueprint("bench", __name__)


@bp.post("/api/bench/write")
@roles("delegate")
def bench_write() -> Any:
    """One committed write (the request hook commits), for the casting benchmark's baseline."""
    event = audit.append("bench.write", "delegate", str(current_user.delegate.id), None, {"bench": True})
    return jsonify({"ok": True, "seq": event.seq}), 201
