"""Standard MIDI Files: bytes in, notes out, and back.

The reader is written to be read: a bounds-checked byte cursor, one function per layer
(chunks, variable-length numbers, events, note pairing). Every malformed input raises
:class:`MidiError` naming the problem and the byte offset.

Notebook: 01_midi_bytes
"""

from __future__ import annotations

import os
import struct
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError
from course_lib.notes import Note, Piece, TempoMap, as_notes
from course_lib.sustain import SUSTAIN_PEDAL, pedal_spans, sustain

PathOrBytes = str | os.PathLike | bytes | bytearray

# Number of data bytes that follow each channel-message status (by its high nibble).
CHANNEL_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
META_TEMPO = 0x51
META_TIME_SIGNATURE = 0x58
META_END_OF_TRACK = 0x2F
META_KEY_SIGNATURE = 0x59
# A key signature's tonic by its number of sharps (negative: flats), -7..7, in major and in minor.
MAJOR_TONICS = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
MINOR_TONICS = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
DRUM_CHANNEL = 9  # channel 10 as musicians count: General MIDI's percussion
MAX_DELTA = 0x0FFFFFFF  # the largest delta time a variable-length number holds
MAX_TIME_SIGNATURE_DENOMINATOR_LOG = 6  # up to /64; a byte of 2 ** 255 is a corrupt file


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

    Notebook: 00_setup_check
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

    size = len(body)
    while offset < size:
        if body[offset] < 0x80:  # a one-byte delta time, by far the most common: no function call
            tick += body[offset]
            offset += 1
        else:
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
            if max(payload) > 127:
                i = next(i for i, value in enumerate(payload) if value > 127)
                raise MidiError(f"data byte 0x{payload[i]:02X} > 127 in a channel message", base_offset + offset + i)
            events.append(MidiEvent(tick, "channel", running_status, bytes(payload)))
            offset += n_data
    return events


def pair_notes(
    events: Iterable[MidiEvent], ticks_per_beat: int, voice: int = 0, channels: Container[int] | None = None
) -> list[Note]:
    """Turn note-on / note-off events into :class:`Note` objects (times in beats).

    A note-on with velocity 0 is a note-off. A note-on for a pitch already sounding on the
    same channel ends the old note first (a re-attack). Note-offs with no note-on are ignored;
    notes never closed end at the track's last event. A zero-length note (on and off at the
    same tick) is dropped: it has no duration to hear or draw. ``channels`` (0-based), if
    given, keeps only the notes of those channels.

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
        if event.tick > last_tick:
            last_tick = event.tick
        if event.kind != "channel" or event.status & 0xF0 not in (0x80, 0x90):
            continue
        channel, pitch, velocity = event.status & 0x0F, event.data[0], event.data[1]
        if channels is not None and channel not in channels:
            continue
        key = (channel, pitch)
        is_on = event.status & 0xF0 == 0x90 and velocity > 0
        if key in sounding:
            close(key, event.tick)
        if is_on:
            sounding[key] = (event.tick, velocity)
    for key in list(sounding):
        close(key, last_tick)
    return sorted(notes, key=note_order)


def note_order(note: Note) -> tuple:
    """The sort key of :class:`Note`'s own order (start, end, pitch, velocity, voice), several times faster."""
    return (note.start, note.end, note.pitch, note.velocity, note.voice)


def _read_bytes(source: PathOrBytes) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    return Path(source).read_bytes()


def _time_signature(data: bytes) -> tuple[int, int] | None:
    """A time-signature meta event's ``(numerator, denominator)``, or None if it makes no sense (0/4, x/2^99)."""
    if len(data) < 2 or data[0] == 0 or data[1] > MAX_TIME_SIGNATURE_DENOMINATOR_LOG:
        return None
    return data[0], 2 ** data[1]


def _key_signature(data: bytes) -> str:
    """A key-signature meta event as text ('G major', 'D minor'), or "" if it makes no sense."""
    if len(data) < 2 or data[1] > 1:
        return ""
    sharps = int.from_bytes(data[:1], "big", signed=True)
    if not -7 <= sharps <= 7:
        return ""
    return f"{(MINOR_TONICS if data[1] else MAJOR_TONICS)[sharps + 7]} {'minor' if data[1] else 'major'}"


