"""The ``speechbrain-subtitle`` command.

Subcommands:

- ``transcribe``: audio files -> verbatim transcript, subtitle, SRT/WebVTT/JSON files;
- ``export``: a training output folder -> a Hugging Face model folder;
- ``import-nelf``: the authors' released NeLF checkpoint -> a model folder like ``export``'s;
- ``push``: an exported folder -> the Hugging Face Hub;
- ``check``: a subtitle file -> counts per subtitling rule and the worst cues;
- ``score``: hypotheses vs references -> WER, BLEU, SubER;
- ``evaluate``: a model + test manifests -> hypotheses, WER, BLEU (and its model card).
"""

import argparse
import json
import logging
import sys
import traceback
from pathlib import Path

#: Exit status of a usage or input error: a bad option, a missing, unreadable or
#: malformed file, a broken or unsafe model folder.
EXIT_USAGE = 2
#: Exit status of any other failure: the Hugging Face Hub unreachable or refusing,
#: an input of ``transcribe`` that failed, a disk error, an internal error.
EXIT_FAILURE = 1
#: Exit status after Ctrl-C.
EXIT_INTERRUPTED = 130
#: Longest error message printed (longer ones, e.g. a binary file's content, are cut).
MAX_MESSAGE = 300

EPILOG = (
    "Run 'speechbrain-subtitle COMMAND --help' for the options of each command. "
    "Errors are reported as one line on stderr ('error: ...', naming the file or option "
    "and the cause; --verbose adds the traceback). Exit status: 0 success; 2 usage or "
    "input error (bad option, missing/unreadable/malformed file or manifest, broken or "
    "unsafe model); 1 any other failure (Hugging Face Hub unreachable, offline or refusing, "
    "an input of 'transcribe' failed or its --out is a file, internal error); 130 interrupted."
)

#: Options that must be at least a minimum (checked after parsing, before any work).
_MINIMUMS = {
    "batch_size": ("--batch-size", 1),
    "beam_size": ("--beam-size", 1),
    "max_chars": ("--max-chars", 1),
    "max_lines": ("--max-lines", 1),
    "average": ("--average", 1),
    "max_ctc_entropy": ("--max-ctc-entropy", 0),
}


def one_line(text, limit=MAX_MESSAGE):
    """``text`` as one printable line of at most ``limit`` characters.

    >>> one_line("first\\nsecond\\tthird")
    'first second third'
    >>> len(one_line("x" * 1000))
    300
    >>> one_line("bell\\x07")
    'bell?'
    """
    text = " ".join(str(text).split())
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def _yaml_errors():
    """The YAML parser error types (PyYAML's and ruamel.yaml's) that are installed."""
    types = []
    try:
        import yaml

        types.append(yaml.YAMLError)
    except ImportError:
        pass
    try:
        from ruamel.yaml.error import YAMLError

        types.append(YAMLError)
    except ImportError:
        pass
    return tuple(types)


def _first_line(err):
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _hub_error(err):
    """``(message, status)`` for a Hugging Face Hub error, else ``None``."""
    try:
        from huggingface_hub import errors as hf
    except ImportError:  # pragma: no cover - huggingface_hub comes with SpeechBrain
        return None
    if isinstance(err, hf.OfflineModeIsEnabled):
        return (
            "cannot reach the Hugging Face Hub: offline mode is enabled (HF_HUB_OFFLINE=1; "
            f"unset it to go online) [{_first_line(err)}]",
            EXIT_FAILURE,
        )
    if isinstance(err, hf.LocalTokenNotFoundError):
        return (
            "not logged in to the Hugging Face Hub: run 'hf auth login' or set HF_TOKEN",
            EXIT_FAILURE,
        )
    if isinstance(err, hf.RepositoryNotFoundError):
        return (
            "Hugging Face Hub repository not found, or not accessible with your token "
            f"[{_first_line(err)}]",
            EXIT_USAGE,
        )
    if isinstance(err, hf.HfHubHTTPError):
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
        if status in (401, 403):
            return (
                f"the Hugging Face Hub refused the request (HTTP {status}: not logged in, or "
                f"the token may not write there) [{_first_line(err)}]",
                EXIT_FAILURE,
            )
        return f"Hugging Face Hub request failed [{_first_line(err)}]", EXIT_FAILURE
    if isinstance(err, hf.LocalEntryNotFoundError):
        return (
            "cannot reach the Hugging Face Hub and the file is not in the local cache "
            f"[{_first_line(err)}]",
            EXIT_FAILURE,
        )
    module = type(err).__module__.split(".")[0]
    if module.startswith(("httpx", "requests", "urllib3", "httpcore")) and any(
        word in type(err).__name__ for word in ("Connect", "Timeout", "Network", "Proxy")
    ):
        return f"cannot reach the Hugging Face Hub [{_first_line(err)}]", EXIT_FAILURE
    return None


