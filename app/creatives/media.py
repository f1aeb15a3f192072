"""Validate an uploaded video creative from its bytes and read its true properties.

Only what CTV players reliably stream is accepted: an MP4 file with an H.264 or HEVC video track in 4:2:0
chroma, within the sizes, profiles, levels, frame rates and track counts TVs decode. Everything is read from
the file (its boxes, then PyAV/FFmpeg); the filename and the client's content type are never trusted.

The checks go from the cheapest to the dearest, and nothing is decoded before the headers pass:

1. The box structure (app.creatives.boxes), before FFmpeg parses the file: how many tracks, and how many
   samples and chunks the tables declare; FFmpeg would otherwise build a decoder per track and an index
   entry per declared sample while merely opening the file.
2. The container and stream headers, read by FFmpeg with its stream analysis told to skip every frame
   (skip_frame=all: without it, opening an H.264 file decodes up to 7 pictures of whatever size the file
   declares) and to create at most MAX_STREAMS + 1 streams: format, codec, stream counts, duration,
   dimensions, profile, level and frame rate.
3. Two pictures, the first and the last keyframe, each decoded alone (one packet, then a flush) on one
   thread, by a decoder told to refuse any picture of more than MAX_WIDTH x MAX_HEIGHT pixels (max_pixels),
   whatever the headers claimed.

So the memory an upload costs is bounded by one 3840x2160 picture (12 MB in 8 bits, 25 MB in 10) and the
decoder's working set, not by what the file declares: tests/load/test_upload_limits.py measures the worker
(about 42 MB above its resting size for 4K HEVC Main 10; a refusal adds under 1 MB and takes milliseconds).
Under a gevent worker the probe runs in a native thread, one at a time (app.creatives.services).

FFmpeg logging: PyAV installs a silent FFmpeg log callback at import, so probing broken files writes nothing
to stderr (a test checks it). That process-wide setting belongs to the application and is left alone here.
"""

import itertools
import os
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from app.creatives import boxes

ALLOWED_VIDEO_CODECS = {"h264": "H.264", "hevc": "HEVC"}

# CTV hardware decoders handle 8-bit 4:2:0 H.264 (High profile at most) and 8- or 10-bit 4:2:0 HEVC (Main,
# Main 10); 4:2:2, 4:4:4 and 10-bit H.264 decode on desktops but not on TVs. FFmpeg names full-range 4:2:0
# "yuvj420p".
ALLOWED_PIXEL_FORMATS = {
    "h264": {"yuv420p", "yuvj420p"},
    "hevc": {"yuv420p", "yuvj420p", "yuv420p10le"},
}

# What TVs decode, from the platforms' published specifications:
# - Roku, "Audio and video support" (developer.roku.com): HEVC up to 3840x2160, H.264 up to 1920x1080, input
#   frame rates 24p, 25p, 30p, 50p and 60p.
# - Samsung Smart TV (Tizen), "TV Video Specifications" 2016-2020 (developer.samsung.com): H.264 BP/MP/HP and
#   HEVC Main/Main 10 at 3840x2160 up to 60 fps; decoder limitations: H.264 UHD level 5.1, FMO/ASO not
#   supported.
# - Android TV, Compatibility Definition Document section 5.3: television devices must decode H.264 AVC,
#   H.265 HEVC, VP8 and VP9.
# Levels are those of ITU-T H.264 Annex A (Table A-1, level limits) and H.265 Annex A (general tier and level
# limits, Main tier): H.264 level 5.2 and HEVC level 5.1 hold 3840x2160 at 60 fps, the size and frame rate
# limits below; the levels beyond them exist for 4K at 120 fps and 8K. H.264 gets 5.2 rather than Samsung's
# 5.1 because Samsung's own tables list 3840x2160 H.264 at 60 fps, which takes 5.2.
MAX_WIDTH = 3840
MAX_HEIGHT = 2160
MAX_PIXELS = MAX_WIDTH * MAX_HEIGHT
# Profiles by the names FFmpeg gives them (codec_context.profile). "High" includes Progressive and Constrained
# High; "Baseline" is what encoders that leave constraint_set1 unset write for Constrained Baseline.
ALLOWED_PROFILES = {
    "h264": ("Constrained Baseline", "Baseline", "Main", "High"),
    "hevc": ("Main", "Main 10"),
}
# codec_context.level is the level_idc of the stream's parameter set: ten times the level for H.264 (52 is
# 5.2), thirty times for HEVC (153 is 5.1).
MAX_LEVELS = {"h264": 52, "hevc": 153}
LEVEL_SCALE = {"h264": 10, "hevc": 30}
# Frames per second (average over the file). 60 is the most Roku takes and Samsung lists for H.264; the half
# frame above it absorbs the rounding of variable-rate timestamps.
MAX_FRAME_RATE = 60
FRAME_RATE_SLACK = Fraction(1, 2)
# Tracks: one video track, a few audio tracks (languages, audio description) and room for timecode or
# caption tracks. Players play one of each; more is not an ad.
MAX_VIDEO_STREAMS = 1
MAX_AUDIO_STREAMS = 8
MAX_STREAMS = 16
# Entries of the sample and chunk tables per second of the longest creative allowed: 60 fps video and 8 AAC
# tracks at 48 kHz declare under 1,000 (a sample and a chunk each at most). The cap keeps FFmpeg's index
# within a few tens of MB. Uncompressed PCM audio, stored one sample per audio sample, exceeds it.
TABLE_ENTRIES_PER_SECOND = 4_000

