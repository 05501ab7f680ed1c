"""Rule sets as data: load, validate and query the statute's thresholds, deadlines and tie rules.

A rule set is a TOML file (ballots/rulesets/<id>.toml, or any path) in which every threshold is
an exact fraction and every table cites the article it implements. Loading refuses unknown keys,
impossible fractions and missing articles with a message naming the file and the key, so a
Secretariat editing a file learns what is wrong before a meeting, not during it.

Threshold syntax: "n/d" means "n/d or more" (count * d >= base * n); ">n/d" means "more than n/d"
(count * d > base * n); "ordinary" (only where the schema allows it) means the ordinary rule of
Art. 16.1 or 16.3 applies. Arithmetic is on integers only.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

RULESETS_DIR = Path(__file__).resolve().parent / "rulesets"

BODIES = ("ga", "excom")
BODY_NAMES = MappingProxyType({"ga": "General Assembly", "excom": "Executive Committee"})
NOTICE_KINDS = ("excom_candidacy", "president_candidacy", "host_city_bid")

_FRACTION = re.compile(r"(>?)(\d+)/(\d+)")
_ORDINARY = "ordinary"


class RuleSetError(ValueError):
    """A rule-set file that cannot be used: the message names the file and the key."""


@dataclass(frozen=True)
class Threshold:
    """An exact threshold: a fraction of a base (members present or all members), inclusive or strict."""

    fraction: Fraction
    strict: bool
    of: str
    article: str

    def met(self, count: int, base: int) -> bool:
        """Whether count reaches the threshold of base, compared on integers (house rule 3)."""
        if self.strict:
            return count * self.fraction.denominator > base * self.fraction.numerator
        return count * self.fraction.denominator >= base * self.fraction.numerator

    def required(self, base: int) -> int:
        """The smallest count that meets the threshold of base."""
        num, den = self.fraction.numerator, self.fraction.denominator
        if self.strict:
            return base * num // den + 1
        return -(-base * num // den)

    def arithmetic(self, count: int, base: int) -> str:
        """The comparison in figures, e.g. '5 × 2 = 10 ≥ 10' (the house rule's exact check)."""
        num, den = self.fraction.numerator, self.fraction.denominator
        left, right = count * den, base * num
        if self.strict:
            sign = ">" if left > right else "not >"
        else:
            sign = "≥" if left >= right else "<"
        lhs = f"{count} × {den} = {left}" if den != 1 else f"{count}"
        rhs = f"{base} × {num} = {right}" if num != 1 else f"{base}"
        return f"{lhs} {sign} {rhs}"

    @cached_property
    def words(self) -> str:
        """The threshold as the statute says it: 'one half or more', 'more than one half', 'all'."""
        if self.fraction == 1 and not self.strict:
            return "all"
        phrase = fraction_words(self.fraction)
        return f"more than {phrase}" if self.strict else f"{phrase} or more"

    def to_json(self) -> dict[str, Any]:
        """The threshold as plain JSON values."""
        return {
            "fraction": f"{'>' if self.strict else ''}{self.fraction.numerator}/{self.fraction.denominator}",
            "of": self.of,
            "article": self.article,
            "words": self.words,
        }


_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_ORDINALS = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("fourth", "fourths"),
             5: ("fifth", "fifths"), 6: ("sixth", "sixths"), 7: ("seventh", "sevenths"),
             8: ("eighth", "eighths"), 9: ("ninth", "ninths"), 10: ("tenth", "tenths")}


def fraction_words(value: Fraction) -> str:
    """A fraction in words as statutes write it ('one third', 'two thirds'); digits beyond ten."""
    num, den = value.numerator, value.denominator
    if den == 1:
        return "all" if num == 1 else str(num)
    if num < len(_NUMBERS) and den in _ORDINALS:
        single, plural = _ORDINALS[den]
        return f"{_NUMBERS[num]} {single if num == 1 else plural}"
    return f"{num}/{den}"


@dataclass(frozen=True)
class Members:
    """Who votes and through how many representatives (Art. 5, 6, 10.1; STATUTE_RULES §1)."""

    article: str
    voting_categories: tuple[str, ...]
    non_voting_categories: tuple[str, ...]
    max_voting_representatives: int


@dataclass(frozen=True)
class Excom:
    """The Executive Committee's size (Art. 12.1)."""

    article: str
    seats: int
    executive_vp_extra_seat: bool

    @property
    def max_members(self) -> int:
        """The most EXCOM members the statute allows, counting a possible executive VP as 21st."""
        return self.seats + (1 if self.executive_vp_extra_seat else 0)