def _os_message(err):
    """An ``OSError`` as ``file: cause`` (``open`` puts the name in ``filename``)."""
    if err.filename is not None and err.strerror:
        name = str(err.filename)
        if err.filename2 is not None:
            name += f" -> {err.filename2}"
        return f"{name}: {err.strerror.lower()}"
    return str(err) or type(err).__name__


#: OSErrors that mean a path given to the command is wrong (exit status 2).
_PATH_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def describe_error(err):
    """The one-line message and the exit status for an exception.

    ==========================================  =====================================  ======
    exception                                   message                                status
    ==========================================  =====================================  ======
    KeyboardInterrupt                           ``interrupted``                        130
    Hub offline / unreachable / HTTP error      ``cannot reach the Hugging Face Hub``  1
    Hub repository not found                    ``... repository not found ...``       2
    File{NotFound,Exists}Error, IsADirectory-,  ``FILE: cause`` (the exception's text)  2
    NotADirectoryError, PermissionError
    other OSError (disk full, I/O error)        ``FILE: cause``                        1
    ValueError (ManifestError, UnsafeModel-     the exception's text                   2
    Error, ModelLoadError), RuntimeError
    (ExportError, torch/soundfile), YAML error
    ImportError (an optional package)           the exception's text                   1
    anything else                               ``internal error: TYPE: text (run ...  1
                                                with --verbose for the traceback)``
    ==========================================  =====================================  ======

    Messages are one line (:func:`one_line`) of at most :data:`MAX_MESSAGE` characters.

    >>> describe_error(FileNotFoundError(2, "No such file or directory", "x.wav"))
    ('x.wav: no such file or directory', 2)
    >>> describe_error(KeyError("k"))
    ("internal error: KeyError: 'k' (run with --verbose for the traceback)", 1)
    """
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    hub = _hub_error(err)
    if hub is not None:
        message, status = hub
    elif isinstance(err, _PATH_ERRORS):
        message, status = _os_message(err), EXIT_USAGE
    elif isinstance(err, OSError):
        message, status = _os_message(err), EXIT_FAILURE
    elif isinstance(err, (ValueError, RuntimeError)):
        message, status = str(err) or type(err).__name__, EXIT_USAGE
    elif isinstance(err, _yaml_errors()):
        message, status = f"invalid YAML: {err}", EXIT_USAGE
    elif isinstance(err, ImportError):
        message, status = str(err) or type(err).__name__, EXIT_FAILURE
    else:
        # Cut the text first, so the hint at the end survives a long message.
        text = one_line(f"{type(err).__name__}: {err}", MAX_MESSAGE - 60)
        message = f"internal error: {text} (run with --verbose for the traceback)"
        status = EXIT_FAILURE
    return one_line(message), status


def report_errors(call, verbose=False):
    """Runs ``call()`` and turns a failure into one line on stderr and an exit status.

    The single place where the commands' exceptions become messages
    (:func:`describe_error`); with ``verbose`` the traceback is printed first.
    ``SystemExit`` passes through.

    Returns
    -------
    int
        What ``call()`` returned, or the exit status of the failure.
    """
    try:
        return call()
    except (Exception, KeyboardInterrupt) as err:
        message, status = describe_error(err)
        if verbose:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return status


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message):
        self.exit(
            EXIT_USAGE, f"error: {self.prog}: {one_line(message)} (see '{self.prog} --help')\n"
        )


def _check_text_files(paths, what="CSV"):
    """Raises a ``ValueError`` naming the file for an existing file that is not UTF-8 text
    (Python's own ``UnicodeDecodeError`` does not say which file it was reading)."""
    import codecs

    for path in paths:
        if path is None or not Path(path).is_file():
            continue  # the reader reports a missing file itself
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        offset = 0
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as err:
                    raise ValueError(
                        f"{path}: not a UTF-8 text {what} file ({err.reason} at byte "
                        f"{offset + max(err.start, 0)})"
                    ) from None
                offset += len(chunk)


