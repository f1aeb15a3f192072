"""probe() on real files generated with PyAV: what it reads from good MP4s and why it refuses the rest."""

import os
from fractions import Fraction

import av
import pytest

from app.creatives import boxes, media
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


# Limits of what TVs decode, read from the headers: each refusal names the property at fault, and comes
# before any picture is decoded.

HEADER_REFUSALS = [
    # (maker, code, fields, words the message must contain)
    (
        lambda path: media_files.make_flat_mp4(path, 8192, 8192),
        "dimensions_too_large",
        ("width", "height"),
        "8192x8192 pixels",
    ),
    (
        lambda path: media_files.make_flat_mp4(path, 4096, 2160),
        "dimensions_too_large",
        ("width",),
        "4096x2160",
    ),
    (
        lambda path: media_files.make_flat_mp4(path, 2160, 3840),
        "dimensions_too_large",
        ("height",),
        "2160x3840",
    ),
    (
        lambda path: media_files.make_mp4(path, fps=240, seconds=0.5),
        "unsupported_frame_rate",
        ("frame_rate",),
        "240 frames per second",
    ),
    (lambda path: media_files.make_mp4(path, fps=61), "unsupported_frame_rate", ("frame_rate",), "61 frames"),
    (lambda path: media_files.make_mp4_at_level(path, "6.2"), "unsupported_level", ("level",), "level 6.2"),
    (lambda path: media_files.make_mp4_at_level(path, "5.2", "hevc"), "unsupported_level", ("level",), "5.1"),
    (
        lambda path: media_files.make_mp4(path, codec="hevc", pix_fmt="yuv444p", audio=False),
        "unsupported_profile",
        ("profile",),
        "Rext profile",
    ),
    (
        lambda path: media_files.make_mp4_with_tracks(path, video=2),
        "too_many_streams",
        ("video_streams",),
        "2 video",
    ),
    (
        lambda path: media_files.make_mp4_with_tracks(path, audio=500),
        "too_many_streams",
        ("audio_streams",),
        "500 audio tracks",
    ),
    (
        lambda path: media_files.make_mp4_with_tracks(path, audio=9),
        "too_many_streams",
        ("audio_streams",),
        "9 audio",
    ),
    (
        lambda path: media_files.make_mp4_with_extra_tracks(path, 15),
        "too_many_streams",
        ("streams",),
        "17 tracks",
    ),
    (
        lambda path: media_files.make_mp4_declaring_samples(path, 20_000_000),
        "too_many_samples",
        ("samples",),
        "20000001 samples and chunks",
    ),
]
HEADER_REFUSAL_IDS = [
    "8192x8192",
    "4096x2160",
    "portrait-2160x3840",
    "240-fps",
    "61-fps",
    "h264-level-6.2",
    "hevc-level-5.2",
    "hevc-444-rext",
    "2-video-tracks",
    "500-audio-tracks",
    "9-audio-tracks",
    "17-tracks",
    "20-million-samples",
]


@pytest.fixture
def nothing_decoded(monkeypatch):
    """Fail the test if probe() reaches its decoder."""

    def refuse(*_args):
        raise AssertionError("a picture was decoded")

    monkeypatch.setattr(media, "_prepare_decoder", refuse)
    monkeypatch.setattr(media, "_decode_picture", refuse)


@pytest.mark.parametrize(("make", "code", "fields", "words"), HEADER_REFUSALS, ids=HEADER_REFUSAL_IDS)
def test_refuses_from_the_headers_without_decoding(tmp_path, nothing_decoded, make, code, fields, words):
    error = refusal(make(tmp_path / "ad.mp4"), max_duration=120)

    assert (error.code, error.status, error.fields) == (code, 400, fields)
    assert words in str(error)
    assert_sentence(str(error))