MP4_MIME_TYPE = "video/mp4"

# The demuxer FFmpeg uses for the whole ISO-BMFF family (MP4, QuickTime, 3GPP, ...).
ISO_BMFF_DEMUXER = "mp4"

# The mov demuxer also opens QuickTime and 3GPP files. They are refused: creatives are served as video/mp4,
# and CTV players and ad SDKs that expect MP4 are not required to play QuickTime (.mov) or mobile 3GPP files.
# A file with no ftyp box at all is a legacy QuickTime movie.
QUICKTIME_BRANDS = {"qt", ""}
THREE_GPP_BRAND_PREFIX = "3g"

DAMAGED_MESSAGE = "The video cannot be decoded: the file is damaged."

# Packets looked at for the first picture; empty packets only mark the end of the stream.
PACKETS_TO_SCAN = 5

# Opening: FFmpeg's stream analysis decodes no frame, and creates no more streams than a creative may have
# (one more for a cover picture, which FFmpeg presents as a video stream).
ANALYSIS_OPTIONS = {"skip_frame": "all"}
CONTAINER_OPTIONS = {"max_streams": str(MAX_STREAMS + 1)}
# Decoding: one thread (frame threading would hold a picture per thread), and no picture above the limit.
DECODER_OPTIONS = {"max_pixels": str(MAX_PIXELS)}


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    width: int
    height: int
    bitrate: int
    video_codec: str
    mime_type: str
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None = None  # Hz
    variable_frame_rate: bool = False  # the video's frame durations differ
    black_bars: bool = False  # both decoded pictures have black bands top and bottom, or left and right


class MediaError(ValueError):
    """A file we refuse.

    `status` is the HTTP status the API should answer (415 for a file that is not an MP4, 400 otherwise),
    `code` a stable machine-readable reason, `fields` the properties of the file at fault (e.g. "width",
    "level"), and str(exc) a sentence for the advertiser.
    """

    def __init__(self, code: str, message: str, status: int = 400, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.code = code
        self.status = status
        self.fields = fields


def probe(path: str | os.PathLike, max_duration: float) -> VideoInfo:
    """Return the properties of the MP4 at `path`, or raise MediaError saying why it cannot be served."""
    file_size = os.path.getsize(path)
    if file_size == 0:
        raise MediaError("empty_file", "The file is empty.")
    _check_layout(path, max_duration)
    try:
        container = av.open(
            os.fspath(path),
            metadata_errors="replace",
            options=ANALYSIS_OPTIONS,
            container_options=CONTAINER_OPTIONS,
        )
    except av.FFmpegError as exc:
        raise MediaError(
            "not_mp4",
            "The file is not a readable MP4 video: it is in another format, or it is damaged or incomplete.",
            415,
        ) from exc
    with container:
        _check_is_mp4(container)
        video = _video_stream(container)
        _check_stream_counts(
            video=len(_pictures(container.streams.video)),
            audio=len(container.streams.audio),
            total=len(_pictures(container.streams)),
        )
        duration = (container.duration or 0) / av.time_base
        _check_duration(duration, max_duration)
        _check_video_headers(video)
        try:
            _check_media_data_present(container, file_size)
            _prepare_decoder(video)
            first = _examine(_decode_picture(container, video), video)
            # Damage near the end of the file is caught by decoding the last keyframe.
            container.seek(_last_keyframe_timestamp(video), stream=video)
            last = _examine(_decode_picture(container, video), video)
        except av.FFmpegError as exc:
            raise MediaError("undecodable", DAMAGED_MESSAGE) from exc
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            duration=duration,
            width=first.width,
            height=first.height,
            bitrate=container.bit_rate or round(file_size * 8 / duration),
            video_codec=video.codec_context.name,
            mime_type=MP4_MIME_TYPE,
            has_audio=audio is not None,
            audio_codec=_codec_name(audio) if audio else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio and audio.codec_context else None,
            variable_frame_rate=_variable_frame_rate(video),
            black_bars=first.black_bars and last.black_bars,
        )


