"""The audit log: every admin change, by whom, when, with the changed fields before and after, written in the
change's own transaction; never a secret."""

import sqlalchemy as sa

from app.audit.models import AuditEntry
from tests.conftest import ADMIN_EMAIL
from tests.factories import CampaignFactory

URL = "/api/v1/audit-log"


def test_create_update_status_and_archive_are_logged_with_before_and_after(client, auth, session):
    created = client.post(
        "/api/v1/campaigns",
        json={
            "name": "Spring",
            "budget_total": "100.00",
            "start_date": "2026-01-01T00:00:00Z",
            "end_date": "2030-01-01T00:00:00Z",
        },
        headers=auth,
    ).get_json()
    campaign_id = created["id"]
    client.patch(
        f"/api/v1/campaigns/{campaign_id}", json={"budget_total": "150.00", "name": "Spring"}, headers=auth
    )
    client.put(f"/api/v1/campaigns/{campaign_id}/status", json={"status": "completed"}, headers=auth)
    client.post(f"/api/v1/campaigns/{campaign_id}/archive", headers=auth)
    body = client.get(f"{URL}?entity_type=campaign&entity_id={campaign_id}", headers=auth).get_json()
    assert body["total"] == 4
    archive, status, update, create = body["items"]
    assert [entry["action"] for entry in body["items"]] == ["archive", "status", "update", "create"]
    assert {entry["actor_email"] for entry in body["items"]} == {ADMIN_EMAIL}
    assert update["changes"] == {
        "budget_total": {"before": "100.00", "after": "150.00"}
    }  # the name did not change
    assert status["changes"] == {"status": {"before": "draft", "after": "completed"}}
    assert archive["changes"]["archived_at"]["before"] is None
    assert create["changes"]["name"] == {"before": None, "after": "Spring"}
    assert create["changes"]["status"] == {"before": None, "after": "draft"}


def test_a_refused_change_leaves_no_entry(client, auth, session):
    campaign = CampaignFactory(status="completed")
    assert (
        client.patch(f"/api/v1/campaigns/{campaign.id}", json={"name": "X"}, headers=auth).status_code == 409
    )
    assert client.get(URL, headers=auth).get_json()["total"] == 0


def test_deleting_an_advertiser_is_logged_and_secrets_never_are(client, auth, session):
    made = client.post("/api/v1/advertisers", json={"name": "Acme", "domain": "acme.example"}, headers=auth)
    advertiser_id = made.get_json()["id"]
    assert client.delete(f"/api/v1/advertisers/{advertiser_id}", headers=auth).status_code == 204
    entries = client.get(f"{URL}?entity_type=advertiser", headers=auth).get_json()["items"]
    assert [entry["action"] for entry in entries] == ["delete", "create"]
    assert entries[0]["changes"]["domain"] == {"before": "acme.example", "after": None}
    stored = session.scalars(sa.select(AuditEntry.changes)).all()
    assert not any("password" in name or "token" in name for changes in stored for name in changes)


def test_changes_made_without_an_admin_are_not_logged(session):
    CampaignFactory()  # the server's own writes (factories here, jobs and the CLI in production)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_the_filter_is_checked(client, auth):
    response = client.get(f"{URL}?entity_type=user", headers=auth)
    assert response.status_code == 400
    assert "entity_type" in response.get_json()["details"]


def test_a_change_of_advertiser_is_logged_by_its_id(client, auth, session):
    campaign = CampaignFactory()
    made = client.post("/api/v1/advertisers", json={"name": "Acme", "domain": "acme.example"}, headers=auth)
    advertiser_id = made.get_json()["id"]
    changed = client.patch(
        f"/api/v1/campaigns/{campaign.id}", json={"advertiser_id": advertiser_id}, headers=auth
    )
    assert changed.status_code == 200
    entry = client.get(f"{URL}?entity_type=campaign&entity_id={campaign.id}", headers=auth).get_json()[
        "items"
    ][0]
    assert entry["changes"] == {"advertiser_id": {"before": None, "after": advertiser_id}}


def test_a_create_lists_only_the_fields_with_a_value(client, auth, session):
    made = client.post("/api/v1/advertisers", json={"name": "Acme", "domain": "acme.example"}, headers=auth)
    entry = client.get(f"{URL}?entity_type=advertiser", headers=auth).get_json()["items"][0]
    assert entry["entity_id"] == made.get_json()["id"]
    assert all(change["after"] is not None for change in entry["changes"].values())
