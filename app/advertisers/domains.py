"""An advertiser's domain as OpenRTB's `adomain` (and `badv`) has it: a bare host name, lower case."""

from __future__ import annotations

import re

MAX_LENGTH = 253  # a DNS name
INVALID = "Must be a domain name such as brand.example.com."

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_PORT = re.compile(r"(.+):[0-9]{1,5}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")  # never all digits: not an IP address


def normalise_domain(raw: str) -> str:
    """`raw` as the advertiser's bare domain: "https://WWW.Brand.example.com/spring?x=1" is
    "brand.example.com" (no scheme, port, path, query or fragment, no leading "www.", no trailing dot, lower
    case, an internationalised name in its ASCII "xn--" form). Raises ValueError when no host name is left."""
    value = _SCHEME.sub("", raw.strip(), count=1).removeprefix("//")
    host = re.split(r"[/?#]", value, maxsplit=1)[0]
    port = _PORT.fullmatch(host)
    if port:
        host = port.group(1)
    host = host.rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(INVALID) from None
    host = host.removeprefix("www.")
    labels = host.split(".")
    if (
        len(host) > MAX_LENGTH
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TOP_LEVEL.fullmatch(labels[-1])
    ):
        raise ValueError(INVALID)
    return host