def _meter_and_pickup(signatures: list[tuple[float, tuple[int, int]]]) -> tuple[tuple[int, int], float]:
    """The piece's meter and pickup from its time signatures ``(beat, (numerator, denominator))``.

    A notation program writes a pickup bar as a short time signature of its own (1/4 before 4/4):
    a first signature shorter than the next one's bar, and lasting exactly its own bar, is a pickup.
    Otherwise the first signature is the meter.
    """
    if not signatures:
        return (4, 4), 0.0
    first_beat, first = signatures[0]
    if len(signatures) >= 2 and first_beat == 0:
        second_beat, second = signatures[1]
        first_bar, second_bar = first[0] * 4 / first[1], second[0] * 4 / second[1]
        if 0 < second_beat == first_bar < second_bar:
            return second, second_beat
    return first, 0.0


def read_midi(source: PathOrBytes, sustain_pedal: bool = False) -> Piece:
    """Read a Standard MIDI File (format 0 or 1) from a path or bytes into a :class:`Piece`.

    Each channel of each track that plays notes becomes a voice, numbered from 0 in file order
    (so a format-0 file with 14 channels in its one track has 14 voices). Voices on channel 10
    (General MIDI drums) are listed in ``piece.drum_voices``; piano rolls leave them out unless
    asked. Tempo and time-signature meta events from any track are kept (the first sensible time
    signature wins, unless it is a pickup bar: a short signature of its own before the meter, as
    notation programs write one; 0/4 or a denominator beyond 64 is ignored), and so is the first key
    signature (``piece.key``, e.g. 'G major'). Zero-length notes are dropped.
    With ``sustain_pedal``, a note released while its channel's sustain pedal is down lasts until
    the pedal comes up (:mod:`course_lib.sustain`), as a listener hears it.

    Notebook: 01_midi_bytes
    """
    data = _read_bytes(source)
    header = parse_header(data)
    chunks = split_chunks(data)
    tracks = [(offset, body) for kind, offset, body in chunks if kind == b"MTrk"]
    if not tracks:
        raise MidiError("no track chunks (MTrk) in the file", 14)
    notes: list[Note] = []
    drum_voices: list[int] = []
    tempo_changes: list[tuple[float, float]] = []
    signatures: list[tuple[float, tuple[int, int]]] = []
    key = ""
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
            elif event.status == META_TIME_SIGNATURE and (signature := _time_signature(event.data)):
                signatures.append((event.tick / header.ticks_per_beat, signature))
            elif event.status == META_KEY_SIGNATURE and not key:
                key = _key_signature(event.data)
        by_channel: dict[int, list[MidiEvent]] = {}
        pedals: dict[int, list[tuple[float, int]]] = {}
        for event in events:
            if event.kind == "channel" and event.status & 0xE0 == 0x80:  # note-on or note-off
                by_channel.setdefault(event.status & 0x0F, []).append(event)
            elif event.kind == "channel" and event.status & 0xF0 == 0xB0 and event.data[0] == SUSTAIN_PEDAL:
                pedals.setdefault(event.status & 0x0F, []).append((event.tick / header.ticks_per_beat, event.data[1]))
        track_end = [MidiEvent(events[-1].tick, "meta", META_END_OF_TRACK, b"")] if events else []
        for channel in sorted(by_channel):  # notes never closed end where the track ends
            channel_notes = pair_notes(by_channel[channel] + track_end, header.ticks_per_beat, voice)
            if sustain_pedal and channel in pedals:
                end = events[-1].tick / header.ticks_per_beat
                channel_notes = sorted(sustain(channel_notes, pedal_spans(pedals[channel], end)), key=note_order)
            if channel_notes:
                notes.extend(channel_notes)
                if channel == DRUM_CHANNEL:
                    drum_voices.append(voice)
                voice += 1
    tempo = TempoMap(tuple(dict(tempo_changes).items())) if tempo_changes else TempoMap()
    meter, pickup = _meter_and_pickup(sorted(signatures, key=lambda s: s[0]))  # stable: file order at one beat
    return Piece(sorted(notes, key=note_order), tempo, meter, pickup, tuple(drum_voices), key)


