"""A certified outcome in words, for the projector, the results page, certificates and the memorandum."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

BODY = {"ga": "The General Assembly", "excom": "The Executive Committee"}
# The words for a motion's choices and for members present who did not vote.
CHOICE_WORDS = {"yes": "Yes", "no": "No", "abstain": "Abstain", "not_voted": "Present, not voting"}


def in_order(keys: list[str], options: list[str]) -> list[str]:
    """Counts as a person reads them: yes and no, then the options in ballot order, then
    abstentions and members present who did not vote."""
    first = [k for k in ("yes", "no") if k in keys]
    last = [k for k in ("abstain", "not_voted") if k in keys]
    rank = {o: i for i, o in enumerate(options)}
    middle = sorted((k for k in keys if k not in first and k not in last), key=lambda k: rank.get(k, len(rank)))
    return first + middle + last


def labels_of(definition: dict[str, Any]) -> dict[str, str]:
    labels = {o["id"]: o["label"] for o in definition.get("options", [])}
    labels.update({m["id"]: m["name"] for m in definition["roll"]["members"]})
    return labels


def in_words(text: str, labels: Mapping[str, str]) -> str:
    """A step of the signed explanation names options and members by id ('seberang-perai', 'm5');
    what people read says their names. The signed text itself is never changed."""
    ids = sorted((i for i, label in labels.items() if label and label != i and i not in CHOICE_WORDS),
                 key=len, reverse=True)
    if not ids:
        return text
    pattern = re.compile(r"(?<![\w-])'?(" + "|".join(map(re.escape, ids)) + r")'?(?![\w-])")
    return pattern.sub(lambda m: labels[m.group(1)], text)


def explained(body: dict[str, Any], definition: dict[str, Any]) -> list[dict[str, str]]:
    """The certified explanation, each step with names for ids."""
    labels = labels_of(definition)
    return [{**step, "text": in_words(step["text"], labels)} for step in body["outcome"].get("explanation", [])]


def _names(ids: list[str], labels: dict[str, str]) -> str:
    names = [labels.get(i, i) for i in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def headline(body: dict[str, Any], definition: dict[str, Any]) -> str:
    """'Adopted', 'Elected: Seoul', 'Sejong hosts the next General Assembly', 'No decision (Art. 12.11)'."""
    labels = labels_of(definition)
    o = body["outcome"]
    decision = o["decision"]
    winners = _names(o.get("winners", []), labels)
    if decision == "adopted":
        return "Adopted"
    if decision == "not_adopted":
        return "Not adopted"
    if decision == "no_quorum":
        return "Not adopted: no quorum"
    if decision in ("elected", "winner"):
        return f"{'Elected' if decision == 'elected' else 'Decided'}: {winners}"
    if decision == "next_round":
        return f"Next round: {_names(o.get('remaining', []), labels)}"
    if decision == "no_decision":
        fb = o.get("fallback") or {}
        return f"No decision ({fb.get('article', '')})".replace(" ()", "")
    return decision.replace("_", " ").capitalize()


def count_lines(body: dict[str, Any], definition: dict[str, Any]) -> list[str]:
    labels = labels_of(definition)
    out = []
    counts = body["counts"]
    for key in in_order(list(counts), [o["id"] for o in definition.get("options", [])]):
        value = counts[key]
        if isinstance(value, dict):
            parts = ", ".join(f"{CHOICE_WORDS.get(k, k)} {value[k]}" for k in in_order(list(value), []))
            out.append(f"{labels.get(key, key)}: {parts}")
        else:
            name = CHOICE_WORDS.get(key, labels.get(key, key))
            out.append(f"{name}: {value}")
    return out


def rule_in_words(body: dict[str, Any], definition: dict[str, Any]) -> str:
    """The last explanation step: the rule applied, with its article."""
    steps = explained(body, definition)
    if not steps:
        return ""
    last = steps[-1]
    return f"{last['text']} ({last['article']})"


def memorandum_sentence(body: dict[str, Any], definition: dict[str, Any], title: str) -> str:
    """In the manner of the 2016 memorandum: 'The Executive Committee approved …, 9 of 11 members
    present concurring (Art. 16.1).'"""
    who = BODY.get(definition["meeting"]["body"], "The meeting")
    o = body["outcome"]
    decision = o["decision"]
    counts = body["counts"]
    present = len(body["roll"]["present"])
    article = (o.get("explanation") or [{}])[-1].get("article", "")
    labels = labels_of(definition)
    method = {"show-of-hands": " (counted by a show of hands)", "sealed-ballots": " (by secret ballot)"}.get(
        str(body.get("method")), "")
    if decision == "adopted" and "consent" in counts:
        when = o.get("adopted_at") or ""
        return (f"{who} adopted {title} by written consent, {counts.get('consent', 0)} of {present} members "
                f"consenting{', at ' + when if when else ''} ({article}).")
    if decision == "not_adopted" and "consent" in counts:
        return (f"{who} did not adopt {title} by written consent: {counts.get('consent', 0)} of {present} members "
                f"consented by the deadline ({article}).")
    if decision == "adopted":
        return (f"{who} approved {title}, {counts.get('yes', 0)} of {present} members present concurring"
                f"{method} ({article}).")
    if decision == "not_adopted":
        return (f"{who} did not approve {title}: {counts.get('yes', 0)} of {present} members present in favour"
                f"{method} ({article}).")
    if decision == "no_quorum":
        total = (o.get("quorum") or {}).get("total", "")
        return f"{who} could not decide on {title}: no quorum, {present} of {total} members present ({article})."
    if decision in ("elected", "winner"):
        return f"{who} decided on {title}: {_names(o.get('winners', []), labels)}{method} ({article})."
    if decision == "no_decision":
        fb = o.get("fallback") or {}
        return f"{who} reached no decision on {title}. {fb.get('text', '')} ({fb.get('article', article)})."
    if decision == "next_round":
        return f"Round {definition['round']} on {title} led to a further round among {_names(o.get('remaining', []), labels)}."
    return f"{who}: {title}: {decision}."
