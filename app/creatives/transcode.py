"""Renditions of a creative: H.264/AAC MP4 files for every screen and stitcher, made from the mezzanine with
PyAV (FFmpeg's libx264, aac and ebur128), plus the loudness measurement and the console's poster.

What an output is, and why:
- A ladder of sizes and bitrates close to what SSAI services and CTV players ask of ad creatives (e.g. AWS
  Elemental MediaTailor's and Google DAI's transcode ladders): 1080p 6 Mbit/s, 720p 3, 480p 1.2, 360p 0.8,
  never upscaled. A source smaller than the smallest rung gets one rendition at its own size.
- The bitrate of a rung is the file's (video and audio together, as VAST's MediaFile@bitrate is), held
  constant (x264 nal-hrd=cbr): the bitrate a player reads in the document is the one it will have to fetch.
- H.264 High profile at the level of the rung (ITU-T H.264 Annex A), 8-bit 4:2:0, a keyframe every two
  seconds and none elsewhere (scenecut off), so stitchers can cut on segment boundaries; constant frame rate.
- AAC-LC stereo 48 kHz at 128 kbit/s (a silent track when the source has none: stitched breaks need one).
- Loudness normalised to LOUDNESS_TARGET_LUFS, integrated loudness per ITU-R BS.1770 as ATSC A/85 measures it
  for US television (the CALM Act); EBU R128 uses -23 LUFS, one LU apart. A single linear gain, capped so that
  the sample peak stays at or below PEAK_CEILING_DBFS: no dynamics processing alters the advertiser's mix.
- The MP4 index (moov) before the media data ("fast start"), so players start on the first bytes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import av.filter
import numpy as np
from av.video.frame import PictureType

from app.creatives.media import ANALYSIS_OPTIONS, CONTAINER_OPTIONS

LOUDNESS_TARGET_LUFS = -24.0  # ATSC A/85 (2013) §5; EBU R128 would be -23.0
PEAK_CEILING_DBFS = -1.0
SILENCE_LUFS = -70.0  # BS.1770's absolute gate: ebur128 reports this for silence
AUDIO_RATE = 48_000
AUDIO_BITRATE = 128_000
X264_PRESET = "veryfast"  # bench.transcode measures the time it costs
KEYFRAME_SECONDS = 2
MAX_FRAME_RATE = Fraction(60)
POSTER_WIDTH = 640
POSTER_SECONDS = 1.0  # the first second is often black or a fade


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    bitrate: int  # bits per second of the whole file
    level: str  # H.264 level (Annex A, Table A-1) that holds the size at 60 fps


LADDER = (
    Rung("1080p", 1920, 1080, 6_000_000, "4.2"),
    Rung("720p", 1280, 720, 3_000_000, "3.2"),
    Rung("480p", 854, 480, 1_200_000, "3.1"),
    Rung("360p", 640, 360, 800_000, "3.1"),
)


@dataclass(frozen=True)
class Output:
    """A rendition to make: a rung fitted to the source's shape."""

    name: str
    width: int
    height: int
    bitrate: int
    level: str


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS (ITU-R BS.1770); SILENCE_LUFS for silence
    peak_dbfs: float  # highest sample, dB full scale (-inf for digital silence)

    @property
    def silent(self) -> bool:
        return self.integrated <= SILENCE_LUFS

    def gain_db(self) -> float:
        """The gain that brings the integrated loudness to the target, within the peak ceiling."""
        if self.silent:
            return 0.0
        return min(LOUDNESS_TARGET_LUFS - self.integrated, PEAK_CEILING_DBFS - self.peak_dbfs)


@dataclass(frozen=True)
class Encoded:
    width: int
    height: int
    bitrate: int  # bits per second, from the file's size and duration
    file_size: int
    codec: str  # RFC 6381, e.g. "avc1.640028"


def plan(width: int, height: int) -> list[Output]:
    """The renditions of a width x height source: each rung whose box the source fills in one dimension at
    least, scaled to fit the box with the source's aspect ratio (even sizes, as 4:2:0 needs), its bitrate in
    proportion to the pixels when the shape is not the rung's. Never larger than the source."""
    outputs: list[Output] = []
    for rung in LADDER:
        scale = min(rung.width / width, rung.height / height)
        if scale > 1:
            continue
        outputs.append(_fit(rung, _even(width * scale), _even(height * scale)))
    if not outputs:  # smaller than every rung: its own size, at the smallest rung's bits per pixel
        outputs.append(_fit(LADDER[-1], _even(width), _even(height)))
    unique = {(output.width, output.height): output for output in reversed(outputs)}
    return sorted(unique.values(), key=lambda output: -output.height)


