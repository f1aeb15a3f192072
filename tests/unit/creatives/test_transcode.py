"""Renditions made from a real short file, probed with PyAV: sizes, bitrates, codec strings, fast start,
loudness; the ladder for each source shape; the poster."""

from fractions import Fraction

import av
import pytest

from app.creatives import transcode
from app.creatives.transcode import LOUDNESS_TARGET_LUFS, Loudness, plan
from tests.media_files import make_mp4, make_tone_mp4, top_level_boxes


def sizes(width, height):
    return [(output.name, output.width, output.height) for output in plan(width, height)]


def test_the_ladder_is_never_upscaled_and_keeps_the_shape():
    assert sizes(1920, 1080) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    assert sizes(3840, 2160)[0] == ("1080p", 1920, 1080)
    assert sizes(1280, 720) == [("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
    assert sizes(1440, 1080) == [
        ("1080p", 1440, 1080),
        ("720p", 960, 720),
        ("480p", 640, 480),
        ("360p", 480, 360),
    ]
    assert sizes(1080, 1920)[0] == ("1080p", 608, 1080)  # vertical: fitted in the box, never stretched
    assert sizes(320, 240) == [("360p", 320, 240)]  # smaller than every rung: its own size


def test_bitrates_follow_the_ladder_and_shrink_with_the_picture():
    assert [output.bitrate for output in plan(1920, 1080)] == [6_000_000, 3_000_000, 1_200_000, 800_000]
    (small,) = plan(320, 240)
    assert transcode.AUDIO_BITRATE < small.bitrate < 800_000


def test_the_gain_reaches_the_target_within_the_peak_ceiling():
    assert Loudness(-30.0, -12.0).gain_db() == pytest.approx(6.0)
    assert Loudness(-20.0, -3.0).gain_db() == pytest.approx(-4.0)
    assert Loudness(-30.0, -3.0).gain_db() == pytest.approx(2.0)  # the peak allows 2 dB, not 6
    assert Loudness(-70.0, -80.0).gain_db() == 0.0 and Loudness(-70.0, -80.0).silent


@pytest.fixture(scope="module")
def renditions(tmp_path_factory):
    directory = tmp_path_factory.mktemp("renditions")
    source = make_tone_mp4(directory / "source.mp4", seconds=2.0, amplitude=0.03)
    loudness = transcode.measure_loudness(source)
    made = {}
    for output in plan(1280, 720):
        target = directory / f"{output.name}.mp4"
        reported = []
        encoded = transcode.encode(source, target, output, loudness.gain_db(), reported.append)
        made[output.name] = (output, encoded, target, reported)
    return loudness, made


def test_three_renditions_from_a_720p_source(renditions):
    _, made = renditions
    assert list(made) == ["720p", "480p", "360p"]


@pytest.mark.parametrize("name", ["720p", "480p", "360p"])
def test_each_rendition_is_what_it_claims(renditions, name):
    source_loudness, made = renditions
    output, encoded, path, reported = made[name]
    assert source_loudness.integrated < LOUDNESS_TARGET_LUFS - 3  # the source was quieter than the target
    with av.open(str(path)) as container:
        (video,) = container.streams.video
        (audio,) = container.streams.audio
        assert (video.codec_context.width, video.codec_context.height) == (output.width, output.height)
        assert video.codec_context.name == "h264" and video.codec_context.profile == "High"
        assert video.average_rate == Fraction(25)
        assert (audio.codec_context.name, audio.codec_context.sample_rate) == ("aac", 48_000)
        assert audio.codec_context.layout.name == "stereo"
        keyframes = [entry for entry in video.index_entries if entry.is_keyframe]
        assert len(keyframes) == 1  # one every two seconds: the first only, in two seconds
        seconds = container.duration / av.time_base
    assert abs(seconds - 2.0) < 0.1
    assert abs(encoded.bitrate - output.bitrate) <= 0.2 * output.bitrate
    assert encoded.bitrate == round(path.stat().st_size * 8 / seconds)
    level = {"720p": 0x20, "480p": 0x1F, "360p": 0x1F}[name]
    assert encoded.codec == f"avc1.6400{level:02x}"
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # fast start
    measured = transcode.measure_loudness(path)
    assert abs(measured.integrated - LOUDNESS_TARGET_LUFS) <= 1.0
    assert reported[-1] == 1.0 and reported == sorted(reported)


def test_a_source_without_audio_gets_a_silent_track(tmp_path):
    source = make_mp4(tmp_path / "mute.mp4", audio=False)
    assert transcode.measure_loudness(source) is None
    (output,) = plan(320, 240)
    transcode.encode(source, tmp_path / "out.mp4", output, 0.0)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert len(container.streams.audio) == 1
    assert transcode.measure_loudness(tmp_path / "out.mp4").silent


def test_the_poster_is_a_jpeg_of_the_picture(tmp_path):
    source = make_tone_mp4(tmp_path / "source.mp4", seconds=1.5)
    assert transcode.make_poster(source, tmp_path / "poster.jpg") == (640, 360)
    data = (tmp_path / "poster.jpg").read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
    with av.open(str(tmp_path / "poster.jpg")) as image:
        assert (image.streams.video[0].codec_context.width, image.streams.video[0].codec_context.height) == (
            640,
            360,
        )


def test_the_codec_string_comes_from_the_sequence_parameter_set():
    annex_b = b"\x00\x00\x00\x01\x67\x64\x00\x28\xac" + b"\x00\x00\x01\x68\xee"
    assert transcode._avc_codec(annex_b) == "avc1.640028"
    assert transcode._avc_codec(b"\x01\x4d\x40\x1e\xff") == "avc1.4d401e"
    with pytest.raises(ValueError):
        transcode._avc_codec(b"")
