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


def keep_receipt(page: Any, answer: dict[str, Any]) -> None:
    """Put the ballot API's answer into the page's receipt store as vote.js keeps it (IndexedDB
    "wego-receipts", keyed by the leaf hash), for pages that read the receipts kept on the phone."""
    page.evaluate("""answer => new Promise((resolve, reject) => {
      const req = indexedDB.open("wego-receipts", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("receipts", { keyPath: "leaf" });
      req.onsuccess = () => {
        const t = req.result.transaction("receipts", "readwrite");
        t.objectStore("receipts").put({ leaf: answer.receipt.leaf_hash, answer, savedAt: new Date().toISOString() });
        t.oncomplete = () => { req.result.close(); resolve(); };
        t.onerror = () => reject(t.error);
      };
    })""", answer)
