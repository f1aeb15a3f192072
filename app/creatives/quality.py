"""Quality warnings on an upload: what a creative accepted for serving would lose, or how it would sound,
against the mezzanine recommendation of the IAB (VAST 4.1 §3.9.2 and the IAB Tech Lab "Digital Video Ad
Format Guidelines": a mezzanine of at least 1920x1080, H.264 at 15 Mbit/s or more or ProRes, AAC at 48 kHz)
and the loudness target of app.creatives.transcode. Warnings, never refusals: the file serves regardless."""

from __future__ import annotations

from app.creatives.media import ALLOWED_VIDEO_CODECS, VideoInfo
from app.creatives.transcode import LOUDNESS_TARGET_LUFS, Loudness

MEZZANINE_WIDTH, MEZZANINE_HEIGHT = 1920, 1080
MEZZANINE_BITRATE = 15_000_000  # bits per second of the file
MEZZANINE_AUDIO_RATE = 48_000
LOUDNESS_TOLERANCE_LU = 2.0  # ATSC A/85 §5.2 accepts ±2 dB around the target


def warnings(info: VideoInfo, loudness: Loudness | None) -> list[dict[str, str]]:
    """[{"code": ..., "message": ...}] for every recommendation the file misses (empty when none)."""
    found = []

    def warn(code: str, message: str) -> None:
        found.append({"code": code, "message": message})

    if info.width < MEZZANINE_WIDTH or info.height < MEZZANINE_HEIGHT:
        warn(
            "below_mezzanine_size",
            f"The video is {info.width}x{info.height}; a mezzanine of at least {MEZZANINE_WIDTH}x"
            f"{MEZZANINE_HEIGHT} lets every screen get a sharp rendition.",
        )
    if info.bitrate < MEZZANINE_BITRATE:
        warn(
            "below_mezzanine_bitrate",
            f"The file runs at {_rate(info.bitrate)}; a mezzanine of "
            f"{ALLOWED_VIDEO_CODECS[info.video_codec]} at {MEZZANINE_BITRATE / 1e6:.0f} Mbit/s or more (or "
            "ProRes) keeps the renditions free of re-encoding artefacts.",
        )
    if not info.has_audio:
        warn("no_audio", "The file has no audio track; a silent one is added to its renditions.")
    elif info.audio_codec != "aac" or info.audio_sample_rate != MEZZANINE_AUDIO_RATE:
        rate = f"{info.audio_sample_rate / 1000:g} kHz" if info.audio_sample_rate else "an unknown rate"
        codec = (info.audio_codec or "of an unknown codec").upper()
        warn(
            "below_mezzanine_audio",
            f"The audio is {codec} at {rate}; the recommendation is AAC at "
            f"{MEZZANINE_AUDIO_RATE / 1000:g} kHz.",
        )
    if info.variable_frame_rate:
        warn(
            "variable_frame_rate",
            "The video has a variable frame rate; renditions are made at a constant rate, which can drop "
            "or repeat frames.",
        )
    if info.black_bars:
        warn(
            "black_bars",
            "The picture has black bars (letterbox or pillarbox) burnt in; on a TV they show inside the "
            "screen's own.",
        )
    if loudness is not None:
        if loudness.silent:
            warn("silent_audio", "The audio track is silent.")
        elif abs(loudness.integrated - LOUDNESS_TARGET_LUFS) > LOUDNESS_TOLERANCE_LU:
            warn(
                "loudness_off_target",
                f"The audio's integrated loudness is {loudness.integrated:.1f} LUFS, "
                f"{abs(loudness.integrated - LOUDNESS_TARGET_LUFS):.1f} LU from the "
                f"{LOUDNESS_TARGET_LUFS:g} LUFS target (ATSC A/85); the renditions are normalised to it.",
            )
    return found


def _rate(bits_per_second: int) -> str:
    """A bitrate as people read it: in Mbit/s from 1 Mbit/s up, in kbit/s below (never "0.0 Mbit/s")."""
    if bits_per_second >= 1_000_000:
        return f"{bits_per_second / 1e6:.1f} Mbit/s"
    return f"{max(1, round(bits_per_second / 1000))} kbit/s"
