"""MIDI files written event by event, for tests that need what course_lib.midi.write_midi never writes:
the sustain pedal, time signatures of any kind, times off any grid."""

from __future__ import annotations

DIVISION = 480  # ticks per quarter note


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        out.append((value & 0x7F) | 0x80)
    return bytes(reversed(out))


def track(events: list[tuple[int, bytes]]) -> bytes:
    """One track chunk from ``(absolute tick, event bytes)``, in time order, note-offs first at a tick."""
    body, last = b"", 0
    for tick, data in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 != 0x80)):
        body += vlq(tick - last) + data
        last = tick
    body += vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def midi_file(tracks: list[list[tuple[int, bytes]]]) -> bytes:
    header = (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + len(tracks).to_bytes(2, "big")
    return b"MThd" + header + DIVISION.to_bytes(2, "big") + b"".join(track(t) for t in tracks)


def note(channel: int, start: float, end: float, pitch: int, velocity: int = 80) -> list[tuple[int, bytes]]:
    """A note from beat ``start`` to beat ``end`` (any float: performances are off the grid)."""
    on, off = round(start * DIVISION), round(end * DIVISION)
    return [(on, bytes([0x90 | channel, pitch, velocity])), (off, bytes([0x80 | channel, pitch, 0]))]


def meter(numerator: int, denominator_log2: int, bpm: float = 100.0) -> list[tuple[int, bytes]]:
    tempo = round(60_000_000 / bpm).to_bytes(3, "big")
    return [(0, b"\xff\x51\x03" + tempo), (0, bytes([0xFF, 0x58, 4, numerator, denominator_log2, 24, 8]))]


def pedal(channel: int, down: float, up: float) -> list[tuple[int, bytes]]:
    return [
        (round(down * DIVISION), bytes([0xB0 | channel, 64, 127])),
        (round(up * DIVISION), bytes([0xB0 | channel, 64, 0])),
    ]
