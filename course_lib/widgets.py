"""Hear and see results inline: a player, a sampler, a blind A/B quiz and a latent explorer.

``Player`` is an anywidget (its small front end is ``player.js``, plain DOM, loaded from the
package, never from a CDN). The others are ipywidgets containers around players.

Notebook: 00_setup_check
"""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import numpy as np
import traitlets

from course_lib.audio import SAMPLE_RATE, opening, synthesize, wav_bytes
from course_lib.midi import write_midi
from course_lib.notes import Note, Piece, TempoMap
from course_lib.pianoroll import PIANO_LOWEST, as_piece
from course_lib.score import score_view
from course_lib.voices import Lines

Music = Piece | Sequence[Note] | np.ndarray | Lines
PLAYER_SECONDS = 10 * 60.0  # a longer piece sounds its first ten minutes (a 26 MB WAV sent to the browser)
_ASSETS = Path(__file__).parent


def roll_picture(piece: Piece, title: str | None = None, size: tuple[float, float] = (9.0, 2.8), dpi: int = 100):
    """PNG bytes of the piece's piano roll, and where its time axis lies: ``(png, x0, x1, end_beat)``.

    ``x0`` and ``x1`` are the left and right ends of the axes as fractions of the image width,
    so a front end can map a time to a pixel column. Drawn off screen: nothing appears in the
    notebook.

    Notebook: 00_setup_check
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from course_lib.plot import plot_pianoroll

    figure = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    plot_pianoroll(piece, title=title, ax=ax)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    box = ax.get_position()
    return buffer.getvalue(), float(box.x0), float(box.x1), float(ax.get_xlim()[1])


def time_map(tempo: TempoMap, end_beat: float, x0: float, x1: float) -> list[list[float]]:
    """``[seconds, x-fraction]`` pairs, linear between them, that place a sounding time on the roll.

    One pair at the start, the end and each tempo change between: within one tempo, beats and
    seconds are proportional.

    Notebook: 00_setup_check
    """
    beats = sorted({0.0, end_beat} | {b for b, _ in tempo.changes if 0 < b < end_beat})
    return [[tempo.seconds(b), x0 + (x1 - x0) * b / end_beat] for b in beats]


class Player(anywidget.AnyWidget):
    """Piano roll and audio together: a playhead follows the sound, clicking the roll seeks.

    ``Player(music)`` takes a :class:`Piece`, a list of notes, a piano roll (read with
    ``steps_per_beat`` and ``lowest``) or four-voice :class:`~course_lib.voices.Lines`; ``tempo``
    overrides the piece's tempo. ``update(music)`` shows new music in the same player. "Save MIDI"
    downloads the file in the browser; :meth:`save_midi` writes it from Python. ``score=True`` (or
    a dict of :func:`course_lib.score.engrave` options) adds the engraved score: the notes sounding
    are highlighted as the audio plays, and clicking a note moves the playhead to it. The MIDI
    file is named after the title unless ``filename`` says otherwise. Music longer than
    ``PLAYER_SECONDS`` shows whole but sounds its first ten minutes, and a caption says so.

    Notebook: 00_setup_check
    """

    _esm = (_ASSETS / "player.js").read_text()
    _css = (_ASSETS / "player.css").read_text()

    wav = traitlets.Bytes(b"").tag(sync=True)
    roll_png = traitlets.Bytes(b"").tag(sync=True)
    time_map = traitlets.List([]).tag(sync=True)
    midi = traitlets.Bytes(b"").tag(sync=True)
    filename = traitlets.Unicode("music.mid").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    show_roll = traitlets.Bool(True).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    position = traitlets.Float(0.0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    score_svg = traitlets.Unicode("").tag(sync=True)
    score_map = traitlets.List([]).tag(sync=True)  # [seconds, [ids of the notes sounding]]
    score_caption = traitlets.Unicode("").tag(sync=True)
    caption = traitlets.Unicode("").tag(sync=True)  # says when only the opening of a long piece sounds

    def __init__(
        self,
        music: Music = (),
        *,
        title: str = "",
        filename: str | None = None,
        steps_per_beat: int = 4,
        lowest: int = PIANO_LOWEST,
        tempo: TempoMap | float | None = None,
        renderer: str = "auto",
        instrument: str | int = "piano",
        show_roll: bool = True,
        score: bool | Mapping[str, Any] = False,
        **kwargs: Any,
    ) -> None:
        filename = filename or f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-') or 'music'}.mid"
        super().__init__(title=title, filename=filename, show_roll=show_roll, **kwargs)
        self.options = {"steps_per_beat": steps_per_beat, "lowest": lowest, "tempo": tempo}
        self.sound = {"renderer": renderer, "instrument": instrument}
        self.score_options = dict(score) if isinstance(score, Mapping) else {} if score else None
        self.piece = Piece([])
        self.update(music)

    @traitlets.validate("position")
    def _clamp_position(self, proposal: dict) -> float:
        return float(min(max(proposal["value"], 0.0), self.duration))

    def update(self, music: Music, **options: Any) -> None:
        """Show and sound new music; ``options`` (``steps_per_beat``, ``lowest``, ``tempo``) change for good."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}; expected some of {sorted(self.options)}")
        self.options.update(options)
        piece = as_piece(music.to_piece() if isinstance(music, Lines) else music, **self.options)
        seconds = piece.tempo.seconds(piece.end)
        heard = opening(piece, PLAYER_SECONDS) if seconds > PLAYER_SECONDS else piece
        waveform = synthesize(heard, SAMPLE_RATE, **self.sound)
        png, x0, x1, end_beat = roll_picture(piece)
        playable = Piece(
            [n for n in piece.notes if 0 <= n.pitch <= 127], piece.tempo, piece.time_signature, 0.0, piece.drum_voices
        )
        with self.hold_sync():
            self.piece = piece
            self.position = 0.0
            self.duration = len(waveform) / SAMPLE_RATE
            self.wav = wav_bytes(waveform, SAMPLE_RATE)
            self.roll_png = png
            self.time_map = time_map(piece.tempo, end_beat, x0, x1)
            self.midi = write_midi(playable) if playable.notes else b""
            cut = f"Sound: the first {PLAYER_SECONDS / 60:.0f} of {seconds / 60:.0f} minutes; Save MIDI has all of it."
            self.caption = cut if heard is not piece else ""
            if self.score_options is not None:
                engraved = music if isinstance(music, Lines) else piece  # lines keep their fermatas
                view = score_view(engraved, piece.tempo, self.score_options)
                self.score_svg, self.score_map, self.score_caption = view

    def save_midi(self, path: str | Path) -> Path:
        """Write the shown music as a MIDI file; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.midi)
        return path


def make_control(name: str, spec: Any) -> ipywidgets.ValueWidget:
    """A widget from a short spec: ``(min, max, step, value)`` gives a slider (int or float),
    a list of strings a dropdown, a bool a checkbox; a widget is used as it is.

    Notebook: 05_lstm_melody
    """
    style = {"description_width": "initial"}
    if isinstance(spec, ipywidgets.ValueWidget):
        return spec
    if isinstance(spec, bool):
        return ipywidgets.Checkbox(value=spec, description=name, style=style)
    if isinstance(spec, list) and spec and all(isinstance(s, str) for s in spec):
        return ipywidgets.Dropdown(options=spec, value=spec[0], description=name, style=style)
    if isinstance(spec, tuple) and len(spec) == 4:
        low, high, step, value = spec
        integer = all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
        slider = ipywidgets.IntSlider if integer else ipywidgets.FloatSlider
        return slider(min=low, max=high, step=step, value=value, description=name, continuous_update=False, style=style)
    raise TypeError(f"control {name!r}: expected (min, max, step, value), a list of strings, a bool or a widget")


class _Generating(ipywidgets.VBox):
    """Runs a callback that makes music, with a busy state and errors shown in the widget."""

    def _setup_status(self) -> None:
        self.status = ipywidgets.HTML()
        self.busy = False
        self.error: str | None = None

    def _show(self, player: Player, make: Callable[[], Music], button: ipywidgets.Button | None = None) -> bool:
        """Call ``make()`` and show its music in ``player``; on an exception show it and keep the old music."""
        self.busy = True
        label = button.description if button else ""
        if button:
            button.disabled, button.description = True, "Generating..."
        self.status.value = "<i>generating...</i>"
        started = time.perf_counter()
        try:
            player.update(make())
        except Exception as error:  # shown to the student, not lost in a log
            self.error = f"{type(error).__name__}: {error}"
            self.status.value = f'<span style="color:#b00020"><b>Error</b> {html.escape(self.error)}</span>'
            return False
        else:
            self.error = None
            self.status.value = f"made in {time.perf_counter() - started:.1f} s"
            return True
        finally:
            self.busy = False
            if button:
                button.disabled, button.description = False, label


class Sampler(_Generating):
    """Sliders that regenerate music through a callback, shown in a :class:`Player`.

    ``generate(**values)`` gets one keyword per control and returns music. ``controls`` maps
    names to specs for :func:`make_control`. Moving a control regenerates (unless
    ``auto=False``); the button draws again: with the next seed when there is a ``seed`` control,
    else with the same values. Errors appear in the widget.

    Notebook: 05_lstm_melody
    """

    def __init__(
        self,
        generate: Callable[..., Music],
        controls: Mapping[str, Any],
        *,
        auto: bool = True,
        title: str = "",
        **player_options: Any,
    ) -> None:
        self.generate, self.auto = generate, auto
        self.controls = {name: make_control(name, spec) for name, spec in controls.items()}
        self.button = ipywidgets.Button(description="Generate", icon="refresh")
        self.player = Player(title=title, **player_options)
        self._setup_status()
        super().__init__(
            [ipywidgets.VBox(list(self.controls.values())), ipywidgets.HBox([self.button, self.status]), self.player]
        )
        self.button.on_click(lambda _: self.draw_again())
        if auto:
            for control in self.controls.values():
                control.observe(lambda _: self.regenerate(), names="value")
        self.regenerate()

    @property
    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def draw_again(self) -> None:
        """What the button does: move a ``seed`` control on by one (wrapping round), then generate."""
        seed = self.controls.get("seed")
        if isinstance(seed, ipywidgets.IntSlider):
            seed.value = seed.min + (seed.value - seed.min + 1) % (seed.max - seed.min + 1)
            if self.auto:
                return  # the control's observer has generated already
        self.regenerate()

    def regenerate(self) -> bool:
        """Call the callback with the current values; True when it succeeded."""
        return self._show(self.player, lambda: self.generate(**self.values), self.button)


def interpolate_latent(start: np.ndarray, end: np.ndarray, t: float, mode: str = "slerp") -> np.ndarray:
    """The point a fraction ``t`` of the way from ``start`` to ``end``.

    ``"linear"`` walks the straight line; ``"slerp"`` walks the great circle, which keeps the
    norm of Gaussian latent vectors typical (the middle of a straight line is unusually short).

    Notebook: 07_gan_pianoroll
    """
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    if start.shape != end.shape:
        raise ValueError(f"latent points differ in shape: {start.shape} vs {end.shape}")
    if mode == "linear":
        return (1 - t) * start + t * end
    if mode != "slerp":
        raise ValueError(f"mode must be 'slerp' or 'linear', not {mode!r}")
    norms = np.linalg.norm(start) * np.linalg.norm(end)
    angle = np.arccos(np.clip(np.dot(start.ravel(), end.ravel()) / norms, -1.0, 1.0)) if norms > 0 else 0.0
    if angle < 1e-6:
        return (1 - t) * start + t * end
    return (np.sin((1 - t) * angle) * start + np.sin(t * angle) * end) / np.sin(angle)


class LatentExplorer(_Generating):
    """A slider that walks between two latent points; each point is rendered to music and shown.

    ``render(z)`` turns a latent vector into music (e.g. a GAN generator plus binarisation).

    Notebook: 07_gan_pianoroll
    """

    def __init__(
        self,
        start: np.ndarray,
        end: np.ndarray,
        render: Callable[[np.ndarray], Music],
        *,
        steps: int = 10,
        mode: str = "slerp",
        title: str = "",
        **player_options: Any,
    ) -> None:
        interpolate_latent(start, end, 0.5, mode)  # checks shapes and mode before anything is shown
        self.start, self.end, self.render, self.mode = np.asarray(start), np.asarray(end), render, mode
        self.slider = ipywidgets.FloatSlider(
            value=0.0, min=0.0, max=1.0, step=1 / steps, description="A → B", continuous_update=False
        )
        self.player = Player(title=title, **player_options)
        self._setup_status()
        super().__init__([ipywidgets.HBox([self.slider, self.status]), self.player])
        self.slider.observe(lambda _: self.show(), names="value")
        self.show()

    @property
    def latent(self) -> np.ndarray:
        """The latent point under the slider."""
        return interpolate_latent(self.start, self.end, self.slider.value, self.mode)

    def show(self) -> bool:
        """Render the current point; True when it succeeded."""
        return self._show(self.player, lambda: self.render(self.latent))


class ABQuiz(ipywidgets.VBox):
    """A blind listening test: each round plays a real and a generated piece as A and B.

    The student says which is real; the widget reveals the answer, shows both piano rolls and
    keeps the score. ``pairs`` holds ``(real, generated)`` music; the side of the real piece
    is drawn with ``seed``.

    Notebook: 08_evaluation
    """

    def __init__(
        self,
        pairs: Sequence[tuple[Music, Music]],
        *,
        seed: int = 0,
        real_name: str = "Bach",
        generated_name: str = "the model",
        **player_options: Any,
    ) -> None:
        if not pairs:
            raise ValueError("the quiz needs at least one (real, generated) pair")
        self.pairs = list(pairs)
        self.real_name, self.generated_name = real_name, generated_name
        self.real_sides = ["A" if a else "B" for a in np.random.default_rng(seed).integers(0, 2, len(self.pairs))]
        self.players = {side: Player(show_roll=False, **player_options) for side in "AB"}
        self.choose = {side: ipywidgets.Button(description=f"{side} is {real_name}") for side in "AB"}
        self.next_button = ipywidgets.Button(description="Next pair", disabled=True)
        self.feedback = ipywidgets.HTML()
        self.scoreboard = ipywidgets.HTML()
        for side, button in self.choose.items():
            button.on_click(lambda _, side=side: self.answer(side))
        self.next_button.on_click(lambda _: self.next_round())
        super().__init__(
            [
                ipywidgets.HBox([self.players["A"], self.players["B"]]),
                ipywidgets.HBox([*self.choose.values(), self.next_button]),
                self.feedback,
                self.scoreboard,
            ]
        )
        self.round, self.right, self.answered = 0, 0, 0
        self._load_round()

    @property
    def finished(self) -> bool:
        """True once the last round has been answered."""
        return self.answered == len(self.pairs)

    def _load_round(self) -> None:
        real, generated = self.pairs[self.round]
        real_side = self.real_sides[self.round]
        for side, player in self.players.items():
            player.show_roll = False
            player.title = f"{side}"
            player.update(real if side == real_side else generated)
        for button in self.choose.values():
            button.disabled = False
        self.next_button.disabled = True
        self.feedback.value = f"Round {self.round + 1} of {len(self.pairs)}: listen to both, then choose."
        self._show_score()

    def _show_score(self) -> None:
        share = f" ({100 * self.right / self.answered:.0f}%; guessing gives 50%)" if self.answered else ""
        self.scoreboard.value = f"<b>Score:</b> {self.right} of {self.answered} right{share}"

    def answer(self, side: str) -> bool:
        """The student's choice for this round (``"A"`` or ``"B"`` is real); True when right."""
        if side not in self.players:
            raise ValueError(f"answer 'A' or 'B', not {side!r}")
        if self.answered > self.round:
            raise RuntimeError("this round is answered already: go on with next_round()")
        real_side = self.real_sides[self.round]
        correct = side == real_side
        self.answered += 1
        self.right += int(correct)
        for name, player in self.players.items():
            player.title = f"{name}: {self.real_name if name == real_side else self.generated_name}"
            player.show_roll = True
        for button in self.choose.values():
            button.disabled = True
        verdict = "Right" if correct else "Not this time"
        self.feedback.value = f"<b>{verdict}:</b> {real_side} was {html.escape(self.real_name)}."
        if self.finished:
            self.feedback.value += " That was the last pair."
        self.next_button.disabled = self.finished
        self._show_score()
        return correct

    def next_round(self) -> None:
        """Go on to the next pair (after answering this one)."""
        if self.answered <= self.round:
            raise RuntimeError("answer this round first")
        if self.finished:
            raise RuntimeError("the quiz is over")
        self.round += 1
        self._load_round()
