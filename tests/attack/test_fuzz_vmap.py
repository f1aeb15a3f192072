"""Property test of GET /vmap: any query gets a playlist valid against the VMAP schema (or a 400 under
strict=1), with a bounded ASCII warnings header, and its tags point at our own /vast."""

import urllib.parse

import hypothesis
import pytest
from hypothesis import strategies as st

from app.serving.request import QUERY_PARAMETERS
from app.serving.vmap_views import MAX_BREAKS, VMAP_PARAMETERS
from tests.api.test_vmap import breaks_of
from vast import vmap

FIELDS = (*VMAP_PARAMETERS, *QUERY_PARAMETERS, "strict", "other")
SETTINGS = hypothesis.settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)  # what a URL can carry
numbers = st.one_of(
    st.integers(min_value=-100, max_value=100_000), st.floats(allow_nan=True, allow_infinity=True)
).map(str)
values = st.one_of(
    text,
    numbers,
    st.lists(numbers, max_size=60).map(",".join),
    st.sampled_from(["0", "1", "true", "false", "", "[DURATION]", "%%CUES%%", "]]>", "1e309", "-0"]),
)


@pytest.fixture
def backend():
    return "sqlite"


@SETTINGS
@hypothesis.given(
    query=st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=10), raw=st.text(max_size=200)
)
def test_any_playlist_request_gets_a_valid_vmap_and_only_strict_gets_a_400(client, query, raw):
    encoded = urllib.parse.urlencode(query)
    for path in (f"/vmap?{encoded}", f"/vmap?{urllib.parse.quote(raw, safe='=&')}"):
        response = client.get(path)
        allowed = (200, 400) if response.request.args.get("strict") == "1" else (200,)
        assert response.status_code in allowed, (path, response.status_code, response.data)
        header = response.headers.get("X-Ad-Request-Warnings", "")
        assert header.isascii()
        assert len(header) <= 512
        if response.status_code == 400:
            assert response.is_json and response.get_json()["details"]
            continue
        vmap.validate(response.data)
        breaks = breaks_of(response.data)
        assert len(breaks) <= MAX_BREAKS
        assert {b["base"] for b in breaks} <= {"http://localhost/vast"}
        assert len({b["query"]["session_id"][0] for b in breaks}) <= 1
