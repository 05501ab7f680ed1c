"""voting/static/js/hpke.js in Debian's chromium: HPKE (RFC 9180) sealing composed from WebCrypto.

It must give RFC 9180 Appendix A.1.1's values at every step (tests/ballots/data/rfc9180_a11.json,
copied from golang/go src/crypto/internal/hpke/testdata/rfc9180-vectors.json; see its "_source"),
and what it seals must open with `cryptography`'s HPKE, as the tellers will open it.

The script is loaded by URL into an app page (/login): the app's CSP allows no inline script.
The test logic runs in page.evaluate, which the CSP does not govern."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

pytestmark = pytest.mark.browser

VECTOR = json.loads((Path(__file__).parents[1] / "ballots" / "data" / "rfc9180_a11.json").read_text())
SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
INFO = b"WeGO secret ballot v1|vote 42"
BALLOT = json.dumps({"ballot": {"choice": "yes", "kind": "motion", "nonce": "q3VvXz0c7mYk1y8Jw2nR4A",
                                "question": "Does the General Assembly adopt the budget for 2026?"},
                     "meeting": "ga-2026", "v": 1, "vote": 42, "vote_ref": "GA-2026/4/1",
                     "weights": {"member": 1, "votes": 1}, "when": "2026-07-02T10:15:00+09:00"},
                    sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
PLAINTEXTS = [b"", b"y", BALLOT, "Голосование — 投票 — ✓ naïve “quoted”".encode(), os.urandom(1000)]

# Bytes cross the page boundary as hex; these helpers are installed in the page once.
HEX_HELPERS = """() => {
  window.fromHex = (h) => Uint8Array.from((h.match(/../g) || []).map((b) => parseInt(b, 16)));
  window.toHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}"""


@pytest.fixture
def open_page(browser: Any, live_server: str, console: Any) -> Iterator[Any]:
    """A fresh page of the app (/login) with the given scripts added by URL, in that order."""
    contexts: list[Any] = []

    def make(*scripts: str, before: str | None = None) -> Any:
        context = browser.new_context()
        contexts.append(context)
        page = console.watch(context.new_page())
        page.goto(f"{live_server}/login")
        page.evaluate(HEX_HELPERS)
        if before:
            page.evaluate(before)
        for script in scripts:
            page.add_script_tag(url=f"{live_server}/static/js/{script}")
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Any) -> Any:
    return open_page("hpke.js")


def test_this_chromium_has_x25519(page: Any) -> None:
    assert page.evaluate("WeGO.hpke.supported()") is True
    assert page.evaluate("WeGO.hpke.suite") == {"kemId": 0x20, "kdfId": 1, "aeadId": 1, "mode": 0,
                                                 "nEnc": 32, "nTag": 16}


def test_rfc9180_a11_every_step(page: Any) -> None:
    v, e0 = VECTOR, VECTOR["encryption_seq0"]
    assert (v["mode"], v["kem_id"], v["kdf_id"], v["aead_id"]) == (0, 0x20, 1, 1)
    got = page.evaluate("""async ([pkRm, info, aad, pt, ikmE]) => {
      const r = await WeGO.hpke.sealWith(fromHex(pkRm), fromHex(info), fromHex(aad), fromHex(pt), fromHex(ikmE));
      return Object.fromEntries(Object.entries(r).map(([k, b]) => [k, toHex(b)]));
    }""", [v["pkRm"], v["info"], e0["aad"], e0["pt"], v["ikmE"]])
    assert got == {"enc": v["enc"], "sharedSecret": v["shared_secret"], "keyScheduleContext": v["key_schedule_context"],
                   "secret": v["secret"], "key": v["key"], "baseNonce": v["base_nonce"],
                   "exporterSecret": v["exporter_secret"], "ciphertext": e0["ct"]}
    assert v["enc"] == v["pkEm"] and e0["nonce"] == v["base_nonce"]  # seq 0: nonce = base_nonce


def _seal(page: Any, pk: bytes, info: bytes, plaintexts: list[bytes]) -> list[bytes]:
    sealed = page.evaluate("""async ([pk, info, pts]) => {
      const out = [];
      for (const pt of pts) out.push(toHex(await WeGO.hpke.seal(fromHex(pk), fromHex(info), fromHex(pt))));
      return out;
    }""", [pk.hex(), info.hex(), [p.hex() for p in plaintexts]])
    return [bytes.fromhex(s) for s in sealed]


def test_cryptography_opens_what_the_browser_seals(page: Any) -> None:
    sk = X25519PrivateKey.generate()
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sealed = _seal(page, pk, INFO, PLAINTEXTS)
    assert [len(s) for s in sealed] == [32 + len(p) + 16 for p in PLAINTEXTS]  # enc || ct || tag
    assert [SUITE.decrypt(s, sk, info=INFO) for s in sealed] == PLAINTEXTS
    assert 250 <= len(BALLOT) <= 400

    for s in sealed:
        with pytest.raises(InvalidTag):
            SUITE.decrypt(s, sk, info=INFO + b" ")
        with pytest.raises(InvalidTag):
            SUITE.decrypt(s, sk, info=b"")
        with pytest.raises(InvalidTag):
            SUITE.decrypt(s, X25519PrivateKey.generate(), info=INFO)

    # A changed byte anywhere, in enc or in the ciphertext, is refused. 0x80 too: X25519 ignores the top
    # bit of a public key (RFC 7748 §5), but enc is also bound into kem_context (RFC 9180 §4.1).
    ballot = sealed[PLAINTEXTS.index(BALLOT)]
    for i in range(len(ballot)):
        for bit in (0x01, 0x80):
            changed = bytearray(ballot)
            changed[i] ^= bit
            with pytest.raises(InvalidTag):
                SUITE.decrypt(bytes(changed), sk, info=INFO)
    with pytest.raises((InvalidTag, ValueError)):
        SUITE.decrypt(ballot[:-1], sk, info=INFO)


def test_each_seal_has_a_fresh_ephemeral_key(page: Any) -> None:
    sk = X25519PrivateKey.generate()
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    first, second, third = _seal(page, pk, INFO, [BALLOT, BALLOT, BALLOT])
    assert len({first[:32], second[:32], third[:32]}) == 3
    assert len({first[32:], second[32:], third[32:]}) == 3
    assert {SUITE.decrypt(s, sk, info=INFO) for s in (first, second, third)} == {BALLOT}


def test_bad_keys_and_inputs_are_refused_in_plain_words(page: Any) -> None:
    errors = page.evaluate("""async () => {
      const info = new Uint8Array([1]), pt = new Uint8Array([2]);
      const said = (p) => p.then(() => "sealed", (e) => [e instanceof Error, e.code, e.message]);
      const one = new Uint8Array(32); one[0] = 1;
      return {
        short: await said(WeGO.hpke.seal(new Uint8Array(31), info, pt)),
        text: await said(WeGO.hpke.seal("not bytes", info, pt)),
        zero: await said(WeGO.hpke.seal(new Uint8Array(32), info, pt)),   // small order: DH output all zero
        one: await said(WeGO.hpke.seal(one, info, pt)),                   // u = 1, small order too
        shortIkm: await said(WeGO.hpke.sealWith(one, info, info, pt, new Uint8Array(16))),
      };
    }""")
    assert errors["short"] == [True, "bad-input", "HPKE: the public key must be 32 bytes, not 31."]
    assert errors["text"] == [True, "bad-input", "HPKE: the public key must be bytes (a Uint8Array)."]
    refused = [True, "bad-public-key", "The tellers' public key is not a usable X25519 key; the ballot was not sealed."]
    assert errors["zero"] == refused
    assert errors["one"] == refused
    assert errors["shortIkm"] == [True, "bad-input", "HPKE: ikmE must be at least 32 bytes."]


def test_a_browser_without_x25519_is_told_to_update(open_page: Any) -> None:
    page = open_page("hpke.js", before="""() => {
      const generate = SubtleCrypto.prototype.generateKey;
      SubtleCrypto.prototype.generateKey = function (algorithm, ...rest) {
        if ((algorithm.name || algorithm) === "X25519") return Promise.reject(new DOMException("no", "NotSupportedError"));
        return generate.call(this, algorithm, ...rest);
      };
    }""")
    assert page.evaluate("WeGO.hpke.supported()") is False
    assert page.evaluate("""() => WeGO.hpke.seal(new Uint8Array(32).fill(9), new Uint8Array(0), new Uint8Array(1))
      .then(() => "sealed", (e) => [e.code, e.message])""") == [
        "no-x25519", "This browser cannot seal a secret ballot (no X25519 in WebCrypto); update the browser."]


@pytest.mark.parametrize("order", [("hpke.js", "keystore.js"), ("keystore.js", "hpke.js")])
def test_it_shares_window_wego_with_keystore(open_page: Any, order: tuple[str, str]) -> None:
    page = open_page(*order)
    assert page.evaluate("[typeof WeGO.hpke.seal, typeof WeGO.keys.generate, typeof WeGO.i18n.t]") == [
        "function", "function", "function"]
