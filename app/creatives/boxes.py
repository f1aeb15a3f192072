"""What an MP4 declares in its box structure (ISO/IEC 14496-12), read before FFmpeg parses the file.

Opening an MP4, FFmpeg's demuxer creates a stream for every track (and, for stream analysis, a decoder for
each), and an index entry for every sample and chunk the tables declare. Both cost memory before a single
frame is decoded, and a header can declare far more than the file holds: 500 tracks sharing the same few
packets (350 MB to open), or twenty million samples in a 23 KB file (700 MB: a constant sample size needs no
table, and nothing checks the count against the media). This scan reads only box headers and a few counts,
so that probe() refuses such a file before FFmpeg builds anything from it.

It reads the places the standard defines: the tracks of the movie box (moov/trak) with their handler
(mdia/hdlr) and their sample and chunk tables (mdia/minf/stbl/stsz|stz2|stco|co64), and the track runs of
top-level movie fragments (moof/traf/trun). FFmpeg is more lenient and also follows such boxes nested in
other places; probe() bounds the streams it may create there too (its max_streams option), but not the
tables.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# Boxes read in all before giving up: an MP4 creative has a few dozen (a few thousand when fragmented).
MAX_BOXES = 200_000

_HEADER = struct.Struct(">I4s")
_UINT32 = struct.Struct(">I")
_UINT64 = struct.Struct(">Q")

# Where each table keeps its entry count, after the version and flags of its full-box header.
_SAMPLE_TABLES = {b"stsz": 8, b"stz2": 8}  # after the (default) sample size or the field size
_CHUNK_TABLES = {b"stco": 4, b"co64": 4}
_TRACK_RUN_COUNT = 4
_HANDLER_TYPE = 8  # after pre_defined


@dataclass(frozen=True)
class Layout:
    """What the movie box and the fragments declare."""

    handlers: tuple[str, ...]  # one per track: "vide", "soun", "text", "tmcd"... ("" when it names none)
    table_entries: int  # samples and chunks listed by the sample tables and the fragments' track runs
    compressed_header: bool  # a QuickTime compressed movie header (cmov), which FFmpeg inflates in memory

    def tracks(self, handler: str) -> int:
        return self.handlers.count(handler)


class TooManyBoxes(ValueError):
    """The file holds more than MAX_BOXES boxes where the scan looks."""


@dataclass(frozen=True)
class _Box:
    kind: bytes
    start: int  # first byte of the payload
    end: int  # clamped to its parent: a box claiming more is read up to where its parent ends


class _Reader:
    def __init__(self, file: BinaryIO):
        self.file = file
        self.read_boxes = 0

    def boxes(self, start: int, end: int) -> Iterator[_Box]:
        """The boxes between start and end, up to the first malformed header."""
        position = start
        while position + _HEADER.size <= end:
            self.read_boxes += 1
            if self.read_boxes > MAX_BOXES:
                raise TooManyBoxes(f"more than {MAX_BOXES} boxes")
            size, kind = _HEADER.unpack(self._read(position, _HEADER.size))
            header = _HEADER.size
            if size == 1:  # a 64-bit size follows the type
                if position + 16 > end:
                    return
                size, header = _UINT64.unpack(self._read(position + 8, 8))[0], 16
            elif size == 0:  # the box runs to the end of its parent
                size = end - position
            if size < header:
                return
            yield _Box(kind, position + header, min(position + size, end))
            position += size

    def children(self, box: _Box, kind: bytes) -> Iterator[_Box]:
        return (child for child in self.boxes(box.start, box.end) if child.kind == kind)

    def uint32(self, box: _Box, offset: int) -> int:
        """The 32-bit field at `offset` in the box's payload, 0 when the box is too short to hold it."""
        if box.start + offset + 4 > box.end:
            return 0
        return _UINT32.unpack(self._read(box.start + offset, 4))[0]

    def fourcc(self, box: _Box, offset: int) -> str:
        if box.start + offset + 4 > box.end:
            return ""
        return self._read(box.start + offset, 4).decode("latin-1")

    def _read(self, position: int, size: int) -> bytes:
        self.file.seek(position)
        return self.file.read(size)


def read_layout(path: str | os.PathLike) -> Layout | None:
    """The layout of the MP4 at `path`, or None when it has no movie box (not an MP4, or one cut before it).

    Raises TooManyBoxes when the boxes are too many to read."""
    with open(path, "rb") as file:
        reader = _Reader(file)
        size = os.fstat(file.fileno()).st_size
        movie = None
        fragment_entries = 0
        for box in reader.boxes(0, size):
            if box.kind == b"moov" and movie is None:  # FFmpeg, too, reads the first movie box only
                movie = box
            elif box.kind == b"moof":
                fragment_entries += _fragment_entries(reader, box)
        if movie is None:
            return None
        handlers = []
        table_entries = fragment_entries
        compressed = False
        for box in reader.boxes(movie.start, movie.end):
            if box.kind == b"cmov":
                compressed = True
            elif box.kind == b"trak":
                handler, entries = _track(reader, box)
                handlers.append(handler)
                table_entries += entries
        return Layout(tuple(handlers), table_entries, compressed)


def _track(reader: _Reader, track: _Box) -> tuple[str, int]:
    handler, entries = "", 0
    for media in reader.children(track, b"mdia"):
        for box in reader.boxes(media.start, media.end):
            if box.kind == b"hdlr" and not handler:
                handler = reader.fourcc(box, _HANDLER_TYPE)
            elif box.kind == b"minf":
                for table in (
                    t for stbl in reader.children(box, b"stbl") for t in reader.boxes(stbl.start, stbl.end)
                ):
                    offset = _SAMPLE_TABLES.get(table.kind, _CHUNK_TABLES.get(table.kind))
                    if offset is not None:
                        entries += reader.uint32(table, offset)
    return handler, entries


def _fragment_entries(reader: _Reader, fragment: _Box) -> int:
    return sum(
        reader.uint32(run, _TRACK_RUN_COUNT)
        for track in reader.children(fragment, b"traf")
        for run in reader.children(track, b"trun")
    )
