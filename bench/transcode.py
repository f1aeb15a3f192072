"""`python -m bench.transcode [seconds] [fps]`: transcode time per second of video, per rendition, here.

Makes a 1920x1080 H.264/AAC mezzanine of `seconds` (default 10) at `fps` (default 25) whose pictures move
and carry grain (so the encoder has real work: flat synthetic frames would flatter it), then times what a
transcode job does with it (app.creatives.jobs): the loudness measurement, the poster, and each rendition.
Prints, per step, the wall time per second of video and the speed (seconds of video per second of work).
One process, one job: what a transcoder pod (k8s/base/transcoder.yaml) does with the cores it is given.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from app.creatives import transcode

WIDTH, HEIGHT = 1920, 1080
AUDIO_RATE = 48_000


def make_mezzanine(path: Path, seconds: float, fps: int) -> Path:
    """A 1080p H.264 (about 15 Mbit/s) and AAC stereo file: a moving gradient with grain, a tone."""
    rng = np.random.default_rng(7)
    grain = rng.integers(0, 24, (8, HEIGHT, WIDTH), dtype=np.uint8)
    columns = np.arange(WIDTH, dtype=np.uint16)
    rows = np.arange(HEIGHT, dtype=np.uint16)[:, None]
    with av.open(str(path), "w", format="mp4") as output:
        video = output.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = 15_000_000
        video.options = {"preset": "ultrafast", "x264-params": "log-level=none"}
        audio = output.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for index in range(round(seconds * fps)):
            luma = ((columns + rows * 2 + index * 6) % 180 + 30).astype(np.uint8) + grain[index % len(grain)]
            frame = av.VideoFrame.from_ndarray(np.repeat(luma[:, :, None], 3, axis=2), format="rgb24")
            frame.pts = index
            output.mux(video.encode(frame))
        output.mux(video.encode())
        total = round(seconds * AUDIO_RATE)
        tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(total) / AUDIO_RATE)).astype(np.float32)
        for start in range(0, total, 1024):
            chunk = tone[start : start + 1024]
            frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = AUDIO_RATE, start
            output.mux(audio.encode(frame))
        output.mux(audio.encode())
    return path


def timed(step):
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def main(arguments: list[str]) -> None:
    seconds = float(arguments[0]) if arguments else 10.0
    fps = int(arguments[1]) if len(arguments) > 1 else 25
    print(
        f"transcode bench: {WIDTH}x{HEIGHT} {fps} fps mezzanine of {seconds:g} s, x264 preset "
        f"{transcode.X264_PRESET}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="bench-transcode-") as directory:
        source = make_mezzanine(Path(directory) / "mezzanine.mp4", seconds, fps)
        print(f"mezzanine: {source.stat().st_size * 8 / seconds / 1e6:.1f} Mbit/s")
        loudness, elapsed = timed(lambda: transcode.measure_loudness(source))
        rows = [("loudness measurement", elapsed, "")]
        _, elapsed = timed(lambda: transcode.make_poster(source, Path(directory) / "poster.jpg"))
        rows.append(("poster", elapsed, ""))
        total = sum(row[1] for row in rows)
        for output in transcode.plan(WIDTH, HEIGHT):
            target = Path(directory) / f"{output.name}.mp4"
            encoded, elapsed = timed(
                lambda output=output, target=target: transcode.encode(
                    source, target, output, loudness.gain_db()
                )
            )
            measured = transcode.measure_loudness(target).integrated
            detail = (
                f"{encoded.bitrate / 1e6:.2f} of {output.bitrate / 1e6:.2f} Mbit/s, {encoded.codec}, "
                f"{measured:.1f} LUFS"
            )
            rows.append((f"{output.name} {output.width}x{output.height}", elapsed, detail))
            total += elapsed
            target.unlink()
        rows.append(("whole job", total, ""))
    print(f"{'step':<24}{'s per s of video':>18}{'speed':>10}  rendition")
    for name, elapsed, detail in rows:
        print(f"{name:<24}{elapsed / seconds:>18.3f}{seconds / elapsed:>9.1f}x  {detail}")


if __name__ == "__main__":
    main(sys.argv[1:])
