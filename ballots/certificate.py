"""The certified result of a vote: a canonical JSON body signed by the organization and the chair.

CRYPTO_DESIGN.md "Certificate"; the exact layout is in docs/record-format.md "Certificate". A
certificate document is {"body": body, "signatures": {"organization": {...}, "chair": {...}}}.
Both keys sign the same bytes, `chair_message(body)`:

    "wego-certificate/v1\\n" || JCS(body)

that is the certificate label (ASCII, ending in a newline) followed by the RFC 8785 canonical
UTF-8 bytes of the body. The organization key signs with Ed25519; the chair's browser signs with
its device key (WebCrypto Ed25519, or ECDSA P-256 with SHA-256 giving the 64-byte r || s). Each
signature travels as base64url without padding, with the key id of the key that made it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ballots.canonical import NotCanonical, canonical_bytes, parse_canonical, sha256_hex
from ballots.checkpoint import Checkpoint
from ballots.registry import ACTIVE, KeyRegistry, RegistryError
from ballots.rules import RuleSet
from ballots.signatures import (
    CERTIFICATE_LABEL,
    ED25519,
    SIGNATURE_SIZE,
    OrgKey,
    PublicKey,
    b64url_decode,
    b64url_encode,
)
from ballots.tally import Outcome

__all__ = [
    "CERTIFICATE_TYPE", "CERTIFICATE_VERSION", "METHODS", "SHOW_OF_HANDS", "SIGNED_BALLOTS", "STAFF_MEMBER",
    "SEALED_BALLOTS", "SEALED_KEYS", "CertificateError", "add_chair_signature", "build_body", "certificate_hash", "chair_message",
    "sign_by_organization", "verify_certificate",
]

CERTIFICATE_VERSION = 1
CERTIFICATE_TYPE = "wego-certificate"
SIGNED_BALLOTS = "signed-ballots"
SHOW_OF_HANDS = "show-of-hands"
# A secret ballot: signed envelopes in the ballot log, choices sealed to the tellers' key and
# opened after the close (ballots.sealed); the body's "sealed" says what the tellers found.
SEALED_BALLOTS = "sealed-ballots"
METHODS = (SIGNED_BALLOTS, SHOW_OF_HANDS, SEALED_BALLOTS)
# Staff device keys (the chair's, the Secretary General's) are enrolled for the member "staff".
STAFF_MEMBER = "staff"

BODY_KEYS = frozenset({
    "v", "type", "vote", "vote_sha256", "meeting", "agenda_item", "round", "rule_set", "registry", "roll",
    "counts", "outcome", "checkpoint", "method", "opened_at", "closed_at", "certified_at", "chair",
})
OPTIONAL_BODY_KEYS = frozenset({"show_of_hands", "casting_vote", "sealed"})
SEALED_KEYS = frozenset({"teller_key_id", "envelopes", "sealed", "invalid", "checkpoint", "choices_sha256"})
CASTING_VOTE_KEYS = frozenset({"ballot", "signature", "key", "registry_seq"})
SHOW_OF_HANDS_KEYS = frozenset({"counts", "recorded_by", "confirmed_by"})

_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_STAFF_REF = re.compile(r"s[0-9]+")


class CertificateError(ValueError):
    """A certificate that cannot be built or signed as asked; the message says what to fix."""


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 UTC time such as 2025-05-14T10:32:00.000000Z, or None if it is not one."""
    if not isinstance(value, str) or not _RFC3339_UTC.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _need_time(name: str, value: Any) -> str:
    if parse_time(value) is None:
        raise CertificateError(f"{name} must be an RFC 3339 UTC time such as 2025-05-14T10:32:00Z, not {value!r}")
    return str(value)


