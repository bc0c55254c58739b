"""A voice-leading evaluator: the textbook rules of four-part writing, counted so Bach and a model compare alike.

Everything is counted on the grid of a :class:`~course_lib.voices.Lines` (eighth notes) and
given as a rate with its denominator, so a long piece and a short one weigh by what they hold:

- **parallel fifths / octaves / unisons**, per 100 *voice-pair moves*. A move of a pair is a
  step at which both voices sound before and after and at least one changes pitch; a parallel
  is a move in which both voices change pitch in the same direction and the interval between
  them is a perfect fifth (7 semitones up to octaves: 7, 19, 31), an octave (12, 24, ...) or a
  unison (0) both before and after. All six pairs are counted. A fifth reached by contrary
  motion is not a parallel.
- **crossings**, per 100 adjacent-pair steps: a lower voice sounds above the voice above it.
- **overlaps**, per 100 adjacent-pair moves: a voice moves past the note the neighbouring voice
  has just left (the alto goes above where the soprano was).
- **out of range**, per 100 notes: a note outside S C4-G5, A G3-D5, T C3-G4, B E2-C4, at the
  pitch the music was written: a chorale moved to C major or A minor is moved back first
  (:attr:`~course_lib.voices.Lines.transposition`), since the move alone pushes voices out.
- **wide spacing**, per 100 steps of soprano-alto and alto-tenor: more than an octave apart.
- **cadences at fermatas**, per 100 fermatas. A fermata ends its phrase on a *cadence* when the
  chord sounding at the end of the fermata note is a root-position triad (all four voices sound;
  the bass has the root; the third is present; no pitch class outside the triad) and the bass
  reached that root from its previous note of another pitch class by a fourth or a fifth
  (V-I, IV-I, I-V) or by a step (V6-I, IV-V, V-vi, the Phrygian iv6-V), not by a third.
  A suspension that resolves during the fermata is fine (the end counts); an inversion, a
  seventh chord, a missing third, or a bass that leaps a third onto the chord is not a
  cadence. The test does not know the key: any root-position triad reached that way passes
  (ii-iii too), so it is looser than "an authentic, plagal, half or deceptive cadence in the
  key". Bach's own chorales meet it at about 9 fermatas in 10.

The harmoniser of notebook 09 is trained with penalties for parallels and for the cadence test
above (:data:`PENALISED`), so those figures partly measure how well it learned the judge. The
figures of :data:`UNPENALISED` are rules its loss never sees, several of them aware of the key
of each phrase (:mod:`course_lib.phrase_keys`):

- **hidden fifths / octaves**, per 100 moves of soprano and bass: both move the same way into a
  perfect fifth or octave (not from one: that is a parallel) while the soprano leaps.
- **doubled leading tones**, per 100 chords (steps where a voice starts a note and all four
  sound): two voices on the leading tone of the phrase's key.
- **unresolved leading tones**, per 100 leading tones in soprano or bass over a dominant chord:
  the voice's next note is not the tonic (a leading tone held into a fermata is not counted).
- **cadences in key**, per 100 fermatas: an authentic, plagal, half or deceptive cadence in the
  key of the phrase (:func:`course_lib.phrase_keys.cadence_kind`).

The module only evaluates: :func:`figures` scores pieces, :func:`figure_table` lays out the figures
of several rows side by side; :func:`course_lib.harmonising.model_rows` writes the pieces a
comparison of models scores.

Notebook: 09_four_voices
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np

from course_lib.phrase_keys import cadence_kind, chord_root, keys_by_step
from course_lib.voices import RANGES, Lines

MARK_COLOURS = {"parallel": "#d00000", "crossing": "#0057d9"}  # red and blue: told apart with most colour vision
PAIRS = tuple(combinations(range(4), 2))  # (upper, lower): all six pairs
ADJACENT = ((0, 1), (1, 2), (2, 3))
UPPER_ADJACENT = ((0, 1), (1, 2))
CADENCE_APPROACH = (1, 2, 5, 7, 10, 11)  # (root - previous bass) mod 12: a step or a fourth/fifth, not a third
# figure: (count, denominator, scale): reported as scale * count / denominator
FIGURES = {
    "parallel_fifths": ("fifths", "pair_moves", 100),
    "parallel_octaves": ("octaves", "pair_moves", 100),
    "parallel_unisons": ("unisons", "pair_moves", 100),
    "parallels": ("parallels", "pair_moves", 100),
    "crossings": ("crossings", "adjacent_steps", 100),
    "overlaps": ("overlaps", "adjacent_moves", 100),
    "out_of_range": ("out_of_range", "notes", 100),
    "wide_spacing": ("wide", "upper_steps", 100),
    "cadences": ("cadences", "fermatas", 100),
    "hidden_fifths_octaves": ("hidden", "outer_moves", 100),
    "doubled_leading_tones": ("doubled_leading", "chords", 100),
    "unresolved_leading_tones": ("unresolved_leading", "outer_leading", 100),
    "cadences_in_key": ("key_cadences", "fermatas", 100),
}
PENALISED = ("parallels", "cadences")  # what the harmoniser's loss penalises (notebook 09)
UNPENALISED = (  # what it never sees
    "hidden_fifths_octaves",
    "overlaps",
    "wide_spacing",
    "doubled_leading_tones",
    "unresolved_leading_tones",
    "cadences_in_key",
)
OUTER = (0, 3)
LEAP = 2  # semitones: a move larger than a whole tone is a leap


def parallel_kind(before: tuple[int, int], after: tuple[int, int]) -> str | None:
    """``"fifth"``, ``"octave"`` or ``"unison"`` if two voices move in parallel by that interval, else None.

    ``before`` and ``after`` are the (upper, lower) MIDI pitches at two consecutive steps. Both
    voices must change pitch, in the same direction, keeping a perfect interval.

    Notebook: 09_four_voices
    """
    up_move, low_move = after[0] - before[0], after[1] - before[1]
    if up_move == 0 or low_move == 0 or (up_move > 0) != (low_move > 0):
        return None
    first, second = abs(before[0] - before[1]), abs(after[0] - after[1])
    if first == 0 and second == 0:
        return "unison"
    if first % 12 == 7 and second % 12 == 7:
        return "fifth"
    if first and second and first % 12 == 0 and second % 12 == 0:
        return "octave"
    return None


def is_root_position_triad(chord: Iterable[int]) -> bool:
    """True if the pitches form a major or minor triad with its root in the lowest voice (fifth optional).

    Notebook: 09_four_voices
    """
    chord = [int(p) for p in chord]
    if not chord or min(chord) < 0:
        return False
    root = min(chord) % 12
    classes = {(p - root) % 12 for p in chord}
    thirds = classes & {3, 4}
    return len(thirds) == 1 and classes <= {0, 7} | thirds


def cadence_at(pitches: np.ndarray, first: int, end: int | None = None) -> bool:
    """True if the four voices make a cadence on the fermata note at steps ``first..end-1``.

    The chord at the last step must be a root-position triad whose bass came by a step or a
    fourth or fifth (see the module's definition).

    Notebook: 09_four_voices
    """
    end = first + 1 if end is None else end
    chord = pitches[end - 1]
    if len(chord) < 4 or (chord < 0).any() or not is_root_position_triad(chord):
        return False
    bass = int(chord[3])
    earlier = [int(p) for p in pitches[:first, 3][::-1] if p >= 0 and p % 12 != bass % 12]
    if not earlier:
        return False
    return (bass - earlier[0]) % 12 in CADENCE_APPROACH


def count(lines: Lines) -> dict[str, int]:
    """The raw counts and their denominators for one piece (see :data:`FIGURES`).

    Notebook: 09_four_voices
    """
    p = lines.pitches()
    sounding = p >= 0
    out = dict.fromkeys(
        ["fifths", "octaves", "unisons", "parallels", "pair_moves", "crossings", "adjacent_steps", "overlaps"]
        + ["adjacent_moves", "out_of_range", "notes", "wide", "upper_steps", "cadences", "fermatas", "key_cadences"],
        0,
    )
    both_before = sounding[:-1]
    both_after = sounding[1:]
    changed = p[1:] != p[:-1]
    for upper, lower in PAIRS:
        live = both_before[:, upper] & both_before[:, lower] & both_after[:, upper] & both_after[:, lower]
        moves = np.flatnonzero(live & (changed[:, upper] | changed[:, lower]))
        out["pair_moves"] += len(moves)
        for t in moves:
            kind = parallel_kind((p[t, upper], p[t, lower]), (p[t + 1, upper], p[t + 1, lower]))
            if kind:
                out[f"{kind}s"] += 1
                out["parallels"] += 1
        if (upper, lower) in ADJACENT:
            both = sounding[:, upper] & sounding[:, lower]
            out["adjacent_steps"] += int(both.sum())
            out["crossings"] += int((both & (p[:, upper] < p[:, lower])).sum())
            out["adjacent_moves"] += len(moves)
            for t in moves:
                low_past = changed[t, lower] and p[t + 1, lower] > p[t, upper]
                up_past = changed[t, upper] and p[t + 1, upper] < p[t, lower]
                out["overlaps"] += int(low_past or up_past)
        if (upper, lower) in UPPER_ADJACENT:
            both = sounding[:, upper] & sounding[:, lower]
            out["upper_steps"] += int(both.sum())
            out["wide"] += int((both & (p[:, upper] - p[:, lower] > 12)).sum())
    onsets = lines.onsets()
    for voice, (low, high) in enumerate(RANGES):
        notes = p[onsets[:, voice], voice] - lines.transposition  # at the pitch it was written
        out["notes"] += len(notes)
        out["out_of_range"] += int(((notes < low) | (notes > high)).sum())
    keys = keys_by_step(lines)
    for first, end in lines.fermata_spans():
        out["fermatas"] += 1
        out["cadences"] += int(cadence_at(p, first, end))
        out["key_cadences"] += int(cadence_kind(p, first, end, keys[first]) is not None)
    out |= key_aware_counts(lines, keys)
    return out


def key_aware_counts(lines: Lines, keys: Sequence) -> dict[str, int]:
    """Hidden fifths and octaves, doubled and unresolved leading tones, with their denominators (see above)."""
    p = lines.pitches()
    sounding = p >= 0
    onsets = lines.onsets()
    out = dict.fromkeys(
        ["hidden", "outer_moves", "doubled_leading", "chords", "unresolved_leading", "outer_leading"], 0
    )
    top, bass = OUTER
    in_fermata = np.zeros(lines.steps, bool)
    for first, end in lines.fermata_spans():
        in_fermata[first:end] = True
    for t in range(lines.steps - 1):
        if not (sounding[t, [top, bass]].all() and sounding[t + 1, [top, bass]].all()):
            continue
        up, down = p[t + 1, top] - p[t, top], p[t + 1, bass] - p[t, bass]
        if up == 0 and down == 0:
            continue
        out["outer_moves"] += 1
        before, after = (p[t, top] - p[t, bass]) % 12, (p[t + 1, top] - p[t + 1, bass]) % 12
        similar = up * down > 0
        out["hidden"] += int(similar and after in (0, 7) and before != after and abs(up) > LEAP)
    for t in range(lines.steps):
        if not sounding[t].all():
            continue
        classes = p[t] % 12
        leading = keys[t].leading_tone
        if onsets[t].any():
            out["chords"] += 1
            out["doubled_leading"] += int((classes == leading).sum() >= 2)
        if chord_root(set(classes.tolist())) not in (keys[t].dominant, keys[t].leading_tone):
            continue
        for voice in OUTER:
            if not onsets[t, voice] or classes[voice] != leading:
                continue
            end = t + 1
            while end < lines.steps and p[end, voice] == p[t, voice] and not onsets[end, voice]:
                end += 1
            if in_fermata[end - 1] or end >= lines.steps or p[end, voice] < 0:
                continue  # held into a fermata, or the line stops: nothing to resolve into here
            out["outer_leading"] += 1
            out["unresolved_leading"] += int(p[end, voice] % 12 != keys[t].tonic)
    return out


def rates(counts: dict[str, int]) -> dict[str, float]:
    """Counts turned into the reported figures (per 100 moves, steps, notes or fermatas).

    Notebook: 09_four_voices
    """
    return {
        name: (scale * counts[numerator] / counts[denominator]) if counts[denominator] else float("nan")
        for name, (numerator, denominator, scale) in FIGURES.items()
    }


def figures(pieces: Lines | Iterable[Lines]) -> dict[str, float]:
    """Every figure of the evaluator over one piece or many (counts pooled, then divided).

    Notebook: 09_four_voices
    """
    pieces = [pieces] if isinstance(pieces, Lines) else list(pieces)
    total: dict[str, int] = {}
    for piece in pieces:
        for key, value in count(piece).items():
            total[key] = total.get(key, 0) + value
    return rates(total)


def find_parallels(lines: Lines) -> list[tuple[int, int, int, str]]:
    """Every parallel as ``(step, upper voice, lower voice, kind)``: the step is where the move ends."""
    p = lines.pitches()
    found = []
    for t in range(1, lines.steps):
        for upper, lower in PAIRS:
            if min(p[t - 1, upper], p[t - 1, lower], p[t, upper], p[t, lower]) < 0:
                continue
            kind = parallel_kind((p[t - 1, upper], p[t - 1, lower]), (p[t, upper], p[t, lower]))
            if kind:
                found.append((t, upper, lower, kind))
    return found


def _note_start(lines: Lines, step: int, voice: int) -> float:
    """The beat where the note that ``voice`` sounds at ``step`` began."""
    onsets = lines.onsets()[:, voice]
    while step > 0 and not onsets[step]:
        step -= 1
    return step / lines.steps_per_beat


def marks(lines: Lines) -> dict[tuple[int, float], str]:
    """The notes to colour in a score: ``{(voice, onset beat): colour}`` (see :data:`MARK_COLOURS`).

    Both notes of both voices of every parallel (red), and the two notes of every crossing (blue).
    A note in both is red. Pass the result to :func:`course_lib.score.engrave` as ``marks``.

    Notebook: 09_four_voices
    """
    found: dict[tuple[int, float], str] = {}
    p = lines.pitches()
    for upper, lower in ADJACENT:
        for step in np.flatnonzero((p[:, upper] >= 0) & (p[:, lower] >= 0) & (p[:, upper] < p[:, lower])):
            for voice in (upper, lower):
                found[(voice, _note_start(lines, int(step), voice))] = MARK_COLOURS["crossing"]
    for step, upper, lower, _ in find_parallels(lines):
        for voice in (upper, lower):
            for at in (step - 1, step):
                found[(voice, _note_start(lines, at, voice))] = MARK_COLOURS["parallel"]
    return found


def figure_table(figures: dict[str, dict[str, float]], names: Sequence[str], by_figure: bool = False) -> str:
    """A table of the figures ``names``, one line per row of ``figures`` (``-`` where there was nothing to count).

    ``by_figure`` turns it round: one line per figure, one column per row of ``figures``, for
    long figure names.

    Notebook: 09_four_voices
    """
    if by_figure:
        label, width = max(map(len, names)) + 2, max(map(len, figures)) + 2
        lines = [" " * label + "".join(f"{row:>{width}}" for row in figures)]
        for name in names:
            cells = [f"{'-':>{width}}" if np.isnan(v[name]) else f"{v[name]:{width}.2f}" for v in figures.values()]
            lines.append(f"{name:{label}}" + "".join(cells))
        return "\n".join(lines)
    label, width = max(map(len, figures)) + 2, max(map(len, names)) + 1
    lines = [" " * label + "".join(f"{name:>{width}}" for name in names)]
    for row, values in figures.items():
        cells = [f"{'-':>{width}}" if np.isnan(values[name]) else f"{values[name]:{width}.2f}" for name in names]
        lines.append(f"{row:{label}}" + "".join(cells))
    return "\n".join(lines)