def _check_out_folder(out, option="--out"):
    """Raises unless ``out`` is, or can be created as, a folder."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{option} {out}: is an existing file, not a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"{option} {out}: {parent} is a file, not a folder")
            break


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
    if os.path.isfile(args.model):
        raise NotADirectoryError(
            f"--model {args.model}: is a file; give an exported model folder or a Hub id"
        )
    if os.path.isdir(args.model):
        savedir = args.savedir or args.model  # a local folder is used in place
    else:
        savedir = args.savedir or os.path.join("pretrained_models", args.model.replace("/", "--"))
    created = None  # the topmost folder of savedir that this call creates
    for folder in [Path(savedir), *Path(savedir).parents]:
        if folder.exists():
            break
        created = folder
    try:
        return SubtitleASR.from_hparams(
            source=args.model,
            savedir=savedir,
            run_opts={"device": args.device, "precision": args.precision},
            trust_code=getattr(args, "trust_model_code", False),
            quantize=getattr(args, "quantize", None),
        )
    except BaseException as err:
        if created is not None and created.is_dir():  # a broken model leaves no cache behind
            import shutil

            shutil.rmtree(created, ignore_errors=True)
        if isinstance(err, FileNotFoundError) and isinstance(err.__cause__, OSError):
            raise FileNotFoundError(_hub_fetch_message(args.model, err.__cause__)) from err
        raise


def _hub_fetch_message(model, cause):
    """Why ``--model`` (not a local folder) could not be fetched from the Hub."""
    from huggingface_hub import constants, errors

    start = f"--model {model}: no such local folder, and"
    if constants.is_offline_mode():
        return (
            f"{start} not in the Hugging Face Hub cache; the Hub cannot be reached in offline "
            "mode (HF_HUB_OFFLINE=1)"
        )
    if isinstance(cause, errors.RepositoryNotFoundError):
        return f"{start} no such repository on the Hugging Face Hub (or it is private/gated)"
    if isinstance(cause, errors.EntryNotFoundError) and not isinstance(
        cause, errors.LocalEntryNotFoundError
    ):
        return (
            f"{start} the Hub repository has no hyperparams.yaml: not a speechbrain-subtitle model"
        )
    return f"{start} the Hugging Face Hub cannot be reached ({describe_error(cause)[0]})"


def _add_model_options(p):
    """--model, --savedir, --device, --precision, --quantize, --trust-model-code (read by
    :func:`_load_model`)."""
    p.add_argument(
        "--model",
        default=str(DEMO_MODEL),
        help="exported model folder or Hugging Face Hub id (default: the bundled 5.3M-parameter "
        "demo model, trained on synthetic espeak-ng Dutch speech and fine-tuned on 65 minutes "
        "of real Dutch game dialogue; see recipes/FishFilletsNL)",
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
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="CPU only: dynamic int8 quantization of the linear layers (faster on large "
        "models; outputs change slightly, see bench/README.md)",
    )
    p.add_argument(
        "--trust-model-code",
        action="store_true",
        help="load a model whose hyperparams.yaml names code outside the allow-list "
        "(the yaml is Python code: only for model folders you trust)",
    )


def _add_search_options(p):
    """--beam-size, --ctc-weight, --greedy (read by :func:`_search_options`)."""
    p.add_argument("--beam-size", type=int, help="beam width (default: the model's yaml)")
    p.add_argument(
        "--ctc-weight", type=float, help="verbatim CTC prefix-score weight (default: the yaml's)"
    )
    p.add_argument("--greedy", action="store_true", help="greedy decoding instead of beam search")
    p.add_argument(
        "--ctc-candidates",
        type=float,
        help="CTC prefix scores only for the decoder's best CTC_CANDIDATES x beam tokens of "
        "each hypothesis plus the tokens the CTC head hears (default 1.5; 0 scores the whole "
        "vocabulary, the slow reference)",
    )
    p.add_argument(
        "--no-decoder-cache",
        action="store_true",
        help="rerun the decoders on each whole prefix instead of decoding incrementally "
        "(same output, slower; for checking)",
    )


def _search_options(args):
    """Decoding overrides for ``SubtitleASR`` (``None``: the model's yaml value)."""
    return {
        "beam_size": args.beam_size,
        "ctc_weight": args.ctc_weight,
        "greedy": args.greedy or None,
        "ctc_candidates": args.ctc_candidates,
        "use_cache": False if args.no_decoder_cache else None,
    }


def _transcribe(args):
    from speechbrain_subtitle import longform
    from speechbrain_subtitle.segmentation import SegmentationOptions

    tasks = _task_names(args.tasks)
    formats = longform.parse_formats(args.format) if args.format else []
    if args.out and not formats:
        formats = list(longform.DEFAULT_FORMATS)
    out_dir = Path(args.out or ".")
    constraints = _cue_constraints(args)
    segmentation = SegmentationOptions(min_duration=args.min_segment, max_duration=args.max_segment)
    if args.out:
        try:
            _check_out_folder(args.out)
        except NotADirectoryError as err:
            # Every input would fail alike (exit status 1, as for any failed input): one
            # line, before the model is loaded.
            first = Path(args.inputs[0]).name
            more = f" and {len(args.inputs) - 1} other file(s)" if len(args.inputs) > 1 else ""
            print(f"error: {one_line(err)}; nothing transcribed ({first}{more})", file=sys.stderr)
            return EXIT_FAILURE
    asr = _load_model(args)
    asr.check_subtitle_timing(args.subtitle_timing)  # before any file, not once per file
    options = _search_options(args)
    progress = False if args.no_progress else None
    failures = 0
    for path, stem in zip(args.inputs, longform.output_stems(args.inputs)):
        try:
            # Never write over an input of this call (checked before decoding).
            longform.check_outputs(longform.output_paths(out_dir, stem, formats), args.inputs)
            result = longform.transcribe_long(
                asr,
                path,
                batch_size=args.batch_size,
                tasks=tasks,
                segmentation=segmentation,
                constraints=constraints,
                subtitle_timing=args.subtitle_timing,
                max_ctc_entropy=args.max_ctc_entropy,
                progress=progress,
                **options,
            )
            written = (
                longform.write_outputs(result, out_dir, stem, formats, inputs=args.inputs)
                if formats
                else []
            )
        except (OSError, ValueError, RuntimeError) as err:
            failures += 1
            if args.verbose:
                traceback.print_exc()
            print(f"error: {path}: {describe_error(err)[0]}", file=sys.stderr)
            continue
        if result.message:
            print(f"note: {result.message}", file=sys.stderr)
        for problem in result.problems:
            print(f"warning: {path}: {problem}", file=sys.stderr)
        if args.json:
            record = {"file": path, "verbatim": result.verbatim, "subtitle": result.subtitle}
            record["cues"] = len(result.cues)
            record["quality"] = {
                rule: entry["count"] for rule, entry in result.quality["rules"].items()
            }
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
    if failures and len(args.inputs) > 1:  # one input: its error line says it all
        print(f"{failures} of {len(args.inputs)} file(s) failed", file=sys.stderr)
    return 1 if failures else 0


def _cue_constraints(args):
    """The cue limits of ``transcribe``/``check``: the minimum gap is 2 frames of ``--fps``
    (2/25 s when ``--fps 0`` turns the frame grid off), as their help says."""
    from speechbrain_subtitle.subtitles import CueConstraints

    fps = args.fps
    return CueConstraints(
        max_chars_per_line=args.max_chars,
        max_lines=args.max_lines,
        max_cps=args.max_cps,
        min_duration=args.min_duration,
        fps=fps,
        min_gap=2 / fps if fps else CueConstraints.min_gap,
    )


def _check(args):
    from speechbrain_subtitle.subtitle_quality import format_report, quality_report, read_cues

    constraints = _cue_constraints(args)
    report = quality_report(
        read_cues(args.file), constraints, args.duration, worst=args.worst, max_pause=args.max_pause
    )
    if args.json:
        print(json.dumps({"file": args.file, **report}, ensure_ascii=False, indent=2))
    else:
        print(f"== {args.file}")
        print(format_report(report), end="")
    return 0


def _add_cue_options(p):
    """Cue limits shared by ``transcribe`` and ``check``."""
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
        "--min-duration",
        type=float,
        default=1.0,
        help="shortest time a cue is shown, in seconds (default: 1)",
    )
    p.add_argument(
        "--fps",
        type=float,
        default=25.0,
        help="video frame rate: cue times go on its frames and cues are at least 2 frames "
        "apart (default: 25; 0: no frame grid, whole milliseconds)",
    )


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
    if args.out:
        _check_out_folder(args.out)
    from speechbrain_subtitle.data import read_manifest

    _check_text_files(args.manifests, "manifest CSV")
    for manifest in args.manifests:  # columns, times, files: before the model is loaded
        read_manifest(manifest, check_audio=False)
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
        # add or replace only the test sets evaluated now; the card's others stay
        config = json.loads((Path(args.model) / "config.json").read_text(encoding="utf-8"))
        merged = {**config.get("test_results", {}), **results}
        print(f"wrote {refresh_model_card(args.model, merged, **card)}")
    return 0


