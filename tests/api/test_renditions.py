"""Renditions end to end with the in-process runner: upload, transcode job, API listing, VAST documents
(every version valid), identity, quality warnings, failures that leave nothing behind."""

import io
import os
import re
import uuid
from pathlib import Path

import pytest

from app.creatives import services, transcode
from app.db import get_session
from tests import media_files
from tests.factories import CampaignFactory
from tests.serving_helpers import NS, ads_in, get_vast, refresh, runtime
from vast.render import SUPPORTED_VERSIONS


@pytest.fixture
def settings(make_settings, database_url, request):
    return make_settings(
        database_url=database_url, untranscoded_creatives=getattr(request, "param", "original")
    )


@pytest.fixture
def campaign(session):
    return CampaignFactory(status="active")


def upload(client, auth, campaign_id, path, **form):
    data = {"name": "Spot", **form, "file": (io.BytesIO(Path(path).read_bytes()), os.path.basename(path))}
    response = client.post(
        f"/api/v1/campaigns/{campaign_id}/creatives",
        data=data,
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored(app) -> set[str]:
    root = Path(app.extensions["storage"].directory)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def source(tmp_path):
    return media_files.make_tone_mp4(tmp_path / "spot.mp4", seconds=2.0)


def test_an_upload_is_queued_then_transcoded_and_listed(client, auth, app, campaign, source):
    created = upload(client, auth, campaign.id, source)
    assert created["transcode_status"] == "queued" and created["poster_url"] is None
    assert [(r["name"], r["status"], r["url"]) for r in created["renditions"]] == [
        ("720p", "queued", None),
        ("480p", "queued", None),
        ("360p", "queued", None),
    ]
    assert runtime(app).transcoder.run_pending() == 1
    creative = client.get(f"/api/v1/creatives/{created['id']}", headers=auth).get_json()
    assert (creative["transcode_status"], creative["transcode_progress"]) == ("ready", 100)
    assert creative["transcode_error"] is None
    for rendition in creative["renditions"]:
        assert rendition["status"] == "ready"
        assert abs(rendition["bitrate"] - rendition["target_bitrate"]) <= 0.2 * rendition["target_bitrate"]
        assert rendition["codec"].startswith("avc1.6400")
        assert abs(rendition["loudness"] - transcode.LOUDNESS_TARGET_LUFS) <= 1.0
        with client.get(rendition["url"].removeprefix("http://localhost")) as media:
            assert media.status_code == 200 and media.mimetype == "video/mp4"
            assert len(media.data) == rendition["file_size"]
    with client.get(creative["poster_url"].removeprefix("http://localhost")) as poster:
        assert poster.mimetype == "image/jpeg" and poster.data[:2] == b"\xff\xd8"
    # Running the job again (a retry, a duplicate) changes nothing and leaves no copy.
    before = stored(app)
    runtime(app).transcoder.submit(uuid.UUID(created["id"]))
    runtime(app).transcoder.run_pending()
    assert stored(app) == before and len(before) == 5  # mezzanine, three renditions, poster


def test_vast_lists_every_rendition_and_the_mezzanine(client, auth, app, campaign, source):
    created = upload(client, auth, campaign.id, source, ad_id="ABCD1234000H")
    runtime(app).transcoder.run_pending()
    refresh(app)
    for version in SUPPORTED_VERSIONS:
        document = get_vast(client, f"vast_version={version}", version=version)
        ns = NS if version != "3.0" else {"v": ""}
        prefix = "v:" if version != "3.0" else ""
        files = document.findall(f".//{prefix}MediaFile", ns)
        assert [(f.get("width"), f.get("height")) for f in files] == [
            ("1280", "720"),
            ("854", "480"),
            ("640", "360"),
        ]
        for media, rendition in zip(files, created_renditions(client, auth, created["id"]), strict=True):
            assert media.get("bitrate") == str(round(rendition["bitrate"] / 1000))
            assert media.get("codec") == rendition["codec"] and media.get("delivery") == "progressive"
            assert media.text.strip() == rendition["url"]
        mezzanine = document.find(f".//{prefix}Mezzanine", ns)
        if version in ("4.1", "4.2", "4.3"):
            assert mezzanine.text.strip() == created["video_url"]
            assert (mezzanine.get("width"), mezzanine.get("height")) == ("1280", "720")
        else:
            assert mezzanine is None
        creative = document.find(f".//{prefix}Creative", ns)
        assert creative.get("id") == created["identity"]
        assert creative.get("adId" if version != "3.0" else "AdID") == "ABCD1234000H"
        universal = document.find(f".//{prefix}UniversalAdId", ns)
        assert (universal.text, universal.get("idRegistry")) == ("ABCD1234000H", "ad-id.org")
        if version == "3.0":  # carried as a creative extension (IAB CTV addendum)
            assert universal.getparent().get("type") == "UniversalAdId"
            assert universal.get("idValue") == "ABCD1234000H"


def created_renditions(client, auth, creative_id):
    return client.get(f"/api/v1/creatives/{creative_id}", headers=auth).get_json()["renditions"]


def test_until_ready_the_original_serves_alone_with_our_own_identity(client, auth, app, campaign, source):
    created = upload(client, auth, campaign.id, source)
    refresh(app)
    document = get_vast(client, "vast_version=4.2")
    (media,) = document.findall(".//v:MediaFile", NS)
    assert media.text.strip() == created["video_url"]
    universal = document.find(".//v:UniversalAdId", NS)
    assert (universal.text, universal.get("idRegistry")) == (created["identity"], "ctv-ad-server")


@pytest.mark.parametrize("settings", ["hold"], indirect=True)
def test_hold_serves_a_creative_only_once_its_renditions_are_ready(client, auth, app, campaign, source):
    upload(client, auth, campaign.id, source)
    refresh(app)
    assert len(ads_in(get_vast(client, "vast_version=4.2"))) == 0  # no fill while transcoding
    runtime(app).transcoder.run_pending()
    refresh(app)
    assert len(get_vast(client, "vast_version=4.2").findall(".//v:MediaFile", NS)) == 3


def test_quality_warnings_on_upload(client, auth, campaign, tmp_path):
    quiet_letterbox = media_files.make_tone_mp4(
        tmp_path / "lb.mp4", width=640, height=360, amplitude=0.005, sample_rate=44_100, bars=48
    )
    warnings = upload(client, auth, campaign.id, quiet_letterbox)["warnings"]
    codes = [warning["code"] for warning in warnings]
    assert re.match(
        r"The file runs at [1-9]\d* kbit/s;", warnings[1]["message"]
    )  # a small file: not "0.0 Mbit/s"
    assert codes == [
        "below_mezzanine_size",
        "below_mezzanine_bitrate",
        "below_mezzanine_audio",
        "black_bars",
        "loudness_off_target",
    ]
    silent = media_files.make_mp4(tmp_path / "silent.mp4")
    codes = [warning["code"] for warning in upload(client, auth, campaign.id, silent)["warnings"]]
    assert "silent_audio" in codes and "black_bars" not in codes


def test_a_bad_ad_id_is_refused_naming_the_field(client, auth, campaign, source):
    data = {"name": "Spot", "ad_id": "not-an-ad-id", "file": (io.BytesIO(source.read_bytes()), "a.mp4")}
    response = client.post(
        f"/api/v1/campaigns/{campaign.id}/creatives",
        data=data,
        headers=auth,
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 422)
    assert "ad_id" in str(response.get_json())


def test_a_failing_job_is_retried_then_fails_leaving_only_the_mezzanine(
    client, auth, app, campaign, source, monkeypatch
):
    created = upload(client, auth, campaign.id, source)
    encode = transcode.encode
    attempts = []

    def second_rendition_fails(source_path, target, output, gain, progress=lambda done: None):
        attempts.append(output.name)
        if output.name == "480p":
            Path(target).write_bytes(b"half a file")
            raise OSError("disk full")
        return encode(source_path, target, output, gain, progress)

    monkeypatch.setattr(transcode, "encode", second_rendition_fails)
    runtime(app).transcoder.run_pending()
    creative = client.get(f"/api/v1/creatives/{created['id']}", headers=auth).get_json()
    assert creative["transcode_status"] == "failed"
    assert creative["transcode_error"] == "OSError: disk full"
    assert {r["status"] for r in creative["renditions"]} == {"failed"}
    assert attempts == ["720p", "480p", "480p", "480p"]  # 720p was kept between attempts, then removed
    assert stored(app) == {created["video_url"].split("/media/")[1]}
    refresh(app)  # the original still serves (UNTRANSCODED_CREATIVES=original)
    assert len(get_vast(client, "vast_version=4.2").findall(".//v:MediaFile", NS)) == 1


def test_deleting_a_creative_removes_its_renditions_and_poster(client, auth, app, campaign, source):
    created = upload(client, auth, campaign.id, source)
    runtime(app).transcoder.run_pending()
    assert len(stored(app)) == 5
    assert client.delete(f"/api/v1/creatives/{created['id']}", headers=auth).status_code == 204
    assert stored(app) == set()


def test_a_creative_deleted_before_its_job_runs_is_skipped(client, auth, app, campaign, source):
    created = upload(client, auth, campaign.id, source)
    client.delete(f"/api/v1/creatives/{created['id']}", headers=auth)
    assert runtime(app).transcoder.run_pending() == 1
    assert stored(app) == set()


def test_replacing_the_file_makes_a_new_identity_and_new_renditions(
    client, auth, app, campaign, source, tmp_path
):
    created = upload(client, auth, campaign.id, source)
    runtime(app).transcoder.run_pending()
    old_files = stored(app)
    replacement = media_files.make_tone_mp4(tmp_path / "new.mp4", width=854, height=480)
    with open(replacement, "rb") as file:
        response = client.put(
            f"/api/v1/creatives/{created['id']}/file",
            data={"file": (io.BytesIO(file.read()), "new.mp4")},
            headers=auth,
            content_type="multipart/form-data",
        )
    assert response.status_code == 200, response.get_json()
    replaced = response.get_json()
    assert replaced["id"] == created["id"] and replaced["identity"] != created["identity"]
    assert (replaced["width"], replaced["transcode_status"], replaced["poster_url"]) == (854, "queued", None)
    assert [(r["name"], r["status"]) for r in replaced["renditions"]] == [
        ("480p", "queued"),
        ("360p", "queued"),
    ]
    assert not old_files & stored(app)  # the old file, renditions and poster are gone
    runtime(app).transcoder.run_pending()
    refresh(app)
    creative = get_vast(client, "vast_version=4.2").find(".//v:Creative", NS)
    assert creative.get("id") == replaced["identity"]
    assert [f.get("height") for f in creative.findall(".//v:MediaFile", NS)] == ["480", "360"]


def test_a_job_whose_file_is_replaced_meanwhile_leaves_the_new_rows_alone(
    client, auth, app, campaign, source, tmp_path, monkeypatch
):
    created = upload(client, auth, campaign.id, source)
    replacement = media_files.make_tone_mp4(tmp_path / "new.mp4", width=640, height=360)
    encode = transcode.encode

    def replaced_while_encoding(*arguments, **keywords):
        with app.app_context():
            services.replace_file(
                get_session(),
                app.extensions["storage"],
                uuid.UUID(created["id"]),
                upload=replacement,
                max_bytes=10**9,
                max_seconds=120,
                submit=lambda creative_id: None,
            )
        monkeypatch.setattr(transcode, "encode", encode)
        return encode(*arguments, **keywords)

    monkeypatch.setattr(transcode, "encode", replaced_while_encoding)
    runtime(app).transcoder.run_pending()  # the old file's job runs to its end
    creative = client.get(f"/api/v1/creatives/{created['id']}", headers=auth).get_json()
    assert creative["identity"] != created["identity"] and creative["transcode_status"] == "queued"
    assert [(r["name"], r["status"], r["url"]) for r in creative["renditions"]] == [("360p", "queued", None)]
    assert stored(app) == {creative["video_url"].split("/media/")[1]}  # nothing of the old job is left


def replace(client, auth, creative_id, path, **form):
    data = {**form, "file": (io.BytesIO(Path(path).read_bytes()), "new.mp4")}
    return client.put(
        f"/api/v1/creatives/{creative_id}/file", data=data, headers=auth, content_type="multipart/form-data"
    )


def test_a_new_file_takes_the_ad_id_sent_with_it_or_none(client, auth, app, campaign, source, tmp_path):
    created = upload(client, auth, campaign.id, source, ad_id="ABCD1234000H")
    replacement = media_files.make_tone_mp4(tmp_path / "new.mp4", seconds=2.0)
    replaced = replace(client, auth, created["id"], replacement).get_json()
    assert replaced["ad_id"] is None  # an Ad-ID names one asset: the old one does not carry over
    refresh(app)
    universal = get_vast(client, "vast_version=4.2").find(".//v:UniversalAdId", NS)
    assert (universal.text, universal.get("idRegistry")) == (replaced["identity"], "ctv-ad-server")
    again = replace(client, auth, created["id"], replacement, ad_id="EFGH5678000H").get_json()
    assert again["ad_id"] == "EFGH5678000H"
    refresh(app)
    universal = get_vast(client, "vast_version=4.2").find(".//v:UniversalAdId", NS)
    assert (universal.text, universal.get("idRegistry")) == ("EFGH5678000H", "ad-id.org")
    refused = replace(client, auth, created["id"], replacement, ad_id="nope")
    assert refused.status_code == 400 and "ad_id" in refused.get_json()["details"]


@pytest.mark.parametrize("state", ["completed", "archived"])
def test_the_creatives_of_a_finished_campaign_are_not_changed(client, auth, app, session, source, state):
    campaign = CampaignFactory(status="paused")
    created = upload(client, auth, campaign.id, source)
    if state == "completed":
        assert (
            client.put(
                f"/api/v1/campaigns/{campaign.id}/status", json={"status": "completed"}, headers=auth
            ).status_code
            == 200
        )
    else:
        assert client.post(f"/api/v1/campaigns/{campaign.id}/archive", headers=auth).status_code == 200
    files = stored(app)
    attempts = [
        replace(client, auth, created["id"], source),
        client.put(f"/api/v1/creatives/{created['id']}/status", json={"status": "inactive"}, headers=auth),
        client.put(
            f"/api/v1/creatives/{created['id']}/verifications", json={"verifications": []}, headers=auth
        ),
        client.post(
            f"/api/v1/campaigns/{campaign.id}/creatives",
            data={"name": "More", "file": (io.BytesIO(source.read_bytes()), "more.mp4")},
            headers=auth,
            content_type="multipart/form-data",
        ),
    ]
    assert [attempt.status_code for attempt in attempts] == [409] * 4
    assert all(state in attempt.get_json()["error"] for attempt in attempts)
    after = client.get(f"/api/v1/creatives/{created['id']}", headers=auth).get_json()
    assert (after["identity"], after["status"]) == (created["identity"], "active")
    assert stored(app) == files  # nothing stored, nothing removed
