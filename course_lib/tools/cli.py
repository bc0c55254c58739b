"""The command line, ``python -m course_lib GROUP ACTION`` (instructor tooling).

data build          parse music21's chorales into data/chorales.npz (the only command that writes data/)
data jsb MAT_FILE   convert JSB_Chorales.mat into data/jsb/jsb_chorales.npz (needs scipy)
data verify         check the bundled data files against their checksums
data import FOLDER --name NAME   import your own MIDI files into output/data/NAME (train ... --data NAME)
notebooks build     regenerate notebooks/ from solutions/
notebooks check     exit 1 if notebooks/ is not what 'notebooks build' would write
notebooks run [NN]  execute solution notebooks in full mode and store their light outputs with their provenance
train NAME          train melody, chorale, chorale-made, gan or satb into output/train/NAME (resumes if stopped)
generate NAME       write MIDI, WAV, a piano-roll PNG and a score (MusicXML, SVG) from a trained or shipped model
harmonise MIDI      write alto, tenor and bass under a melody: MIDI, WAV, PNG and a score in output/harmonised
score MIDI          engrave a MIDI file (quantised to sixteenths) as MusicXML and SVG in output/scores
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NoReturn

from course_lib.errors import CourseError
from course_lib.files import check_writable


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def probability(text: str) -> float:
    """An argparse type: a number in (0, 1]."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one command; a problem the user can fix prints one ``error:`` line and returns 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # accepted anywhere on the line
    args = _parser().parse_args([a for a in argv if a != "--debug"])
    try:
        return _run(args, argv)
    except (CourseError, OSError) as error:
        if debug:
            raise
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped (a training run resumes from its last checkpoint when you run the same command again)")
        return 130


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return " ".join(str(error).split()) or type(error).__name__


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m course_lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    groups = parser.add_subparsers(dest="group", required=True)
    data = groups.add_parser("data").add_subparsers(dest="action", required=True)
    build = data.add_parser("build", help="rebuild data/chorales.npz from music21's corpus")
    build.add_argument("--out", type=Path, default=None, help="write here instead of data/chorales.npz")
    jsb = data.add_parser("jsb", help="convert JSB_Chorales.mat")
    jsb.add_argument("mat_file", type=Path)
    data.add_parser("verify", help="check data checksums")
    imports = data.add_parser("import", help="import a folder of MIDI files into output/data/NAME")
    imports.add_argument("folder", type=Path, help="a folder of .mid/.midi files (searched recursively)")
    imports.add_argument("--name", required=True, help="the dataset's name, for 'train ... --data NAME'")
    imports.add_argument(
        "--steps-per-beat", type=positive_int, default=4, help="piano-roll frames per beat (default 4)"
    )
    imports.add_argument(
        "--max-beats", type=positive_float, default=4096, help="skip longer files (default 4096 beats)"
    )
    imports.add_argument("--seed", type=int, default=0, help="seed of the split by file (default 0)")
    imports.add_argument(
        "--no-sustain-pedal",
        dest="sustain_pedal",
        action="store_false",
        help="keep notes as long as their keys are down, ignoring the sustain pedal (controller 64)",
    )
    imports.add_argument("--workers", type=positive_int, help="processes reading files (default: one per core)")
    notebooks = groups.add_parser("notebooks").add_subparsers(dest="action", required=True)
    notebooks.add_parser("build", help="regenerate notebooks/ from solutions/")
    notebooks.add_parser("check", help="fail if notebooks/ is out of date")
    run = notebooks.add_parser("run", help="execute solutions in full mode, keep light outputs and their provenance")
    run.add_argument("prefixes", nargs="*", help="notebook numbers or names (default: all)")
    run.add_argument("--quick", action="store_true", help="run in quick mode (COURSE_QUICK=1), as the tests do")
    from course_lib.recipes import MODELS, OUTPUT_DIR
    from course_lib.sources import SOURCES

    train = groups.add_parser("train", help="train a model (early stopping, atomic checkpoints, exact resume)")
    train.add_argument("name", choices=MODELS)
    train.add_argument(
        "--data",
        help=f"{' or '.join(SOURCES)}, or NAME from 'data import' (default: jsb for chorale and chorale-made, "
        "else chorales; gan and satb train on the chorales only)",
    )
    train.add_argument("--epochs", type=positive_int, help="at most this many epochs (default: the recipe's)")
    train.add_argument("--minutes", type=positive_float, default=9.0, help="stop after the epoch that passes this time")
    train.add_argument("--out", type=Path, default=OUTPUT_DIR / "train", help="folder for NAME/ (default output/train)")
    train.add_argument("--limit", type=positive_int, help="use the first N pieces of each split only (a smoke test)")
    train.add_argument("--publish", action="store_true", help="copy the result into data/pretrained/ when done")
    train.add_argument("--seed", type=int, default=0, help="seeds weights, dropout and batch order (default 0)")
    train.add_argument(
        "--devices", type=positive_int, default=1, help="train data-parallel on N devices (JAX or TensorFlow)"
    )
    generate = groups.add_parser("generate", help="generate music and write MIDI, WAV and PNG")
    generate.add_argument("name", choices=MODELS)
    generate.add_argument("--model", type=Path, help="a .keras file from 'train' (default: the pretrained model)")
    # None: not given, so that a model refuses an option it does not use (recipes.generate_options)
    generate.add_argument(
        "--bars",
        type=positive_int,
        help="bars of 4/4 to add after the primer (default 16; gan: two per excerpt; not satb: the whole melody)",
    )
    generate.add_argument(
        "--temperature", type=positive_float, help="melody, chorale and chorale-made (default 1; satb: its card's)"
    )
    generate.add_argument("--top-k", type=positive_int, help="melody only: sample from the k most likely tokens")
    generate.add_argument("--top-p", type=probability, help="melody only: nucleus sampling")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument(
        "--primer",
        type=int,
        help="which validation piece opens the music (1 bar; default 0); satb: harmonises its melody; not gan",
    )
    generate.add_argument("--out", type=Path, default=OUTPUT_DIR / "generated")
    harmonise = groups.add_parser("harmonise", help="harmonise a melody (MIDI) in four voices")
    harmonise.add_argument("melody", type=Path, help="a MIDI file; its highest line is the soprano")
    harmonise.add_argument("--model", type=Path, help="a satb.keras from 'train satb' (default: the pretrained model)")
    harmonise.add_argument("--seed", type=int, default=0)
    harmonise.add_argument(
        "--no-rules",
        dest="rules",
        action="store_false",
        help="the model alone: no voice-leading rules while sampling, no second tries at cadences",
    )
    harmonise.add_argument("--staves", type=int, choices=(2, 4), default=2, help="staves of the score (default 2)")
    harmonise.add_argument("--out", type=Path, default=OUTPUT_DIR / "harmonised")
    score = groups.add_parser("score", help="engrave a MIDI file as MusicXML and SVG")
    score.add_argument("midi", type=Path, help="a MIDI file; notes are quantised to sixteenths")
    score.add_argument(
        "--staves", type=int, choices=(2, 4), default=2, help="four voices (SATB) on 2 staves (default) or 4"
    )
    score.add_argument("--out", type=Path, default=OUTPUT_DIR / "scores")
    return parser


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    if args.group == "train":
        return _train(args, argv)
    if args.group == "generate":
        return _generate(args)
    if args.group == "harmonise":
        return _harmonise(args)
    if args.group == "score":
        return _score(args)

    if args.group == "data":
        from course_lib import datasets
        from course_lib.tools import data_build

        if args.action == "import":
            return _import(args)
        if args.action == "build":
            check_writable((args.out or datasets.CHORALES_FILE).parent)
            started = time.perf_counter()
            digest = data_build.build_chorales(args.out or datasets.CHORALES_FILE)
            print(f"sha256 {digest}  ({time.perf_counter() - started:.1f} s)")
            if args.out is None:
                print(f"sha256 {data_build.write_example_midi()}  {datasets.EXAMPLE_MIDI.name}")
        elif args.action == "jsb":
            print(f"sha256 {data_build.build_jsb(args.mat_file)}")
        else:
            from course_lib import pretrained

            problems = [*datasets.bundled_data_problems(), *pretrained.problems()]
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"data files and {len(pretrained.available())} pretrained models match their checksums")
        return 0

    from course_lib.tools import grading
    from course_lib.tools import notebooks as notebook_tools

    if args.action == "build":
        for path in grading.tag_solutions():
            print(f"tagged {path.relative_to(notebook_tools.ROOT)} for nbgrader")
        for path in notebook_tools.build_student_notebooks():
            print(f"wrote {path.relative_to(notebook_tools.ROOT)}")
        return 0
    if args.action == "check":
        problems = [f"{name}: nbgrader metadata missing or stale" for name in grading.untagged_solutions()]
        problems += notebook_tools.out_of_sync()
        for problem in problems:
            print(problem)
        if problems:
            print("run: python -m course_lib notebooks build")
        return 1 if problems else 0
    from course_lib.tools import runner

    runner.run_solutions(args.prefixes, quick=args.quick)
    return 0


