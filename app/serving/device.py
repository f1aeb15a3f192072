"""Who the device is: its address and user agent, resolved the same way on /vast, the SDK routes and beacons.

Order (first usable value wins):
- address: the `X-Device-IP` header (an SSAI server speaking for the device, VAST 4.1 §2.4.4), the `ip`
  query parameter where the route takes one, the leftmost valid `X-Forwarded-For` entry (what SSAI services
  send on tracking calls), then the connection's address (after ProxyFix, TRUSTED_PROXY_COUNT).
- user agent: `X-Device-User-Agent`, the `ua` query parameter where the route takes one, then `User-Agent`.

These values are for records and decisions only: rate limits and anything security-related keep the
trusted-proxy address (`request.remote_addr`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

MAX_USER_AGENT = 512
# An address as players and proxies write it is never longer (an IPv6 with a port, brackets and a zone).
_MAX_ADDRESS_TEXT = 64
# A dotted-quad IPv4 address without leading zeros is already canonical: the common case, without ipaddress.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def canonical_ip(value: str | None) -> str | None:
    """The address in `value` in its canonical text form, or None when there is none.

    Accepts what proxies and players send: `203.0.113.7:51234`, `[2001:db8::1]:443`, `2001:db8::1%eth0`
    (the zone is dropped: no database type keeps it), surrounding spaces, and a comma-separated list (the
    first valid entry wins).
    """
    if not value:
        return None
    if _CANONICAL_V4.fullmatch(value):
        return value
    for entry in value.split(",", 8)[:8]:
        address = _parse(entry.strip()[:_MAX_ADDRESS_TEXT])
        if address is not None:
            return address
    return None


def _parse(text: str) -> str | None:
    if not text:
        return None
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    text = text.partition("%")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def device_ip(headers: Mapping[str, str], remote_addr: str | None, query_ip: str | None = None) -> str | None:
    """The device's address by the order in this module's docstring, canonical, or None."""
    return (
        canonical_ip(headers.get("X-Device-IP"))
        or canonical_ip(query_ip)
        or canonical_ip(headers.get("X-Forwarded-For"))
        or canonical_ip(remote_addr)
    )


def device_user_agent(headers: Mapping[str, str], query_ua: str | None = None) -> str | None:
    """The device's user agent by the order in this module's docstring, at most 512 characters, or None."""
    for value in (headers.get("X-Device-User-Agent"), query_ua, headers.get("User-Agent")):
        if value and value.strip():
            return value.strip()[:MAX_USER_AGENT]
    return None
