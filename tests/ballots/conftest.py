"""Fixtures for the core tests: both rule sets, rolls of members, variant rule sets and scenarios."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Run as .venv/bin/pytest (not python -m pytest), sys.path holds tests/ but not the repository
# root, and tests/ballots/ would then import as a namespace package named "ballots", hiding the
# real one. Putting the root first makes `import ballots` mean the package under test.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_shadow = sys.modules.get("ballots")
if _shadow is not None and getattr(_shadow, "__file__", None) is None:
    del sys.modules["ballots"]

from ballots.rules import RULESETS_DIR, RuleSet, load_rule_set  # noqa: E402
from ballots.tally import tally_host_city  # noqa: E402

RULE_SET_IDS = ("wego-2014", "wego-2017")


def ids(n: int, prefix: str = "m") -> list[str]:
    """n member ids that sort in creation order: m00, m01, ..."""
    return [f"{prefix}{i:02d}" for i in range(n)]


@pytest.fixture
def r14() -> RuleSet:
    return load_rule_set("wego-2014")


@pytest.fixture
def r17() -> RuleSet:
    return load_rule_set("wego-2017")


@pytest.fixture(params=RULE_SET_IDS)
def rule_set(request: pytest.FixtureRequest) -> RuleSet:
    """Each shipped rule set in turn."""
    return load_rule_set(request.param)


def variant_text(base: str, new_id: str, replacements: dict[str, str]) -> str:
    """A shipped rule set's text under a new id with exact line replacements (each must apply once)."""
    text = (RULESETS_DIR / f"{base}.toml").read_text(encoding="utf-8")
    text = text.replace(f'id = "{base}"', f'id = "{new_id}"', 1)
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} must occur once in {base}.toml"
        text = text.replace(old, new)
    return text


@pytest.fixture
def variant(tmp_path: Path) -> Callable[..., RuleSet]:
    """Write and load a variant of a shipped rule set, as a Secretariat would by editing a copy."""

    def make_variant(base: str, new_id: str, replacements: dict[str, str]) -> RuleSet:
        path = tmp_path / f"{new_id}.toml"
        path.write_text(variant_text(base, new_id, replacements), encoding="utf-8")
        return load_rule_set(path)

    return make_variant


@pytest.fixture
def tied_host_city(r17: RuleSet):
    """STATUTE_RULES §6 example 7: EXCOM of 14, 12 present, Sejong 6, Ha Noi 6."""
    members = ids(14)
    present = members[:12]
    ballots = {m: ("sejong" if i < 6 else "hanoi") for i, m in enumerate(present)}

    def run(body: str = "excom", rounds: int = 1, casting_votes=None):
        return tally_host_city(r17, body, members, present, ["sejong", "hanoi"], [ballots] * rounds,
                               casting_votes=casting_votes)

    return run
