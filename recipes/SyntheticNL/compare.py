#!/usr/bin/env python3
"""Does subtitle-only speech help? Trains and scores the paper's comparison on SyntheticNL.

Poncelet & Van hamme (arXiv 2502.03212) train on a little speech with verbatim
transcripts plus a lot of speech with subtitles only, and find that the joint
models (best: the cascaded C8) recognise verbatim speech better than a model
trained on the verbatim data alone, while also learning to write subtitles.
This script runs that comparison on a SyntheticNL corpus (``make_corpus.py``):

1. A low-resource view of ``train.csv``: a verbatim set (rows with a verbatim
   transcript, subtitle dropped) and a subtitle set (the other rows with a
   subtitle, verbatim dropped), of ``--verbatim-hours`` / ``--subtitle-hours``
   (default: all). They are written as manifests under ``OUT/data/``; the
   corpus folder is only read.
2. One shared SentencePiece tokenizer on the texts of both sets.
3. Each model is trained with :func:`speechbrain_subtitle.train.main` on the
   same recipe yaml (``--size``), with the same number of updates, batch size,
   learning-rate schedule and seed:

   * ``verbatim_only``: ``hparams/verbatim_only.yaml`` on the verbatim set;
   * ``naive``: the same architecture on the verbatim set plus the subtitle
     set, whose subtitles are used as if they were verbatim transcripts
     (normalised like them: lower case, no punctuation, numbers in words);
   * ``parallel``, ``c8``, ``shared_task`` (and ``v2``, ``chained``): the
     joint architecture on both sets, with the mixed-ratio batch sampler.

4. Each is scored by the training run's own test evaluation on the corpus's
   ``test.csv`` (held-out speakers): verbatim WER after normalisation,
   subtitle WER (cased, with punctuation) and BLEU. A generator-2 corpus also
   has ``test_unseen.csv`` (held-out templates, vocabulary and voices, noise):
   it is scored the same way, in three more columns.

The table goes to the console, ``OUT/comparison.md`` and ``OUT/comparison.json``.
The speech is synthetic (espeak-ng): the numbers show what the recipe does on
this corpus, nothing about real Dutch speech.

Example (from the repository root)::

    python recipes/SyntheticNL/make_corpus.py --out data/synth_tiny --size tiny --no-noise
    python recipes/SyntheticNL/compare.py --data data/synth_tiny --out /tmp/cmp --size tiny
"""

import argparse
import csv
import datetime
import json
import logging
import os
import platform
import re
import shutil
import sys
import time
from pathlib import Path

import ruamel.yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARCHITECTURES = ROOT / "hparams"

LABEL = "synthetic espeak-ng speech"
COLUMNS = ["ID", "duration", "wav", "start", "stop", "verbatim", "subtitle"]

# Training yaml of each --size (the architecture file is swapped in by --architecture)
SIZES = {
    "tiny": HERE / "hparams" / "c8_tiny.yaml",
    "small": HERE / "hparams" / "c8_demo.yaml",
}

# model name -> (architecture file in hparams/, training set)
MODELS = {
    "verbatim_only": ("verbatim_only", "verbatim"),
    "naive": ("verbatim_only", "naive"),
    "parallel": ("parallel", "mixed"),
    "c8": ("c8", "mixed"),
    "v2": ("v2", "mixed"),
    "chained": ("chained", "mixed"),
    "shared_task": ("shared_task", "mixed"),
}
DEFAULT_MODELS = "verbatim_only,naive,parallel,c8,shared_task"

logger = logging.getLogger(__name__)


