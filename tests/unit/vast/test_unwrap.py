"""vast.unwrap on documents served by a fake fetch: depth, loops, deadline, validation, merged trackers."""

import pytest
from lxml import etree

from vast.model import WrapperAd
from vast.render import render
from vast.unwrap import MAX_WRAPPER_DEPTH, FetchFailed, FetchTimeout, Trackers, Unwrapped, unwrap
from vast.validate import validate

OURS = Trackers(
    impressions=("https://us.example/t/impression",),
    errors=("https://us.example/t/error?code=[ERRORCODE]",),
    tracking=(("start", "https://us.example/t/start"), ("loaded", "https://us.example/t/loaded")),
    click_tracking=("https://us.example/t/click",),
)


def hop(next_url: str, version: str = "4.2", name: str = "hop") -> bytes:
    return render(
        WrapperAd(
            ad_id=name,
            ad_system="Hop",
            ad_system_version=None,
            vast_ad_tag_uri=next_url,
            impressions=(f"https://{name}.example/imp",),
            errors=(f"https://{name}.example/err",),
        ),
        version,
    )


@pytest.fixture
def inline(full_ad):
    return lambda version="4.2": render(full_ad, version)


def serve(documents: dict[str, bytes]):
    calls = []

    def fetch(url: str, seconds: float) -> bytes:
        calls.append(url)
        document = documents[url]
        if isinstance(document, Exception):
            raise document
        return document

    return fetch, calls


@pytest.mark.parametrize("version", ["3.0", "4.0", "4.1", "4.2"])
def test_an_inline_gets_every_partys_trackers_and_stays_valid(inline, version):
    fetch, _ = serve({"https://a/1": hop("https://a/2"), "https://a/2": inline(version)})
    result = unwrap("https://a/1", OURS, fetch, 1.0)
    assert result.error_code is None
    validate(result.document, version)
    root = etree.fromstring(result.document)
    impressions = [e.text for e in root.iter("{*}Impression", "Impression")]
    assert "https://us.example/t/impression" in impressions and "https://hop.example/imp" in impressions
    tracking = {e.text for e in root.iter("{*}Tracking", "Tracking")}
    assert "https://us.example/t/start" in tracking
    assert ("https://us.example/t/loaded" in tracking) == (version in ("4.1", "4.2"))  # loaded is 4.1+


def test_five_wrappers_are_followed_and_a_sixth_is_refused(inline):
    chain = {f"https://a/{n}": hop(f"https://a/{n + 1}") for n in range(MAX_WRAPPER_DEPTH)}
    fetch, _ = serve(chain | {f"https://a/{MAX_WRAPPER_DEPTH}": inline()})
    assert unwrap("https://a/0", OURS, fetch, 1.0).error_code is None
    longer = {f"https://a/{n}": hop(f"https://a/{n + 1}") for n in range(MAX_WRAPPER_DEPTH + 1)}
    fetch, calls = serve(longer | {f"https://a/{MAX_WRAPPER_DEPTH + 1}": inline()})
    assert unwrap("https://a/0", OURS, fetch, 1.0).error_code == "302"
    assert len(calls) == MAX_WRAPPER_DEPTH + 1


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (b"<VAST version='4.2'", "100"),
        (b'<VAST version="4.2" xmlns="http://www.iab.com/VAST"><Ad><InLine/></Ad></VAST>', "101"),
        (b'<VAST version="9.9"/>', "102"),
        (b'<VAST version="4.2" xmlns="http://www.iab.com/VAST"/>', "303"),
        (FetchTimeout("slow"), "301"),
        (FetchFailed("refused"), "300"),
    ],
)
def test_each_failure_has_its_vast_error_code(answer, code):
    fetch, _ = serve({"https://a/1": hop("https://a/2"), "https://a/2": answer})
    assert unwrap("https://a/1", OURS, fetch, 1.0).error_code == code


def test_a_loop_is_refused_when_a_url_comes_back():
    fetch, calls = serve({"https://a/1": hop("https://a/2"), "https://a/2": hop("https://a/1")})
    assert unwrap("https://a/1", OURS, fetch, 1.0).error_code == "302"
    assert calls == ["https://a/1", "https://a/2"]


def test_the_deadline_is_shared_by_the_whole_chain(inline):
    now = [0.0]
    given = []

    def fetch(url: str, seconds: float) -> bytes:
        given.append(seconds)
        now[0] += 0.6
        return {"https://a/1": hop("https://a/2"), "https://a/2": hop("https://a/3")}[url]

    assert unwrap("https://a/1", OURS, fetch, 1.0, clock=lambda: now[0]).error_code == "301"
    assert given == [1.0, pytest.approx(0.4)]