def _progress(line: str) -> None:
    print(line, flush=True)  # shown at once, also when the output goes to a file


def _import(args: argparse.Namespace) -> int:
    from course_lib import midi_import

    started = time.perf_counter()
    options = midi_import.ImportOptions(args.steps_per_beat, args.max_beats, args.seed, args.sustain_pedal)
    manifest = midi_import.import_folder(
        args.folder, args.name, options, workers=args.workers, progress=midi_import.print_progress
    )
    target = midi_import.dataset_folder(args.name)
    counts = manifest["counts"]
    if manifest["reused"]:
        print(f"{target} is up to date with {args.folder} ({counts['imported']} pieces): reused")
    else:
        print()  # end the progress line
        print(
            f"imported {counts['imported']} of {counts['files']} files into {target} in "
            f"{time.perf_counter() - started:.1f} s: {counts['train']} train, {counts['valid']} valid, "
            f"{counts['test']} test pieces; identical copies share a split: {counts['identical_files']}"
        )
    skipped = midi_import.skipped(manifest)
    for path, reason in skipped[:10]:
        print(f"skipped {path}: {reason}")
    if len(skipped) > 10:
        print(f"... and {len(skipped) - 10} more skipped files, each with its reason in the manifest")
    manifest_path = target / midi_import.MANIFEST_NAME
    print(f"manifest {manifest_path} sha256 {midi_import.sha256_of(manifest_path)}")
    print(f"next: python -m course_lib train melody --data {args.name}")
    return 0


