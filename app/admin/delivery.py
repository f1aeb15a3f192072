"""The "why isn't it delivering?" page: a sample ad request, as a player sends it, walked through the
decision (app.serving.diagnosis_views.explain, the API's own answer)."""

from __future__ import annotations

from flask import render_template, request

from app.admin.blueprint import bp
from app.serving.diagnosis_views import sample_request

EXAMPLE_URL = "/vast?max_duration=30"


@bp.get("/delivery")
def delivery():
    """A GET form, so that a diagnosis is a link one can share; nothing is changed or counted."""
    url = request.args.get("url", "").strip()
    header_text = request.args.get("headers", "")
    headers, unreadable = _headers(header_text)
    result = sample_request(url, {}, headers) if url else None
    return render_template(
        "admin/delivery.html",
        url=url or EXAMPLE_URL,
        header_text=header_text,
        unreadable=unreadable,
        result=result,
        asked=bool(url),
    )


def _headers(text: str) -> tuple[dict[str, str], list[str]]:
    """`Name: value` lines; the lines that are not, to show back."""
    headers: dict[str, str] = {}
    unreadable = []
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if not line.strip():
            continue
        if colon and name.strip() and " " not in name.strip():
            headers[name.strip()] = value.strip()
        else:
            unreadable.append(line)
    return headers, unreadable