def build_body(definition: bytes, *, outcome: Outcome | Mapping[str, Any], counts: Mapping[str, Any],
               checkpoint: Checkpoint | Mapping[str, Any], rule_set: RuleSet, parameters: Mapping[str, Any],
               registry_seq: int, registry_head: str, closed_at: str, certified_at: str, chair_holder: str,
               chair_key_id: str, method: str = SIGNED_BALLOTS, show_of_hands: Mapping[str, Any] | None = None,
               casting_vote: Mapping[str, Any] | None = None,
               sealed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The certificate body of one vote (docs/record-format.md "Certificate").

    definition: the vote definition's exact stored bytes. parameters: ballots.recount.rule_parameters
    for the vote. registry_seq/registry_head: the key registry when the chair certifies (the chair's
    key is checked as of then). show_of_hands: {"counts", "recorded_by", "confirmed_by"} when the
    method is "show-of-hands". casting_vote: {"ballot", "signature", "key", "registry_seq"}, the
    Secretary General's signed ballot, when one decided the vote. sealed: what the tellers opened,
    for the method "sealed-ballots" ({"teller_key_id", "envelopes", "sealed", "invalid",
    "checkpoint" (the sealed log's), "choices_sha256"}).
    """
    try:
        d = parse_canonical(definition)
    except (NotCanonical, TypeError) as exc:
        raise CertificateError(f"the vote definition must be its exact canonical bytes: {exc}") from None
    if method not in METHODS:
        raise CertificateError(f"the method must be {' or '.join(METHODS)}, not {method!r}")
    if (method == SHOW_OF_HANDS) != (show_of_hands is not None):
        raise CertificateError("a show-of-hands certificate carries the recorded counts, and only it does")
    if (method == SEALED_BALLOTS) != (sealed is not None):
        raise CertificateError("a sealed-ballots certificate says what the tellers opened, and only it does")
    if d.get("rule_set") != rule_set.id:
        raise CertificateError(f"the vote runs under {d.get('rule_set')!r}, not the rule set {rule_set.id!r} given")
    if type(registry_seq) is not int or registry_seq < 0 or not isinstance(registry_head, str) \
            or not _HEX64.fullmatch(registry_head):
        raise CertificateError("the registry seq must be a whole number and its head 64 lowercase hex characters")
    cp = checkpoint.to_json() if isinstance(checkpoint, Checkpoint) else dict(checkpoint)
    body: dict[str, Any] = {
        "v": CERTIFICATE_VERSION,
        "type": CERTIFICATE_TYPE,
        "vote": d["vote"],
        "vote_sha256": sha256_hex(definition),
        "meeting": d["meeting"],
        "agenda_item": d["agenda_item"],
        "round": d["round"],
        "rule_set": {"id": rule_set.id, "sha256": rule_set.sha256, "parameters": dict(parameters)},
        "registry": {"seq": registry_seq, "head": registry_head},
        "roll": {"present": list(d["roll"]["present"]), "total": d["roll"]["total"]},
        "counts": dict(counts),
        "outcome": outcome.to_json() if isinstance(outcome, Outcome) else dict(outcome),
        "checkpoint": cp,
        "method": method,
        "opened_at": d["opened_at"],
        "closed_at": _need_time("closed_at", closed_at),
        "certified_at": _need_time("certified_at", certified_at),
        "chair": {"holder": chair_holder, "key_id": chair_key_id},
    }
    if show_of_hands is not None:
        if not isinstance(show_of_hands, Mapping) or set(show_of_hands) != SHOW_OF_HANDS_KEYS:
            raise CertificateError("show_of_hands is {\"counts\", \"recorded_by\", \"confirmed_by\"}")
        if show_of_hands["recorded_by"] == show_of_hands["confirmed_by"]:
            raise CertificateError("a show of hands is recorded by one staff member and confirmed by another")
        body["show_of_hands"] = dict(show_of_hands)
    if casting_vote is not None:
        if not isinstance(casting_vote, Mapping) or set(casting_vote) != CASTING_VOTE_KEYS:
            raise CertificateError("casting_vote is {\"ballot\", \"signature\", \"key\", \"registry_seq\"}")
        body["casting_vote"] = dict(casting_vote)
    if sealed is not None:
        if not isinstance(sealed, Mapping) or set(sealed) != SEALED_KEYS:
            raise CertificateError(f"sealed is {{{', '.join(sorted(SEALED_KEYS))}}}")
        body["sealed"] = dict(sealed)
    canonical_bytes(body)  # refuse now what could never be signed
    return body


def chair_message(body: Mapping[str, Any]) -> bytes:
    """The exact bytes both keys sign: b"wego-certificate/v1\\n" followed by the body's JCS bytes."""
    return CERTIFICATE_LABEL + canonical_bytes(dict(body))


def certificate_hash(doc: Mapping[str, Any]) -> str:
    """The certificate's hash (printed and in its QR code): SHA-256 hex of the body's JCS bytes."""
    body = doc.get("body") if isinstance(doc, Mapping) else None
    if not isinstance(body, Mapping):
        raise CertificateError("a certificate document has a body")
    return sha256_hex(canonical_bytes(dict(body)))


def sign_by_organization(body: Mapping[str, Any], org_key: OrgKey) -> dict[str, Any]:
    """A certificate document signed by the organization key, waiting for the chair's signature."""
    signature = org_key.sign(CERTIFICATE_LABEL, canonical_bytes(dict(body)))
    return {"body": dict(body),
            "signatures": {"organization": {"key_id": org_key.key_id, "signature": b64url_encode(signature)}}}


def add_chair_signature(doc: Mapping[str, Any], key_id: str, signature: bytes | str,
                        public_key: PublicKey | None = None) -> dict[str, Any]:
    """The document with the chair's signature (made in the chair's browser over chair_message(body)).

    signature: the raw 64 bytes or their base64url. Given the chair's public key, the signature
    is checked first, so a wrong one is refused before it is stored.
    """
    body = doc["body"]
    if body.get("chair", {}).get("key_id") != key_id:
        raise CertificateError(f"the certificate names the chair's key {body.get('chair', {}).get('key_id')!r}, "
                               f"not {key_id!r}")
    raw = signature
    if isinstance(signature, str):
        try:
            raw = b64url_decode(signature)
        except ValueError as exc:
            raise CertificateError(f"the chair's signature is {exc}") from None
    if not isinstance(raw, bytes) or len(raw) != SIGNATURE_SIZE:
        raise CertificateError(f"the chair's signature must be {SIGNATURE_SIZE} bytes (Ed25519, or ECDSA r || s)")
    if public_key is not None:
        if public_key.key_id != key_id:
            raise CertificateError(f"the public key given is {public_key.key_id}, not the chair's key {key_id}")
        if not public_key.verify(CERTIFICATE_LABEL, canonical_bytes(dict(body)), raw):
            raise CertificateError("the chair's signature does not verify over this certificate; sign it again")
    signatures = dict(doc.get("signatures", {}))
    signatures["chair"] = {"key_id": key_id, "signature": b64url_encode(raw)}
    return {"body": dict(body), "signatures": signatures}


def _signature(signatures: Mapping[str, Any], who: str, problems: list[str]) -> tuple[str, bytes] | None:
    entry = signatures.get(who)
    if not isinstance(entry, Mapping) or set(entry) != {"key_id", "signature"}:
        problems.append(f"The {who} signature is missing or is not {{\"key_id\", \"signature\"}}.")
        return None
    try:
        raw = b64url_decode(entry["signature"])
    except ValueError as exc:
        problems.append(f"The {who} signature is {exc}.")
        return None
    if not isinstance(entry["key_id"], str):
        problems.append(f"The {who} signature's key id is not text.")
        return None
    return entry["key_id"], raw


def verify_certificate(doc: Any, org_public_key: PublicKey, registry: KeyRegistry) -> list[str]:
    """What is wrong with a certificate's shape and signatures, in words; empty when both signatures hold.

    The organization signature must verify under org_public_key; the chair's under the key the
    body names, which the registry must show enrolled for the chair's staff account ("staff") and
    active at the registry seq the body states, whose head must be the body's. Whether the
    figures are right is the record verifier's question (ballots.record).
    """
    problems: list[str] = []
    if not isinstance(doc, Mapping) or set(doc) != {"body", "signatures"}:
        return ["A certificate is a JSON object with exactly 'body' and 'signatures'."]
    body, signatures = doc["body"], doc["signatures"]
    if not isinstance(body, Mapping):
        return ["The certificate's body is not a JSON object."]
    missing = sorted(BODY_KEYS - set(body))
    extra = sorted(set(body) - BODY_KEYS - OPTIONAL_BODY_KEYS)
    if missing:
        problems.append(f"The certificate's body lacks {', '.join(missing)}.")
    if extra:
        problems.append(f"The certificate's body has unexpected {', '.join(extra)}.")
    if body.get("v") != CERTIFICATE_VERSION or type(body.get("v")) is not int or body.get("type") != CERTIFICATE_TYPE:
        problems.append(f"The body is not a {CERTIFICATE_TYPE} of version {CERTIFICATE_VERSION}.")
    try:
        message = canonical_bytes(dict(body))
    except NotCanonical as exc:
        return [*problems, f"The body cannot be written as canonical JSON, so nothing can verify it: {exc}"]
    if not isinstance(signatures, Mapping) or set(signatures) != {"organization", "chair"}:
        problems.append("The certificate needs exactly two signatures: 'organization' and 'chair'.")
        signatures = signatures if isinstance(signatures, Mapping) else {}
    org = _signature(signatures, "organization", problems)
    if org is not None:
        key_id, raw = org
        if key_id != org_public_key.key_id:
            problems.append(f"The organization signature names the key {key_id}, not the organization's key "
                            f"{org_public_key.key_id}.")
        elif org_public_key.algorithm != ED25519 or not org_public_key.verify(CERTIFICATE_LABEL, message, raw):
            problems.append("The organization signature does not verify: the body was changed after signing, or "
                            "another key signed it.")
    chair = body.get("chair")
    reg = body.get("registry")
    signed = _signature(signatures, "chair", problems)
    if not isinstance(chair, Mapping) or set(chair) != {"holder", "key_id"}:
        problems.append("The body's chair is not {\"holder\", \"key_id\"}.")
    elif signed is not None:
        key_id, raw = signed
        if key_id != chair["key_id"]:
            problems.append(f"The chair signature names the key {key_id}, but the body names the chair's key "
                            f"{chair['key_id']}.")
        else:
            problems.extend(_chair_key(chair, reg, registry, message, raw))
    return problems


def _chair_key(chair: Mapping[str, Any], reg: Any, registry: KeyRegistry, message: bytes, raw: bytes) -> list[str]:
    """The chair's key must be a staff key of the holder named, active at the body's registry seq, and sign."""
    key_id, holder = chair["key_id"], chair["holder"]
    if not isinstance(reg, Mapping) or type(reg.get("seq")) is not int or not isinstance(reg.get("head"), str):
        return ["The body's registry is not {\"seq\", \"head\"}."]
    seq = reg["seq"]
    problems = []
    try:
        if registry.seq_of(reg["head"]) != seq:
            problems.append(f"The body's registry head is not the head of the published registry at seq {seq}.")
    except RegistryError:
        problems.append(f"The body's registry head {reg['head']} is not in the published key registry.")
    try:
        delegate, member = registry.holder(key_id)
        public_key = registry.public_key(key_id)
    except (RegistryError, TypeError):
        return [*problems, f"The chair's key {key_id} is not in the key registry."]
    if (delegate, member) != (holder, STAFF_MEMBER):
        problems.append(f"The chair's key {key_id} is enrolled for {delegate} of {member}, not for the staff "
                        f"account {holder}.")
    if not isinstance(holder, str) or not _STAFF_REF.fullmatch(holder):
        problems.append(f"The chair {holder!r} is not a staff account (s<id>).")
    status = registry.status(key_id, seq) if 0 <= seq <= len(registry) else "beyond the published registry"
    if status != ACTIVE:
        problems.append(f"The chair's key {key_id} is {status} at registry seq {seq}, when the chair certified.")
    if not public_key.verify(CERTIFICATE_LABEL, message, raw):
        problems.append("The chair signature does not verify: the body was changed after signing, or another key "
                        "signed it.")
    return problems
