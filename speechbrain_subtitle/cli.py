"""The ``speechbrain-subtitle`` command.

Subcommands:

- ``transcribe``: audio files -> verbatim transcript, subtitle, SRT/WebVTT/JSON files;
- ``export``: a training output folder -> a Hugging Face model folder;
- ``push``: an exported folder -> the Hugging Face Hub;
- ``score``: hypotheses vs references -> WER, BLEU, SubER;
- ``evaluate``: a model + test manifests -> hypotheses, WER, BLEU (and its model card).
"""

import argparse
import json
import logging
import sys
from pathlib import Path

EPILOG = "Run 'speechbrain-subtitle COMMAND --help' for the options of each command."

#: The small C8 model trained by recipes/SyntheticNL (kept in the repository).
DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "synthetic-nl-c8-demo"


def _load_model(args):
    import os

    from speechbrain_subtitle.inference import SubtitleASR

    if args.model == str(DEMO_MODEL) and not DEMO_MODEL.is_dir():
        raise FileNotFoundError(
            f"The bundled demo model ({DEMO_MODEL}) comes with a checkout of the repository; "
            "pass --model with an exported folder or a Hugging Face Hub id"
        )
    if os.path.isdir(args.model):
        savedir = args.savedir or args.model  # a local folder is used in place
    else:
        savedir = args.savedir or os.path.join("pretrained_models", args.model.replace("/", "--"))
    return SubtitleASR.from_hparams(
        source=args.model,
        savedir=savedir,
        run_opts={"device": args.device, "precision": args.precision},
    )


def _add_model_options(p):
    """--model, --savedir, --device, --precision (read by :func:`_load_model`)."""
    p.add_argument(
        "--model",
        default=str(DEMO_MODEL),
        help="exported model folder or Hugging Face Hub id (default: the bundled demo model, "
        "trained on synthetic espeak-ng Dutch speech)",
    )
    p.add_argument(
        "--savedir", help="where a Hub model is cached (default: pretrained_models/<name>)"
    )
    p.add_argument(
        "--device", default="cpu", help="torch device, e.g. cpu or cuda:0 (default: cpu)"
    )
    p.add_argument(
        "--precision", default="fp32", choices=["fp32", "bf16", "fp16"], help="inference precision"
    )


def _add_search_options(p):
    """--beam-size, --ctc-weight, --greedy (read by :func:`_search_options`)."""
    p.add_argument("--beam-size", type=int, help="beam width (default: the model's yaml)")
    p.add_argument(
        "--ctc-weight", type=float, help="verbatim CTC prefix-score weight (default: the yaml's)"
    )
    p.add_argument("--greedy", action="store_true", help="greedy decoding instead of beam search")


def _search_options(args):
    """Decoding overrides for ``SubtitleASR`` (``None``: the model's yaml value)."""
    return {
        "beam_size": args.beam_size,
        "ctc_weight": args.ctc_weight,
        "greedy": args.greedy or None,
    }


def _transcribe(args):
    from speechbrain_subtitle import longform
    from speechbrain_subtitle.segmentation import SegmentationOptions
    from speechbrain_subtitle.subtitles import CueConstraints

    tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
    formats = longform.parse_formats(args.format) if args.format else []
    if args.out and not formats:
        formats = list(longform.FORMATS)
    out_dir = Path(args.out or ".")
    constraints = CueConstraints(
        max_chars_per_line=args.max_chars, max_lines=args.max_lines, max_cps=args.max_cps
    )
    segmentation = SegmentationOptions(min_duration=args.min_segment, max_duration=args.max_segment)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    asr = _load_model(args)
    asr.check_subtitle_timing(args.subtitle_timing)  # before any file, not once per file
    options = _search_options(args)
    progress = False if args.no_progress else None
    failures = 0
    for path, stem in zip(args.inputs, longform.output_stems(args.inputs)):
        try:
            result = longform.transcribe_long(
                asr,
                path,
                batch_size=args.batch_size,
                tasks=tasks,
                segmentation=segmentation,
                constraints=constraints,
                subtitle_timing=args.subtitle_timing,
                progress=progress,
                **options,
            )
            written = longform.write_outputs(result, out_dir, stem, formats) if formats else []
        except (OSError, ValueError, RuntimeError) as err:
            failures += 1
            print(f"error: {path}: {err}", file=sys.stderr)
            continue
        if result.message:
            print(f"note: {result.message}", file=sys.stderr)
        for problem in result.problems:
            print(f"warning: {path}: {problem}", file=sys.stderr)
        if args.json:
            record = {"file": path, "verbatim": result.verbatim, "subtitle": result.subtitle}
            record["cues"] = len(result.cues)
            record["outputs"] = [str(p) for p in written]
            print(json.dumps(record, ensure_ascii=False))
            continue
        print(f"== {path}")
        if "verbatim" in tasks:
            print(f"verbatim: {result.verbatim}")
        if "subtitle" in tasks:
            print(f"subtitle: {result.subtitle}")
        for p in written:
            print(f"wrote {p}")
    if failures:
        print(f"{failures} of {len(args.inputs)} file(s) failed", file=sys.stderr)
    return 1 if failures else 0