def _train(args: argparse.Namespace, argv: list[str] | None) -> int:
    from course_lib import pretrained, recipes
    from course_lib.tools.train import check_devices, train

    command = "python -m course_lib " + " ".join(sys.argv[1:] if argv is None else argv)
    chosen = recipes.recipe(args.name)
    check_devices(chosen, args.devices)
    if args.devices > 1:
        from course_lib.autodiff import split_cpu

        split_cpu(args.devices)  # before the backend starts
    check_writable(args.out / args.name)
    if args.publish:
        check_writable(pretrained.PRETRAINED_DIR)
    train(
        chosen,
        args.data,
        args.epochs,
        args.out,
        args.limit,
        args.minutes * 60,
        _progress,
        command,
        args.seed,
        args.devices,
    )
    if args.publish:
        for path in pretrained.publish(args.name, args.out / args.name):
            print(f"published {path}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from course_lib import pretrained, recipes
    from course_lib.outputs import write_outputs

    generate = recipes.operation(args.name, "generate")  # a model without one says so in one line
    options = recipes.generate_options(args.name, {k: getattr(args, k) for k in recipes.GENERATE_DEFAULTS})
    options["seed"] = args.seed
    check_writable(args.out)
    model, card = pretrained.load_with_card(args.name, args.model)
    started = time.perf_counter()
    generated = generate(model, card, options)
    seconds = time.perf_counter() - started
    stem = args.out / f"{args.name}-seed{args.seed}"
    for path in write_outputs(generated.piece, stem, generated.title, **generated.score_options):
        print(f"wrote {path}")
    print(f"{generated.piece.end / 4:.0f} bars in all, generated in {seconds:.1f} s")
    return 0


def _harmonise(args: argparse.Namespace) -> int:
    from course_lib import harmonising, pretrained

    model, card = pretrained.load_with_card("satb", args.model)
    for path in harmonising.harmonise_file(args.melody, args.out, model, card, args.seed, args.rules, args.staves):
        print(f"wrote {path}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from course_lib import score
    from course_lib.midi import read_midi

    check_writable(args.out)
    if not args.midi.is_file():
        raise CourseError(f"{args.midi}: no such file")
    piece = read_midi(args.midi)
    engraving = score.engrave(piece, title=args.midi.stem, staves=args.staves, grid=score.DEFAULT_GRID)
    for path in engraving.write(args.out / args.midi.stem):
        print(f"wrote {path}")
    print(engraving.caption)
    return 0


if __name__ == "__main__":
    sys.exit(main())
