"""Creative upload, validation from the bytes and storage, on local disk and on a real S3 server."""

import io
import json
import os
import urllib.request
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa

from app.creatives.models import Creative
from tests import media_files
from tests.factories import CampaignFactory, CreativeFactory


@pytest.fixture(params=["local", "s3"])
def storage_backend(request) -> str:
    return request.param


@pytest.fixture
def settings(make_settings, database_url, storage_backend, request):
    if storage_backend == "s3":
        return make_settings(
            database_url=database_url,
            s3_bucket=request.getfixturevalue("s3_bucket"),
            s3_endpoint_url=request.getfixturevalue("s3_endpoint"),
        )
    return make_settings(database_url=database_url)


@pytest.fixture
def stored_keys(app):
    """The keys present in the configured storage, whatever the backend."""
    storage = app.extensions["storage"]

    def keys() -> set[str]:
        if hasattr(storage, "directory"):
            root = Path(storage.directory)
            return (
                {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()
            )
        listing = storage.client.list_objects_v2(Bucket=storage.bucket)
        return {item["Key"] for item in listing.get("Contents", [])}

    return keys


@pytest.fixture
def campaign(session):
    return CampaignFactory(status="active")


def upload(client, auth, campaign_id, path, **form):
    data = {"name": "Spot 15s", **form}
    with open(path, "rb") as file:
        data["file"] = (io.BytesIO(file.read()), os.path.basename(path))
    return client.post(
        f"/api/v1/campaigns/{campaign_id}/creatives",
        data=data,
        headers=auth,
        content_type="multipart/form-data",
    )


def count_creatives(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Creative))


def test_upload_reads_the_truth_from_the_file(client, auth, campaign, tmp_path, stored_keys):
    video = media_files.make_mp4(tmp_path / "spot.mp4", seconds=3.0, width=640, height=360)
    response = upload(client, auth, campaign.id, video, click_through_url="https://brand.example.com/buy")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["campaign_id"] == str(campaign.id)
    assert abs(body["duration"] - 3.0) < 0.1
    assert (body["width"], body["height"]) == (640, 360)
    assert body["file_size"] == video.stat().st_size
    assert body["bitrate"] > 0
    assert (body["mime_type"], body["video_codec"], body["status"]) == ("video/mp4", "h264", "active")
    assert body["click_through_url"] == "https://brand.example.com/buy"
    key = body["video_url"].split("/creatives/", 1)[1]
    assert stored_keys() == {f"creatives/{key}"}
    assert client.get(f"/api/v1/creatives/{body['id']}", headers=auth).get_json() == body
    listed = client.get(f"/api/v1/campaigns/{campaign.id}/creatives", headers=auth).get_json()
    assert listed == [body]