def _evaluate(args):
    import os

    from speechbrain_subtitle import metrics
    from speechbrain_subtitle.evaluate import evaluate_manifest, write_test_results
    from speechbrain_subtitle.hub import refresh_model_card

    if args.update_card and not os.path.isdir(args.model):
        raise ValueError("--update-card needs --model to be a local exported folder")
    names = [Path(m).stem for m in args.manifests]
    if len(set(names)) != len(names):
        raise ValueError(f"test sets need distinct file names, got {', '.join(names)}")
    asr = _load_model(args)
    options = _search_options(args)
    results = {}
    for name, manifest in zip(names, args.manifests):
        rows, summary = evaluate_manifest(
            asr, manifest, args.batch_size, progress=not args.no_progress, **options
        )
        results[name] = summary
        print(f"== {name} ({manifest}; search: {summary['search']})")
        print(metrics.format_table(summary["scores"]))
        if args.out:
            folder = Path(args.out) / f"test_{name}"
            write_test_results(folder, summary, rows)
            print(f"wrote {folder / 'metrics.json'} and {folder / 'hyps.csv'}")
    if args.update_card:
        card = {"data_note": args.data_note} if args.data_note is not None else {}
        print(f"wrote {refresh_model_card(args.model, results, **card)}")
    return 0


def _export(args):
    from speechbrain_subtitle.hub import export_model

    out = export_model(
        args.experiment,
        args.out,
        average=args.average,
        example_wav=args.example_wav,
        repo_id=args.repo_id,
        language=args.language,
        datasets=args.dataset or (),
        data_note=args.data_note,
        beam_size=args.beam_size,
        ctc_weight=args.ctc_weight,
        force=args.force,
        half=args.half,
    )
    print(f"Exported to {out}")
    return 0


def _push(args):
    from speechbrain_subtitle.hub import push_folder

    files = push_folder(
        args.folder,
        args.repo_id,
        private=args.private,
        revision=args.revision,
        commit_message=args.message,
        dry_run=args.dry_run,
    )
    verb = "Would upload" if args.dry_run else "Uploaded"
    print(
        f"{verb} {len(files)} file(s) to {args.repo_id}"
        + (f"@{args.revision}" if args.revision else "")
    )
    for name, size in files:
        print(f"  {name}  ({size:,} bytes)")
    return 0


