"""The campaign page shows each creative's quality warnings, its renditions' status and, once made, its
poster; the upload form takes the advertiser's Ad-ID."""

import html
import io

import sqlalchemy as sa

from app.creatives.models import Creative
from tests import media_files
from tests.admin.test_creatives import field_error
from tests.factories import CampaignFactory
from tests.serving_helpers import runtime


def upload(console, campaign_id, path, **form):
    data = {
        "name": "Spot",
        **form,
        "file": (io.BytesIO(path.read_bytes()), path.name),
        "csrf_token": console.token,
    }
    return console.client.post(
        f"/admin/campaigns/{campaign_id}/creatives", data=data, content_type="multipart/form-data"
    )


def test_warnings_then_renditions_and_poster_on_the_campaign_page(console, session, app, tmp_path):
    campaign = CampaignFactory(status="draft")
    video = media_files.make_tone_mp4(tmp_path / "spot.mp4", width=854, height=480, bars=60, amplitude=0.06)
    response = upload(console, campaign.id, video, ad_id="ABCD1234000H")
    assert response.status_code == 303
    page = html.unescape(console.page(response.headers["Location"]))
    assert "it misses 3 recommendations: see below." in page
    assert "The picture has black bars (letterbox or pillarbox)" in page
    assert 'data-transcode="queued">queued, 0 %' in page
    assert "<dt>Ad-ID</dt><dd>ABCD1234000H</dd>" in page
    assert "Poster on its way: the renditions are being made" in page and "<video" not in page

    runtime(app).transcoder.run_pending()
    creative = session.scalars(sa.select(Creative)).one()
    session.refresh(creative)
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert 'data-transcode="ready">ready' in page
    assert f'<img class="poster" src="http://localhost/media/{creative.poster_key}" loading="lazy"' in page
    assert "<video" not in page
    for rendition in creative.renditions:
        assert f'<a href="http://localhost/media/{rendition.storage_key}">{rendition.name}</a>' in page
    assert page.count("<td>ready</td>") == 2  # 480p and 360p


def test_a_bad_ad_id_is_refused_by_the_field(console, session, tmp_path):
    campaign = CampaignFactory(status="draft")
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    response = upload(console, campaign.id, video, ad_id="12")
    assert response.status_code == 400
    assert "Must be an Ad-ID" in field_error(response.get_data(as_text=True), "ad_id")
    assert session.scalar(sa.select(sa.func.count()).select_from(Creative)) == 0
