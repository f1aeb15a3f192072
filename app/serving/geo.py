"""Where the device is: the country of its IP address, from the iptocc wheel's own database (regional
internet registries' delegations, shipped in the package, 0.3 µs a lookup: nothing is downloaded at run
time). It is the country the address is registered to, which for consumer broadband and CTV is where the
household is. No region: no package on the registries ships a region database under a licence we can
redistribute without an account (see README, Targeting).
"""

from __future__ import annotations

import ipaddress

from iptocc import country_code


def country(ip: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of the address's country, upper case; None for private, unknown or unusable
    ones. An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, as dual-stack proxies pass it) is looked up
    as the IPv4 address it is."""
    if not ip:
        return None
    if ip.startswith("::ffff:"):
        try:
            mapped = ipaddress.IPv6Address(ip).ipv4_mapped
        except ValueError:
            return None
        ip = str(mapped) if mapped else ip
    return country_code(ip) or None
