"""Standard MIDI Files: bytes in, notes out, and back.

The reader is written to be read: a bounds-checked byte cursor, one function per layer
(chunks, variable-length numbers, events, note pairing). Every malformed input raises
:class:`MidiError` naming the problem and the byte offset.

Notebook: 01_midi_bytes
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.notes import Note, Piece, TempoMap, as_notes

PathOrBytes = str | os.PathLike | bytes | bytearray

# Number of data bytes that follow each channel-message status (by its high nibble).
CHANNEL_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
META_TEMPO = 0x51
META_TIME_SIGNATURE = 0x58
META_END_OF_TRACK = 0x2F


class MidiError(CourseError, ValueError):
    """A MIDI file that cannot be read; the message names the problem and the byte offset.

    Notebook: 01_midi_bytes
    """

    def __init__(self, problem: str, offset: int | None = None) -> None:
        self.problem = problem
        self.offset = offset
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{problem}{where}")


@dataclass(frozen=True)
class MidiEvent:
    """One event of a track, in absolute ticks.

    ``kind`` is ``"channel"`` (``status`` is the status byte, ``data`` its data bytes),
    ``"meta"`` (``status`` is the meta type) or ``"sysex"``.

    Notebook: 01_midi_bytes
    """

    tick: int
    kind: str
    status: int
    data: bytes


@dataclass(frozen=True)
class MidiHeader:
    """The ``MThd`` chunk: file format (0, 1 or 2), number of tracks, ticks per quarter note."""

    format: int
    n_tracks: int
    ticks_per_beat: int


def read_variable_length(data: bytes, offset: int) -> tuple[int, int]:
    """Decode a variable-length quantity starting at ``offset``.

    Seven bits per byte, most significant first; a set top bit means "more bytes follow".
    At most four bytes (values up to 0x0FFFFFFF).

    Returns
    -------
    (value, offset_after)

    Notebook: 01_midi_bytes
    """
    value = 0
    for i in range(4):
        if offset + i >= len(data):
            raise MidiError("variable-length number runs past the end of the data", offset)
        byte = data[offset + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, offset + i + 1
    raise MidiError("variable-length number longer than 4 bytes", offset)


def encode_variable_length(value: int) -> bytes:
    """Encode ``value`` (0..0x0FFFFFFF) as a variable-length quantity.

    Notebook: 01_midi_bytes
    """
    if not 0 <= value <= 0x0FFFFFFF:
        raise ValueError(f"variable-length value out of range: {value}")
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def split_chunks(data: bytes) -> list[tuple[bytes, int, bytes]]:
    """Split a file into ``(type, offset_of_body, body)`` chunks.

    Bytes after the last whole chunk that cannot start a chunk (fewer than 8) are ignored,
    as most players do.

    Notebook: 01_midi_bytes
    """
    chunks = []
    offset = 0
    while offset + 8 <= len(data):
        kind = bytes(data[offset : offset + 4])
        (length,) = struct.unpack(">I", data[offset + 4 : offset + 8])
        body_start = offset + 8
        if body_start + length > len(data):
            raise MidiError(
                f"chunk {kind!r} says it is {length} bytes long but only "
                f"{len(data) - body_start} remain (truncated file?)",
                offset + 4,
            )
        chunks.append((kind, body_start, bytes(data[body_start : body_start + length])))
        offset = body_start + length
    return chunks


def parse_header(data: bytes) -> MidiHeader:
    """Read the ``MThd`` chunk at the start of ``data``.

    Notebook: 01_midi_bytes
    """
    if len(data) == 0:
        raise MidiError("empty data: a MIDI file starts with 'MThd'", 0)
    if data[:4] != b"MThd":
        raise MidiError(f"not a MIDI file: starts with {bytes(data[:4])!r}, expected b'MThd'", 0)
    if len(data) < 14:
        raise MidiError("header chunk truncated: fewer than 14 bytes", len(data))
    (length,) = struct.unpack(">I", data[4:8])
    if length < 6:
        raise MidiError(f"header chunk length {length} is less than 6", 4)
    fmt, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if fmt not in (0, 1):
        kind = "format 2 (independent sequences) is not supported" if fmt == 2 else "unknown"
        raise MidiError(f"MIDI file format {fmt}: {kind}", 8)
    if division & 0x8000:
        raise MidiError("SMPTE time division is not supported (only ticks per beat)", 12)
    if division == 0:
        raise MidiError("time division of 0 ticks per beat", 12)
    return MidiHeader(fmt, n_tracks, division)


def parse_track(body: bytes, base_offset: int = 0) -> list[MidiEvent]:
    """Decode one ``MTrk`` body into events with absolute tick times.

    Handles running status (a channel message may omit its status byte when it repeats the
    previous one). ``base_offset`` is where the body starts in the file, for error messages.

    Notebook: 01_midi_bytes
    """
    events: list[MidiEvent] = []
    tick = 0
    offset = 0
    running_status: int | None = None

    def take(count: int, what: str) -> bytes:
        if offset + count > len(body):
            raise MidiError(f"track ends inside {what}", base_offset + offset)
        return body[offset : offset + count]

    while offset < len(body):
        try:
            delta, offset = read_variable_length(body, offset)
        except MidiError as error:
            raise MidiError(f"delta time: {error.problem}", base_offset + offset) from None
        tick += delta
        status = take(1, "an event")[0]
        if status == 0xFF:  # meta event: FF type length data
            meta_type = take(2, "a meta event")[1]
            offset += 2
            try:
                length, offset = read_variable_length(body, offset)
            except MidiError as error:
                raise MidiError(f"meta event length: {error.problem}", base_offset + offset) from None
            events.append(MidiEvent(tick, "meta", meta_type, bytes(take(length, "a meta event"))))
            offset += length
            if meta_type == META_END_OF_TRACK:
                break
        elif status in (0xF0, 0xF7):  # system exclusive: F0 length data
            offset += 1
            try:
                length, offset = read_variable_length(body, offset)
            except MidiError as error:
                raise MidiError(f"sysex length: {error.problem}", base_offset + offset) from None
            events.append(MidiEvent(tick, "sysex", status, bytes(take(length, "a sysex event"))))
            offset += length
        else:
            if status & 0x80:
                if status >= 0xF0:
                    raise MidiError(f"unexpected system status byte 0x{status:02X} in a track", base_offset + offset)
                running_status = status
                offset += 1
            elif running_status is None:
                raise MidiError(
                    f"data byte 0x{status:02X} where a status byte was expected (no running status)",
                    base_offset + offset,
                )
            n_data = CHANNEL_DATA_BYTES[running_status & 0xF0]
            payload = take(n_data, "a channel message")
            for i, value in enumerate(payload):
                if value > 127:
                    raise MidiError(f"data byte 0x{value:02X} > 127 in a channel message", base_offset + offset + i)
            events.append(MidiEvent(tick, "channel", running_status, bytes(payload)))
            offset += n_data
    return events


def pair_notes(events: Iterable[MidiEvent], ticks_per_beat: int, voice: int = 0) -> list[Note]:
    """Turn note-on / note-off events into :class:`Note` objects (times in beats).

    A note-on with velocity 0 is a note-off. A note-on for a pitch already sounding on the
    same channel ends the old note first (a re-attack). Note-offs with no note-on are ignored;
    notes never closed end at the track's last event.

    Notebook: 01_midi_bytes
    """
    sounding: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (start tick, velocity)
    notes: list[Note] = []
    last_tick = 0

    def close(key: tuple[int, int], tick: int) -> None:
        start, velocity = sounding.pop(key)
        if tick > start:
            notes.append(Note(start / ticks_per_beat, tick / ticks_per_beat, key[1], velocity, voice))

    for event in events:
        last_tick = max(last_tick, event.tick)
        if event.kind != "channel" or event.status & 0xF0 not in (0x80, 0x90):
            continue
        channel, pitch, velocity = event.status & 0x0F, event.data[0], event.data[1]
        key = (channel, pitch)
        is_on = event.status & 0xF0 == 0x90 and velocity > 0
        if key in sounding:
            close(key, event.tick)
        if is_on:
            sounding[key] = (event.tick, velocity)
    for key in list(sounding):
        close(key, last_tick)
    return sorted(notes)


def _read_bytes(source: PathOrBytes) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    return Path(source).read_bytes()


def read_midi(source: PathOrBytes) -> Piece:
    """Read a Standard MIDI File (format 0 or 1) from a path or bytes into a :class:`Piece`.

    Each track with notes becomes a voice (numbered from 0 in file order); tempo and
    time-signature meta events from any track are kept (the first time signature wins).

    Notebook: 01_midi_bytes
    """
    data = _read_bytes(source)
    header = parse_header(data)
    chunks = split_chunks(data)
    tracks = [(offset, body) for kind, offset, body in chunks if kind == b"MTrk"]
    if not tracks:
        raise MidiError("no track chunks (MTrk) in the file", 14)
    notes: list[Note] = []
    tempo_changes: list[tuple[float, float]] = []
    time_signature: tuple[int, int] | None = None
    voice = 0
    for offset, body in tracks:
        events = parse_track(body, offset)
        for event in events:
            if event.kind != "meta":
                continue
            if event.status == META_TEMPO and len(event.data) == 3:
                microseconds = int.from_bytes(event.data, "big")
                if microseconds > 0:
                    tempo_changes.append((event.tick / header.ticks_per_beat, 60_000_000 / microseconds))
            elif event.status == META_TIME_SIGNATURE and len(event.data) >= 2 and time_signature is None:
                time_signature = (event.data[0], 2 ** event.data[1])
        track_notes = pair_notes(events, header.ticks_per_beat, voice)
        if track_notes:
            notes.extend(track_notes)
            voice += 1
    tempo = TempoMap(tuple(dict(tempo_changes).items())) if tempo_changes else TempoMap()
    return Piece(sorted(notes), tempo, time_signature or (4, 4))


def _track_chunk(events: list[tuple[int, int, bytes]]) -> bytes:
    """Encode ``(tick, order, message)`` events as an MTrk chunk with an end-of-track."""
    body = bytearray()
    last_tick = 0
    for tick, _, message in sorted(events):
        body += encode_variable_length(tick - last_tick) + message
        last_tick = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_midi(
    music: Piece | Iterable[Note],
    path: str | os.PathLike | None = None,
    ticks_per_beat: int = 480,
) -> bytes:
    """Write notes as a format-1 MIDI file: a tempo track, then one track per voice.

    Voice ``v`` plays on channel ``v`` (skipping channel 10, the drums). Note times are
    rounded to the tick grid. Returns the bytes, and writes them to ``path`` if given.

    Notebook: 01_midi_bytes
    """
    piece = music if isinstance(music, Piece) else Piece(as_notes(music))
    conductor: list[tuple[int, int, bytes]] = []
    numerator, denominator = piece.time_signature
    log_denominator = max(denominator, 1).bit_length() - 1
    conductor.append((0, 0, bytes([0xFF, 0x58, 4, numerator, log_denominator, 24, 8])))
    for beat, bpm in piece.tempo.changes:
        microseconds = round(60_000_000 / bpm).to_bytes(3, "big")
        conductor.append((round(beat * ticks_per_beat), 1, b"\xff\x51\x03" + microseconds))
    chunks = [_track_chunk(conductor)]
    for index, voice in enumerate(piece.voices()):
        channel = index if index < 9 else index + 1
        if channel > 15:
            raise ValueError("at most 15 voices fit in the MIDI channels")
        events = []
        for note in piece.voice(voice):
            if not 0 <= note.pitch <= 127:
                raise ValueError(f"pitch {note.pitch} is outside MIDI's 0..127")
            velocity = min(max(int(note.velocity), 1), 127)
            start = round(note.start * ticks_per_beat)
            end = max(round(note.end * ticks_per_beat), start + 1)
            # Order key 0 puts note-offs before note-ons at the same tick (re-attacks).
            events.append((start, 1, bytes([0x90 | channel, note.pitch, velocity])))
            events.append((end, 0, bytes([0x80 | channel, note.pitch, 0])))
        chunks.append(_track_chunk(events))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), ticks_per_beat)
    data = header + b"".join(chunks)
    if path is not None:
        Path(path).write_bytes(data)
    return data
