"""Real H.264 + AAC videos generated with PyAV: the demo creative of `flask seed-demo`, and test files.

Pictures are flat frames whose level changes each frame: cheap to encode (a 2 s 320x240 MP4 takes a few
tens of milliseconds) while still giving the encoder real work and the file real keyframes.
"""

import os
from pathlib import Path

import av
import numpy as np

AUDIO_SAMPLE_RATE = 48_000
AAC_FRAME_SAMPLES = 1024

# Quiet, fast encoders: x265 otherwise prints its banner and statistics straight to stderr.
ENCODER_OPTIONS = {
    "h264": {"preset": "ultrafast"},
    "hevc": {"preset": "ultrafast", "x265-params": "log-level=none"},
}


def make_video(
    path: str | os.PathLike,
    *,
    container_format: str = "mp4",
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    codec: str = "h264",
    pix_fmt: str = "yuv420p",
    audio: bool = True,
    fps: int = 25,
    faststart: bool = False,
    encoder_options: dict[str, str] | None = None,
) -> Path:
    """Write a video with a keyframe every second and, optionally, a silent AAC track.

    `encoder_options` are added to the quiet, fast defaults (e.g. {"x264-params": "level=6.2"})."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(os.fspath(path), "w", format=container_format, options=options) as output:
        video = output.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.gop_size = fps
        video.options = {**ENCODER_OPTIONS.get(codec, {}), **(encoder_options or {})}
        # Every stream must exist before the first packet is muxed; the muxer interleaves the packets.
        silence = output.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="mono") if audio else None
        packets = []
        for index in range(round(seconds * fps)):
            picture = np.full((height, width, 3), index * 8 % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            packets += video.encode(frame)
        packets += video.encode()
        if silence:
            packets += encode_silence(silence, seconds)
        output.mux(packets)
    return Path(path)


def encode_silence(audio: av.audio.stream.AudioStream, seconds: float) -> list[av.Packet]:
    total = round(seconds * AUDIO_SAMPLE_RATE)
    packets = []
    for start in range(0, total, AAC_FRAME_SAMPLES):
        samples = np.zeros((1, min(AAC_FRAME_SAMPLES, total - start)), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_SAMPLE_RATE, start
        packets += audio.encode(frame)
    return packets + audio.encode()