def _fit(rung: Rung, width: int, height: int) -> Output:
    pixels = (width * height) / (rung.width * rung.height)
    bitrate = rung.bitrate if pixels >= 1 else round(AUDIO_BITRATE + (rung.bitrate - AUDIO_BITRATE) * pixels)
    return Output(rung.name, width, height, bitrate, rung.level)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def measure_loudness(path: str | os.PathLike) -> Loudness | None:
    """Integrated loudness and sample peak of the first audio track (FFmpeg's ebur128 filter, ITU-R
    BS.1770-4), or None when the file has no audio."""
    # Opened as the probe opens a file: FFmpeg's stream analysis would otherwise decode pictures (up to 7
    # of a 4K H.264 file) to measure only the sound.
    with av.open(os.fspath(path), options=ANALYSIS_OPTIONS, container_options=CONTAINER_OPTIONS) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        graph = _audio_graph(stream, ("ebur128", "metadata=1"), ("aformat", "sample_fmts=flt"))
        integrated, peak = SILENCE_LUFS, 0.0
        for frame in container.decode(stream):
            for filtered in _filter(graph, frame):
                integrated = float(filtered.metadata.get("lavfi.r128.I", integrated))
                peak = max(peak, float(np.abs(filtered.to_ndarray()).max(initial=0.0)))
        for filtered in _filter(graph, None):
            integrated = float(filtered.metadata.get("lavfi.r128.I", integrated))
            peak = max(peak, float(np.abs(filtered.to_ndarray()).max(initial=0.0)))
    return Loudness(max(integrated, SILENCE_LUFS), 20 * math.log10(peak) if peak > 0 else -math.inf)


