"""The hot path's query reading agrees with werkzeug's request.args, escapes and bad bytes included."""

from __future__ import annotations

import hypothesis
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app.serving.query import query_args


def werkzeug_args(query: bytes) -> dict[str, str]:
    environ = EnvironBuilder().get_environ()
    environ["QUERY_STRING"] = query.decode("latin-1")  # WSGI: the raw bytes, one character each (PEP 3333)
    args = Request(environ).args
    return {name: args[name] for name in args}


def test_examples():
    query = b"a=%ff%20x+y&&b&c=1&a=2&=z&d=%E2%82%AC&cust_params=section%3Dsports%26tier%3Dgold&e%3D=1&f="
    assert query_args(query) == {
        "a": "%FF x y",  # an invalid byte stays escaped; + is a space; the first `a` wins
        "b": "",
        "c": "1",
        "": "z",
        "d": "€",
        "cust_params": "section=sports&tier=gold",
        "e=": "1",
        "f": "",
    }
    assert query_args(query) == werkzeug_args(query)
    assert query_args(b"") == {}


@hypothesis.given(st.binary(max_size=80).filter(lambda q: _utf8(q)))
def test_agrees_with_werkzeug(query):
    assert query_args(query) == werkzeug_args(query)


PIECES = ["a", "b=", "=", "&", "%", "%4", "%41", "+", "%e2%82", "%ac", "é"]


@hypothesis.given(st.lists(st.sampled_from(PIECES)))
def test_agrees_with_werkzeug_on_escapes(parts):
    query = "".join(parts).encode()
    assert query_args(query) == werkzeug_args(query)


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_a_raw_byte_that_is_not_utf8_stays_escaped_where_werkzeug_fails():
    assert query_args(b"max_duration=30&title=caf\xe9") == {"max_duration": "30", "title": "caf%E9"}


def test_a_remembered_reading_gives_the_same_values_and_warnings_each_time():
    from app.serving.request import REMEMBERED_LENGTH, parse_ad_request

    args = {
        "bcat": "IAB1,not a category!",  # used in part: a value and a warning
        "content_genre": "drama",
        "livestream": "maybe",  # ignored: a warning only
        "cust_params": "section=sports",
        "ua": "x" * (REMEMBERED_LENGTH + 1),  # too long to remember: read each time
    }
    readings = [parse_ad_request(args, {}, "192.0.2.1") for _ in range(3)]
    for parsed in readings:
        assert parsed.warnings == {"bcat": "1 unusable entry left out", "livestream": "not 0 or 1"}
        assert parsed.blocked_categories == frozenset({"iab1"})
        assert parsed.content_genres == frozenset({"drama"})
        assert parsed.custom == frozenset({("section", "sports")})
        assert parsed.user_agent == "x" * (REMEMBERED_LENGTH + 1)


def test_custom_pairs_left_out_are_reported_and_the_others_kept():
    from app.serving.request import MAX_CUSTOM_PAIRS, parse_ad_request

    def read(cust_params: str):
        parsed = parse_ad_request({"cust_params": cust_params}, {}, "192.0.2.1")
        return parsed.custom, parsed.warnings.get("cust_params")

    assert read("team=bulls,cubs&&section=,") == (frozenset({("team", "bulls"), ("team", "cubs")}), None)
    assert read("team=bulls&bad key!=x&tier=gold") == (
        frozenset({("team", "bulls"), ("tier", "gold")}),
        "1 pair left out (unusable, or past 20)",
    )
    many = "&".join(f"k{n}=v" for n in range(MAX_CUSTOM_PAIRS + 2))
    custom, warning = read(many)
    assert (
        len(custom) == MAX_CUSTOM_PAIRS
        and warning == f"2 pairs left out (unusable, or past {MAX_CUSTOM_PAIRS})"
    )
    assert read("team=" + ",".join(f"t{n}" for n in range(MAX_CUSTOM_PAIRS + 3)))[1] == (
        f"3 pairs left out (unusable, or past {MAX_CUSTOM_PAIRS})"
    )
    assert read("k=v&" * 200) == (frozenset({("k", "v")}), None)  # repeats, past the parts read too
    assert (
        read("&".join(["k=v"] * 90 + ["new=1"]))[1]
        == f"1 pair left out (unusable, or past {MAX_CUSTOM_PAIRS})"
    )
    assert read("bad key!=x") == (frozenset(), "no usable key=value pair")
