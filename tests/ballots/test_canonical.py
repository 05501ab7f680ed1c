"""RFC 8785 canonical JSON and the ballot schema, checked against the RFC's own vectors."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.canonical import (
    MAX_BALLOT_BYTES,
    Ballot,
    InvalidBallot,
    NotCanonical,
    canonical_bytes,
    parse_ballot,
    parse_canonical,
    sha256_hex,
)

BS = "\\"

# RFC 8785 section 3.2.2: the sample input as JSON text (escapes spelled out so Python keeps them).
RFC_SAMPLE_INPUT = (
    '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
    '  "string": "' + BS + "u20ac$" + BS + "u000F" + BS + "u000aA'" + BS + "u0042" + BS + "u0022"
    + BS + "u005c" + BS + BS + BS + '"' + BS + '/",\n'
    '  "literals": [null, true, false]\n}'
)
RFC_SAMPLE_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$' + BS + "u000f" + BS + "nA'B" + BS + '"' + BS + BS + BS + BS + BS + '"/"}'
)
# RFC 8785 section 3.2.4: the same output as UTF-8, in hex.
RFC_SAMPLE_UTF8_HEX = """
7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
"""

# RFC 8785 section 3.2.3: members sorted by UTF-16 code units (so U+1F600, D83D DE00, sorts
# before U+FB33 although its code point is larger).
RFC_SORT_INPUT = (
    '{\n  "' + BS + 'u20ac": "Euro Sign",\n  "' + BS + 'r": "Carriage Return",\n'
    '  "' + BS + 'ufb33": "Hebrew Letter Dalet With Dagesh",\n  "1": "One",\n'
    '  "' + BS + "ud83d" + BS + 'ude00": "Emoji: Grinning Face",\n  "' + BS + 'u0080": "Control",\n'
    '  "' + BS + 'u00f6": "Latin Small Letter O With Diaeresis"\n}'
)
RFC_SORT_VALUES = [
    "Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
    "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh",
]

# RFC 8785 Appendix B: IEEE 754 doubles (as bits) and their canonical serialization.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]
APPENDIX_B_NOT_JSON = ["7fffffffffffffff", "7ff0000000000000"]  # NaN, Infinity

# Number literals as a sender might write them, and their one canonical spelling.
NUMBER_LITERALS = [
    ("1e+30", "1e+30"), ("1E30", "1e+30"), ("4.50", "4.5"), ("0.000001", "0.000001"),
    ("1e-6", "0.000001"), ("1e-7", "1e-7"), ("0.0000001", "1e-7"), ("2e-3", "0.002"),
    ("1e21", "1e+21"), ("1e20", "100000000000000000000"), ("-0", "0"), ("-0.0", "0"), ("10.0", "10"),
]

# From the reference implementation's test data (cyberphone/json-canonicalization testdata).
STRUCTURE_VECTORS = [
    ('[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]', '[56,{"1":[],"10":null,"d":true}]'),
    ('{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n'
     '  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ignore locale"\n}',
     '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French",'
     '"p\u00eache":"but canonicalization MUST","sin":"ignore locale"}'),
]


def _double(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]


def test_rfc_sample_canonicalizes_to_the_rfc_output():
    out = canonical_bytes(json.loads(RFC_SAMPLE_INPUT))
    assert out.decode("utf-8") == RFC_SAMPLE_OUTPUT
    assert out == bytes.fromhex("".join(RFC_SAMPLE_UTF8_HEX.split()))


def test_rfc_sample_output_parses_as_canonical_and_input_does_not():
    output = bytes.fromhex("".join(RFC_SAMPLE_UTF8_HEX.split()))
    assert parse_canonical(output)["literals"] == [None, True, False]
    with pytest.raises(NotCanonical):
        parse_canonical(RFC_SAMPLE_INPUT.encode())


def test_keys_sort_by_utf16_code_units():
    out = canonical_bytes(json.loads(RFC_SORT_INPUT)).decode("utf-8")
    assert list(json.loads(out).values()) == RFC_SORT_VALUES
    assert out == ('{"' + BS + 'r":"Carriage Return","1":"One","\u0080":"Control",'
                   '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
                   '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}')


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_numbers(bits, expected):
    assert canonical_bytes(_double(bits)) == expected.encode("ascii")
    # And the canonical spelling is accepted when received, reading back the same double.
    assert parse_canonical(b'{"n":' + expected.encode("ascii") + b"}")["n"] == _double(bits)


@pytest.mark.parametrize("bits", APPENDIX_B_NOT_JSON)
def test_nan_and_infinity_have_no_canonical_form(bits):
    with pytest.raises(NotCanonical):
        canonical_bytes({"n": _double(bits)})


@pytest.mark.parametrize(("literal", "expected"), NUMBER_LITERALS)
def test_number_literals(literal, expected):
    assert canonical_bytes(json.loads(literal)) == expected.encode("ascii")
    assert parse_canonical(b'{"n":' + expected.encode() + b"}") == {"n": json.loads(expected)}
    if literal != expected:
        with pytest.raises(NotCanonical):
            parse_canonical(b'{"n":' + literal.encode() + b"}")


@pytest.mark.parametrize(("text", "expected"), STRUCTURE_VECTORS)
def test_structure_vectors(text, expected):
    assert canonical_bytes(json.loads(text)) == expected.encode("utf-8")


def test_string_escaping():
    # Control characters as \u00xx except the five short escapes; '/' and non-ASCII left as they are.
    value = "\x00\x01\x1f\b\t\n\f\r\"\\/\x7f\u00e9\u2028"
    assert canonical_bytes(value) == (
        '"' + BS + "u0000" + BS + "u0001" + BS + "u001f" + BS + "b" + BS + "t" + BS + "n" + BS + "f"
        + BS + "r" + BS + '"' + BS + BS + "/\x7f\u00e9\u2028" + '"'
    ).encode("utf-8")


def test_integers_beyond_double_precision_are_refused():
    assert canonical_bytes(2**53 - 1) == b"9007199254740991"
    with pytest.raises(NotCanonical):
        canonical_bytes(2**53)
    with pytest.raises(NotCanonical):
        parse_canonical(b'{"n":9007199254740993}')


def test_large_integer_literal_that_is_an_exact_double_is_canonical():
    assert canonical_bytes(1e20) == b"100000000000000000000"
    assert parse_canonical(b'{"n":100000000000000000000}') == {"n": 1e20}
    with pytest.raises(NotCanonical):
        parse_canonical(b'{"n":' + b"9" * 5000 + b"}")


def test_sha256_hex():
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"b":1,"a":2}', "canonical form"),
        (b'{"a": 1}', "canonical form"),
        (b'{"a":1}\n', "trailing newline"),
        (b' {"a":1}', "whitespace"),
        (b'{"a":4.50}', "canonical form"),
        (b'{"a":1E3}', "canonical form"),
        (b'{"a":"\\u0041"}', "canonical form"),
        (b'{"a":"\\/"}', "canonical form"),
        (b'{"a":1,"a":1}', "twice"),
        (b'{"a":"\xff"}', "UTF-8"),
        ('{"a":1}'.encode("utf-16"), "UTF-8"),
        (b'\xef\xbb\xbf{"a":1}', "JSON"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":Infinity}', "Infinity"),
        (b'{"a":1', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1,2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b'{"a":"\\ud800"}', "no canonical form"),
        (b"[" * 100000 + b"]" * 100000, "JSON"),
    ],
)
def test_parse_canonical_refuses(data, words):
    with pytest.raises(NotCanonical, match=words):
        parse_canonical(data)


def test_parse_canonical_wants_bytes():
    with pytest.raises(TypeError):
        parse_canonical('{"a":1}')  # type: ignore[arg-type]


def test_parse_canonical_accepts_canonical_unicode():
    data = '{"name":"S\u00e3o Paulo \u2013 \U0001f3d9"}'.encode()
    assert parse_canonical(data) == {"name": "S\u00e3o Paulo \u2013 \U0001f3d9"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_bytes_round_trip(obj):
    data = canonical_bytes(obj)
    assert canonical_bytes(parse_canonical(data)) == data


@given(st.dictionaries(st.text(min_size=1), json_values, min_size=2, max_size=6))
def test_pretty_printing_is_never_canonical(obj):
    with pytest.raises(NotCanonical):
        parse_canonical(json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False).encode())


# The ballot schema (CRYPTO_DESIGN.md "Ballot").

VOTE_HASH = "a" * 64
BALLOT = {
    "v": 1, "vote": "v-2025-07", "round": 1, "vote_sha256": VOTE_HASH, "member": "seoul",
    "delegate": "d-17", "key": "k_abcdefghijklmnopqrstuvwxyz", "choice": "yes", "nonce": "Q2hvb3NlLXdpc2VseS0x",
}


def _bytes(**changes):
    return canonical_bytes({**BALLOT, **changes})


def _without(key):
    return canonical_bytes({k: v for k, v in BALLOT.items() if k != key})


def test_parse_ballot():
    ballot = parse_ballot(_bytes())
    assert ballot == Ballot(vote="v-2025-07", round=1, vote_sha256=VOTE_HASH, member="seoul", delegate="d-17",
                            key="k_abcdefghijklmnopqrstuvwxyz", choice="yes", nonce="Q2hvb3NlLXdpc2VseS0x")
    assert ballot.to_bytes() == _bytes()
    assert ballot.to_json() == BALLOT


@pytest.mark.parametrize("choice", ["no", "abstain", "option-3", ["c-1", "c-4"], [], {"c-1": "yes", "c-2": "abstain"}])
def test_choice_shapes(choice):
    ballot = parse_ballot(_bytes(choice=choice))
    assert ballot.to_json()["choice"] == choice
    assert ballot.to_bytes() == _bytes(choice=choice)


def test_choice_is_immutable():
    listed = parse_ballot(_bytes(choice=["c-1", "c-2"]))
    assert listed.choice == ("c-1", "c-2")
    approval = parse_ballot(_bytes(choice={"c-1": "yes"}))
    with pytest.raises(TypeError):
        approval.choice["c-1"] = "no"  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_without("nonce"), "lacks 'nonce'"),
        (_without("choice"), "lacks 'choice'"),
        (_bytes(extra="x"), "unexpected 'extra'"),
        (_bytes(v=2), "version"),
        (_bytes(v=True), "version"),
        (_bytes(v="1"), "version"),
        (_bytes(round=0), "round"),
        (_bytes(round=-1), "round"),
        (_bytes(round=True), "round"),
        (_bytes(round=1.5), "round"),
        (_bytes(round="1"), "round"),
        (_bytes(vote_sha256="A" * 64), "vote_sha256"),
        (_bytes(vote_sha256="a" * 63), "vote_sha256"),
        (_bytes(vote_sha256="g" * 64), "vote_sha256"),
        (_bytes(vote=""), "'vote' is empty"),
        (_bytes(vote="x" * 65), "longer than 64"),
        (_bytes(member=7), "'member' must be a string"),
        (_bytes(delegate=None), "'delegate' must be a string"),
        (_bytes(key="k\n1"), "control character"),
        (_bytes(nonce="short"), "nonce"),
        (_bytes(nonce="x" * 65), "nonce"),
        (_bytes(nonce="has space in it!"), "nonce"),
        (_bytes(nonce="padded+base64/=="), "nonce"),
        (_bytes(choice=1), "choice must be a string"),
        (_bytes(choice=None), "choice must be a string"),
        (_bytes(choice=["a", 1]), "every item"),
        (_bytes(choice={"c-1": True}), "every value"),
        (_bytes(choice={"c-1": ["yes"]}), "every value"),
    ],
)
def test_parse_ballot_refuses(data, words):
    with pytest.raises(InvalidBallot, match=words):
        parse_ballot(data)


def test_parse_ballot_refuses_non_canonical_bytes():
    with pytest.raises(NotCanonical):
        parse_ballot(json.dumps(BALLOT).encode())
    with pytest.raises(NotCanonical):
        parse_ballot(_bytes() + b"\n")


def test_parse_ballot_refuses_oversized():
    with pytest.raises(InvalidBallot, match="larger than"):
        parse_ballot(_bytes(choice=["c" * 60] * (MAX_BALLOT_BYTES // 60)))


def test_ballot_built_by_the_app_is_checked():
    with pytest.raises(InvalidBallot):
        Ballot(vote="v", round=1, vote_sha256="nope", member="m", delegate="d", key="k", choice="yes",
               nonce="n" * 16)


def test_errors_are_value_errors():
    assert issubclass(NotCanonical, ValueError)
    assert issubclass(InvalidBallot, ValueError)
