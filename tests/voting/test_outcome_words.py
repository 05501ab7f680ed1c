"""What people read of a certified explanation: names where the signed text has ids."""

from __future__ import annotations

from voting.services.outcome_words import explained, in_words, rule_in_words

LABELS = {"seberang-perai": "Seberang Perai", "hebron": "Hebron", "galle": "Galle", "m5": "Seoul", "yes": "Yes"}


def test_option_ids_become_names() -> None:
    assert in_words("Round 1: seberang-perai 4, hebron 3, galle 2; 0 abstained", LABELS) == \
        "Round 1: Seberang Perai 4, Hebron 3, Galle 2; 0 abstained"
    assert in_words("Next: round 2 with seberang-perai and hebron.", LABELS) == "Next: round 2 with Seberang Perai and Hebron."


def test_member_refs_lose_their_quotes() -> None:
    assert in_words("'m5' consented; 'm5''s answer came last", LABELS) == "Seoul consented; Seoul's answer came last"


def test_only_whole_ids_are_replaced() -> None:
    # Part of a longer word or id is not the id; the words for motions' choices are never touched.
    assert in_words("xgalle galle-x m50 yes", LABELS) == "xgalle galle-x m50 yes"
    assert in_words("galle's bid", LABELS) == "Galle's bid"
    assert in_words("nothing to name", {}) == "nothing to name"


def test_a_longer_id_wins_over_the_shorter_one_inside_it() -> None:
    labels = {"san": "San", "san-jose": "San José"}
    assert in_words("san-jose 3, san 2", labels) == "San José 3, San 2"


def test_the_certified_steps_keep_their_articles_and_the_signed_text_is_left_alone() -> None:
    step = {"text": "galle, with the fewest votes (2), is eliminated.", "article": "Art. 12.2(f)"}
    body = {"outcome": {"explanation": [step]}}
    definition = {"options": [{"id": "galle", "label": "Galle"}], "roll": {"members": [{"id": "m5", "name": "Seoul"}]}}
    assert explained(body, definition) == [{"text": "Galle, with the fewest votes (2), is eliminated.",
                                            "article": "Art. 12.2(f)"}]
    assert rule_in_words(body, definition) == "Galle, with the fewest votes (2), is eliminated. (Art. 12.2(f))"
    assert step["text"] == "galle, with the fewest votes (2), is eliminated."