def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The options.
    """
    parser = argparse.ArgumentParser(
        description=(
            "Train and score, on one SyntheticNL corpus and one training budget, a "
            "verbatim-only model, a 'naive' model that treats subtitles as verbatim text, "
            "and joint verbatim+subtitle models (parallel, C8 cascaded, shared-task), "
            "trained on a small verbatim set plus a larger subtitle-only set. Prints and "
            "writes OUT/comparison.md and OUT/comparison.json. Synthetic espeak-ng speech: "
            "the numbers say nothing about real speech."
        ),
        epilog=(
            "Every model gets the same number of optimizer updates: --epochs epochs of the "
            "mixed (verbatim + subtitle) training set, converted into epochs of each "
            "model's own training set. Model sizes, batch size, learning-rate schedule and "
            "test search come from the --size yaml (tiny: hparams/c8_tiny.yaml, a few "
            "hundred thousand parameters; small: hparams/c8_demo.yaml, 5.3M)."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, help="corpus folder (make_corpus.py)")
    parser.add_argument(
        "--out", required=True, type=Path, help="output folder (manifests, runs, table)"
    )
    parser.add_argument(
        "--size", default="tiny", choices=list(SIZES), help="model and training size (tiny)"
    )
    parser.add_argument(
        "--models",
        default=DEFAULT_MODELS,
        help=f"comma-separated, from {', '.join(MODELS)} (default: {DEFAULT_MODELS})",
    )
    parser.add_argument(
        "--epochs",
        type=float,
        default=None,
        help="budget in epochs of the mixed training set (default: the yaml's number_of_epochs)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="also stop each model before an epoch that would end past this many minutes",
    )
    parser.add_argument(
        "--verbatim-hours",
        type=float,
        default=None,
        help="hours of verbatim-transcribed speech to use (default: all rows with one)",
    )
    parser.add_argument(
        "--subtitle-hours",
        type=float,
        default=None,
        help="hours of subtitle-only speech to use (default: all other rows with a subtitle)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the row selection (default 0)")
    parser.add_argument("--batch-size", type=int, default=None, help="override the yaml's")
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help="tokenizer pieces (default: the yaml's, or more if the texts' characters need it)",
    )
    parser.add_argument(
        "--beam-size", type=int, default=None, help="test beam size (default: the yaml's)"
    )
    parser.add_argument(
        "--ctc-pretrain-steps",
        type=int,
        default=0,
        help=(
            "with --size small: CTC-only pre-training of the encoder on the verbatim set "
            "(ctc_pretrain.py) for this many updates, used as --encoder_init by every model "
            "(default 0: none)"
        ),
    )
    parser.add_argument(
        "--ctc-pretrain-minutes",
        type=float,
        default=None,
        help="stop the CTC pre-training after this many minutes",
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace earlier runs of the same models in OUT"
    )
    parser.add_argument("--verbose", action="store_true", help="log training progress")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown or not args.models:
        parser.error(
            f"--models: unknown {', '.join(unknown) or '(none)'}; known: {', '.join(MODELS)}"
        )
    if len(set(args.models)) != len(args.models):
        parser.error("--models: a model is named twice")
    if args.ctc_pretrain_steps and args.size != "small":
        parser.error("--ctc-pretrain-steps needs --size small (ctc_pretrain.py's encoder size)")
    for name in ("epochs", "verbatim_hours", "subtitle_hours", "max_minutes"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def yaml_settings(path):
    """The plain top-level values of a training yaml (tags left unresolved).

    >>> s = yaml_settings(SIZES["tiny"])
    >>> s["batch_size"], s["vocab_size"], s["test_beam_size"]
    (8, 64, 2)
    """
    with open(path, encoding="utf-8") as f:
        doc = ruamel.yaml.YAML().load(f)
    return {k: v for k, v in doc.items() if isinstance(v, (int, float, str, type(None)))}


def select_rows(rows, hours, seed):
    """Rows of a seeded random order, kept while their audio fits in ``hours``.

    Arguments
    ---------
    rows : dict
        ``ID -> row`` (as :func:`speechbrain_subtitle.data.read_manifest` returns).
    hours : float or None
        Audio budget; ``None`` keeps every row. At least one row is kept.
    seed : int
        Seed of the order.

    Returns
    -------
    list of str
        The kept IDs, in the order of ``rows``.

    >>> rows = {f"u{i}": {"duration": 1800.0} for i in range(5)}
    >>> len(select_rows(rows, 1.0, 0)), len(select_rows(rows, None, 0))
    (2, 5)
    >>> select_rows(rows, 1.0, 3) == select_rows(rows, 1.0, 3)
    True
    """
    ids = list(rows)
    if hours is None:
        return ids
    import random

    order = ids[:]
    random.Random(seed).shuffle(order)
    kept, total = set(), 0.0
    for row_id in order:
        duration = float(rows[row_id]["duration"])
        if kept and total + duration > hours * 3600:
            continue
        kept.add(row_id)
        total += duration
    return [i for i in ids if i in kept]


def naive_verbatim(subtitle):
    """A subtitle written like a verbatim transcript, for the ``naive`` model.

    Uses the scoring normalisation (:func:`speechbrain_subtitle.metrics.normalize_text`)
    but keeps hyphens inside words, as the corpus's verbatim texts do.

    >>> naive_verbatim("Sinds 2010 is het met 17 procent gestegen.")
    'sinds tweeduizend tien is het met zeventien procent gestegen'
    """
    from speechbrain_subtitle.metrics import NormalizationOptions, normalize_text

    return normalize_text(subtitle, NormalizationOptions(fillers=frozenset(), strip_hyphens=False))


def tokenizer_size(texts, wanted):
    """``wanted`` pieces, or more when the texts' characters need them.

    SentencePiece needs a piece per character (and one for the word boundary)
    besides the five special tokens of :mod:`speechbrain_subtitle.tokenizer`;
    the tiny recipe's 64 pieces are too few for a corpus with digits, capitals
    and punctuation. Then the characters get 32 more pieces for subwords.

    >>> tokenizer_size(["ab c"], 64), tokenizer_size([chr(0x100 + i) for i in range(70)], 64)
    (64, 108)
    """
    needed = len(set("".join(texts)) - {" "}) + 1 + 5
    return wanted if needed <= wanted else needed + 32


def write_manifest(path, rows):
    """Writes ``ID -> row`` dicts as a manifest CSV with absolute audio paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row_id, row in rows.items():
            writer.writerow(
                [row_id, row["duration"], row["wav"],
                 "" if row["start"] is None else row["start"],
                 "" if row["stop"] is None else row["stop"], row["verbatim"], row["subtitle"]]
            )  # fmt: skip


