"""Real and broken media files generated with PyAV at test time, so no binary fixture is committed."""

import os
from pathlib import Path

import av
import numpy as np

from app.creatives.samples import AUDIO_SAMPLE_RATE, ENCODER_OPTIONS, encode_silence, make_video


def make_mp4(path: str | os.PathLike, **options) -> Path:
    """make_video in an MP4 container; takes the same keyword options."""
    return make_video(path, container_format="mp4", **options)


def make_audio_only_mp4(path: str | os.PathLike, seconds: float = 2.0) -> Path:
    with av.open(os.fspath(path), "w", format="mp4") as output:
        audio = output.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="mono")
        output.mux(encode_silence(audio, seconds))
    return Path(path)


def make_truncated_mp4(path: str | os.PathLike, faststart: bool = True) -> Path:
    """An MP4 cut in half, as by an interrupted upload.

    With faststart the index (moov) comes first, so the file still opens with its full duration and only its
    media data is missing; without it the index, written last, is lost.
    """
    make_mp4(path, faststart=faststart)
    os.truncate(path, os.path.getsize(path) // 2)
    return Path(path)


def make_mp4_with_damaged_tail(path: str | os.PathLike) -> Path:
    """A complete MP4 whose last keyframe is overwritten with zeros, as by disk or transfer corruption."""
    make_mp4(path)
    with av.open(os.fspath(path)) as container:
        last_keyframe = [entry for entry in container.streams.video[0].index_entries if entry.is_keyframe][-1]
    with open(path, "r+b") as file:
        file.seek(last_keyframe.pos)
        file.write(bytes(last_keyframe.size))
    return Path(path)


def make_mp4_without_pictures(path: str | os.PathLike) -> Path:
    """An HEVC MP4 whose samples hold only a NAL unit of an unspecified type, which decoders skip silently."""
    # Length prefix, then a two-byte NAL header of type 48 and a stop bit.
    unspecified_nal_unit = b"\x00\x00\x00\x03\x60\x01\x80"
    with av.open(os.fspath(path), "w", format="mp4") as output:
        video = output.add_stream("hevc", rate=25)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.options = ENCODER_OPTIONS["hevc"]
        picture = np.zeros((240, 320, 3), dtype=np.uint8)
        encoded = []
        for index in range(25):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            encoded += video.encode(frame)
        encoded += video.encode()
        for packet in encoded:
            empty = av.Packet(unspecified_nal_unit)
            empty.pts, empty.dts, empty.duration = packet.pts, packet.dts, packet.duration
            empty.time_base, empty.is_keyframe, empty.stream = packet.time_base, packet.is_keyframe, video
            output.mux(empty)
    return Path(path)


def make_init_segment(path: str | os.PathLike) -> Path:
    """A fragmented-MP4 initialization segment, as found in DASH/HLS packages: a video track with no media."""
    options = {"movflags": "frag_keyframe+empty_moov"}
    with av.open(os.fspath(path), "w", format="mp4", options=options) as output:
        video = output.add_stream("h264", rate=25)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        output.start_encoding()
    return Path(path)


def make_mp4_without_ftyp(path: str | os.PathLike) -> Path:
    """A legacy QuickTime layout: the ftyp box is renamed to a free box, so no offset moves."""
    make_mp4(path)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data.replace(b"ftyp", b"free", 1))
    return Path(path)


def make_mp4_with_unknown_codec(path: str | os.PathLike, track: str = "video") -> Path:
    """Rename the boxes FFmpeg identifies a track's codec by, so it no longer knows the codec."""
    identifying_boxes = {"video": [b"avc1"], "audio": [b"mp4a", b"esds"]}[track]
    make_mp4(path)
    data = Path(path).read_bytes()
    for box in identifying_boxes:
        data = data.replace(box, b"zzzz")
    Path(path).write_bytes(data)
    return Path(path)


def make_png(path: str | os.PathLike, width: int = 64, height: int = 48) -> Path:
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "rgb24"
    frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), dtype=np.uint8), format="rgb24")
    Path(path).write_bytes(b"".join(bytes(packet) for packet in encoder.encode(frame) + encoder.encode()))
    return Path(path)


def make_text_file(path: str | os.PathLike) -> Path:
    Path(path).write_text("This is a text file, not a video.\n" * 20)
    return Path(path)


def make_empty_file(path: str | os.PathLike) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def make_random_bytes(path: str | os.PathLike, size: int = 64 * 1024) -> Path:
    Path(path).write_bytes(np.random.default_rng(seed=7).bytes(size))
    return Path(path)