@pytest.mark.parametrize(("own", "target"), [("4.2", "4.1"), ("4.1", "4.3"), ("4.2", "4.2"), ("3.0", "3.0")])
def test_an_inline_is_moved_into_the_pods_version_without_its_sequence(inline, own, target):
    fetch, _ = serve({"https://a/1": hop("https://a/2", version=own), "https://a/2": inline(own)})
    result = unwrap("https://a/1", OURS, fetch, 1.0, as_version=target)
    assert result.error_code is None, result
    validate(result.document, target)
    root = etree.fromstring(result.document)
    assert root.get("version") == target
    assert etree.QName(root).namespace == (None if target == "3.0" else "http://www.iab.com/VAST")
    [ad] = list(root)
    assert ad.get("sequence") is None and ad.get("id") == "ad-7"  # the partner's sequence is the pod's to set
    tracking = {e.text for e in root.iter("{*}Tracking", "Tracking")}
    assert ("https://us.example/t/loaded" in tracking) == (target in ("4.1", "4.2", "4.3"))


@pytest.mark.parametrize(("own", "target"), [("4.2", "3.0"), ("3.0", "4.2")])
def test_an_inline_that_does_not_hold_in_the_pods_version_is_102(inline, own, target):
    """Renamed into the other namespace, a 4.2 InLine still has AdServingId and UniversalAdId, unknown to
    3.0, and a 3.0 one its elements in 3.0's order: neither is converted."""
    fetch, _ = serve({"https://a/1": inline(own)})
    assert unwrap("https://a/1", OURS, fetch, 1.0, as_version=target) == Unwrapped(None, "102")
    assert unwrap("https://a/1", OURS, fetch, 1.0).error_code is None  # in its own version it holds


def test_extension_elements_keep_their_namespace_when_moved(inline):
    document = inline("4.2").replace(  # Extensions: after the Errors, before the Impressions (4.2 XSD)
        b"</Error><Impression",
        b'</Error><Extensions><Extension type="x"><x:Tag xmlns:x="https://x.example/ns">1</x:Tag>'
        b"</Extension></Extensions><Impression",
        1,
    )
    fetch, _ = serve({"https://a/1": document})
    result = unwrap("https://a/1", OURS, fetch, 1.0, as_version="4.1")
    assert result.error_code is None, result
    [tag] = etree.fromstring(result.document).iter("{https://x.example/ns}Tag")
    assert etree.QName(tag.getparent()).namespace == "http://www.iab.com/VAST"


@pytest.mark.parametrize("version", ["3.0", "4.0", "4.1", "4.2", "4.3"])
@pytest.mark.parametrize(
    ("click_through", "partners"),
    [(None, ()), ("https://brand.example/landing", ()), ("https://brand.example/landing", ("https://p/c",))],
    ids=["no VideoClicks", "ClickThrough only", "ClickThrough and ClickTracking"],
)
@pytest.mark.parametrize("target", [None, "pod"])
def test_our_and_the_wrappers_click_trackers_reach_any_inline(
    make_ad, version, click_through, partners, target
):
    """VideoClicks made where the version's schema puts it when the partner's Linear has none, and our
    ClickTracking (then the wrappers') after the partner's own, alone or moved into a pod's version."""
    partner = render(make_ad({"click_through": click_through, "click_tracking": partners}), version)
    hop_ad = WrapperAd(
        "hop", "Hop", None, "https://a/2", ("https://hop/imp",), (), click_tracking=("https://hop/c",)
    )
    wrapper = render(hop_ad, version)
    fetch, _ = serve({"https://a/1": wrapper, "https://a/2": partner})
    as_version = version if target == "pod" else None
    result = unwrap("https://a/1", OURS, fetch, 1.0, as_version=as_version)
    assert result.error_code is None, result
    validate(result.document, version)
    [clicks] = etree.fromstring(result.document).iter("{*}VideoClicks", "VideoClicks")
    tracked = [e.text for e in clicks if etree.QName(e).localname == "ClickTracking"]
    assert tracked == [*partners, "https://us.example/t/click", "https://hop/c"]
    through = [e.text for e in clicks if etree.QName(e).localname == "ClickThrough"]
    assert through == ([click_through] if click_through else [])


def test_every_hops_tag_is_expanded_before_it_is_followed(inline):
    fetch, calls = serve({"https://a/1": hop("https://a/2?cb=[CACHEBUSTING]"), "https://a/2?cb=42": inline()})
    expand = lambda url: url.replace("[CACHEBUSTING]", "42")  # noqa: E731
    assert unwrap("https://a/1", OURS, fetch, 1.0, expand=expand).error_code is None
    assert calls == ["https://a/1", "https://a/2?cb=42"]