def encode(
    source: str | os.PathLike,
    target: str | os.PathLike,
    output: Output,
    gain_db: float,
    progress: Callable[[float], None] = lambda done: None,
) -> Encoded:
    """Write the rendition `output` of `source` to `target` (an MP4, moov first), its audio `gain_db` louder.
    `progress` is called with the share of the source done (0..1) every second of video or so."""
    with av.open(os.fspath(source)) as source_file:
        video_in = source_file.streams.video[0]
        audio_in = source_file.streams.audio[0] if source_file.streams.audio else None
        rate = _frame_rate(video_in)
        duration = (source_file.duration or 0) / av.time_base
        with av.open(os.fspath(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = _video_stream(out, output, rate)
            audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            audio.bit_rate = AUDIO_BITRATE
            graph = None
            if audio_in is not None:
                volume = ("volume", f"volume={gain_db:.2f}dB")
                stereo = ("aformat", f"sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo")
                graph = _audio_graph(audio_in, volume, stereo)
            last_pts = -1
            next_report = 0.0
            streams = [video_in] + ([audio_in] if audio_in is not None else [])
            for frame in source_file.decode(*streams):
                if isinstance(frame, av.AudioFrame):
                    for filtered in _filter(graph, frame):
                        filtered.pts = None  # the encoder counts samples itself
                        out.mux(audio.encode(filtered))
                    continue
                pts = round(frame.time * rate) if frame.time is not None else last_pts + 1
                if pts <= last_pts:  # variable frame rate in: constant out, extra frames dropped
                    continue
                last_pts = pts
                picture = frame.reformat(output.width, output.height, "yuv420p", interpolation="BICUBIC")
                picture.pts, picture.time_base = pts, 1 / rate
                picture.pict_type = PictureType.NONE  # else x264 copies the source's keyframes
                out.mux(video.encode(picture))
                if duration and frame.time is not None and frame.time >= next_report:
                    progress(min(frame.time / duration, 1.0))
                    next_report = frame.time + 1.0
            if graph is not None:
                for filtered in _filter(graph, None):
                    filtered.pts = None
                    out.mux(audio.encode(filtered))
            else:
                out.mux(_silence(audio, max(duration, (last_pts + 1) / rate)))
            out.mux(video.encode())
            out.mux(audio.encode())
            codec = _avc_codec(video.codec_context.extradata)
    progress(1.0)
    file_size = os.path.getsize(target)
    with av.open(os.fspath(target)) as written:
        seconds = (written.duration or 0) / av.time_base
    return Encoded(output.width, output.height, round(file_size * 8 / seconds), file_size, codec)


def _video_stream(out, output: Output, rate: Fraction):
    video = out.add_stream("libx264", rate=rate)
    video.width, video.height, video.pix_fmt = output.width, output.height, "yuv420p"
    video_bitrate = output.bitrate - AUDIO_BITRATE
    video.bit_rate = video_bitrate
    keyframes = max(1, round(KEYFRAME_SECONDS * rate))
    video.gop_size = keyframes
    video.options = {
        "preset": X264_PRESET,
        "profile": "high",
        "level": output.level,
        "maxrate": str(video_bitrate),
        "minrate": str(video_bitrate),
        "bufsize": str(video_bitrate),
        "x264-params": f"nal-hrd=cbr:keyint={keyframes}:min-keyint={keyframes}:scenecut=0:log-level=none",
    }
    return video


def _frame_rate(video) -> Fraction:
    rate = video.average_rate or video.guessed_rate or video.base_rate or Fraction(25)
    return min(Fraction(rate).limit_denominator(1001), MAX_FRAME_RATE)


def _avc_codec(extradata: bytes | None) -> str:
    """RFC 6381 §3.3: "avc1." and the profile_idc, constraint flags and level_idc of the stream's sequence
    parameter set (ITU-T H.264 §7.3.2.1.1), in hex. libx264 gives its parameter sets in Annex B form (start
    codes); the MP4 muxer turns them into the avcC box, whose bytes 1-3 are the same three fields."""
    data = extradata or b""
    if data[:1] == b"\x01" and len(data) >= 4:  # already an AVCDecoderConfigurationRecord
        return f"avc1.{data[1]:02x}{data[2]:02x}{data[3]:02x}"
    for unit in data.split(b"\x00\x00\x01")[1:]:
        if unit and unit[0] & 0x1F == 7 and len(unit) >= 4:  # nal_unit_type 7: sequence parameter set
            return f"avc1.{unit[1]:02x}{unit[2]:02x}{unit[3]:02x}"
    raise ValueError("the encoder wrote no sequence parameter set")


def _audio_graph(stream, *filters: tuple[str, str]) -> av.filter.Graph:
    graph = av.filter.Graph()
    node = graph.add_abuffer(template=stream)
    for name, arguments in filters:
        following = graph.add(name, arguments)
        node.link_to(following)
        node = following
    node.link_to(graph.add("abuffersink"))
    graph.configure()
    return graph


def _filter(graph: av.filter.Graph, frame: av.AudioFrame | None) -> list[av.AudioFrame]:
    graph.push(frame)
    frames = []
    while True:
        try:
            frames.append(graph.pull())
        except (av.BlockingIOError, av.EOFError):
            return frames


def _silence(audio, seconds: float) -> list[av.Packet]:
    packets = []
    total = round(seconds * AUDIO_RATE)
    for start in range(0, total, audio.frame_size or 1024):
        samples = np.zeros((2, min(audio.frame_size or 1024, total - start)), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        packets += audio.encode(frame)
    return packets


def make_poster(source: str | os.PathLike, target: str | os.PathLike) -> tuple[int, int]:
    """A JPEG of the picture at POSTER_SECONDS (or the last one, for a shorter video), POSTER_WIDTH wide;
    returns its width and height."""
    with av.open(os.fspath(source)) as container:
        video = container.streams.video[0]
        picture = None
        for frame in container.decode(video):
            picture = frame
            if frame.time is not None and frame.time >= POSTER_SECONDS:
                break
    if picture is None:
        raise ValueError("the video has no picture")
    width = min(POSTER_WIDTH, picture.width)
    height = _even(picture.height * width / picture.width)
    width = _even(width)
    with av.open(os.fspath(target), "w", format="mjpeg") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        stream.options = {"q:v": "3"}
        image = picture.reformat(width, height, "yuvj420p", interpolation="BICUBIC")
        image.pts = 0
        out.mux(stream.encode(image))
        out.mux(stream.encode())
    return width, height
