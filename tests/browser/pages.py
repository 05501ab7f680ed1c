"""Steps that several browser tests take the same way in a page."""

from __future__ import annotations

from typing import Any


def sign_in(page: Any, base: str, username: str, password: str, *, timeout: int = 10_000) -> Any:
    """A staff member signs in through the form at /login, as at the desk; the page is then at /."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/", timeout=timeout)
    return page
