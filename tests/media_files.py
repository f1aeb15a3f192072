"""Real and broken media files generated with PyAV at test time, so no binary fixture is committed."""

import os
import struct
import zlib
from pathlib import Path

import av
import numpy as np

from app.creatives.samples import (
    AAC_FRAME_SAMPLES,
    AUDIO_SAMPLE_RATE,
    ENCODER_OPTIONS,
    encode_silence,
    make_video,
)


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


# Files beyond what TVs decode, or declaring more than they hold. Sizes and counts are the tests' to
# choose; each takes well under a second to make, except 8192x8192 (about 0.6 s) and 4K HEVC (about 1.5 s).

LEVEL_OPTIONS = {
    "h264": lambda level: {"x264-params": f"level={level}"},
    "hevc": lambda level: {"x265-params": f"log-level=none:level-idc={level}"},
}


def make_mp4_at_level(path: str | os.PathLike, level: str, codec: str = "h264", **options) -> Path:
    """An MP4 whose parameter sets declare `level` (e.g. "6.2"): the encoders write what they are told."""
    return make_mp4(path, codec=codec, encoder_options=LEVEL_OPTIONS[codec](level), **options)


def make_flat_mp4(
    path: str | os.PathLike,
    width: int,
    height: int,
    *,
    codec: str = "h264",
    pix_fmt: str = "yuv420p",
    frames: int = 1,
    fps: int = 25,
) -> Path:
    """Black pictures of any size, encoded at the lowest quality: a 8192x8192 H.264 keyframe makes 200 KB.

    The pictures are made in the encoder's own pixel format, so no conversion costs time or memory."""
    quality = {"h264": {"crf": "51"}, "hevc": {"x265-params": "log-level=none:crf=51"}}[codec]
    with av.open(os.fspath(path), "w", format="mp4") as output:
        video = output.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        # Not 1: x265 labels an all-intra stream with an intra profile (Main 10 Intra) instead of Main 10.
        video.gop_size = fps
        video.options = {**ENCODER_OPTIONS[codec], **quality}
        packets = []
        for index in range(frames):
            frame = av.VideoFrame(width, height, pix_fmt)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = index
            packets += video.encode(frame)
        packets += video.encode()
        if frames == 1:  # libx265 leaves the decoding timestamp of a lone picture unset (random)
            packets[0].dts = packets[0].pts
        output.mux(packets)
    return Path(path)


def make_mp4_with_tracks(
    path: str | os.PathLike, video: int = 1, audio: int = 1, seconds: float = 0.2
) -> Path:
    """`video` H.264 tracks and `audio` AAC tracks; every track of a kind carries the same packets, encoded
    once, so that hundreds of tracks take no longer to write than one."""
    with av.open(os.fspath(path), "w", format="mp4") as output:
        videos = [output.add_stream("h264", rate=25) for _ in range(video)]
        for stream in videos:
            stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
            stream.options = ENCODER_OPTIONS["h264"]
        audios = [output.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="mono") for _ in range(audio)]
        encoded = []
        for index in range(round(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), dtype=np.uint8), format="rgb24")
            frame.pts = index
            encoded += videos[0].encode(frame)
        encoded += videos[0].encode()
        packets = _copies(encoded, videos)
        if audios:
            packets += _copies(encode_silence(audios[0], seconds), audios)
        output.mux(packets)
    return Path(path)


def _copies(packets: list[av.Packet], streams: list) -> list[av.Packet]:
    copies = []
    for stream in streams:
        for packet in packets:
            copy = av.Packet(bytes(packet))
            copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
            copy.time_base, copy.is_keyframe, copy.stream = packet.time_base, packet.is_keyframe, stream
            copies.append(copy)
    return copies


# Editing the box structure (ISO/IEC 14496-12). The files are written without faststart, so the movie box
# comes last and rewriting it moves no media data.

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _children(payload: bytes) -> list[tuple[bytes, bytes]]:
    children, position = [], 0
    while position + 8 <= len(payload):
        size, kind = struct.unpack(">I4s", payload[position : position + 8])
        children.append((kind, payload[position + 8 : position + size]))
        position += size
    return children


def _edit_movie(path: str | os.PathLike, edit) -> Path:
    """Replace the movie box (the file's last box) by edit(moov payload) -> new moov payload."""
    data = Path(path).read_bytes()
    start = data.rindex(b"moov") - 4
    assert int.from_bytes(data[start : start + 4], "big") == len(data) - start, "the movie box must come last"
    Path(path).write_bytes(data[:start] + _box(b"moov", edit(data[start + 8 :])))
    return Path(path)


def _rewrite(payload: bytes, edit) -> bytes:
    """Rebuild a tree of boxes, passing each table to edit(kind, payload) -> payload, or None to drop it."""
    out = b""
    for kind, child in _children(payload):
        if kind in _CONTAINERS:
            out += _box(kind, _rewrite(child, edit))
        elif (edited := edit(kind, child)) is not None:
            out += _box(kind, edited)
    return out


def make_mp4_declaring_samples(path: str | os.PathLike, samples: int) -> Path:
    """A video-only MP4 whose tables claim `samples` samples of one constant size in a single chunk: a
    constant size needs no table, so the file stays a few KB whatever the count."""
    make_mp4(path, audio=False)

    def one_chunk_of_many_samples(kind: bytes, payload: bytes) -> bytes | None:
        if kind == b"stsz":  # version/flags, constant sample size, sample count
            return struct.pack(">III", 0, 100, samples)
        if kind == b"stsc":  # one run: from chunk 1, `samples` samples per chunk, description 1
            return struct.pack(">IIIII", 0, 1, 1, samples, 1)
        if kind == b"stco":  # one chunk, where the first one was
            return struct.pack(">II", 0, 1) + payload[8:12]
        if kind == b"stts":  # every sample lasts one tick
            return struct.pack(">IIII", 0, 1, samples, 1)
        if kind in (b"ctts", b"stss", b"sdtp"):
            return None
        return payload

    return _edit_movie(path, lambda movie: _rewrite(movie, one_chunk_of_many_samples))