def _score(args):
    from speechbrain_subtitle import metrics

    _check_text_files([args.ref, args.hyp])
    return metrics.run_score(args)


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


def _import_nelf(args):
    from speechbrain_subtitle.nelf import import_nelf

    out = import_nelf(args.src, args.out, force=args.force, repo_id=args.repo_id)
    print(f"Imported {args.src} to {out} (weights: CC BY-NC 4.0, non-commercial use only)")
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
    parser = _ArgumentParser(
        prog="speechbrain-subtitle",
        description="Joint verbatim transcription and subtitling with SpeechBrain.",
        epilog=EPILOG,
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log progress (INFO level) and print the traceback of an error",
    )
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
        help="comma-separated output FILES to write into --out: srt, vtt, txt, json (a file "
        "with everything), ass, ttml (default with --out: srt,vtt,txt,json; without --out and "
        "--format nothing is written, the texts are printed)",
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
        "--max-ctc-entropy",
        type=float,
        default=None,
        help="leave a segment of 3 s or more out of the cues and the transcript (its text "
        "stays in the JSON, marked low_confidence) when the mean entropy of the verbatim CTC "
        "posteriors over it is above this, in nats: the model is unsure what it hears "
        "(babble, another language). Default: the model's max_ctc_entropy (yaml), if any; "
        "0 keeps every segment",
    )
    _add_cue_options(p)
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
        "--json",
        action="store_true",
        help="print to stdout one JSON line per file (texts, number of cues, quality counts, "
        "files written) instead of the plain-text summary; writes no file (for a .json file "
        "use --format json)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_transcribe)

    p = sub.add_parser(
        "export",
        help="turn a training output folder into a Hugging Face model folder",
        description="Writes the folder --out for the Hugging Face Hub from a training output "
        "folder: hyperparams.yaml, the best (or averaged) checkpoint, the tokenizer and "
        "normalizer, an example.wav and a model card (README.md). The folder is loaded back "
        "and decoded once before it appears; nothing is uploaded (see 'push').",
        epilog="Example: speechbrain-subtitle export --experiment results/tiny/1986 "
        "--out exported/tiny --average 2",
    )
    p.add_argument(
        "--experiment", required=True, help="training output_folder (holds hyperparams.yaml, save/)"
    )
    p.add_argument(
        "--out",
        required=True,
        help="folder to create (must not exist unless --force; never the experiment folder, "
        "a folder inside or around it, or the current folder)",
    )
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
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it is an earlier export (any other existing folder is refused)",
    )
    p.add_argument(
        "--half", action="store_true", help="store the weights as float16 (half the size)"
    )
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "import-nelf",
        help="convert the authors' released NeLF checkpoint into a model folder",
        description="Converts the NeLF model of Poncelet & Van hamme (the five files model.pth, "
        "train.yaml, tokens.txt, bpe.model, stats.npz of the Hugging Face repository "
        "nelfproject/NeLF_S2T_Pytorch) into a folder like 'export' writes, which 'transcribe', "
        "'evaluate' and SubtitleASR.from_hparams load. Decoding defaults are the authors': "
        "beam 20, verbatim joint CTC/attention with CTC weight 0.3, subtitle length-normalized. "
        "Options the converter does not reproduce exactly, missing files and mismatching "
        "weights are refused, naming the option, file or key. The weights are licensed "
        "CC BY-NC 4.0 (non-commercial use only); so is the converted folder.",
        epilog="Example: speechbrain-subtitle import-nelf NeLF_S2T_Pytorch/ --out models/nelf",
    )
    p.add_argument(
        "src",
        metavar="SRC",
        help="folder holding the five NeLF files, or a Hugging Face Hub id "
        "(downloaded when online)",
    )
    p.add_argument(
        "--out",
        required=True,
        help="folder to create (must not exist unless --force; never SRC, a folder inside or "
        "around it, or the current folder)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it is an earlier export (any other existing folder is refused)",
    )
    p.add_argument(
        "--repo-id",
        default="your-org/NeLF_S2T-speechbrain-subtitle",
        help="Hub id shown in the model card",
    )
    p.set_defaults(func=_import_nelf)

    p = sub.add_parser(
        "push",
        help="upload an exported folder to the Hugging Face Hub",
        description="Uploads every file of FOLDER (made by 'export') to the Hub repository "
        "--repo-id, creating the repository (and --revision as a branch) when missing. The "
        "token comes from HF_TOKEN or 'huggingface-cli login'; --dry-run only lists the files.",
        epilog="Example: speechbrain-subtitle push exported/tiny --repo-id my-org/tiny --dry-run",
    )
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
        "check",
        help="measure a subtitle file against the subtitling rules (report only)",
        description="Reads an SRT, WebVTT, ASS/SSA or TTML/DFXP file and prints, per rule, how "
        "many cues break it and the worst of them: characters per line, lines per cue, "
        "characters per second, too short or too long, gap to the previous cue, times off the "
        "--fps frame grid, one-word cues (and those that could join a neighbour), cues that "
        "end mid-sentence (and those whose whole sentence would fit one cue). It only "
        "reports: the exit status is 0 whatever it finds (2 when the file cannot be read).",
        epilog="Example: speechbrain-subtitle check subs/news.srt --fps 25",
    )
    p.add_argument("file", metavar="FILE", help="subtitle file (.srt, .vtt, .ass, .ssa, .ttml)")
    _add_cue_options(p)
    p.add_argument("--duration", type=float, help="audio length in seconds (flags cues after it)")
    p.add_argument("--worst", type=int, default=3, help="worst cues shown per rule (default: 3)")
    p.add_argument(
        "--max-pause",
        type=float,
        default=2.0,
        help="a silence longer than this (seconds) after a cue that ends a sentence ends the "
        "cue: a one-word cue across it does not count as mergeable (default: 2)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_check)

    p = sub.add_parser(
        "evaluate",
        help="decode test manifests with a model and score both texts",
        description="Decodes every row of each manifest CSV (ID,duration,wav,start,stop,"
        "verbatim,subtitle; 16 kHz mono audio) and prints verbatim WER (after Dutch "
        "normalization), subtitle WER and BLEU. With --out it writes test_<name>/metrics.json "
        "and hyps.csv per manifest; with --update-card the results are added to the model "
        "folder's card (README.md) and config.json, replacing only the test sets of the same "
        "name.",
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
        help="add the results to the model folder's card and config.json (test sets of the "
        "same name are replaced, the others kept)",
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
    p.set_defaults(func=_score)
    return parser


def _task_names(text):
    """The names in a ``--tasks`` value (``"verbatim, subtitle"`` -> both, in order)."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _check_minimums(parser, args):
    """Usage error (exit status 2) for a count option below its minimum, a number option
    that is not finite (``nan``, ``inf``), or a ``--tasks`` value that names no task."""
    import math

    command = parser._subparsers._group_actions[0].choices.get(args.command, parser)
    for dest, (option, minimum) in _MINIMUMS.items():
        value = getattr(args, dest, None)
        if isinstance(value, float) and not math.isfinite(value):
            command.error(f"argument {option}: {dest} must be a finite number, got {value}")
        if value is not None and value < minimum:
            command.error(f"argument {option}: {dest} must be at least {minimum}, got {value}")
    tasks = getattr(args, "tasks", None)
    if isinstance(tasks, str):
        names = _task_names(tasks)
        wrong = [t for t in names if t not in ("verbatim", "subtitle")]
        if wrong or not names:
            command.error(
                f"argument --tasks: expected verbatim, subtitle or both (comma-separated), "
                f"got {tasks!r}"
            )


def main(argv=None):
    """Entry point of the ``speechbrain-subtitle`` console script.

    Returns the exit status (see :data:`EPILOG`) instead of raising: every
    failure is one line on stderr (:func:`report_errors`).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_minimums(parser, args)
    except SystemExit as done:  # --help, or a usage error already printed
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # SpeechBrain's loggers set their own levels
        handler.setLevel(level)
    return report_errors(lambda: args.func(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
