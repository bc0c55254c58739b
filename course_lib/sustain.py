"""The sustain pedal (MIDI controller 64): notes released while it is down sound on until it comes up.

A pianist's recording holds a chord by the pedal, not by the keys: the file says the keys went up
long before the sound stopped. :func:`sustain` gives the notes the lengths a listener hears, so
piano rolls and melody lines of piano files are not full of holes.

Notebook: 10_your_own_music
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import replace

from course_lib.notes import Note

SUSTAIN_PEDAL = 64  # the controller number; values 64..127 mean down, 0..63 up


def pedal_spans(changes: Iterable[tuple[float, int]], end: float) -> list[tuple[float, float]]:
    """``(down, up)`` beats of the pedal from ``(beat, controller value)`` changes in time order.

    A pedal still down at the end comes up at ``end``.

    Notebook: 10_your_own_music
    """
    spans, down = [], None
    for beat, value in changes:
        if value >= 64 and down is None:
            down = beat
        elif value < 64 and down is not None:
            spans.append((down, beat))
            down = None
    if down is not None:
        spans.append((down, max(end, down)))
    return spans


def sustain(notes: Sequence[Note], spans: Sequence[tuple[float, float]]) -> list[Note]:
    """The notes with their ends moved to where the pedal comes up, for notes released while it is down.

    A sustained note stops early where the same pitch is struck again (the string is struck anew).
    Notes of one channel only: the pedal of a channel holds that channel's notes.

    Notebook: 10_your_own_music
    """
    downs = [down for down, _ in spans]
    onsets: dict[int, list[float]] = {}
    for note in notes:
        onsets.setdefault(note.pitch, []).append(note.start)
    for starts in onsets.values():
        starts.sort()
    out = []
    for note in notes:
        index = bisect_right(downs, note.end) - 1
        if index < 0 or not downs[index] < note.end < spans[index][1]:
            out.append(note)
            continue
        end = spans[index][1]
        later = onsets[note.pitch]
        following = bisect_right(later, note.start)
        if following < len(later) and later[following] < end:
            end = max(later[following], note.end)
        out.append(replace(note, end=end))
    return out
