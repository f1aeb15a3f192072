"""Validate an uploaded video creative from its bytes and read its true properties.

Only what CTV players reliably stream is accepted: an MP4 file with an H.264 or HEVC video track in 4:2:0
chroma. Everything is read with PyAV (FFmpeg); the filename and the client's content type are never trusted.

FFmpeg logging: PyAV installs a silent FFmpeg log callback at import, so probing broken files writes nothing
to stderr (a test checks it). That process-wide setting belongs to the application and is left alone here.
"""

import os
from dataclasses import dataclass
from itertools import islice

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

ALLOWED_VIDEO_CODECS = {"h264": "H.264", "hevc": "HEVC"}

# CTV hardware decoders handle 8-bit 4:2:0 H.264 (High profile at most) and 8- or 10-bit 4:2:0 HEVC (Main,
# Main 10); 4:2:2, 4:4:4 and 10-bit H.264 decode on desktops but not on TVs. FFmpeg names full-range 4:2:0
# "yuvj420p".
ALLOWED_PIXEL_FORMATS = {
    "h264": {"yuv420p", "yuvj420p"},
    "hevc": {"yuv420p", "yuvj420p", "yuv420p10le"},
}

MP4_MIME_TYPE = "video/mp4"

# The demuxer FFmpeg uses for the whole ISO-BMFF family (MP4, QuickTime, 3GPP, ...).
ISO_BMFF_DEMUXER = "mp4"

# The mov demuxer also opens QuickTime and 3GPP files. They are refused: creatives are served as video/mp4,
# and CTV players and ad SDKs that expect MP4 are not required to play QuickTime (.mov) or mobile 3GPP files.
# A file with no ftyp box at all is a legacy QuickTime movie.
QUICKTIME_BRANDS = {"qt", ""}
THREE_GPP_BRAND_PREFIX = "3g"

DAMAGED_MESSAGE = "The video cannot be decoded: the file is damaged."

# Enough packets to get past the decoder's reordering delay and see a few frames.
PACKETS_TO_DECODE = 5


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


class MediaError(ValueError):
    """A file we refuse.

    `status` is the HTTP status the API should answer (415 for a file that is not an MP4, 400 otherwise),
    `code` a stable machine-readable reason and str(exc) a sentence for the advertiser.
    """

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


def probe(path: str | os.PathLike, max_duration: float) -> VideoInfo:
    """Return the properties of the MP4 at `path`, or raise MediaError saying why it cannot be served."""
    file_size = os.path.getsize(path)
    if file_size == 0:
        raise MediaError("empty_file", "The file is empty.")
    try:
        container = av.open(os.fspath(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise MediaError(
            "not_mp4",
            "The file is not a readable MP4 video: it is in another format, or it is damaged or incomplete.",
            415,
        ) from exc
    with container:
        _check_is_mp4(container)
        video = _video_stream(container)
        duration = (container.duration or 0) / av.time_base
        _check_duration(duration, max_duration)
        try:
            _check_media_data_present(container, file_size)
            first_frames = _decode(container, video)
            # Damage near the end of the file is caught by decoding from the last keyframe.
            container.seek(_last_keyframe_timestamp(video), stream=video)
            _decode(container, video)
        except av.FFmpegError as exc:
            raise MediaError("undecodable", DAMAGED_MESSAGE) from exc
        # The decoded picture is authoritative: the container's codec parameters may be incomplete.
        _check_pixel_format(video.codec_context.name, first_frames[0].format.name)
        audio = container.streams.audio[0] if container.streams.audio else None
        return VideoInfo(
            duration=duration,
            width=video.codec_context.width,
            height=video.codec_context.height,
            bitrate=container.bit_rate or round(file_size * 8 / duration),
            video_codec=video.codec_context.name,
            mime_type=MP4_MIME_TYPE,
            has_audio=audio is not None,
            audio_codec=_codec_name(audio) if audio else None,
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


def _video_stream(container: InputContainer) -> VideoStream:
    if not container.streams.video:
        raise MediaError("no_video_stream", "The file has no video track.")
    video = container.streams.video[0]
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
            f"The video lasts {_seconds(duration)} seconds, more than the {_seconds(max_duration)} "
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


def _decode(container: InputContainer, video: VideoStream) -> list[VideoFrame]:
    """Decode a few packets from the current position; raise MediaError unless they give clean frames."""
    # Empty packets only mark the end of the stream.
    packets = [packet for packet in islice(container.demux(video), PACKETS_TO_DECODE) if packet.size]
    frames = [frame for packet in packets for frame in video.codec_context.decode(packet)]
    # Drain the frames the decoder holds back for reordering.
    frames += video.codec_context.decode(None)
    if not frames or any(frame.is_corrupt for frame in frames):
        raise MediaError("undecodable", DAMAGED_MESSAGE)
    return frames


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