@dataclass(frozen=True)
class _Picture:
    """What the probe keeps of a decoded picture: the picture itself is released at once, so that no
    more than one (up to 25 MB at 3840x2160 in 10 bits) is held at a time."""

    width: int
    height: int
    black_bars: bool


def _examine(picture: VideoFrame, video: VideoStream) -> _Picture:
    # The decoded pictures are authoritative: the container's parameters may be incomplete, or lie.
    _check_dimensions(picture.width, picture.height)
    _check_pixel_format(video.codec_context.name, picture.format.name)
    return _Picture(picture.width, picture.height, _black_bars(picture))


# Frame durations that differ by more than this share of the typical one make a variable frame rate (the
# rounding of timestamps to the track's time scale makes them differ by a tick or so).
FRAME_DURATION_SLACK = 0.05
# A band of rows (or columns) at both edges, each at least this share of the picture, whose luma stays at
# black (ITU-R BT.709 limited range: 16, with some noise) while the middle of the picture is not black.
BLACK_BAR_SHARE = 0.05
BLACK_LUMA = 24


def _variable_frame_rate(video: VideoStream) -> bool:
    """From the sample table: no decode (ISO/IEC 14496-12 §8.6.1.2, the decoding time of each sample)."""
    times = sorted(entry.timestamp for entry in video.index_entries)
    durations = [later - earlier for earlier, later in itertools.pairwise(times)]
    if len(durations) < 2:
        return False
    typical = sorted(durations)[len(durations) // 2]
    return max(durations) - min(durations) > max(1, typical * FRAME_DURATION_SLACK)


def _black_bars(picture: VideoFrame) -> bool:
    """Letterbox (bands above and below) or pillarbox (left and right) in a decoded picture."""
    small = picture.reformat(
        width=max(2, picture.width // 8 * 2), height=max(2, picture.height // 8 * 2), format="gray"
    )
    luma = small.to_ndarray().astype("float32")
    rows, columns = luma.mean(axis=1), luma.mean(axis=0)
    if luma.mean() < BLACK_LUMA:  # a black picture (a fade) says nothing about bars
        return False
    return any(
        _black_share(means) >= BLACK_BAR_SHARE and _black_share(means[::-1]) >= BLACK_BAR_SHARE
        for means in (rows, columns)
    )


def _black_share(means) -> float:
    """The share of the profile, from its start, that stays black."""
    black = 0
    for value in means:
        if value >= BLACK_LUMA:
            break
        black += 1
    return black / len(means)


def _check_layout(path: str | os.PathLike, max_duration: float) -> None:
    """Refuse, from the box structure alone, what would be costly for FFmpeg merely to open."""
    try:
        layout = boxes.read_layout(path)
    except boxes.TooManyBoxes as exc:
        raise MediaError(
            "not_mp4", f"The file is not a plain MP4 video: it holds more than {boxes.MAX_BOXES} boxes.", 415
        ) from exc
    if layout is None:
        return  # no movie box: FFmpeg says what the file is
    if layout.compressed_header:
        raise MediaError(
            "not_mp4",
            "The file is a QuickTime movie with a compressed header, not an MP4 video; export it as MP4.",
            415,
        )
    _check_stream_counts(video=layout.tracks("vide"), audio=layout.tracks("soun"), total=len(layout.handlers))
    limit = round(TABLE_ENTRIES_PER_SECOND * max(max_duration, 1.0))
    if layout.table_entries > limit:
        raise MediaError(
            "too_many_samples",
            f"The file's sample tables list {layout.table_entries} samples and chunks, more than the {limit} "
            f"a video of at most {_decimal(max_duration)} seconds can need.",
            fields=("samples",),
        )


def _check_stream_counts(video: int, audio: int, total: int) -> None:
    if video > MAX_VIDEO_STREAMS:
        raise MediaError(
            "too_many_streams",
            f"The file has {video} video tracks; a creative has exactly {MAX_VIDEO_STREAMS}.",
            fields=("video_streams",),
        )
    if audio > MAX_AUDIO_STREAMS:
        raise MediaError(
            "too_many_streams",
            f"The file has {audio} audio tracks; a creative has at most {MAX_AUDIO_STREAMS}.",
            fields=("audio_streams",),
        )
    if total > MAX_STREAMS:
        raise MediaError(
            "too_many_streams",
            f"The file has {total} tracks; a creative has at most {MAX_STREAMS}.",
            fields=("streams",),
        )


def _check_is_mp4(container: InputContainer) -> None:
    if ISO_BMFF_DEMUXER not in container.format.name.split(","):
        raise MediaError("not_mp4", f"The file is in {container.format.long_name} format, not MP4.", 415)
    brand = container.metadata.get("major_brand", "").strip()
    if brand in QUICKTIME_BRANDS:
        raise MediaError("not_mp4", "The file is a QuickTime movie, not an MP4 video; export it as MP4.", 415)
    if brand.startswith(THREE_GPP_BRAND_PREFIX):
        raise MediaError(
            "not_mp4", "The file is a 3GPP mobile video, not an MP4 video; export it as MP4.", 415
        )


def _pictures(streams) -> list[av.stream.Stream]:
    """The streams but cover pictures, which FFmpeg presents as one-frame video streams."""
    return [stream for stream in streams if not stream.disposition & Disposition.attached_pic]


def _video_stream(container: InputContainer) -> VideoStream:
    videos = _pictures(container.streams.video)
    if not videos:
        raise MediaError("no_video_stream", "The file has no video track.")
    video = videos[0]
    codec = video.codec_context
    if _codec_name(video) not in ALLOWED_VIDEO_CODECS:
        found = f"{codec.codec.long_name} ({codec.name})" if codec else "a codec FFmpeg does not know"
        raise MediaError(
            "unsupported_codec",
            f"The video is encoded with {found}; CTV players need "
            f"{' or '.join(ALLOWED_VIDEO_CODECS.values())}.",
        )
    return video


def _codec_name(stream: av.stream.Stream) -> str:
    # PyAV gives no codec context to a stream whose codec FFmpeg does not know.
    return stream.codec_context.name if stream.codec_context else "unknown"


def _check_video_headers(video: VideoStream) -> None:
    """Dimensions, profile, level and frame rate, as the stream's headers declare them (nothing decoded)."""
    codec = video.codec_context
    _check_dimensions(codec.width, codec.height)
    _check_profile(codec.name, codec.profile)
    _check_level(codec.name, codec.level)
    _check_frame_rate(video.average_rate)


def _check_dimensions(width: int, height: int) -> None:
    too_large = tuple(
        field
        for field, size, limit in (("width", width, MAX_WIDTH), ("height", height, MAX_HEIGHT))
        if size > limit
    )
    if too_large:
        raise MediaError(
            "dimensions_too_large",
            f"The video is {width}x{height} pixels; CTV players take at most {MAX_WIDTH}x{MAX_HEIGHT}.",
            fields=too_large,
        )


def _check_profile(codec: str, profile: str | None) -> None:
    allowed = ALLOWED_PROFILES[codec]
    if profile in allowed:
        return
    found = f"uses the {profile} profile" if profile else "declares no profile"
    raise MediaError(
        "unsupported_profile",
        f"The {ALLOWED_VIDEO_CODECS[codec]} video {found}; CTV players decode "
        f"{', '.join(allowed[:-1])} or {allowed[-1]}.",
        fields=("profile",),
    )


def _check_level(codec: str, level: int) -> None:
    name, limit, scale = ALLOWED_VIDEO_CODECS[codec], MAX_LEVELS[codec], LEVEL_SCALE[codec]
    if 0 < level <= limit:
        return
    found = f"is at level {_decimal(level / scale)}" if level > 0 else "declares no level"
    raise MediaError(
        "unsupported_level",
        f"The {name} video {found}; CTV players decode {name} up to level {_decimal(limit / scale)}.",
        fields=("level",),
    )


def _check_frame_rate(rate: Fraction | None) -> None:
    if not rate:
        raise MediaError(
            "unsupported_frame_rate", "The video declares no frame rate.", fields=("frame_rate",)
        )
    if rate > MAX_FRAME_RATE + FRAME_RATE_SLACK:
        raise MediaError(
            "unsupported_frame_rate",
            f"The video runs at {_decimal(float(rate))} frames per second; CTV players play at most "
            f"{MAX_FRAME_RATE}.",
            fields=("frame_rate",),
        )


def _check_pixel_format(codec: str, pixel_format: str) -> None:
    allowed = ALLOWED_PIXEL_FORMATS[codec]
    if pixel_format not in allowed:
        raise MediaError(
            "unsupported_pixel_format",
            f"The {ALLOWED_VIDEO_CODECS[codec]} video uses the {pixel_format} pixel format; "
            f"CTV players need one of {', '.join(sorted(allowed))}.",
        )


def _check_duration(duration: float, max_duration: float) -> None:
    if duration <= 0:
        raise MediaError("zero_duration", "The video has no duration.")
    if duration > max_duration:
        raise MediaError(
            "too_long",
            f"The video lasts {_decimal(duration)} seconds, more than the {_decimal(max_duration)} "
            "seconds allowed.",
        )


def _check_media_data_present(container: InputContainer, file_size: int) -> None:
    """Refuse a file cut short, without reading it: the index locates every sample, and none may end past EOF.

    A cut MP4 whose index comes first still opens with its full duration; only its tail is missing.
    """
    for stream in container.streams:
        if max((entry.pos + entry.size for entry in stream.index_entries), default=0) > file_size:
            raise MediaError(
                "undecodable",
                "The file is incomplete: it ends before the end of its video (was the upload cut short?).",
            )


def _last_keyframe_timestamp(video: VideoStream) -> int:
    return max((entry.timestamp for entry in video.index_entries if entry.is_keyframe), default=0)


def _prepare_decoder(video: VideoStream) -> None:
    decoder = video.codec_context
    decoder.thread_count = 1
    decoder.options = dict(DECODER_OPTIONS)


def _decode_picture(container: InputContainer, video: VideoStream) -> VideoFrame:
    """Decode the next video packet alone and return its picture; raise MediaError unless it is a clean one.

    One packet, then a flush: the decoder holds that picture only, whatever reordering the stream declares."""
    packet = next((packet for packet in islice(container.demux(video), PACKETS_TO_SCAN) if packet.size), None)
    if packet is None:
        raise MediaError("undecodable", DAMAGED_MESSAGE)
    decoder = video.codec_context
    coded = _coded_size(video, packet)
    if (
        coded is not None
        and decoder.width
        and (abs(coded[0] - decoder.width) > MACROBLOCK or abs(coded[1] - decoder.height) > MACROBLOCK)
    ):
        # The stream's parameter sets contradict the container: refused before the decoder allocates its
        # tables for a picture size nothing else declared (tens of MB for 8192x8192).
        raise MediaError("undecodable", DAMAGED_MESSAGE)
    frames = decoder.decode(packet) + decoder.decode(None)
    decoder.flush_buffers()  # ready for the next packet after the flush
    if not frames or any(frame.is_corrupt for frame in frames):
        raise MediaError("undecodable", DAMAGED_MESSAGE)
    return frames[0]


MACROBLOCK = 16  # coded sizes round up to it (1080 lines are coded as 1088)


def _coded_size(video: VideoStream, packet) -> tuple[int, int] | None:
    """The picture size the packet's own parameter sets (H.264/HEVC SPS) give, as FFmpeg's parser reads them
    (it allocates nothing for the picture); None where no parser knows the codec or none was found."""
    try:
        parser = av.CodecContext.create(video.codec_context.name, "r")
    except (ValueError, av.FFmpegError):
        return None
    parser.extradata = video.codec_context.extradata
    try:
        parser.parse(bytes(packet))
    except av.FFmpegError:
        return None
    return (parser.width, parser.height) if parser.width and parser.height else None


def _decimal(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