def make_mp4_with_compressed_header(path: str | os.PathLike) -> Path:
    """A valid MP4 whose movie box is zlib-compressed in a QuickTime cmov box, which FFmpeg inflates in memory
    to whatever size the box states."""
    make_mp4(path)

    def compress(movie: bytes) -> bytes:
        original = _box(b"moov", movie)
        compressed = _box(b"cmvd", struct.pack(">I", len(original)) + zlib.compress(original))
        return _box(b"cmov", _box(b"dcom", b"zlib") + compressed)

    return _edit_movie(path, compress)


def make_mp4_with_extra_tracks(path: str | os.PathLike, tracks: int, handler: bytes = b"meta") -> Path:
    """An MP4 whose audio track is repeated `tracks` times as tracks of another kind (timed metadata by
    default, with a sample description FFmpeg does not know): neither audio nor video, so only the total
    count is exceeded."""
    make_mp4(path)

    def add_tracks(movie: bytes) -> bytes:
        children = _children(movie)
        audio = next(payload for kind, payload in children if kind == b"trak" and b"soun" in payload)
        extra = audio.replace(b"soun", handler, 1).replace(b"mp4a", b"zzzz", 1)
        return movie + _box(b"trak", extra) * tracks

    return _edit_movie(path, add_tracks)


def make_mp4_with_profile_idc(path: str | os.PathLike, profile_idc: int, **options) -> Path:
    """An H.264 MP4 whose sequence parameter set (and its copy in avcC) is relabelled `profile_idc` (e.g. 100,
    High, on a 4:2:2 stream: the syntax of the SPS is the same for both)."""
    make_mp4(path, **options)
    data = bytearray(Path(path).read_bytes())
    avcc = data.index(b"avcC") + 4  # version, profile, compatibility, level, length size, SPS count, SPS size
    assert data[avcc + 8] & 0x1F == 7, "the first parameter set must be the SPS"
    data[avcc + 1] = data[avcc + 9] = profile_idc  # avcC's copy, then the SPS's own byte after its NAL header
    Path(path).write_bytes(bytes(data))
    return Path(path)


def make_mp4_declaring_size(path: str | os.PathLike, width: int, height: int, level: str = "5.1") -> Path:
    """An 8192x8192 H.264 MP4 whose container says `width`x`height` and whose SPS says `level`: every header a
    probe reads before decoding lies, and only the decoder learns the real size."""
    make_flat_mp4(path, 8192, 8192)
    data = bytearray(Path(path).read_bytes())
    entry = data.index(b"avc1", data.index(b"stsd")) + 4
    data[entry + 24 : entry + 28] = struct.pack(">HH", width, height)  # after the sample entry's fixed fields
    avcc = data.index(b"avcC", entry) + 4
    major, minor = level.split(".")
    data[avcc + 3] = data[avcc + 11] = int(major) * 10 + int(minor)
    Path(path).write_bytes(bytes(data))
    return Path(path)


def make_tone_mp4(
    path: str | os.PathLike,
    *,
    seconds: float = 2.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    amplitude: float = 0.05,
    sample_rate: int = AUDIO_SAMPLE_RATE,
    bars: int = 0,
) -> Path:
    """An H.264 + AAC stereo MP4 whose audio is a 1 kHz sine of `amplitude` (0.05: about -26 LUFS) and whose
    pictures are smooth gradients that move each frame (cheap to decode, yet real work for the encoder);
    `bars` rows of black at the top and bottom make a letterboxed picture."""
    with av.open(os.fspath(path), "w", format="mp4") as output:
        video = output.add_stream("h264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.gop_size = fps
        video.options = ENCODER_OPTIONS["h264"]
        audio = output.add_stream("aac", rate=sample_rate, layout="stereo")
        packets = []
        columns = np.arange(width, dtype=np.uint16)
        rows = np.arange(height, dtype=np.uint16)[:, None]
        for index in range(round(seconds * fps)):
            luma = ((columns + rows + index * 4) % 200 + 40).astype(np.uint8)
            picture = np.repeat(luma[:, :, None], 3, axis=2)
            if bars:
                picture[:bars] = picture[-bars:] = 0
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            packets += video.encode(frame)
        packets += video.encode()
        total = round(seconds * sample_rate)
        tone = (amplitude * np.sin(2 * np.pi * 1000 * np.arange(total) / sample_rate)).astype(np.float32)
        for start in range(0, total, AAC_FRAME_SAMPLES):
            chunk = tone[start : start + AAC_FRAME_SAMPLES]
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = sample_rate, start
            packets += audio.encode(frame)
        packets += audio.encode()
        output.mux(packets)
    return Path(path)


def top_level_boxes(path: str | os.PathLike) -> list[str]:
    """The kinds of an MP4's top-level boxes, in file order (ISO/IEC 14496-12 §4.2)."""
    kinds = []
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        position = 0
        while position + 8 <= size:
            file.seek(position)
            length, kind = struct.unpack(">I4s", file.read(8))
            if length == 1:
                length = struct.unpack(">Q", file.read(8))[0]
            kinds.append(kind.decode("latin-1"))
            if length < 8:
                break
            position += length
    return kinds
