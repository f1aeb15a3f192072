"""The supply tag API on PostgreSQL and SQLite: create, validate, edit, delete, its ready-to-paste URL."""

import pytest

URL = "/api/v1/supply-tags"


def create(client, auth, **body):
    response = client.post(URL, json={"name": "Roku app"} | body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_then_get_with_its_url(client, auth):
    tag = create(client, auth, name=" Roku app ", platform="roku", max_duration=30, pod_max_ads=3)
    assert (tag["name"], tag["platform"], tag["max_duration"], tag["pod_max_ads"]) == (
        "Roku app",
        "roku",
        30,
        3,
    )
    assert (tag["min_duration"], tag["vast_version"], tag["macros"]) == (None, None, {})
    assert tag["vast_url"].startswith(f"http://localhost/vast?tag={tag['id']}&cb=ROKU_ADS_CACHE_BUSTER&")
    assert "&ifa=ROKU_ADS_TRACKING_ID&ifa_type=rida&" in tag["vast_url"]
    fetched = client.get(f"{URL}/{tag['id']}", headers=auth)
    assert (fetched.status_code, fetched.get_json()) == (200, tag)


def test_a_new_tag_is_generic_and_the_list_is_by_name(client, auth):
    second = create(client, auth, name="b tag")
    first = create(client, auth, name="A tag")
    assert first["platform"] == "generic" and first["id"] != second["id"]
    page = client.get(URL, headers=auth).get_json()
    assert [t["name"] for t in page["items"]] == ["A tag", "b tag"] and page["total"] == 2


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": ...}, "name", "Missing data for required field."),
        ({"name": "   "}, "name", "Must not be blank."),
        ({"name": "a\x00b"}, "name", "Must not contain control characters."),
        ({"platform": "betamax"}, "platform", "Must be one of"),
        ({"vast_version": "5.0"}, "vast_version", "Must be one of"),
        ({"max_duration": 0}, "max_duration", "greater than or equal to 1"),
        ({"max_duration": 3601}, "max_duration", "less than or equal to 3600"),
        ({"min_duration": -1}, "min_duration", "greater than or equal to 0"),
        ({"min_duration": 30, "max_duration": 15}, "min_duration", "Must not be above max_duration."),
        ({"pod_max_ads": 21}, "pod_max_ads", "less than or equal to 20"),
        ({"pod_max_ads": "3"}, "pod_max_ads", "Not a valid integer."),
        ({"macros": {"nope": "[X]"}}, "macros", "Must be one of"),
        ({"macros": {"ip": "[IP]&x=1"}}, "macros", "without spaces"),
    ],
)
def test_invalid_bodies_name_the_field(client, auth, body, field, message):
    body = {"name": "Tag"} | body
    body = {k: v for k, v in body.items() if v is not ...}
    response = client.post(URL, json=body, headers=auth)
    assert response.status_code == 400
    details = response.get_json()["details"]
    assert [name for name in details if name.split(".")[0] == field], details  # nested: `macros.ip.value`
    assert message in str(details)


def test_edit_keeps_what_is_not_sent_and_checks_the_durations_together(client, auth):
    tag = create(client, auth, min_duration=5, max_duration=30)
    changed = client.patch(
        f"{URL}/{tag['id']}", json={"platform": "mediatailor", "macros": {"app_name": ""}}, headers=auth
    ).get_json()
    assert (changed["min_duration"], changed["max_duration"], changed["platform"]) == (5, 30, "mediatailor")
    assert "[session.avail_duration_secs]" in changed["vast_url"] and "app_name" not in changed["vast_url"]
    refused = client.patch(f"{URL}/{tag['id']}", json={"max_duration": 4}, headers=auth)
    assert refused.status_code == 400 and "min_duration" in refused.get_json()["details"]
    assert client.get(f"{URL}/{tag['id']}", headers=auth).get_json()["max_duration"] == 30


def test_delete_and_missing_tags(client, auth):
    tag = create(client, auth)
    assert client.delete(f"{URL}/{tag['id']}", headers=auth).status_code == 204
    for call in (client.get, client.delete):
        assert call(f"{URL}/{tag['id']}", headers=auth).status_code == 404
    assert client.patch(f"{URL}/{tag['id']}", json={"name": "x"}, headers=auth).status_code == 404
    assert create(client, auth)["id"] != tag["id"]  # a deleted tag's number is never given again


def test_the_api_needs_a_login(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"name": "x"}).status_code == 401