def test_the_video_url_streams_the_file_with_ranges(client, auth, campaign, tmp_path, storage_backend):
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    body = upload(client, auth, campaign.id, video).get_json()
    original = video.read_bytes()
    if storage_backend == "local":
        path = body["video_url"].removeprefix("http://localhost")
        full = client.get(path)
        full_data = full.get_data()
        full.close()  # the test client leaves streamed files open otherwise
        assert full.status_code == 200
        assert full.headers["Content-Type"] == "video/mp4"
        assert full.headers["Accept-Ranges"] == "bytes"
        assert full_data == original
        partial = client.get(path, headers={"Range": "bytes=100-199"})
        partial_data = partial.get_data()
        partial.close()
        assert partial.status_code == 206
        assert partial_data == original[100:200]
        assert partial.headers["Content-Range"] == f"bytes 100-199/{len(original)}"
    else:
        # The bucket stands in for CloudFront here, which in production reads the private bucket for players.
        storage = client.application.extensions["storage"]
        public_read = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{storage.bucket}/*",
                }
            ],
        }
        storage.client.put_bucket_policy(Bucket=storage.bucket, Policy=json.dumps(public_read))
        request = urllib.request.Request(body["video_url"], headers={"Range": "bytes=100-199"})
        with urllib.request.urlopen(request) as response:  # a real HTTP request to the S3 server
            assert response.status == 206
            assert response.read() == original[100:200]
            assert response.headers["Content-Type"] == "video/mp4"


def test_hevc_is_accepted(client, auth, campaign, tmp_path):
    video = media_files.make_mp4(tmp_path / "hevc.mp4", codec="hevc", audio=False)
    response = upload(client, auth, campaign.id, video)
    assert response.status_code == 201
    assert response.get_json()["video_codec"] == "hevc"


BAD_FILES = [
    ("audio-only", media_files.make_audio_only_mp4, 400, "no_video_stream"),
    ("truncated", media_files.make_truncated_mp4, 400, "undecodable"),
    ("png", media_files.make_png, 415, "not_mp4"),
    ("text", media_files.make_text_file, 415, "not_mp4"),
    ("empty", media_files.make_empty_file, 400, "empty_file"),
]


@pytest.mark.parametrize(("label", "make", "status", "code"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_and_leave_nothing_behind(
    client, auth, campaign, session, tmp_path, stored_keys, label, make, status, code
):
    bad = make(tmp_path / "creative.mp4")
    response = upload(client, auth, campaign.id, bad)
    assert response.status_code == status
    body = response.get_json()
    assert body["details"]["code"] == code
    assert body["details"]["file"] == body["error"]
    assert len(body["error"]) > 10
    assert count_creatives(session) == 0
    assert stored_keys() == set()


# Beyond what TVs decode, or declaring more than the file holds: refused from the headers with a 400 that
# names the property at fault (`file.<property>`), and nothing stored.
HEADER_REFUSALS = {
    "8192x8192": (lambda path: media_files.make_flat_mp4(path, 8192, 8192), "dimensions_too_large"),
    "240-fps": (lambda path: media_files.make_mp4(path, fps=240, seconds=0.5), "unsupported_frame_rate"),
    "h264-level-6.2": (lambda path: media_files.make_mp4_at_level(path, "6.2"), "unsupported_level"),
    "hevc-level-6.2": (lambda path: media_files.make_mp4_at_level(path, "6.2", "hevc"), "unsupported_level"),
    "h264-high-10": (lambda path: media_files.make_mp4(path, pix_fmt="yuv420p10le"), "unsupported_profile"),
    "500-audio-tracks": (lambda path: media_files.make_mp4_with_tracks(path, audio=500), "too_many_streams"),
    "2-video-tracks": (lambda path: media_files.make_mp4_with_tracks(path, video=2), "too_many_streams"),
    "20-million-samples": (
        lambda path: media_files.make_mp4_declaring_samples(path, 20_000_000),
        "too_many_samples",
    ),
}
FIELDS = {
    "8192x8192": ["file.height", "file.width"],
    "240-fps": ["file.frame_rate"],
    "h264-level-6.2": ["file.level"],
    "hevc-level-6.2": ["file.level"],
    "h264-high-10": ["file.profile"],
    "500-audio-tracks": ["file.audio_streams"],
    "2-video-tracks": ["file.video_streams"],
    "20-million-samples": ["file.samples"],
}


@pytest.fixture(scope="module")
def header_refusals(tmp_path_factory) -> dict:
    """Each file made once for the module: the 8192x8192 one takes a good half second."""
    directory = tmp_path_factory.mktemp("header-refusals")
    return {label: make(directory / f"{label}.mp4") for label, (make, _code) in HEADER_REFUSALS.items()}


@pytest.mark.parametrize("label", list(HEADER_REFUSALS))
def test_files_tvs_cannot_play_are_refused_naming_the_property(
    client, auth, campaign, session, stored_keys, header_refusals, label
):
    response = upload(client, auth, campaign.id, header_refusals[label])

    assert response.status_code == 400
    body = response.get_json()
    assert body["details"]["code"] == HEADER_REFUSALS[label][1]
    fields = sorted(key for key in body["details"] if key.startswith("file."))
    assert fields == FIELDS[label]
    assert all(body["details"][field] == body["error"] for field in fields)
    assert body["details"]["file"] == body["error"]
    assert count_creatives(session) == 0 and stored_keys() == set()


def test_the_openapi_document_describes_the_refusals(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    refused = spec["paths"]["/api/v1/campaigns/{campaign_id}/creatives"]["post"]["responses"]["400"]
    assert "file.<property>" in refused["description"]


def test_a_compressed_movie_header_is_not_an_mp4(client, auth, campaign, session, stored_keys, tmp_path):
    response = upload(
        client, auth, campaign.id, media_files.make_mp4_with_compressed_header(tmp_path / "a.mp4")
    )

    assert response.status_code == 415
    assert response.get_json()["details"]["code"] == "not_mp4"
    assert count_creatives(session) == 0 and stored_keys() == set()


def test_a_4k_creative_is_accepted_with_its_size(client, auth, campaign, tmp_path):
    video = media_files.make_flat_mp4(tmp_path / "4k.mp4", 3840, 2160, frames=2)

    response = upload(client, auth, campaign.id, video)

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["width"], response.get_json()["height"]) == (3840, 2160)


def test_a_video_longer_than_the_setting_is_refused(
    app, client, auth, campaign, session, tmp_path, stored_keys
):
    app.config["MAX_CREATIVE_SECONDS"] = 1.5
    response = upload(client, auth, campaign.id, media_files.make_mp4(tmp_path / "long.mp4", seconds=2.0))
    assert response.status_code == 400
    assert response.get_json()["details"]["code"] == "too_long"
    assert count_creatives(session) == 0 and stored_keys() == set()


def test_an_oversized_upload_is_a_413_before_the_body_is_read(
    app, client, auth, campaign, session, stored_keys
):
    app.config["MAX_UPLOAD_BYTES"] = 10_000
    consumed = []

    class Body(io.RawIOBase):
        """A 50 MB body that records how much of it is read."""

        remaining = 50 * 1024 * 1024

        def readable(self):
            return True

        def seekable(self):  # the test client asks where the stream starts
            return True

        def seek(self, offset, whence=io.SEEK_SET):  # ...and where it ends, to set Content-Length
            self.position = 50 * 1024 * 1024 if whence == io.SEEK_END else 0
            return self.position

        def tell(self):
            return getattr(self, "position", 0)

        def readinto(self, buffer):
            size = min(len(buffer), self.remaining)
            buffer[:size] = b"\0" * size
            self.remaining -= size
            consumed.append(size)
            return size

    response = client.post(
        f"/api/v1/campaigns/{campaign.id}/creatives",
        input_stream=Body(),
        headers={**auth, "Content-Length": str(50 * 1024 * 1024)},
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    body = response.get_json()
    assert (
        body["error"]
        == f"The upload is {50 * 1024 * 1024} bytes; the limit is 10000 bytes (MAX_UPLOAD_BYTES)"
    )
    assert body["details"] == {"file": "Larger than 10000 bytes.", "code": "too_large"}
    assert sum(consumed) < 1024 * 1024
    assert count_creatives(session) == 0 and stored_keys() == set()


def test_a_file_just_over_the_limit_inside_the_multipart_slack_is_refused(
    app, client, auth, campaign, tmp_path
):
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    app.config["MAX_UPLOAD_BYTES"] = video.stat().st_size - 1
    response = upload(client, auth, campaign.id, video)
    assert response.status_code == 413
    assert "limit" in response.get_json()["error"]
    assert response.get_json()["details"]["code"] == "too_large"


def test_the_client_filename_is_never_used(client, auth, campaign, tmp_path, stored_keys):
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    with open(video, "rb") as file:
        data = {"name": "x", "file": (file, "../../etc/passwd.mp4")}
        response = client.post(
            f"/api/v1/campaigns/{campaign.id}/creatives",
            data=data,
            headers=auth,
            content_type="multipart/form-data",
        )
    assert response.status_code == 201
    assert "passwd" not in response.get_json()["video_url"]
    (key,) = stored_keys()
    assert key.startswith("creatives/") and "passwd" not in key and ".." not in key


def test_a_failed_database_write_deletes_the_stored_object(
    app, client, auth, campaign, tmp_path, stored_keys
):
    engine = app.extensions["database"].engine
    stored_before_insert = []

    def fail_the_insert(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO creatives"):
            stored_before_insert.append(len(stored_keys()))
            raise RuntimeError("database went away")

    sa.event.listen(engine, "before_cursor_execute", fail_the_insert)
    try:
        response = upload(client, auth, campaign.id, media_files.make_mp4(tmp_path / "spot.mp4"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail_the_insert)
    assert response.status_code == 500
    assert stored_before_insert == [1]  # the object was stored, then the row failed...
    assert stored_keys() == set()  # ...and the object was deleted


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"click_through_url": "javascript:alert(1)"}, "click_through_url"),
        ({"click_through_url": "ftp://example.com/x"}, "click_through_url"),
        ({"surprise": "x"}, "surprise"),
    ],
)
def test_form_fields_are_validated(client, auth, campaign, tmp_path, session, form, field):
    response = upload(client, auth, campaign.id, media_files.make_mp4(tmp_path / "spot.mp4"), **form)
    assert response.status_code == 400
    assert field in response.get_json()["details"]
    assert count_creatives(session) == 0


def test_missing_file_and_wrong_content_type(client, auth, campaign):
    url = f"/api/v1/campaigns/{campaign.id}/creatives"
    missing = client.post(url, data={"name": "x"}, headers=auth, content_type="multipart/form-data")
    assert missing.status_code == 400
    assert missing.get_json()["details"] == {"file": "Missing data for required field."}
    assert client.post(url, json={"name": "x"}, headers=auth).status_code == 415


def test_completed_or_unknown_campaigns_take_no_creative(client, auth, session, tmp_path, stored_keys):
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    completed = CampaignFactory(status="completed")
    assert upload(client, auth, completed.id, video).status_code == 409
    assert upload(client, auth, "7d6f7a52-4a6e-4c16-8d0e-000000000000", video).status_code == 404
    assert stored_keys() == set()


def test_status_change(client, auth, session):
    creative = CreativeFactory()
    url = f"/api/v1/creatives/{creative.id}/status"
    assert client.put(url, json={"status": "inactive"}, headers=auth).get_json()["status"] == "inactive"
    assert client.put(url, json={"status": "active"}, headers=auth).get_json()["status"] == "active"
    assert client.put(url, json={"status": "paused"}, headers=auth).status_code == 400
    assert client.put(url, data="inactive", headers=auth).status_code == 415


def test_deleting_a_creative_deletes_its_file(client, auth, campaign, tmp_path, stored_keys, session):
    body = upload(client, auth, campaign.id, media_files.make_mp4(tmp_path / "spot.mp4")).get_json()
    assert len(stored_keys()) == 1
    assert client.delete(f"/api/v1/creatives/{body['id']}", headers=auth).status_code == 204
    assert stored_keys() == set()
    assert client.get(f"/api/v1/creatives/{body['id']}", headers=auth).status_code == 404
    assert client.delete(f"/api/v1/creatives/{body['id']}", headers=auth).status_code == 404


def test_deleting_a_campaign_deletes_its_creatives_and_files(
    client, auth, campaign, tmp_path, stored_keys, session
):
    for index in range(2):
        upload(client, auth, campaign.id, media_files.make_mp4(tmp_path / f"{index}.mp4"))
    assert len(stored_keys()) == 2
    assert client.delete(f"/api/v1/campaigns/{campaign.id}", headers=auth).status_code == 204
    assert stored_keys() == set()
    assert count_creatives(session) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/campaigns/{c}/creatives"),
        ("get", "/api/v1/campaigns/{c}/creatives"),
        ("get", "/api/v1/creatives/{c}"),
        ("put", "/api/v1/creatives/{c}/status"),
        ("delete", "/api/v1/creatives/{c}"),
    ],
)
def test_every_creative_route_needs_a_token(client, campaign, method, path):
    assert getattr(client, method)(path.format(c=campaign.id)).status_code == 401


def test_media_path_traversal_is_refused(client):
    assert client.get("/media/../../etc/passwd").status_code == 404
    assert client.get("/media/%2e%2e/%2e%2e/etc/passwd").status_code == 404
    assert client.get("/media/creatives/missing.mp4").status_code == 404


def test_s3_objects_carry_the_video_content_type(make_settings, s3_bucket, s3_endpoint, tmp_path):
    from app.creatives.storage import S3Storage

    storage = S3Storage(
        s3_bucket, region="us-east-1", endpoint_url=s3_endpoint, cdn_base_url="https://cdn.example.com"
    )
    video = media_files.make_mp4(tmp_path / "spot.mp4")
    storage.put(video, "creatives/a.mp4")
    head = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").head_object(
        Bucket=s3_bucket, Key="creatives/a.mp4"
    )
    assert head["ContentType"] == "video/mp4"
    assert storage.exists("creatives/a.mp4")
    assert storage.url("creatives/a.mp4", "http://ignored/") == "https://cdn.example.com/creatives/a.mp4"
    storage.delete("creatives/a.mp4")
    assert not storage.exists("creatives/a.mp4")
