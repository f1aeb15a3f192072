"""Where a console page sends the browser next."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from flask import url_for

# Spaces and control characters: browsers drop tabs and newlines from a URL (so "/\t/evil.example" is
# "//evil.example" to them) and a header cannot carry a newline. No page of ours needs one.
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_SLASHES = re.compile(r"/{2,}")
_MAX_DECODINGS = 3
# What a path or a query may hold unescaped (RFC 3986 pchar); everything else is escaped again.
_PATH_SAFE = "/!$&'()*+,;=:@"
_QUERY_SAFE = _PATH_SAFE + "?%"


def local_page(target: str | None, default: str) -> str:
    """`target` when it is a console page of this site (never another host: no open redirect), else
    `default`. The path is judged, and sent, in its normalised form (percent-decoded, backslashes as
    slashes, repeated slashes collapsed, dot segments resolved), so that what is checked is what the browser
    will open: "/admin/..//evil.example" or "/admin/%2e%2e/x" are not console pages."""
    if not target or _UNSAFE.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    path = _normalised(parts.path)
    if path is None or not path.startswith(url_for("admin.dashboard")):
        return default
    return urlunsplit(("", "", quote(path, safe=_PATH_SAFE), quote(parts.query, safe=_QUERY_SAFE), ""))


def _normalised(path: str) -> str | None:
    for _ in range(_MAX_DECODINGS):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    else:
        return None  # still encoded after several rounds: no page of ours looks like that
    if _UNSAFE.search(path):
        return None
    path = _SLASHES.sub("/", path.replace("\\", "/"))
    if not path.startswith("/"):
        return None
    return _without_dot_segments(path)


def _without_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 for an absolute path: "/a/./b/../c/" → "/a/c/", never above the root."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if last:
                kept.append("")  # "/a/b/.." is the directory "/a/"
        else:
            kept.append(segment)
    return "/" + "/".join(kept)
