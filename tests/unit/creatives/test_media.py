"""probe() on real files generated with PyAV: what it reads from good MP4s and why it refuses the rest."""

import os

import pytest

from app.creatives.media import MediaError, VideoInfo, probe
from tests import media_files

MAX_DURATION = 30.0


def refusal(path, max_duration: float = MAX_DURATION) -> MediaError:
    with pytest.raises(MediaError) as caught:
        probe(path, max_duration)
    return caught.value


def assert_sentence(message: str) -> None:
    assert message[0].isupper() and message.endswith("."), message


def test_reads_an_h264_mp4_with_aac_audio(tmp_path):
    path = media_files.make_mp4(tmp_path / "ad.mp4", seconds=2.0, width=320, height=240)

    info = probe(path, MAX_DURATION)

    assert isinstance(info, VideoInfo)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.width, info.height) == (320, 240)
    assert info.video_codec == "h264"
    assert info.mime_type == "video/mp4"
    assert info.has_audio is True
    assert info.audio_codec == "aac"
    assert info.bitrate == pytest.approx(os.path.getsize(path) * 8 / info.duration, rel=0.01)


def test_reads_an_mp4_without_audio(tmp_path):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", audio=False), MAX_DURATION)

    assert info.has_audio is False
    assert info.audio_codec is None
    assert info.video_codec == "h264"


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le"])
def test_reads_an_hevc_mp4_in_8_or_10_bits(tmp_path, pix_fmt):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", codec="hevc", pix_fmt=pix_fmt), MAX_DURATION)

    assert info.video_codec == "hevc"
    assert info.duration == pytest.approx(2.0, abs=0.1)


def test_reads_a_full_range_h264_mp4(tmp_path):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", pix_fmt="yuvj420p"), MAX_DURATION)

    assert info.video_codec == "h264"


def test_reads_a_faststart_mp4(tmp_path):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", faststart=True), MAX_DURATION)

    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.has_audio is True


@pytest.mark.parametrize(("seconds", "fps"), [(1.0, 30), (3.5, 24)])
def test_reads_the_exact_duration(tmp_path, seconds, fps):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", seconds=seconds, fps=fps), MAX_DURATION)

    assert info.duration == pytest.approx(seconds, abs=0.1)


def test_reads_dimensions_that_are_not_multiples_of_16(tmp_path):
    info = probe(media_files.make_mp4(tmp_path / "ad.mp4", width=322, height=182), MAX_DURATION)

    assert (info.width, info.height) == (322, 182)


def test_reads_the_bytes_not_the_filename(tmp_path):
    assert probe(media_files.make_mp4(tmp_path / "ad.png"), MAX_DURATION).video_codec == "h264"


def test_accepts_a_video_exactly_as_long_as_allowed(tmp_path):
    assert probe(media_files.make_mp4(tmp_path / "ad.mp4", seconds=2.0), 2.0).duration == pytest.approx(2.0)


def test_reports_an_audio_codec_ffmpeg_does_not_know(tmp_path):
    path = media_files.make_mp4_with_unknown_codec(tmp_path / "ad.mp4", track="audio")

    assert probe(path, MAX_DURATION).audio_codec == "unknown"


REFUSALS = [
    # (maker, code, status, words the message must contain)
    (media_files.make_empty_file, "empty_file", 400, "empty"),
    (media_files.make_text_file, "not_mp4", 415, "not a readable MP4"),
    (media_files.make_random_bytes, "not_mp4", 415, "not a readable MP4"),
    (media_files.make_png, "not_mp4", 415, "png"),
    (lambda path: media_files.make_video(path, container_format="matroska"), "not_mp4", 415, "Matroska"),
    (lambda path: media_files.make_video(path, container_format="mpegts"), "not_mp4", 415, "MPEG-TS"),
    (lambda path: media_files.make_video(path, container_format="mov"), "not_mp4", 415, "QuickTime"),
    (media_files.make_mp4_without_ftyp, "not_mp4", 415, "QuickTime"),
    (lambda path: media_files.make_video(path, container_format="3gp"), "not_mp4", 415, "3GPP"),
    (media_files.make_audio_only_mp4, "no_video_stream", 400, "no video track"),
    (lambda path: media_files.make_mp4(path, codec="mpeg4"), "unsupported_codec", 400, "MPEG-4 part 2"),
    (media_files.make_mp4_with_unknown_codec, "unsupported_codec", 400, "codec FFmpeg does not know"),
    (
        lambda path: media_files.make_mp4(path, width=321, height=241, pix_fmt="yuv444p"),
        "unsupported_profile",
        400,
        "High 4:4:4 Predictive profile",
    ),
    (lambda path: media_files.make_mp4(path, pix_fmt="yuv420p10le"), "unsupported_profile", 400, "High 10"),
    (
        lambda path: media_files.make_mp4_with_profile_idc(path, 100, pix_fmt="yuv422p", audio=False),
        "unsupported_pixel_format",
        400,
        "yuv422p",
    ),
    (media_files.make_init_segment, "zero_duration", 400, "no duration"),
    (media_files.make_truncated_mp4, "undecodable", 400, "incomplete"),
    (lambda path: media_files.make_truncated_mp4(path, faststart=False), "not_mp4", 415, "incomplete"),
    (media_files.make_mp4_with_damaged_tail, "undecodable", 400, "damaged"),
    (media_files.make_mp4_without_pictures, "undecodable", 400, "damaged"),
]
REFUSAL_IDS = [
    "empty",
    "text",
    "random-bytes",
    "png",
    "h264-in-matroska",
    "h264-in-mpeg-ts",
    "quicktime-mov",
    "mp4-without-ftyp",
    "3gpp",
    "audio-only",
    "mpeg4-part2",
    "unknown-video-codec",
    "h264-444-odd-dimensions",
    "h264-10-bit",
    "h264-422-labelled-high",
    "init-segment-only",
    "truncated-faststart",
    "truncated-index-at-end",
    "damaged-last-keyframe",
    "no-pictures",
]


@pytest.mark.parametrize(("make", "code", "status", "words"), REFUSALS, ids=REFUSAL_IDS)
def test_refuses(tmp_path, make, code, status, words):
    error = refusal(make(tmp_path / "ad.mp4"))

    assert (error.code, error.status) == (code, status)
    assert words in str(error)
    assert_sentence(str(error))


def test_refuses_a_video_longer_than_allowed_naming_both_durations(tmp_path):
    error = refusal(media_files.make_mp4(tmp_path / "ad.mp4", seconds=2.0), max_duration=1.5)

    assert (error.code, error.status) == ("too_long", 400)
    assert str(error) == "The video lasts 2 seconds, more than the 1.5 seconds allowed."


def test_a_refusal_is_a_value_error_caused_by_the_ffmpeg_error(tmp_path):
    error = refusal(media_files.make_text_file(tmp_path / "ad.mp4"))

    assert isinstance(error, ValueError)
    assert error.__cause__ is not None


def test_probing_broken_files_writes_nothing_to_stderr(tmp_path, capfd):
    broken = [
        media_files.make_random_bytes(tmp_path / "random.mp4"),
        media_files.make_truncated_mp4(tmp_path / "truncated.mp4"),
        media_files.make_truncated_mp4(tmp_path / "truncated-index-at-end.mp4", faststart=False),
        media_files.make_mp4_with_damaged_tail(tmp_path / "damaged.mp4"),
    ]
    capfd.readouterr()

    for path in broken:
        refusal(path)

    assert capfd.readouterr().err == ""