def test_the_messages_name_the_limits(tmp_path):
    assert str(refusal(media_files.make_flat_mp4(tmp_path / "8k.mp4", 8192, 8192))) == (
        "The video is 8192x8192 pixels; CTV players take at most 3840x2160."
    )
    assert str(refusal(media_files.make_mp4_at_level(tmp_path / "l62.mp4", "6.2"))) == (
        "The H.264 video is at level 6.2; CTV players decode H.264 up to level 5.2."
    )
    assert str(refusal(media_files.make_mp4(tmp_path / "240.mp4", fps=240, seconds=0.5))) == (
        "The video runs at 240 frames per second; CTV players play at most 60."
    )
    assert str(refusal(media_files.make_mp4_with_tracks(tmp_path / "a.mp4", audio=500))) == (
        "The file has 500 audio tracks; a creative has at most 8."
    )
    assert str(refusal(media_files.make_mp4(tmp_path / "10.mp4", pix_fmt="yuv420p10le"))) == (
        "The H.264 video uses the High 10 profile; "
        "CTV players decode Constrained Baseline, Baseline, Main or High."
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda path: media_files.make_flat_mp4(path, 3840, 2160, frames=2),
        lambda path: media_files.make_flat_mp4(path, 3840, 2160, codec="hevc", pix_fmt="yuv420p10le"),
        lambda path: media_files.make_mp4(path, fps=60),
        lambda path: media_files.make_mp4_at_level(path, "5.2"),
        lambda path: media_files.make_mp4_at_level(path, "5.1", "hevc"),
        lambda path: media_files.make_mp4(path, encoder_options={"profile": "main", "preset": "fast"}),
        lambda path: media_files.make_mp4(path, encoder_options={"profile": "high", "preset": "fast"}),
        lambda path: media_files.make_mp4_with_tracks(path, audio=8),
        lambda path: media_files.make_mp4_with_extra_tracks(path, 14),
    ],
    ids=[
        "h264-3840x2160",
        "hevc-main10-3840x2160",
        "60-fps",
        "h264-level-5.2",
        "hevc-level-5.1",
        "h264-main",
        "h264-high",
        "8-audio-tracks",
        "16-tracks",
    ],
)
def test_accepts_up_to_the_limits(tmp_path, make):
    info = probe(make(tmp_path / "ad.mp4"), MAX_DURATION)

    assert info.width <= media.MAX_WIDTH and info.height <= media.MAX_HEIGHT


def test_reads_the_size_of_a_4k_picture(tmp_path):
    info = probe(media_files.make_flat_mp4(tmp_path / "4k.mp4", 3840, 2160, frames=2), MAX_DURATION)

    assert (info.width, info.height, info.video_codec) == (3840, 2160, "h264")


def test_a_picture_larger_than_its_headers_say_is_never_decoded(tmp_path):
    """Container 320x240 and SPS level 5.1 over an 8192x8192 picture: the headers pass, and the decoder,
    capped at 3840x2160 pixels, refuses the picture instead of allocating it."""
    error = refusal(media_files.make_mp4_declaring_size(tmp_path / "ad.mp4", 320, 240))

    assert (error.code, error.status) == ("undecodable", 400)


def test_a_compressed_movie_header_is_refused_before_ffmpeg_inflates_it(tmp_path, nothing_decoded):
    path = media_files.make_mp4_with_compressed_header(tmp_path / "ad.mp4")
    with av.open(os.fspath(path)) as container:  # FFmpeg would read it
        assert container.streams.video

    error = refusal(path)

    assert (error.code, error.status) == ("not_mp4", 415)
    assert "compressed header" in str(error)


def test_the_sample_limit_follows_the_longest_creative_allowed(tmp_path):
    path = media_files.make_mp4_declaring_samples(tmp_path / "ad.mp4", 50_000)

    assert refusal(path, max_duration=10).code == "too_many_samples"  # 40,000 entries for 10 s
    assert refusal(path, max_duration=20).code != "too_many_samples"  # 80,000 for 20 s: FFmpeg reads on


@pytest.mark.parametrize(
    ("make", "code", "status"),
    [
        # FFmpeg creates no more than MAX_STREAMS + 1 streams: it refuses to open the file.
        (lambda path: media_files.make_mp4_with_tracks(path, audio=500), "not_mp4", 415),
        # Under that, the same limits hold on FFmpeg's streams.
        (lambda path: media_files.make_mp4_with_tracks(path, audio=9), "too_many_streams", 400),
        (lambda path: media_files.make_mp4_with_tracks(path, video=2), "too_many_streams", 400),
    ],
    ids=["500-audio-tracks", "9-audio-tracks", "2-video-tracks"],
)
def test_tracks_the_box_scan_misses_are_bounded_by_ffmpeg(tmp_path, monkeypatch, make, code, status):
    """Tracks hidden where the box scan does not look (FFmpeg follows boxes nested anywhere)."""
    path = make(tmp_path / "ad.mp4")
    monkeypatch.setattr(boxes, "read_layout", lambda _path: None)

    error = refusal(path)

    assert (error.code, error.status) == (code, status)


@pytest.mark.parametrize(
    ("rate", "words"),
    [(None, "declares no frame rate"), (Fraction(0), "declares no frame rate"), (Fraction(121, 2), None)],
)
def test_frame_rate_limits(rate, words):
    if words is None:
        media._check_frame_rate(rate)  # 60.5: the slack above 60 for variable-rate timestamps
        return
    with pytest.raises(MediaError) as caught:
        media._check_frame_rate(rate)
    assert (caught.value.code, caught.value.fields) == ("unsupported_frame_rate", ("frame_rate",))
    assert words in str(caught.value)
