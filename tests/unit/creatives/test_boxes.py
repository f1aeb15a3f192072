"""read_layout() on real MP4s generated with PyAV and on box structures written by hand."""

import struct

import av
import pytest

from app.creatives import boxes
from app.creatives.boxes import Layout, read_layout
from tests import media_files


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def large_box(kind: bytes, payload: bytes) -> bytes:
    """A box with a 64-bit size."""
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def full(payload: bytes) -> bytes:
    return b"\0\0\0\0" + payload  # version and flags


def track(handler: bytes, samples: int = 0, chunks: int = 0) -> bytes:
    tables = box(b"stsz", full(struct.pack(">II", 0, samples))) + box(
        b"stco", full(struct.pack(">I", chunks))
    )
    handler_box = box(b"hdlr", full(b"\0\0\0\0" + handler + bytes(12)))
    return box(b"trak", box(b"mdia", handler_box + box(b"minf", box(b"stbl", tables))))


FTYP = box(b"ftyp", b"isom\0\0\2\0isomiso2mp41")


def write(tmp_path, data: bytes):
    path = tmp_path / "ad.mp4"
    path.write_bytes(data)
    return path


def test_reads_the_tracks_and_tables_of_a_generated_mp4(tmp_path):
    path = media_files.make_mp4(tmp_path / "ad.mp4", seconds=2.0, fps=25)
    with av.open(str(path)) as container:
        samples = sum(len(stream.index_entries) for stream in container.streams)

    layout = read_layout(path)

    assert layout.handlers == ("vide", "soun")
    assert (layout.tracks("vide"), layout.tracks("soun")) == (1, 1)
    assert samples < layout.table_entries <= 2 * samples  # each sample, and each chunk
    assert layout.compressed_header is False


def test_counts_the_samples_of_movie_fragments(tmp_path):
    path = tmp_path / "fragmented.mp4"
    with av.open(str(path), "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as output:
        video = output.add_stream("h264", rate=25)
        video.width, video.height, video.pix_fmt, video.gop_size = 160, 120, "yuv420p", 5
        video.options = {"preset": "ultrafast"}
        for index in range(20):
            frame = av.VideoFrame(160, 120, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = index
            output.mux(video.encode(frame))
        output.mux(video.encode())

    layout = read_layout(path)

    assert layout.handlers == ("vide",)
    assert layout.table_entries == 20  # the movie box lists none; the fragments' runs list each frame


def test_reads_64_bit_sizes_and_a_last_box_running_to_the_end(tmp_path):
    movie = large_box(b"moov", track(b"vide", samples=5, chunks=1) + track(b"soun", samples=9, chunks=3))
    path = write(tmp_path, FTYP + movie + struct.pack(">I4s", 0, b"mdat") + bytes(100))

    assert read_layout(path) == Layout(("vide", "soun"), 18, False)


def test_a_movie_box_cut_short_is_read_as_far_as_the_file_goes(tmp_path):
    movie = box(b"moov", track(b"soun", samples=7) * 3)
    path = write(tmp_path, FTYP + movie[: -len(track(b"soun")) // 2])

    # The third track's handler is within the file, its tables are not.
    assert read_layout(path) == Layout(("soun", "soun", "soun"), 14, False)


def test_the_first_movie_box_counts(tmp_path):
    path = write(tmp_path, FTYP + box(b"moov", track(b"vide")) + box(b"moov", track(b"soun") * 9))

    assert read_layout(path).handlers == ("vide",)


def test_flags_a_compressed_movie_header(tmp_path):
    assert read_layout(media_files.make_mp4_with_compressed_header(tmp_path / "ad.mp4")).compressed_header


def test_a_track_without_a_handler(tmp_path):
    path = write(tmp_path, FTYP + box(b"moov", box(b"trak", box(b"mdia", box(b"hdlr", b"\0")))))

    assert read_layout(path) == Layout(("",), 0, False)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"This is a text file, not a video.\n" * 20,
        FTYP + box(b"mdat", bytes(64)),
        FTYP + b"\0\0\0\4moov",
    ],
    ids=["empty", "text", "no-movie-box", "box-smaller-than-its-header"],
)
def test_no_movie_box(tmp_path, data):
    assert read_layout(write(tmp_path, data)) is None


def test_gives_up_after_max_boxes(tmp_path, monkeypatch):
    monkeypatch.setattr(boxes, "MAX_BOXES", 10)
    path = write(tmp_path, FTYP + box(b"free") * 20 + box(b"moov", track(b"vide")))

    with pytest.raises(boxes.TooManyBoxes):
        read_layout(path)