def hours_of(rows):
    """Total duration of the rows in hours."""
    return sum(float(r["duration"]) for r in rows.values()) / 3600


def prepare_sets(data, folder, verbatim_hours, subtitle_hours, seed):
    """Writes the training sets of the comparison under ``folder``.

    Returns
    -------
    dict
        Set name (``verbatim``, ``subtitle``, ``mixed``, ``naive``) -> path of its
        manifest, and ``summary``: rows and hours per set.
    """
    from speechbrain_subtitle.data import read_manifest

    train = read_manifest(data / "train.csv", check_audio=False)
    with_verbatim = {k: r for k, r in train.items() if r["verbatim"]}
    if not with_verbatim:
        raise SystemExit(f"{data / 'train.csv'} has no row with a verbatim transcript")
    verbatim = {
        k: dict(with_verbatim[k], subtitle="")
        for k in select_rows(with_verbatim, verbatim_hours, seed)
    }
    with_subtitle = {k: r for k, r in train.items() if r["subtitle"] and k not in verbatim}
    if not with_subtitle:
        raise SystemExit(f"{data / 'train.csv'} has no subtitle row left for the subtitle set")
    subtitle = {
        k: dict(with_subtitle[k], verbatim="")
        for k in select_rows(with_subtitle, subtitle_hours, seed)
    }
    naive = dict(verbatim)
    for k, r in subtitle.items():
        text = naive_verbatim(r["subtitle"])
        if text:
            naive[k] = dict(r, verbatim=text, subtitle="")
    sets = {"verbatim": verbatim, "subtitle": subtitle, "mixed": {**verbatim, **subtitle},
            "naive": naive}  # fmt: skip
    paths = {}
    for name, rows in sets.items():
        paths[name] = folder / f"{name}.csv"
        write_manifest(paths[name], rows)
    summary = {
        name: {"rows": len(rows), "hours": round(hours_of(rows), 4)} for name, rows in sets.items()
    }
    with open(folder / "selection.json", "w", encoding="utf-8") as f:
        json.dump({"corpus": str(data.resolve()), "seed": seed, "verbatim_hours": verbatim_hours,
                   "subtitle_hours": subtitle_hours, "sets": summary}, f, indent=2)  # fmt: skip
        f.write("\n")
    return dict(paths, summary=summary)


def batches_per_epoch(manifest, settings):
    """Batches in one epoch of ``manifest`` with the training's batch sampler."""
    from speechbrain_subtitle.data import MixedRatioBatchSampler, read_manifest

    rows = read_manifest(manifest, settings.get("max_duration"), check_audio=False)
    sampler = MixedRatioBatchSampler.from_rows(
        rows,
        batch_size=settings["batch_size"],
        verbatim_fraction=settings.get("verbatim_fraction", 0.5),
        bucket_batches=settings.get("bucket_batches", 20),
        seed=settings.get("seed", 0),
    )
    return len(sampler)