@dataclass(frozen=True)
class Interpretations:
    """Readings of silent or ambiguous text, as parameters (STATUTE_RULES I-1 .. I-6)."""

    article: str
    ga_quorum_base: str
    present_roll: str
    motion_tie: str
    regional_office_bid: str
    consent_adopted_at: str
    candidate_method: str


@dataclass(frozen=True)
class CastingVote:
    """Where the Secretary General may vote to break a tie (Art. 12.7)."""

    article: str
    holder: str
    bodies: frozenset[str]
    text: str


@dataclass(frozen=True)
class Dissolve:
    """Dissolving a regional office at a meeting or in writing (Art. 13.6(b))."""

    article: str
    quorum: Threshold
    concurrence: Threshold
    in_writing: Threshold
    is_ordinary_motion: bool


@dataclass(frozen=True)
class SpecialSession:
    """Approving a special session of the General Assembly (Art. 10.8)."""

    article: str
    body: str
    approval: Threshold


@dataclass(frozen=True)
class WrittenConsent:
    """Resolutions by written consent of the Executive Committee (Art. 16.3)."""

    article: str
    body: str
    consent: Threshold


@dataclass(frozen=True)
class RegionalOfficeBid:
    """Competing bids for a regional office in one region (Art. 13.6(a))."""

    article: str
    body: str
    repeat_rounds: int
    no_decision: str


@dataclass(frozen=True)
class HostCity:
    """Who selects the next GA's host city, who confirms it, and the winning threshold."""

    article: str
    selected_by: tuple[str, ...]
    confirmed_by: str
    win: Threshold
    repeat_rounds: int
    criteria_article: str
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class Fallback:
    """What happens when no host city is decided (Art. 12.11)."""

    article: str
    text: str
    president_city_hosts: str = ""
    confirmation_needed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The fall-back as plain JSON values."""
        return {"article": self.article, "text": self.text}


@dataclass(frozen=True)
class ExcomElection:
    """Electing EXCOM members at the General Assembly (Art. 12.1, 12.4)."""

    article: str
    body: str
    threshold: Threshold
    runoff_rounds: int
    region_cap: int | None


@dataclass(frozen=True)
class President:
    """Electing the president city (Art. 11.5)."""

    article: str
    body: str
    win: Threshold
    repeat_rounds: int
    no_decision: str


@dataclass(frozen=True)
class Deadline:
    """A notice period: written notice N calendar months before a meeting."""

    article: str
    months: int
    before: str
    text: str


@dataclass(frozen=True)
class RuleSet:
    """One organization's voting rules at one point in time, loaded from a validated file."""

    id: str
    title: str
    source: str
    path: str
    sha256: str
    members: Members
    excom: Excom
    quorum_ga: Threshold
    quorum_excom: Threshold
    motion: Threshold
    interpretations: Interpretations
    casting_vote: CastingVote
    dissolve_regional_office: Dissolve
    special_session: SpecialSession
    written_consent: WrittenConsent
    regional_office_bid: RegionalOfficeBid
    host_city: HostCity
    host_city_fallback: Fallback
    excom_election: ExcomElection
    president: President
    deadlines: Mapping[str, Deadline]

    def quorum(self, body: str) -> Threshold:
        """The attendance threshold of a body (Art. 16.1)."""
        if body == "ga":
            return self.quorum_ga
        if body == "excom":
            return self.quorum_excom
        raise ValueError(f"unknown body {body!r}: use 'ga' or 'excom'")

    def casting_vote_allowed(self, body: str) -> bool:
        """Whether the Secretary General may break a tie in this body (Art. 12.7)."""
        return body in self.casting_vote.bodies

    @property
    def max_voting_representatives(self) -> int:
        """How many representatives of one member may vote for it (one vote per member)."""
        return self.members.max_voting_representatives

    @property
    def ga_quorum_base(self) -> str:
        """I-1: whether the GA quorum counts full members or all members."""
        return self.interpretations.ga_quorum_base

    @property
    def motion_tie(self) -> str:
        """I-3: 'literal' or 'casting_vote' for a motion with as many yes as no."""
        return self.interpretations.motion_tie

    def notice_months(self, kind: str) -> int:
        """Months of written notice a candidacy or bid needs (Art. 10.4, 11.5, 12.4)."""
        return self.deadline(kind).months

    def deadline(self, kind: str) -> Deadline:
        """The notice rule for a candidacy or bid kind."""
        try:
            return self.deadlines[kind]
        except KeyError:
            raise ValueError(f"unknown notice kind {kind!r}: use one of {', '.join(NOTICE_KINDS)}") from None


