"""The offline verifier of a meeting's election record, and of a delegate's receipt against it.

    python -m ballots.verify RECORD.json [--receipt RECEIPT.json] [--tracker TRACKER] [--rulesets DIR]

Prints a report a person can read: a line per vote and every failure named by agenda item, vote,
entry and check. Exit status: 0 when every check holds, 1 when one fails, 2 when a file cannot be
read. It needs only the ballots/ package, cryptography and rfc8785 (docs/record-format.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ballots.record import find_tracker, receipt_summary, verify_receipt, verify_record
from ballots.sealed import tracker_code

OK, FAILED, UNREADABLE = 0, 1, 2


class Unreadable(Exception):
    """A file that is not there, not UTF-8 or not one JSON value."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys; a record must say one thing, so such a file is unreadable.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"the key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: str) -> Any:
    """One JSON value from a file (or standard input for '-'), refusing duplicate keys and NaN."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise Unreadable(f"{path} is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"{path} is not valid JSON: {exc}") from None


def _verdict(what: str, subject: str, problems: list[str], holds: str) -> bool:
    """Print "WHAT: OK: subject holds." or "WHAT: FAILED: subject:" and each problem; whether it held."""
    print()
    if problems:
        print(f"{what}: FAILED: {subject}:")
        for p in problems:
            print(f"  {p}")
        return False
    print(f"{what}: OK: {subject} {holds}.")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Verify a record (and a receipt); print the report; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ballots.verify",
        description="Verify a WeGO election record offline: every ballot signature against the key registry, "
                    "the Merkle logs against the signed checkpoints, the recount against each certificate, and "
                    "the certificates' signatures. Exit 0 if everything holds, 1 if a check fails, 2 if a file "
                    "cannot be read.")
    parser.add_argument("record", help="the election record (JSON), as published by the Secretariat")
    parser.add_argument("--receipt", metavar="RECEIPT", help="a delegate's receipt (JSON) to check against the record")
    parser.add_argument("--tracker", metavar="TRACKER", action="append", default=[],
                        help="a secret vote's tracker (64 hex characters, as the phone's receipt file holds it): "
                             "its sealed ballot must be in the signed sealed log of one of the record's secret votes "
                             "(may be given more than once)")
    parser.add_argument("--rulesets", metavar="DIR", help="a directory of trusted rule-set files: each rule set "
                                                          "in the record must be byte for byte the same")
    args = parser.parse_args(argv)
    try:
        record = read_json(args.record)
        receipt = read_json(args.receipt) if args.receipt else None
    except Unreadable as exc:
        print(f"Cannot verify: {exc}.", file=sys.stderr)
        return UNREADABLE
    # The record lives until the end: keep the collector from scanning its million objects again and again.
    gc.freeze()
    report = verify_record(record, rulesets_dir=args.rulesets)
    print(report.to_text())
    status = OK if report.ok else FAILED
    if receipt is not None:
        problems = verify_receipt(record, receipt)
        ok = _verdict("RECEIPT", receipt_summary(receipt), problems,
                      "is in the log, and that log is consistent with the certified final checkpoint")
        status = status if ok else FAILED
    for t in (t.strip().lower() for t in args.tracker):
        ref, problems = find_tracker(record, t)
        ok = _verdict("TRACKER", f"the sealed ballot with tracker {tracker_code(t) if ref else t[:16] + '…'}",
                      problems, f"is in the sealed log of vote {ref}, whose signed checkpoint its sealed ballots rebuild")
        status = status if ok else FAILED
    return status


if __name__ == "__main__":
    sys.exit(main())