def _track_chunk(events: list[tuple[int, int, bytes]]) -> bytes:
    """Encode ``(tick, order, message)`` events as an MTrk chunk with an end-of-track.

    A gap longer than a delta time can hold is bridged by empty text events (``FF 01 00``),
    which readers ignore, so any tick is reachable.
    """
    body = bytearray()
    last_tick = 0
    for tick, _, message in sorted(events):
        delta = tick - last_tick
        while delta > MAX_DELTA:
            body += encode_variable_length(MAX_DELTA) + b"\xff\x01\x00"
            delta -= MAX_DELTA
        body += encode_variable_length(delta) + message
        last_tick = tick
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def voice_channels(voices: list[int], drum_voices: Container[int] = ()) -> dict[int, int]:
    """The channel (0-based) each voice is written on: drums on 9, the others on 0..15 in turn, skipping 9.

    With more than 15 pitched voices, channels are shared: each voice keeps its own track, so
    reading the file gives the voices back; a player merely hears shared channels' settings.
    """
    pitched = [c for c in range(16) if c != DRUM_CHANNEL]
    out, index = {}, 0
    for voice in voices:
        if voice in drum_voices:
            out[voice] = DRUM_CHANNEL
        else:
            out[voice] = pitched[index % len(pitched)]
            index += 1
    return out


def _pickup_signature(beats: float, log_denominator: int) -> bytes | None:
    """A time-signature event for a pickup bar of ``beats`` quarter notes, in the meter's note values or
    finer, or None where none fits (a triplet's worth): the notes keep their times, the bar goes unmarked."""
    for log in range(log_denominator, MAX_TIME_SIGNATURE_DENOMINATOR_LOG + 1):
        numerator = beats * 2**log / 4
        if numerator == int(numerator) and numerator <= 255:
            return bytes([0xFF, 0x58, 4, int(numerator), log, 24, 8])
    return None


def _key_signature_bytes(key: str) -> bytes | None:
    """The two data bytes of a key-signature meta event for 'G major', 'F# minor' or 'B- major', or None for a
    key beyond seven sharps or flats (G# major), which MIDI cannot write and the file then goes without."""
    tonic, _, mode = key.replace("-", "b").partition(" ")
    tonics = MINOR_TONICS if mode == "minor" else MAJOR_TONICS
    if tonic.capitalize() not in tonics:
        return None
    sharps = tonics.index(tonic.capitalize()) - 7
    return sharps.to_bytes(1, "big", signed=True) + bytes([mode == "minor"])


def write_midi(
    music: Piece | Iterable[Note],
    path: str | os.PathLike | None = None,
    ticks_per_beat: int = 480,
) -> bytes:
    """Write notes as a format-1 MIDI file: a tempo track, then one track per voice.

    The tempo track carries the meter, a pickup as a short bar of its own before it (as notation
    programs write one, and :func:`read_midi` reads it back), and the piece's key signature.
    Voices play on channels 1, 2, ... (skipping channel 10, the drums, which carries the piece's
    ``drum_voices``); beyond 15 voices channels are shared, one track per voice still. Note times
    are rounded to the tick grid; a note shorter than a tick lasts one tick. Every piece
    :func:`read_midi` returns can be written; a note outside MIDI's pitches 0..127 or before beat 0
    raises :class:`MidiError`. Returns the bytes, and writes them to ``path`` if given.

    Notebook: 00_setup_check
    """
    piece = music if isinstance(music, Piece) else Piece(as_notes(music))
    conductor: list[tuple[int, int, bytes]] = []
    numerator, denominator = piece.time_signature
    if 1 <= numerator <= 255 and denominator >= 1 and denominator & (denominator - 1) == 0:
        log_denominator = denominator.bit_length() - 1
        short = 0 < piece.pickup < piece.beats_per_bar
        pickup_bar = _pickup_signature(piece.pickup, log_denominator) if short else None
        if pickup_bar:  # a short bar of its own, then the meter
            conductor.append((0, 0, pickup_bar))
        start = round(piece.pickup * ticks_per_beat) if pickup_bar else 0
        conductor.append((start, 0, bytes([0xFF, 0x58, 4, numerator, log_denominator, 24, 8])))
    if key_signature := _key_signature_bytes(piece.key):
        conductor.append((0, 0, b"\xff\x59\x02" + key_signature))
    for beat, bpm in piece.tempo.changes:
        microseconds = min(max(round(60_000_000 / bpm), 1), 0xFFFFFF).to_bytes(3, "big")
        conductor.append((round(beat * ticks_per_beat), 1, b"\xff\x51\x03" + microseconds))
    chunks = [_track_chunk(conductor)]
    voices = piece.voices()
    channels = voice_channels(voices, getattr(piece, "drum_voices", ()))
    for voice in voices:
        channel = channels[voice]
        events = []
        for note in piece.voice(voice):
            if not 0 <= note.pitch <= 127:
                raise MidiError(f"pitch {note.pitch} is outside MIDI's 0..127: transpose or drop the note first")
            if note.start < 0:
                raise MidiError(f"a note starts at beat {note.start}, before the piece begins: shift the notes first")
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
