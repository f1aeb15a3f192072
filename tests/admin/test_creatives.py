"""Creative uploads from the campaign page, refusals with the server's message, creative status, deletion."""

import io
import re

import sqlalchemy as sa

from app.creatives.media import MediaError, probe
from app.creatives.models import Creative
from app.creatives.views import MULTIPART_OVERHEAD
from tests import media_files
from tests.factories import CampaignFactory, CreativeFactory


def upload(console, campaign_id, path, *, token=True, **form):
    data = {"name": "Spot 3s", **form, "file": (io.BytesIO(path.read_bytes()), path.name)}
    if token:
        data["csrf_token"] = console.token
    return console.client.post(
        f"/admin/campaigns/{campaign_id}/creatives", data=data, content_type="multipart/form-data"
    )


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def test_an_uploaded_mp4_is_read_stored_and_announced(console, session, tmp_path):
    campaign = CampaignFactory(status="draft")
    video = media_files.make_mp4(tmp_path / "spot.mp4", seconds=3.0, width=640, height=360)
    response = upload(console, campaign.id, video, click_through_url="https://brand.example.com/")
    assert response.status_code == 303
    creative = session.scalars(sa.select(Creative)).one()
    location = f"/admin/campaigns/{campaign.id}?uploaded={creative.id}#creatives"
    assert response.headers["Location"] == location
    page = console.page(location)
    assert "Creative “Spot 3s” uploaded: 3.0 s, 640\N{MULTIPLICATION SIGN}360." in page
    assert creative.click_through_url == "https://brand.example.com/"


def test_a_refused_file_shows_the_servers_message_by_the_field(console, session, tmp_path):
    campaign = CampaignFactory()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    try:
        probe(text, 120)
    except MediaError as exc:
        expected = str(exc)
    response = upload(console, campaign.id, text, name="Kept name")
    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert field_error(page, "file") == expected
    assert 'value="Kept name"' in page and 'id="form-errors"' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Creative)) == 0


def test_form_fields_are_checked_with_the_apis_messages(console, session, tmp_path):
    campaign = CampaignFactory()
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    response = upload(console, campaign.id, video, name="  ", click_through_url="ftp://x.example")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert field_error(page, "name") == "Required."
    assert field_error(page, "click_through_url") == "Not a valid URL."


def test_a_file_over_the_limit_is_refused_by_the_field(console, app, session, tmp_path):
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    app.config["MAX_UPLOAD_BYTES"] = video.stat().st_size - 1
    campaign = CampaignFactory()
    response = upload(console, campaign.id, video)
    assert response.status_code == 413
    size = video.stat().st_size
    message = f"The file is {size} bytes; the limit is {size - 1} bytes (MAX_UPLOAD_BYTES)"
    assert field_error(response.get_data(as_text=True), "file") == message


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(console, app, session, tmp_path):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    big = tmp_path / "big.mp4"
    big.write_bytes(bytes(MULTIPART_OVERHEAD + 10_000))
    response = upload(console, CampaignFactory().id, big)
    assert response.status_code == 413
    assert (
        field_error(response.get_data(as_text=True), "file")
        == "The file is larger than the limit of 1000 bytes."
    )


def test_an_upload_needs_the_csrf_token_too(console, session, tmp_path):
    campaign = CampaignFactory()
    response = upload(console, campaign.id, media_files.make_mp4(tmp_path / "spot.mp4"), token=False)
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Creative)) == 0


def test_a_completed_campaign_takes_no_upload(console, session, tmp_path):
    campaign = CampaignFactory(status="completed")
    assert 'id="upload"' not in console.page(f"/admin/campaigns/{campaign.id}")
    response = upload(console, campaign.id, media_files.make_mp4(tmp_path / "spot.mp4"))
    assert response.status_code == 409
    assert "<li>A completed campaign cannot be edited</li>" in response.get_data(as_text=True)


def test_a_creative_is_deactivated_activated_and_deleted(console, session):
    creative = CreativeFactory(name="Spot")
    campaign_page = f"/admin/campaigns/{creative.campaign_id}#creatives"
    response = console.post(f"/admin/creatives/{creative.id}/status", {"status": "inactive"})
    assert (response.status_code, response.headers["Location"]) == (303, campaign_page)
    session.refresh(creative)
    assert creative.status == "inactive"
    assert "Activate Spot" in console.page(f"/admin/campaigns/{creative.campaign_id}")
    console.post(f"/admin/creatives/{creative.id}/status", {"status": "paused"})
    session.refresh(creative)
    assert creative.status == "inactive"
    assert "Must be one of: active, inactive." in console.page(f"/admin/campaigns/{creative.campaign_id}")

    assert "Delete the creative “Spot”?" in console.page(f"/admin/creatives/{creative.id}/delete")
    creative_id = creative.id
    response = console.post(f"/admin/creatives/{creative_id}/delete")
    assert (response.status_code, response.headers["Location"]) == (303, campaign_page)
    session.expire_all()
    assert session.get(Creative, creative_id) is None


def test_an_upload_that_is_not_multipart_gets_the_servers_refusal(console, session):
    response = console.post(f"/admin/campaigns/{CampaignFactory().id}/creatives", {"name": "x"})
    assert response.status_code == 415
    assert "Send the creative as multipart/form-data" in response.get_data(as_text=True)


def test_verification_vendors_are_set_from_the_creatives_form(console, session, app):
    creative = CreativeFactory()
    page = console.page(f"/admin/creatives/{creative.id}/verifications")
    assert 'name="verifications.0.vendor"' in page and 'name="verifications.1.vendor"' not in page
    refused = console.post(
        f"/admin/creatives/{creative.id}/verifications",
        {
            "verifications.0.vendor": "verify.example.com-omid",
            "verifications.0.javascript_url": "http://verify.example.com/omid.js",
            "verifications.1.javascript_url": "https://other.example/v.js",
            "verifications.1.not_executed_url": "not a url",
        },
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    for message in (
        "Vendor 1, script URL: Must be an https URL.",
        "Vendor 2, vendor key: Required.",
        "Vendor 2, not-executed URL: Must be an https URL.",
    ):
        assert message in html  # every refusal at once, by its input
    assert 'value="http://verify.example.com/omid.js"' in html  # what was typed stays
    saved = console.post(
        f"/admin/creatives/{creative.id}/verifications",
        {
            "verifications.0.vendor": "verify.example.com-omid",
            "verifications.0.javascript_url": "https://verify.example.com/omid.js",
            "verifications.0.parameters": '{"id": 1}',
            "verifications.1.vendor": "",  # the blank row: none
        },
    )
    assert saved.status_code == 303
    session.refresh(creative)
    assert creative.verifications == [
        {
            "vendor": "verify.example.com-omid",
            "javascript_url": "https://verify.example.com/omid.js",
            "parameters": '{"id": 1}',
            "not_executed_url": None,
        }
    ]
    campaign_page = console.page(f"/admin/campaigns/{creative.campaign_id}")
    assert '<dt>Verification</dt><dd class="break">verify.example.com-omid</dd>' in campaign_page
    again = console.page(f"/admin/creatives/{creative.id}/verifications")
    assert 'value="https://verify.example.com/omid.js"' in again and 'name="verifications.1.vendor"' in again