def quorum_required(rule_set: RuleSet, body: str, total: int) -> int:
    """Minimum members present for quorum in a body of `total` members (Art. 16.1)."""
    if total < 0:
        raise ValueError("a body cannot have a negative number of members")
    return rule_set.quorum(body).required(total)


def concurrence_required(rule_set: RuleSet, present: int) -> int:
    """Minimum yes votes that adopt an ordinary motion with `present` members present (Art. 16.1)."""
    return rule_set.motion.required(present)


# --- loading and validation -------------------------------------------------------------------

Check = Callable[[Any], str | None]


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty text"
    return None


def _count(minimum: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be a whole number of at least {minimum}"
        return None
    return check


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _texts(value: Any) -> str | None:
    if not isinstance(value, list) or any(not isinstance(v, str) or not v.strip() for v in value):
        return "must be a list of non-empty texts"
    if len(set(value)) != len(value):
        return "lists the same entry twice"
    return None


def _one_of(*allowed: str) -> Check:
    def check(value: Any) -> str | None:
        if value not in allowed:
            return f"is {value!r}; allowed: {', '.join(repr(a) for a in allowed)}"
        return None
    return check


def _bodies(value: Any) -> str | None:
    problem = _texts(value)
    if problem is None and not set(value) <= set(BODIES):
        problem = f"may only name the bodies {', '.join(repr(b) for b in BODIES)}"
    return problem


def _nonempty_bodies(value: Any) -> str | None:
    problem = _bodies(value)
    if problem is None and not value:
        problem = "must name at least one body"
    return problem


def _threshold_text(ordinary: bool) -> Check:
    def check(value: Any) -> str | None:
        if ordinary and value == _ORDINARY:
            return None
        return _fraction_problem(value)
    return check


def _fraction_problem(value: Any) -> str | None:
    """Why a threshold text is not a usable fraction, or None."""
    hint = 'write an exact fraction such as "1/3", or ">1/2" for "more than one half"'
    if not isinstance(value, str):
        return f"is {value!r}, not a fraction: {hint}"
    match = _FRACTION.fullmatch(value.strip())
    if match is None:
        return f"is {value!r}, not a fraction: {hint}"
    num, den = int(match.group(2)), int(match.group(3))
    if den == 0:
        return f"is {value!r}: a fraction cannot have a zero denominator"
    if num == 0:
        return f"is {value!r}: a threshold of nothing decides nothing; it must be more than 0"
    if num > den:
        return f"is {value!r}: more than the whole body is impossible; it must be at most 1"
    if match.group(1) and num == den:
        return f"is {value!r}: more than the whole body is impossible; use \"1/1\" for all members"
    return None


# Each table: its keys and their checks; keys in OPTIONAL may be left out; `article` is required
# in every table and checked separately so its absence gets its own message.
_SCHEMA: dict[str, dict[str, Check]] = {
    "members": {
        "voting_categories": _texts,
        "non_voting_categories": _texts,
        "max_voting_representatives": _count(1),
    },
    "excom": {"seats": _count(1), "executive_vp_extra_seat": _flag},
    "quorum": {"ga": _threshold_text(False), "excom": _threshold_text(False)},
    "motion": {"concurrence": _threshold_text(False)},
    "interpretations": {
        "ga_quorum_base": _one_of("full_members", "all_members"),
        "present_roll": _one_of("frozen_at_opening"),
        "motion_tie": _one_of("literal", "casting_vote"),
        "regional_office_bid": _one_of("plurality"),
        "consent_adopted_at": _one_of("threshold_reached", "deadline"),
        "candidate_method": _one_of("exhaustive_ballot"),
    },
    "casting_vote": {"holder": _text, "bodies": _bodies, "text": _text},
    "dissolve_regional_office": {
        "quorum": _threshold_text(True),
        "concurrence": _threshold_text(True),
        "in_writing": _threshold_text(True),
    },
    "special_session": {
        "body": _one_of(*BODIES),
        "approval": _threshold_text(False),
        "of": _one_of("all_members", "present"),
    },
    "written_consent": {
        "body": _one_of(*BODIES),
        "consent": _threshold_text(False),
        "of": _one_of("all_members"),
    },
    "regional_office_bid": {"body": _one_of(*BODIES), "repeat_rounds": _count(0), "no_decision": _text},
    "host_city": {
        "selected_by": _nonempty_bodies,
        "confirmed_by": _one_of("ga", "excom", "none"),
        "win": _threshold_text(False),
        "repeat_rounds": _count(0),
    },
    "host_city_criteria": {"items": _texts},
    "host_city_fallback": {
        "president_city_hosts": _one_of("general_assembly", "next_excom_meeting"),
        "confirmation_needed": _flag,
        "text": _text,
    },
    "excom_election": {
        "body": _one_of(*BODIES),
        "threshold": _threshold_text(False),
        "runoff_rounds": _count(0),
        "region_cap": _count(1),
    },
    "president": {
        "body": _one_of(*BODIES),
        "win": _threshold_text(False),
        "repeat_rounds": _count(0),
        "no_decision": _text,
    },
}
_OPTIONAL = {("excom_election", "region_cap")}
_DEADLINE_KEYS: dict[str, Check] = {"months": _count(1), "before": _text, "text": _text}
_TOP_TEXT = ("id", "title", "source")


def _fail(path: Path, where: str, problem: str) -> RuleSetError:
    return RuleSetError(f"{path.name}: {where} {problem}")


def _check_table(path: Path, name: str, table: Any, keys: Mapping[str, Check], optional: set[str]) -> None:
    where = f"[{name}]"
    if not isinstance(table, dict):
        raise _fail(path, where, "must be a table")
    unknown = sorted(set(table) - set(keys) - {"article"})
    if unknown:
        known = ", ".join(sorted({*keys, "article"}))
        raise _fail(path, f"{where} {unknown[0]}:", f"unknown key (known keys here: {known})")
    if "article" not in table:
        raise _fail(path, where, "has no article: every rule must cite the article it implements")
    problem = _text(table["article"])
    if problem:
        raise _fail(path, f"{where} article", problem)
    for key, check in keys.items():
        if key not in table:
            if key in optional:
                continue
            raise _fail(path, f"{where} {key}:", "is missing")
        problem = check(table[key])
        if problem:
            raise _fail(path, f"{where} {key}", problem)


def _validate(path: Path, data: Mapping[str, Any]) -> None:
    known = {*_TOP_TEXT, *_SCHEMA, "deadlines"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(path, f"{unknown[0]}:", f"unknown key (known top-level keys: {', '.join(sorted(known))})")
    for key in _TOP_TEXT:
        if key not in data:
            raise _fail(path, f"{key}:", "is missing")
        problem = _text(data[key])
        if problem:
            raise _fail(path, key, problem)
    if data["id"] != path.stem:
        raise _fail(path, "id", f"is {data['id']!r} but the file is named {path.name}; they must match")
    for name, keys in _SCHEMA.items():
        if name not in data:
            raise _fail(path, f"[{name}]", "is missing")
        optional = {key for table, key in _OPTIONAL if table == name}
        _check_table(path, name, data[name], keys, optional)
    deadlines = data.get("deadlines")
    if not isinstance(deadlines, dict):
        raise _fail(path, "[deadlines]", "is missing")
    unknown = sorted(set(deadlines) - set(NOTICE_KINDS))
    if unknown:
        raise _fail(path, f"[deadlines.{unknown[0]}]:", f"unknown notice kind (known: {', '.join(NOTICE_KINDS)})")
    for kind in NOTICE_KINDS:
        if kind not in deadlines:
            raise _fail(path, f"[deadlines.{kind}]", "is missing")
        _check_table(path, f"deadlines.{kind}", deadlines[kind], _DEADLINE_KEYS, set())


def _threshold(text: str, of: str, article: str) -> Threshold:
    match = _FRACTION.fullmatch(text.strip())
    assert match is not None  # validated before
    return Threshold(Fraction(int(match.group(2)), int(match.group(3))), bool(match.group(1)), of, article)


def _build(path: Path, raw: bytes, data: Mapping[str, Any]) -> RuleSet:
    q, m, wc = data["quorum"], data["motion"], data["written_consent"]
    quorum_ga = _threshold(q["ga"], "total", q["article"])
    quorum_excom = _threshold(q["excom"], "total", q["article"])
    motion = _threshold(m["concurrence"], "present", m["article"])
    consent = _threshold(wc["consent"], wc["of"], wc["article"])

    d = data["dissolve_regional_office"]

    def dissolve_rule(key: str, ordinary: Threshold, of: str) -> Threshold:
        # "ordinary" keeps one source of truth: the ordinary rule, cited with both articles.
        if d[key] == _ORDINARY:
            cited = f"{d['article']}, {ordinary.article.removeprefix('Art. ')}"
            return Threshold(ordinary.fraction, ordinary.strict, of, cited)
        return _threshold(d[key], of, d["article"])

    dissolve = Dissolve(
        article=d["article"],
        quorum=dissolve_rule("quorum", quorum_excom, "total"),
        concurrence=dissolve_rule("concurrence", motion, "present"),
        in_writing=dissolve_rule("in_writing", consent, "all_members"),
        is_ordinary_motion=d["quorum"] == _ORDINARY and d["concurrence"] == _ORDINARY,
    )
    s = data["special_session"]
    hc, crit, fb = data["host_city"], data["host_city_criteria"], data["host_city_fallback"]
    ee, pr, rob = data["excom_election"], data["president"], data["regional_office_bid"]
    mem, ex, it, cv = data["members"], data["excom"], data["interpretations"], data["casting_vote"]
    return RuleSet(
        id=data["id"],
        title=data["title"],
        source=data["source"],
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        members=Members(mem["article"], tuple(mem["voting_categories"]), tuple(mem["non_voting_categories"]),
                        mem["max_voting_representatives"]),
        excom=Excom(ex["article"], ex["seats"], ex["executive_vp_extra_seat"]),
        quorum_ga=quorum_ga,
        quorum_excom=quorum_excom,
        motion=motion,
        interpretations=Interpretations(**it),
        casting_vote=CastingVote(cv["article"], cv["holder"], frozenset(cv["bodies"]), cv["text"]),
        dissolve_regional_office=dissolve,
        special_session=SpecialSession(s["article"], s["body"], _threshold(s["approval"], s["of"], s["article"])),
        written_consent=WrittenConsent(wc["article"], wc["body"], consent),
        regional_office_bid=RegionalOfficeBid(rob["article"], rob["body"], rob["repeat_rounds"], rob["no_decision"]),
        host_city=HostCity(hc["article"], tuple(hc["selected_by"]), hc["confirmed_by"],
                           _threshold(hc["win"], "present", hc["article"]), hc["repeat_rounds"],
                           crit["article"], tuple(crit["items"])),
        host_city_fallback=Fallback(fb["article"], fb["text"], fb["president_city_hosts"], fb["confirmation_needed"]),
        excom_election=ExcomElection(ee["article"], ee["body"], _threshold(ee["threshold"], "present", ee["article"]),
                                     ee["runoff_rounds"], ee.get("region_cap")),
        president=President(pr["article"], pr["body"], _threshold(pr["win"], "present", pr["article"]),
                            pr["repeat_rounds"], pr["no_decision"]),
        deadlines=MappingProxyType({
            kind: Deadline(v["article"], v["months"], v["before"], v["text"])
            for kind, v in sorted(data["deadlines"].items())
        }),
    )


def load_rule_set_file(path: str | Path) -> RuleSet:
    """Load and validate one rule-set file; raise RuleSetError naming the file and key on any fault."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleSetError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RuleSetError(f"{path.name}: is not valid TOML ({exc})") from None
    _validate(path, data)
    return _build(path, raw, data)


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime_ns: int) -> RuleSet:
    # The modification time is part of the key so an edited file is read again.
    return load_rule_set_file(path)


def load_rule_set(name_or_path: str | Path, directory: str | Path | None = None) -> RuleSet:
    """Load a rule set by id ('wego-2017', from `directory` or the package's rulesets/) or by path."""
    candidate = Path(name_or_path)
    if isinstance(name_or_path, Path) or candidate.suffix == ".toml" or len(candidate.parts) > 1:
        path = candidate
    else:
        folder = Path(directory) if directory is not None else RULESETS_DIR
        path = folder / f"{name_or_path}.toml"
        if not path.is_file():
            known = ", ".join(available_rule_sets(folder)) or "none"
            raise RuleSetError(f"{path.name}: no rule set {str(name_or_path)!r} in {folder} (available: {known})")
    path = path.resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise RuleSetError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    return _load_cached(path, mtime)


def available_rule_sets(directory: str | Path | None = None) -> list[str]:
    """The ids of the rule-set files in a directory (the package's rulesets/ by default)."""
    folder = Path(directory) if directory is not None else RULESETS_DIR
    return sorted(p.stem for p in folder.glob("*.toml"))