def epochs_run(train_log):
    """Epochs that ran, from SpeechBrain's ``train_log.txt`` (``epoch: N, ...`` lines)."""
    found = [int(m.group(1)) for m in re.finditer(r"^epoch: (\d+)", train_log, re.M)]
    return max(found, default=0)


def ctc_pretrain(args, folder, tokenizer, sets, settings):
    """CTC-only pre-training of the encoder on the verbatim set; returns the checkpoint."""
    sys.path.insert(0, str(HERE))
    import ctc_pretrain as ctc

    from speechbrain_subtitle.data import read_manifest

    work = folder / "ctc_data"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sets["verbatim"], work / "train.csv")
    write_manifest(work / "valid.csv", read_manifest(args.data / "valid.csv", check_audio=False))
    checkpoint = args.out / "ctc_pretrain.pt"
    # ctc_pretrain.py drops incomplete batches: a batch larger than the set would never step
    batch = min(settings["batch_size"], sets["summary"]["verbatim"]["rows"])
    argv = ["pretrain", "--data_folder", str(work), "--tokenizer", str(tokenizer),
            "--steps", str(args.ctc_pretrain_steps), "--batch_size", str(batch),
            "--report", str(max(1, args.ctc_pretrain_steps // 4)), "--device", args.device,
            "--checkpoint", str(checkpoint)]  # fmt: skip
    if args.ctc_pretrain_minutes:
        argv += ["--max_minutes", str(args.ctc_pretrain_minutes)]
    started = time.perf_counter()
    ctc.main(argv)
    return checkpoint, time.perf_counter() - started


def train_one(name, args, settings, sets, tokenizer, vocab_size, updates, encoder_init):
    """Trains and tests one model; returns its row of the table."""
    from speechbrain_subtitle.train import main

    architecture, train_set = MODELS[name]
    out = args.out / "models" / name
    if out.exists():
        if not args.overwrite:
            raise SystemExit(f"{out} exists (an earlier run): use --overwrite or another --out")
        shutil.rmtree(out)
    per_epoch = batches_per_epoch(sets[train_set], settings)
    epochs = max(1, round(updates / per_epoch))
    argv = [
        str(SIZES[args.size]),
        f"--architecture={ARCHITECTURES / f'{architecture}.yaml'}",
        f"--data_folder={args.data.resolve()}",
        f"--train_csv={sets[train_set]}",
        f"--valid_csv={(args.data / 'valid.csv').resolve()}",
        f"--test_csvs=[{','.join(str(path) for path in test_sets(args.data))}]",
        f"--output_folder={out}",
        f"--tokenizer_file={tokenizer}",
        f"--vocab_size={vocab_size}",
        f"--number_of_epochs={epochs}",
        f"--batch_size={settings['batch_size']}",
        f"--test_beam_size={settings['test_beam_size']}",
        f"--device={args.device}",
    ]
    if args.max_minutes:
        argv.append(f"--max_train_minutes={args.max_minutes}")
    if encoder_init:
        argv.append(f"--encoder_init={encoder_init}")
    started = time.perf_counter()
    brain = main(argv)
    seconds = time.perf_counter() - started
    metrics_file = out / "test_test" / "metrics.json"
    scores = json.loads(metrics_file.read_text(encoding="utf-8"))
    unseen = None
    if len(test_sets(args.data)) > 1:
        unseen_file = out / "test_test_unseen" / "metrics.json"
        other = json.loads(unseen_file.read_text(encoding="utf-8"))
        unseen = {"verbatim_wer": other.get("WER_verbatim"), "subtitle_wer": None,
                  "subtitle_bleu": None, "test_utterances": other.get("utterances"),
                  "metrics_file": str(unseen_file)}  # fmt: skip
    ran = epochs_run((out / "train_log.txt").read_text(encoding="utf-8"))
    model = brain.hparams.model
    subtitles = model.has_subtitle_branch
    if unseen and subtitles:
        unseen["subtitle_wer"] = other.get("WER_subtitle")
        unseen["subtitle_bleu"] = other.get("BLEU_subtitle")
    data = {
        "verbatim": {"rows": 0, "hours": 0.0},
        "subtitle": {"rows": 0, "hours": 0.0},
        "subtitle_as_verbatim": train_set == "naive",
    }
    summary = sets["summary"]
    data["verbatim"] = dict(summary["verbatim"])
    if train_set in ("mixed", "naive"):
        data["subtitle"] = dict(summary["subtitle"])
        if train_set == "naive":  # subtitles that normalised to nothing were left out
            data["subtitle"]["rows"] = summary["naive"]["rows"] - summary["verbatim"]["rows"]
            data["subtitle"]["hours"] = round(
                summary["naive"]["hours"] - summary["verbatim"]["hours"], 4
            )
    return {
        "model": name,
        "architecture": architecture,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_set": train_set,
        "data": data,
        "epochs": ran,
        "updates": ran * per_epoch,
        "verbatim_wer": scores.get("WER_verbatim"),
        "subtitle_wer": scores.get("WER_subtitle") if subtitles else None,
        "subtitle_bleu": scores.get("BLEU_subtitle") if subtitles else None,
        "test_utterances": scores.get("utterances"),
        "unseen": unseen,
        "search": scores.get("search"),
        "seconds": round(seconds, 1),
        "metrics_file": str(metrics_file),
    }


def test_sets(data):
    """The test manifests a corpus folder has: ``test.csv``, then ``test_unseen.csv`` if any."""
    paths = [(data / "test.csv").resolve()]
    if (data / "test_unseen.csv").is_file():
        paths.append((data / "test_unseen.csv").resolve())
    return paths


def _number(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def _data_cell(part, as_verbatim=False):
    if not part["rows"]:
        return "-"
    text = f"{part['rows']} / {part['hours']:.2f} h"
    return text + " (as verbatim)" if as_verbatim else text


def format_table(result):
    """The comparison as a Markdown document (title, setting, table, disclaimer).

    >>> row = {"model": "c8", "architecture": "c8", "parameters": 10,
    ...        "data": {"verbatim": {"rows": 2, "hours": 0.01},
    ...                 "subtitle": {"rows": 4, "hours": 0.02}, "subtitle_as_verbatim": False},
    ...        "epochs": 1, "updates": 3, "verbatim_wer": 50.0, "subtitle_wer": 60.0,
    ...        "subtitle_bleu": 5.5, "seconds": 1.0}
    >>> text = format_table({"label": LABEL, "corpus": "c", "test_utterances": 2, "size": "tiny",
    ...                      "date": "d", "machine": "m", "budget": "b", "models": [row]})
    >>> "| c8 | c8 | 10 | 2 / 0.01 h | 4 / 0.02 h | 1 / 3 | 50.0 | 60.0 | 5.5 | 1 |" in text
    True
    >>> row["unseen"] = {"verbatim_wer": 70.0, "subtitle_wer": 80.0, "subtitle_bleu": 1.25,
    ...                  "test_utterances": 2}
    >>> text = format_table({"label": LABEL, "corpus": "c", "test_utterances": 2, "size": "tiny",
    ...                      "date": "d", "machine": "m", "budget": "b", "models": [row]})
    >>> "| 1 / 3 | 50.0 | 60.0 | 5.5 | 70.0 | 80.0 | 1.2 | 1 |" in text
    True
    """
    unseen = any(row.get("unseen") for row in result["models"])
    test = f"test: {result['test_utterances']} utterances of held-out speakers"
    header = ("| model | architecture | params | verbatim text (rows / h) "
              "| subtitle text (rows / h) | epochs / updates | verbatim WER (%) "
              "| subtitle WER (%) | subtitle BLEU |")  # fmt: skip
    if unseen:
        first = next(row["unseen"] for row in result["models"] if row.get("unseen"))
        test += (
            f"; test_unseen: {first['test_utterances']} utterances of held-out templates, "
            "vocabulary and speakers, with noise"
        )
        header += " unseen verbatim WER (%) | unseen subtitle WER (%) | unseen subtitle BLEU |"
    header += " time (s) |"
    lines = [
        f"# Does subtitle-only data help? ({result['label']})",
        "",
        f"Corpus `{result['corpus']}` ({result['label']}); {test}. Size `{result['size']}`; "
        f"{result['budget']}. {result['machine']}, {result['date']}.",
        "",
        header,
        "|---|---|" + "---:|" * (header.count("|") - 3),
    ]
    for row in result["models"]:
        data = row["data"]
        line = (
            f"| {row['model']} | {row['architecture']} | {row['parameters']} "
            f"| {_data_cell(data['verbatim'])} "
            f"| {_data_cell(data['subtitle'], data['subtitle_as_verbatim'])} "
            f"| {row['epochs']} / {row['updates']} | {_number(row['verbatim_wer'])} "
            f"| {_number(row['subtitle_wer'])} | {_number(row['subtitle_bleu'])} |"
        )
        if unseen:
            other = row.get("unseen") or {}
            line += (
                f" {_number(other.get('verbatim_wer'))} | {_number(other.get('subtitle_wer'))}"
                f" | {_number(other.get('subtitle_bleu'))} |"
            )
        lines.append(line + f" {row['seconds']:.0f} |")
    lines += [
        "",
        "Verbatim WER after normalisation (lower case, no punctuation or fillers, numbers "
        "in words); subtitle WER cased and with punctuation; BLEU on the subtitles. `-`: "
        "the model writes no subtitle. Time: training plus test decoding.",
        f"**{result['label'].capitalize()}: these numbers say nothing about real speech.**",
        "",
    ]
    return "\n".join(lines)


def machine_description(device):
    """A short description of the machine and device."""
    text = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores"
    if device.startswith("cuda"):
        import torch

        text += f", {torch.cuda.get_device_name(torch.device(device))}"
    return f"{text}, device {device}"


def main(argv=None):
    """Runs the comparison; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    args.data, args.out = args.data.resolve(), args.out.resolve()
    for path in ("train.csv", "valid.csv", "test.csv"):
        if not (args.data / path).is_file():
            print(f"error: {args.data / path} not found (build it with make_corpus.py)",
                  file=sys.stderr)  # fmt: skip
            return 2
    from speechbrain_subtitle.data import read_manifest
    from speechbrain_subtitle.tokenizer import train_tokenizer

    args.out.mkdir(parents=True, exist_ok=True)
    settings = yaml_settings(SIZES[args.size])
    if args.batch_size:
        settings["batch_size"] = args.batch_size
    if args.beam_size:
        settings["test_beam_size"] = args.beam_size
    sets = prepare_sets(args.data, args.out / "data", args.verbatim_hours,
                        args.subtitle_hours, args.seed)  # fmt: skip
    texts = [r[k] for r in read_manifest(sets["mixed"], check_audio=False).values()
             for k in ("verbatim", "subtitle")]  # fmt: skip
    tokenizer = args.out / "tokenizer.model"
    vocab = args.vocab_size or tokenizer_size(texts, settings["vocab_size"])
    sp = train_tokenizer(texts, args.out / "tokenizer", vocab_size=vocab)
    epochs = args.epochs if args.epochs is not None else settings["number_of_epochs"]
    updates = max(1, round(epochs * batches_per_epoch(sets["mixed"], settings)))
    encoder_init, ctc_seconds = None, None
    if args.ctc_pretrain_steps:
        print(f"CTC pre-training on the verbatim set ({args.ctc_pretrain_steps} updates)...",
              flush=True)  # fmt: skip
        encoder_init, ctc_seconds = ctc_pretrain(args, args.out, tokenizer, sets, settings)
    budget = (
        f"{updates} updates per model ({epochs:g} epochs of the mixed set) of "
        f"{settings['batch_size']} rows, {sp.get_piece_size()} tokens, "
        f"test beam {settings['test_beam_size']}"
    )
    if args.max_minutes:
        budget += f", at most {args.max_minutes:g} min of training per model"
    if encoder_init:
        budget += (
            f", every model started from one CTC-pre-trained encoder "
            f"({args.ctc_pretrain_steps} updates, {ctc_seconds:.0f} s)"
        )
    rows = []
    for k, name in enumerate(args.models, 1):
        print(f"[{k}/{len(args.models)}] training {name}...", flush=True)
        rows.append(train_one(name, args, settings, sets, tokenizer, sp.get_piece_size(),
                              updates, encoder_init))  # fmt: skip
        print(f"    done in {rows[-1]['seconds']:.0f} s", flush=True)
    result = {
        "label": LABEL,
        "corpus": str(args.data.resolve()),
        "test_utterances": rows[0]["test_utterances"],
        "size": args.size,
        "training_yaml": str(SIZES[args.size].relative_to(ROOT)),
        "budget": budget,
        "updates": updates,
        "epochs_of_mixed_set": epochs,
        "ctc_pretrain_steps": args.ctc_pretrain_steps,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(args.device),
        "data": sets["summary"],
        "models": rows,
    }
    text = format_table(result)
    (args.out / "comparison.md").write_text(text, encoding="utf-8")
    with open(args.out / "comparison.json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