def build_parser():
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="speechbrain-subtitle",
        description="Joint verbatim transcription and subtitling with SpeechBrain.",
        epilog=EPILOG,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO level)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "transcribe",
        help="subtitle and transcribe audio files of any length",
        description="Writes a verbatim transcript and a subtitle for each input from one pass "
        "of the model. Long recordings are cut into speech segments with silero VAD "
        "(3-15 s; fixed 15 s windows when VAD finds no speech), decoded in batches, timed "
        "word by word with the CTC head, and the subtitle is split into cues. Without "
        "--format/--out both texts are printed; with them, files are written "
        "(OUT/NAME.srt, .vtt, .txt with the timed verbatim transcript, .json with "
        "everything). A file without speech gives empty files and a note. One failing "
        "input is reported and the others are still processed; the exit code is 1 when "
        "any input failed.",
        epilog="Example: speechbrain-subtitle transcribe news.wav --out subs --format srt,vtt,txt",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="audio files (any rate/channels soundfile reads)"
    )
    _add_model_options(p)
    p.add_argument(
        "--out", help="folder for the output files (created; default: the current folder)"
    )
    p.add_argument(
        "--format",
        help="comma-separated output files to write: srt, vtt, txt, json (default with --out: "
        "all four; without --out and --format nothing is written, the texts are printed)",
    )
    p.add_argument(
        "--tasks", default="verbatim,subtitle", help="verbatim,subtitle (default) or one of them"
    )
    p.add_argument(
        "--batch-size", type=int, default=8, help="segments decoded together (default: 8)"
    )
    _add_search_options(p)
    p.add_argument(
        "--subtitle-timing",
        default="transfer",
        choices=["transfer", "ctc"],
        help="how subtitle words get their times: 'transfer' (default) from the verbatim words "
        "they correspond to, or 'ctc': aligned to the subtitle CTC head (models trained with one)",
    )
    p.add_argument(
        "--max-chars", type=int, default=42, help="characters per subtitle line (default: 42)"
    )
    p.add_argument("--max-lines", type=int, default=2, help="lines per cue (default: 2)")
    p.add_argument(
        "--max-cps",
        type=float,
        default=17.0,
        help="reading speed limit in characters per second (default: 17)",
    )
    p.add_argument(
        "--min-segment",
        type=float,
        default=3.0,
        help="shortest decoding segment in seconds where pauses allow (default: 3)",
    )
    p.add_argument(
        "--max-segment",
        type=float,
        default=15.0,
        help="longest decoding segment in seconds (default: 15)",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per file instead of text"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_transcribe)

    p = sub.add_parser(
        "export", help="turn a training output folder into a Hugging Face model folder"
    )
    p.add_argument(
        "--experiment", required=True, help="training output_folder (holds hyperparams.yaml, save/)"
    )
    p.add_argument("--out", required=True, help="folder to create (must not exist unless --force)")
    p.add_argument(
        "--average", type=int, default=1, help="average the N best checkpoints (default: 1)"
    )
    p.add_argument(
        "--example-wav", help="audio for example.wav (default: the first test utterance)"
    )
    p.add_argument(
        "--repo-id",
        default="your-org/speechbrain-subtitle-model",
        help="Hub id shown in the model card",
    )
    p.add_argument(
        "--language", default="nl", help="language code for the model card (default: nl)"
    )
    p.add_argument(
        "--dataset", action="append", help="dataset name for the model card (repeatable)"
    )
    p.add_argument(
        "--data-note", default="", help="a sentence about the training data for the model card"
    )
    p.add_argument(
        "--beam-size", type=int, default=10, help="default beam width written to the yaml"
    )
    p.add_argument(
        "--ctc-weight", type=float, default=0.3, help="default verbatim CTC weight for decoding"
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--half", action="store_true", help="store the weights as float16 (half the size)"
    )
    p.set_defaults(func=_export)

    p = sub.add_parser("push", help="upload an exported folder to the Hugging Face Hub")
    p.add_argument("folder", help="folder made by 'export'")
    p.add_argument("--repo-id", required=True, help="org/name on the Hub (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repository as private")
    p.add_argument("--revision", help="branch to push to (created if missing)")
    p.add_argument("--message", help="commit message")
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be uploaded, upload nothing"
    )
    p.set_defaults(func=_push)

    p = sub.add_parser(
        "evaluate",
        help="decode test manifests with a model and score both texts",
        description="Decodes every row of each manifest CSV (ID,duration,wav,start,stop,"
        "verbatim,subtitle; 16 kHz mono audio) and prints verbatim WER (after Dutch "
        "normalization), subtitle WER and BLEU. With --out it writes test_<name>/metrics.json "
        "and hyps.csv per manifest; with --update-card the results replace those in the "
        "model folder's card (README.md) and config.json.",
        epilog="Example: speechbrain-subtitle evaluate data/test.csv --model exported/ --out res",
    )
    p.add_argument("manifests", nargs="+", metavar="MANIFEST", help="manifest CSV files")
    _add_model_options(p)
    p.add_argument("--out", help="folder for test_<name>/metrics.json and hyps.csv")
    p.add_argument("--batch-size", type=int, default=8, help="rows decoded together (default: 8)")
    _add_search_options(p)
    p.add_argument(
        "--update-card",
        action="store_true",
        help="write the results into the model folder's card and config.json",
    )
    p.add_argument("--data-note", help="with --update-card: replace the card's training-data note")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate)

    from speechbrain_subtitle import metrics

    p = sub.add_parser(
        "score",
        help="verbatim WER, subtitle WER/BLEU (and SubER on SRT files) of hypotheses",
        description="Scores hypotheses against references: verbatim WER after Dutch "
        "normalization, subtitle WER (cased, punctuated) and BLEU, optional SubER.",
    )
    metrics.build_argparser(p)
    p.set_defaults(func=metrics.run_score)
    return parser


def main(argv=None):
    """Entry point of the ``speechbrain-subtitle`` console script."""
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # SpeechBrain's loggers set their own levels
        handler.setLevel(level)
    try:
        return args.func(args)
    except (FileExistsError, FileNotFoundError, ImportError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
