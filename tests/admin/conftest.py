"""The console through Flask's test client: log in as a browser does, and post forms with their CSRF token."""

from __future__ import annotations

import re

import pytest

from app.admin.forms import plain_words
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/admin/login") -> str:
    match = CSRF_FIELD.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def log_in(client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next_page=None, **request):
    form = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    if next_page is not None:
        form["next"] = next_page
    return client.post("/admin/login", data=form, **request)


class Console:
    """A logged-in test client whose posts carry the page session's CSRF token, as the pages' forms do."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_token(client, "/admin/campaigns/new")

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def page(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)


@pytest.fixture
def console(client, session) -> Console:
    assert log_in(client).status_code == 303
    return Console(client)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="notice (?:success|error)" role="(?:status|alert)">([^<]*)</p>', html)


def console_words(form: dict, field: str, api_message: str) -> str:
    """What the console says of a field the API refused with `api_message`: "Required." for an empty input,
    else the message in plain words (app.admin.forms.plain_words)."""
    if not form.get(field, "").strip():
        return "Required."
    return plain_words({field: api_message})[field]
