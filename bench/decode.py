#!/usr/bin/env python3
"""Real-time factor of decoding both texts next to SpeechBrain's stock beam search.

All rows decode the same audio with the same model and beam size, and every
row's time includes features, normalization and the shared encoder:

``both``
    ``SubtitleASR.transcribe_batch``: one encoder pass, then the verbatim beam
    search (joint CTC, weight 0.3) and the subtitle beam search (no CTC). The
    product path.
``verbatim_only_ours``
    The same call with ``tasks=("verbatim",)``.
``stock``
    SpeechBrain's stock ``S2STransformerBeamSearcher`` with a joint CTC scorer
    (weight 0.3) decoding the verbatim branch on the same encoder output. The
    baseline: "x stock" is each row's time divided by this row's.
``verbatim_stock_rule``, ``both_stock_rule``
    Diagnostics: ``verbatim_only_ours`` and ``both`` with the package's
    ``SubtitleBeamSearcher`` swapped (in this process only) for the stock
    searcher, i.e. the stock stopping rule. They tell how much of the extra
    cost comes from the stricter stopping rule rather than from the second
    search.

By default the model is the tiny C8 recipe (``hparams/train_tiny.yaml``),
trained for about 15 s on the six synthetic test utterances and exported;
``--model`` takes an exported model folder instead. ``--paper-size`` also
times an untrained, paper-size C8 (random weights: every hypothesis runs to the
length cap, so it measures the cost per search step).

``--faster-whisper PATH`` adds a reference outside SpeechBrain: a Whisper model
in CTranslate2 format (e.g. ``Systran/faster-whisper-base``) run by the
``faster-whisper`` package in int8 on the CPU, writing one text (Dutch, same
beam size, temperature 0, no timestamps) for every utterance of the same
audio, one utterance at a time as ``WhisperModel.transcribe`` works. Skipped
with a note when the package is not installed (it is not a dependency).

Examples::

    python bench/decode.py                              # tiny model, CPU defaults
    python bench/decode.py --paper-size --json /tmp/decode.json
    python bench/decode.py --save-model /tmp/tiny && python bench/decode.py --model /tmp/tiny
    python bench/decode.py --model path/to/exported --beam-size 20 --device cuda
    python bench/decode.py --model models/synthetic-nl-c8-demo --paper-size \
        --faster-whisper /path/to/faster-whisper-base
"""

import argparse
import contextlib
import csv
import dataclasses
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from unittest import mock

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16000
CTC_WEIGHT = 0.3
ROWS = (
    "both",
    "both_reference",
    "both_int8",
    "verbatim_only_ours",
    "stock",
    "verbatim_stock_rule",
    "both_stock_rule",
)
#: The row the fast path is compared with (the same search before caches and pruned CTC).
REFERENCE = "both_reference"
BASELINE = "stock"
# Diagnostic rows: the row they repeat with the stock searcher swapped in.
STOCK_RULE_OF = {"verbatim_stock_rule": "verbatim_only_ours", "both_stock_rule": "both"}
DESCRIPTIONS = {
    "both": "verbatim (CTC 0.3) + subtitle (no CTC), SubtitleBeamSearcher, defaults "
    "(decoder caches, CTC on candidates)",
    "both_reference": "both without the fast path (decoders rerun on each whole prefix, "
    "CTC on the whole vocabulary): the same hypotheses",
    "both_int8": "both with the linear layers dynamically quantized to int8 (CPU)",
    "verbatim_only_ours": "verbatim only (CTC 0.3), SubtitleBeamSearcher",
    "stock": "verbatim only (CTC 0.3), stock S2STransformerBeamSearcher",
    "verbatim_stock_rule": "verbatim_only_ours with the stock searcher swapped in",
    "both_stock_rule": "both with the stock searcher swapped in",
}
TRAIN_EPOCHS = 60
# Targets of issue #12: both texts vs the stock single-text search (trained model);
# per-step cost of both texts vs the reference path (paper-size model), float and int8.
TARGET_VS_STOCK = 0.8
TARGET_VS_REFERENCE = 0.35
TARGET_INT8_VS_REFERENCE = 0.2
TARGET_INT8_VS_WHISPER = 1.5  # paper-size both_int8 time / faster-whisper base int8 time
REFERENCE_OPTIONS = {"use_cache": False, "ctc_candidates": 0}


# --------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Measure the real-time factor (RTF = decoding wall time / audio seconds) of "
            "decoding a verbatim transcript and a subtitle with SubtitleASR, next to decoding "
            "the verbatim text alone with our searcher and with SpeechBrain's stock "
            "S2STransformerBeamSearcher (joint CTC 0.3), on the same model, audio and beam "
            "size. Times include features and the encoder. Prints, per model, a table of "
            "totals and one of what happens inside each beam search (steps, decoder, CTC "
            "scoring, stopping rule), then one JSON line. Without --model it first trains the "
            "tiny C8 recipe on the six synthetic test utterances (about 15 s on an idle 2-core "
            "CPU); the defaults take about 30 s in all, --paper-size adds about 30 s. "
            "Numbers from that tiny model on synthetic speech show relative costs, not what a "
            "real model achieves. Other processes on the same cores distort CPU timings badly "
            "(a warning is printed when that is detected)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model",
        type=pathlib.Path,
        default=None,
        help="exported model folder (speechbrain-subtitle export); unset: train and export "
        f"the tiny C8 recipe (hparams/train_tiny.yaml, {TRAIN_EPOCHS} epochs) in a temp dir",
    )
    parser.add_argument(
        "--save-model",
        type=pathlib.Path,
        default=None,
        help="keep the trained tiny model in this folder (reuse it later with --model)",
    )
    parser.add_argument(
        "--paper-size",
        action="store_true",
        help="also time an untrained paper-size C8 (hparams/c8.yaml, 64M parameters, 5000 "
        "tokens); with random weights hypotheses run to the --max-decode-ratio cap, so this "
        "measures the cost per search step",
    )
    parser.add_argument(
        "--max-decode-ratio",
        type=float,
        default=0.2,
        help="--paper-size only: longest hypothesis as a fraction of the encoder frames (the "
        "trained model decodes with 1.0, as the stock recipe)",
    )
    parser.add_argument(
        "--paper-batches",
        type=int,
        default=1,
        help="--paper-size only: how many of the batches the paper-size model decodes (its "
        "searches take seconds per step on a CPU)",
    )
    parser.add_argument(
        "--csv",
        type=pathlib.Path,
        default=REPO / "tests" / "fixtures" / "tiny.csv",
        help="manifest whose utterances are decoded (columns ID and wav; 16 kHz mono)",
    )
    parser.add_argument("--batch-size", type=int, default=6, help="utterances per batch")
    parser.add_argument(
        "--copies",
        type=int,
        default=4,
        help="decode the manifest's utterances this many times, for more audio per pass",
    )
    parser.add_argument("--beam-size", type=int, default=10, help="beam size of every row")
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=ROWS,
        default=list(ROWS),
        help="which rows to time; ratios need 'stock'. The *_stock_rule rows are diagnostics "
        "(our path with the stock searcher swapped in); --paper-size skips them",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed passes over all batches per row (after 1 warm-up pass); the median is "
        "reported. Rows are interleaved pass by pass",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where to decode",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads; unset leaves torch's own choice (all cores)",
    )
    parser.add_argument(
        "--seed", type=int, default=1234, help="torch seed (tiny-model training, paper model)"
    )
    parser.add_argument(
        "--faster-whisper",
        type=pathlib.Path,
        default=None,
        metavar="PATH",
        help="also time faster-whisper (int8, CPU) with this CTranslate2 Whisper model folder "
        "on the same audio; skipped when the faster-whisper package is not installed",
    )
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also save the JSON here")
    # Internal: train and export the tiny model into a folder, then exit.
    parser.add_argument("--train-into", type=pathlib.Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.copies < 1 or args.beam_size < 1:
        parser.error("--batch-size, --copies and --beam-size must be >= 1")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.paper_batches < 1:
        parser.error("--paper-batches must be >= 1")
    if args.max_decode_ratio <= 0:
        parser.error("--max-decode-ratio must be positive")
    if args.model is not None and args.save_model is not None:
        parser.error("--save-model only applies to the tiny model trained without --model")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but CUDA is not available")
    return args


def emit_json(payload, path=None):
    """Prints ``payload`` as one JSON line and also writes it to ``path`` when given."""
    line = json.dumps(payload)
    print(line)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n")


def log(message):
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ models
def train_tiny(folder, seed):
    """Trains the tiny C8 recipe and exports it to ``folder/model`` (run in a child)."""
    from speechbrain_subtitle import train
    from speechbrain_subtitle.hub import export_model

    os.chdir(REPO)  # the recipe's manifest paths are relative to the repository
    with contextlib.redirect_stdout(sys.stderr):
        train.main(
            [
                "hparams/train_tiny.yaml",
                f"--output_folder={folder}/exp",
                f"--number_of_epochs={TRAIN_EPOCHS}",
                f"--seed={seed}",
            ]
        )
        export_model(
            f"{folder}/exp",
            f"{folder}/model",
            data_note="Benchmark model: tiny C8 trained on six synthetic utterances.",
        )


def tiny_model_folder(args, tmp):
    """Trains the tiny model in a child process; returns its exported folder."""
    log(f"training the tiny C8 recipe ({TRAIN_EPOCHS} epochs) ...")
    started = time.perf_counter()
    work = pathlib.Path(tmp) / "tiny"
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--train-into", str(work)]
    cmd += ["--seed", str(args.seed)]
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    log(f"trained and exported in {time.perf_counter() - started:.1f} s")
    model = work / "model"
    if args.save_model is not None:
        if args.save_model.exists():
            shutil.rmtree(args.save_model)
        shutil.copytree(model, args.save_model)
        log(f"kept the model in {args.save_model}")
    return model


def load_asr(folder, device, tmp):
    from speechbrain_subtitle.inference import SubtitleASR

    savedir = pathlib.Path(tmp) / "savedir"
    return SubtitleASR.from_hparams(
        source=str(folder.resolve()), savedir=str(savedir), run_opts={"device": device}
    )


def build_paper_model(device, seed):
    """Untrained C8 at the published sizes: (model, compute_features, normalize)."""
    from hyperpyyaml import load_hyperpyyaml

    torch.manual_seed(seed)
    with open(REPO / "hparams" / "c8.yaml", encoding="utf-8") as f:
        hp = load_hyperpyyaml(f)
    model = hp["model"].to(device).eval()
    return model, hp["compute_features"].to(device), hp["normalize"].to(device)


# ------------------------------------------------------------------------- audio
def load_batches(args, device):
    """``[(wavs, rel_lens), ...]``: the manifest's utterances ``--copies`` times, in order."""
    from speechbrain_subtitle.inference import load_audio_file

    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{args.csv} lists no utterances")
    wavs = []
    for row in rows:
        path = pathlib.Path(row["wav"])
        if not path.is_absolute():
            path = args.csv.parent / path
        wavs.append(load_audio_file(str(path), SAMPLE_RATE))
    wavs = wavs * args.copies
    batches = []
    for start in range(0, len(wavs), args.batch_size):
        chunk = wavs[start : start + args.batch_size]
        longest = max(len(w) for w in chunk)
        padded = torch.zeros(len(chunk), longest)
        for k, w in enumerate(chunk):
            padded[k, : len(w)] = w
        lens = torch.tensor([len(w) / longest for w in chunk])
        batches.append((padded.to(device), lens.to(device)))
    return batches


def audio_seconds(batches):
    return sum(float(lens.sum()) * wavs.shape[1] for wavs, lens in batches) / SAMPLE_RATE


# --------------------------------------------------------------------- probing
class Probe:
    """Accumulates time and calls of instrumented functions during one pass.

    ``task`` names the search running now; keys may contain ``{task}``, so that
    decoder steps are counted per task even when one decoder object writes both
    texts (shared-task model).
    """

    def __init__(self):
        self.task = None
        self.reset()

    def reset(self):
        self.seconds = {}
        self.calls = {}
        self.max_steps = {}

    def add(self, key, seconds=0.0, calls=1):
        key = key.format(task=self.task)
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds
        self.calls[key] = self.calls.get(key, 0) + calls

    def timed(self, key, fn):
        """``fn`` wrapped so that its calls and wall time add up under ``key``."""

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(key, time.perf_counter() - start)

        return wrapper

    def start_search(self, task, frames, ratio):
        self.task = task
        self.max_steps[task] = self.max_steps.get(task, 0) + int(frames * ratio)


def instrument(stack, probe, model):
    """Times the pieces of decoding; counts decoder steps. Undone when ``stack`` closes.

    Patches in this process only: ``speechbrain_subtitle.decoding.beam_search``
    (each task's search), the model's ``subtitle_encoder_states`` and its decoders'
    ``decode`` (one call per search step), SpeechBrain's ``CTCScorer`` (prefix
    scoring) and the finished-hypothesis bookkeeping and stopping test of both
    searchers (``_update_hyps_and_scores_if_eos_token``, ``_check_full_beams``).
    """
    from speechbrain.decoders.scorer import CTCScorer
    from speechbrain.decoders.seq2seq import S2SBeamSearcher

    from speechbrain_subtitle import decoding

    original_search = decoding.beam_search

    def beam_search(model, task, memories, options):
        probe.start_search(task, memories[0][0].shape[1], options.max_decode_ratio)
        return probe.timed("{task}_search", original_search)(model, task, memories, options)

    patches = [(decoding, "beam_search", beam_search)]
    decoders = {id(model.verbatim_decoder): model.verbatim_decoder}
    if model.subtitle_decoder is not None:
        decoders[id(model.subtitle_decoder)] = model.subtitle_decoder
    for decoder in decoders.values():
        patches.append((decoder, "decode", probe.timed("{task}_decoder", decoder.decode)))
        # the cached path: one ``step`` per search step (plus the caches' set-up)
        patches.append((decoder, "step", probe.timed("{task}_decoder", decoder.step)))
    if model.subtitle_encoder is not None:
        timed = probe.timed("subtitle_encoder", model.subtitle_encoder_states)
        patches.append((model, "subtitle_encoder_states", timed))
    for name in ("score", "permute_mem"):
        patches.append((CTCScorer, name, probe.timed("{task}_ctc", getattr(CTCScorer, name))))
    for cls in (S2SBeamSearcher, decoding.SubtitleBeamSearcher):
        for name in ("_update_hyps_and_scores_if_eos_token", "_check_full_beams"):
            patches.append((cls, name, probe.timed("{task}_finished", cls.__dict__[name])))
    for target, name, value in patches:
        stack.enter_context(mock.patch.object(target, name, value))


def stock_search(model, enc, beam_size, max_decode_ratio, probe):
    """SpeechBrain's stock joint CTC/attention search of the verbatim branch."""
    from speechbrain.decoders.scorer import CTCScorer, ScorerBuilder
    from speechbrain.decoders.seq2seq import S2STransformerBeamSearcher

    def search(states, rel_lens):
        # Built per call, as decoding.beam_search does, and timed with the search.
        decoder = model.verbatim_decoder
        ctc = CTCScorer(
            ctc_fc=model.ctc_head, blank_index=model.blank_index, eos_index=model.eos_index
        )
        searcher = S2STransformerBeamSearcher(
            modules=[decoder, decoder.fc],
            bos_index=model.verbatim_bos_index,
            eos_index=model.eos_index,
            min_decode_ratio=0.0,
            max_decode_ratio=max_decode_ratio,
            beam_size=beam_size,
            temperature=1.0,
            scorer=ScorerBuilder(full_scorers=[ctc], weights={"ctc": CTC_WEIGHT}),
        )
        return searcher(states, rel_lens)

    probe.start_search("verbatim", enc.states.shape[1], max_decode_ratio)
    search = probe.timed("{task}_search", search)
    hyps, _, _, _ = search(enc.states, enc.lengths.float() / enc.states.shape[1])
    return {"verbatim": [list(map(int, h)) for h in hyps]}


def stock_rule():
    """Context that makes our decoding use the stock searcher (stock stopping rule)."""
    from speechbrain.decoders.seq2seq import S2STransformerBeamSearcher

    from speechbrain_subtitle import decoding

    return mock.patch.object(decoding, "SubtitleBeamSearcher", S2STransformerBeamSearcher)


# ------------------------------------------------------------------- pipelines
def asr_pipeline(asr, args, probe):
    """Row name -> function(wavs, lens) -> {task: token lists}, for a SubtitleASR."""
    from speechbrain_subtitle.decoding import TASKS

    model = asr.model
    options = {
        "beam_size": args.beam_size,
        "ctc_weight": CTC_WEIGHT,
        "subtitle_ctc_weight": 0.0,
        "max_decode_ratio": 1.0,
        "greedy": False,
    }
    # Instance attribute: transcribe_batch calls self.encode_batch, so it is timed too.
    asr.encode_batch = probe.timed("encode", asr.encode_batch)

    def ours(tasks, **extra):
        def run(wavs, lens):
            results = asr.transcribe_batch(wavs, lens, tasks=tasks, **options, **extra)
            return {t: [getattr(r, f"{t}_tokens") for r in results] for t in tasks}

        return run

    def stock(wavs, lens):
        enc = asr.encode_batch(wavs, lens)
        with torch.no_grad(), asr.inference_ctx:
            return stock_search(model, enc, args.beam_size, 1.0, probe)

    runs = {
        "both": ours(TASKS),
        "both_reference": ours(TASKS, **REFERENCE_OPTIONS),
        "verbatim_only_ours": ours(("verbatim",)),
        "stock": stock,
    }
    if args.device == "cpu":
        quantized = int8_copy(model)

        def int8(wavs, lens):
            asr.mods.model = quantized
            try:
                return runs["both"](wavs, lens)
            finally:
                asr.mods.model = model

        runs["both_int8"] = int8
    return model, 1.0, runs


def int8_copy(model):
    """``model`` with its linear layers dynamically quantized (as ``SubtitleASR.quantize``)."""
    from speechbrain_subtitle.inference import int8_linear_layers

    return int8_linear_layers(model)


def paper_pipeline(model, compute_features, normalize, args, probe, batches):
    """The same rows for a bare model: features, normalization, encoder, ``decode``."""
    from speechbrain_subtitle.decoding import TASKS, DecodingOptions, decode
    from speechbrain_subtitle.features import batch_features

    ratio = args.max_decode_ratio
    options = DecodingOptions(
        beam_size=args.beam_size, ctc_weight=CTC_WEIGHT, max_decode_ratio=ratio
    )
    # The untrained global normalizer has no statistics yet: fit it on the benchmark audio.
    normalize.train()
    with torch.no_grad():
        for wavs, lens in batches:
            normalize(*batch_features(compute_features, wavs, lens), epoch=0)
    normalize.eval()

    def encode(wavs, lens, net=model):
        start = time.perf_counter()
        with torch.no_grad():
            feats, feat_lens = batch_features(compute_features, wavs, lens)
            enc = net.encode(normalize(feats, feat_lens), feat_lens)
        probe.add("encode", time.perf_counter() - start)
        return enc

    def ours(tasks, net=model, search=options):
        def run(wavs, lens):
            out = decode(net, encode(wavs, lens, net), tasks, search)
            return {t: hyps for t, (hyps, _) in out.items()}

        return run

    def stock(wavs, lens):
        enc = encode(wavs, lens)
        with torch.no_grad():
            return stock_search(model, enc, args.beam_size, ratio, probe)

    reference = dataclasses.replace(options, **REFERENCE_OPTIONS)
    runs = {
        "both": ours(TASKS),
        "both_reference": ours(TASKS, search=reference),
        "verbatim_only_ours": ours(("verbatim",)),
        "stock": stock,
    }
    if args.device == "cpu":
        runs["both_int8"] = ours(TASKS, net=int8_copy(model))
    return model, ratio, runs


# ---------------------------------------------------------------------- timing
def busy_cpu_seconds():
    """CPU seconds all processes of the machine have used since boot (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def time_rows(args, rows, runs, batches, probe, device):
    """Runs every row over all batches: 1 warm-up pass, then ``--repeats`` timed passes.

    Rows take turns pass by pass, so that a slow spell of the machine hits all of them.
    Returns row name -> list of per-pass records (times, probe values, hypotheses).
    """

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def one_pass(name):
        fn = runs[STOCK_RULE_OF.get(name, name)]
        context = stock_rule() if name in STOCK_RULE_OF else contextlib.nullcontext()
        probe.reset()
        hyps = {}
        with context:
            sync()
            busy = busy_cpu_seconds()
            start, cpu_start = time.perf_counter(), time.process_time()
            for wavs, lens in batches:
                for task, rows in fn(wavs, lens).items():
                    hyps.setdefault(task, []).extend(rows)
            sync()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            busy_after = busy_cpu_seconds()
        # CPU seconds used by other processes on the machine during this pass.
        others = None if busy is None else max(0.0, busy_after - busy - cpu)
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "others_cpu_s": others,
            "seconds": dict(probe.seconds),
            "calls": dict(probe.calls),
            "max_steps": dict(probe.max_steps),
            "hyps": hyps,
        }

    passes = {name: [] for name in rows}
    for k in range(1 + args.repeats):
        label = "warm-up" if k == 0 else f"pass {k}/{args.repeats}"
        for name in rows:
            record = one_pass(name)
            log(f"  [{name}] {label}: {record['wall_s']:.2f} s")
            if k > 0:
                passes[name].append(record)
    return passes


def summarize(passes, audio_s, n_batches, threads):
    """Per row: median time, RTF, ratio to stock, and the median pass's breakdown."""
    results = {}
    for name, records in passes.items():
        walls = [r["wall_s"] for r in records]
        # The breakdown comes from the pass with the median time (the lower one of two).
        median_pass = sorted(records, key=lambda r: r["wall_s"])[(len(records) - 1) // 2]
        secs, calls = median_pass["seconds"], median_pass["calls"]
        res = {
            "name": name,
            "description": DESCRIPTIONS[name],
            "times_s": walls,
            "median_s": statistics.median(walls),
            "min_s": min(walls),
            "encode_s": secs.get("encode", 0.0),
            "subtitle_encoder_s": secs.get("subtitle_encoder", 0.0),
            "cpu_utilisation": sum(r["cpu_s"] for r in records) / (sum(walls) * threads),
        }
        res["rtf"] = res["median_s"] / audio_s
        others = [r["others_cpu_s"] for r in records]
        # Share of the machine's cores that other processes used while this row ran.
        cores = os.cpu_count() or 1
        res["others_cpu_share"] = None if None in others else sum(others) / (sum(walls) * cores)
        searched = 0.0
        res["searches"] = {}
        for task, hyps in median_pass["hyps"].items():
            search = secs.get(f"{task}_search", 0.0)
            steps = calls.get(f"{task}_decoder", 0)
            parts = {
                "search_s": search,
                "steps_per_batch": steps / n_batches,
                "step_cap_per_batch": median_pass["max_steps"].get(task, 0) / n_batches,
                "decoder_s": secs.get(f"{task}_decoder", 0.0),
                "ctc_s": secs.get(f"{task}_ctc", 0.0),
                "finished_s": secs.get(f"{task}_finished", 0.0),
                "mean_tokens": sum(map(len, hyps)) / max(1, len(hyps)),
            }
            parts["rest_s"] = search - parts["decoder_s"] - parts["ctc_s"] - parts["finished_s"]
            parts["ms_per_step"] = 1000 * search / steps if steps else None
            res["searches"][task] = parts
            searched += search
        res["other_s"] = median_pass["wall_s"] - (
            res["encode_s"] + res["subtitle_encoder_s"] + searched
        )
        res["median_pass_s"] = median_pass["wall_s"]
        res["hyps"] = median_pass["hyps"]
        results[name] = res
    base, ref = results.get(BASELINE), results.get(REFERENCE)
    for res in results.values():
        res["x_stock"] = None if base is None else res["median_s"] / base["median_s"]
        res["x_reference"] = None if ref is None else res["median_s"] / ref["median_s"]
    return results


def agreement(results, task, reference):
    """How many ``task`` hypotheses of each other row equal those of row ``reference``."""
    base = results.get(reference)
    if base is None or task not in base["hyps"]:
        return {}
    ref = base["hyps"][task]
    return {
        name: sum(a == b for a, b in zip(res["hyps"][task], ref))
        for name, res in results.items()
        if name != reference and task in res["hyps"]
    }


# ----------------------------------------------------------------------- report
def render(header, rows):
    """Left-aligned first column, right-aligned others."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first] + rest)

    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def num(value, fmt="{:.2f}"):
    return "-" if value is None else fmt.format(value)


def main_table(results):
    header = ["row", "total s", "min s", "RTF", "x stock", "x ref", "encode s", "sub enc s"]
    header += ["verb search s", "sub search s", "other s"]
    rows = []
    for res in results.values():
        searches = res["searches"]
        rows.append(
            [
                res["name"],
                num(res["median_s"]),
                num(res["min_s"]),
                num(res["rtf"], "{:.4f}"),
                num(res["x_stock"]),
                num(res["x_reference"]),
                num(res["encode_s"]),
                num(res["subtitle_encoder_s"] if "subtitle" in searches else None),
                num(searches["verbatim"]["search_s"] if "verbatim" in searches else None),
                num(searches["subtitle"]["search_s"] if "subtitle" in searches else None),
                num(res["other_s"]),
            ]
        )
    return render(header, rows)


def search_table(results):
    header = ["row", "task", "steps/cap", "tokens", "search s", "ms/step", "decoder s"]
    header += ["ctc s", "finished s", "rest s"]
    rows = []
    for res in results.values():
        for task, p in res["searches"].items():
            rows.append(
                [
                    res["name"],
                    task,
                    f"{p['steps_per_batch']:.1f}/{p['step_cap_per_batch']:.0f}",
                    num(p["mean_tokens"], "{:.1f}"),
                    num(p["search_s"]),
                    num(p["ms_per_step"], "{:.1f}"),
                    num(p["decoder_s"]),
                    num(p["ctc_s"]),
                    num(p["finished_s"]),
                    num(p["rest_s"]),
                ]
            )
    return render(header, rows)


def report(title, section, args, per_step_targets=False):
    """The printed tables of one section; ``per_step_targets``: also the targets on
    the cost per step against ``both_reference`` (set for the paper-size model)."""
    results = section["results"]
    out = [f"== {title}", section["note"], ""]
    out += main_table(results)
    out.append("")
    out.append(
        f"audio: {section['audio_seconds']:.1f} s ({section['utterances']} utterances in "
        f"{section['batches']} batches of <= {args.batch_size}); beam {args.beam_size}; "
        f"max_decode_ratio {section['max_decode_ratio']:g}; device {args.device}; "
        f"threads {section['threads']}; median of {args.repeats} passes after 1 warm-up."
    )
    out.append(
        "total s = median wall time of a pass over all batches; RTF = total s / audio s; "
        "x stock = total s / stock's; x ref = total s / both_reference's. The breakdown is "
        "that of the median pass: encode = features + normalization + shared encoder, "
        "sub enc = subtitle encoder, search = each beam search, other = the rest (silence "
        "check, detokenization)."
    )
    for name, res in results.items():
        out.append(f"  {name}: {res['description']}")
    same = section["verbatim_same_as_stock"]
    if same:
        total = len(results[BASELINE]["hyps"]["verbatim"])
        pairs = ", ".join(f"{name} {k}/{total}" for name, k in same.items())
        out.append(f"verbatim hypotheses identical to stock's: {pairs}")
    same = section["verbatim_same_as_both"]
    if same:
        total = len(results["both"]["hyps"]["verbatim"])
        pairs = ", ".join(f"{name} {k}/{total}" for name, k in same.items())
        out.append(f"verbatim hypotheses identical to both's: {pairs}")
    same = section["subtitle_same_as_both"]
    if same:
        total = len(results["both"]["hyps"]["subtitle"])
        pairs = ", ".join(f"{name} {k}/{total}" for name, k in same.items())
        out.append(f"subtitle hypotheses identical to both's: {pairs}")
    out.append("")
    out.append("Inside the searches (median pass):")
    out += search_table(results)
    out.append(
        "steps/cap = decoder calls per batch / max steps (int(frames x max_decode_ratio)); "
        "tokens = mean hypothesis length; decoder = decoder step (one new token with caches, "
        "or the whole prefix again without); "
        "ctc = CTC prefix scoring; finished = finished-hypothesis bookkeeping + stopping "
        "test; rest = top-k, reordering, fc + log-softmax."
    )
    out.append("")
    targets = [("both", "x_stock", "stock", TARGET_VS_STOCK)]
    if per_step_targets:
        targets += [
            ("both", "x_reference", REFERENCE, TARGET_VS_REFERENCE),
            ("both_int8", "x_reference", REFERENCE, TARGET_INT8_VS_REFERENCE),
        ]
    for row, key, against, target in targets:
        ratio = results.get(row, {}).get(key)
        if ratio is not None:
            verdict = "within" if ratio <= target else "ABOVE"
            out.append(f">>> {row} / {against} = {ratio:.2f}x ({verdict} the {target:g}x target)")
    busy = [
        f"{r['name']} ({100 * r['others_cpu_share']:.0f} %)"
        for r in results.values()
        if r["others_cpu_share"] is not None and r["others_cpu_share"] > 0.1
    ]
    if busy:
        hint = " (or with --threads 1)" if section["threads"] > 1 else ""
        out.append(
            "WARNING: other processes used more than 10 % of the machine's cores during "
            f"{', '.join(busy)}; OpenMP threads then stall and times are not comparable. "
            f"Rerun on an idle machine{hint}."
        )
    return "\n".join(out)


def run_section(args, rows, model, ratio, runs, batches, probe, device, note):
    """Times ``rows`` of one model on ``batches``; returns the section's results."""
    seconds = audio_seconds(batches)
    with contextlib.ExitStack() as stack:
        instrument(stack, probe, model)
        passes = time_rows(args, rows, runs, batches, probe, device)
    threads = torch.get_num_threads()
    results = summarize(passes, seconds, len(batches), threads)
    return {
        "note": note,
        "rows": rows,
        "audio_seconds": seconds,
        "utterances": sum(wavs.shape[0] for wavs, _ in batches),
        "batches": len(batches),
        "max_decode_ratio": ratio,
        "threads": threads,
        "params": sum(p.numel() for p in model.parameters()),
        "verbatim_same_as_stock": agreement(results, "verbatim", BASELINE),
        "subtitle_same_as_both": agreement(results, "subtitle", "both"),
        "verbatim_same_as_both": agreement(results, "verbatim", "both"),
        "results": results,
    }


def faster_whisper_section(args, batches, sections):
    """Times faster-whisper (int8, CPU) writing one text per utterance of ``batches``.

    Returns a dict with the times, the ratios of our rows to it, and ``report``
    (the printed lines); ``{"skipped": reason, "report": ...}`` when the package
    is missing.
    """
    try:
        import faster_whisper
    except ImportError as err:
        reason = f"faster-whisper is not installed ({err}); pip install faster-whisper"
        return {"skipped": reason, "report": f"faster-whisper: skipped: {reason}"}
    threads = torch.get_num_threads()
    model = faster_whisper.WhisperModel(
        str(args.faster_whisper), device="cpu", compute_type="int8", cpu_threads=threads
    )
    clips = [
        [
            wavs[k, : int(round(float(lens[k]) * wavs.shape[1]))].cpu().numpy()
            for k in range(len(wavs))
        ]
        for wavs, lens in batches
    ]

    def one_pass(batch_count):
        start = time.perf_counter()
        for batch in clips[:batch_count]:
            for audio in batch:
                segments, _ = model.transcribe(
                    audio,
                    language="nl",
                    beam_size=args.beam_size,
                    temperature=0.0,
                    without_timestamps=True,
                    condition_on_previous_text=False,
                    vad_filter=False,
                )
                list(segments)  # decoding happens while the generator is consumed
        return time.perf_counter() - start

    out = {"model": str(args.faster_whisper), "threads": threads, "beam_size": args.beam_size}
    lines = [f"faster-whisper {faster_whisper.__version__} ({args.faster_whisper}), int8, "
             f"CPU, {threads} threads, beam {args.beam_size}, one text per utterance:"]  # fmt: skip
    for key, section in sections.items():
        count = section["batches"]
        one_pass(count)  # warm-up
        times = [one_pass(count) for _ in range(args.repeats)]
        median = statistics.median(times)
        entry = {"median_s": median, "times_s": times, "rtf": median / section["audio_seconds"]}
        lines.append(
            f"  on the audio of '{key}' ({section['audio_seconds']:.1f} s): {median:.2f} s, "
            f"RTF {entry['rtf']:.3f}"
        )
        for row in ("both", "both_int8"):
            res = section["results"].get(row)
            if res is not None:
                entry[f"{row}_x_whisper"] = res["median_s"] / median
                lines.append(f"    {row} / faster-whisper = {res['median_s'] / median:.2f}x")
        out[key] = entry
    paper = out.get("paper_size", {}).get("both_int8_x_whisper")
    if paper is not None:
        verdict = "within" if paper <= TARGET_INT8_VS_WHISPER else "ABOVE"
        lines.append(
            f">>> paper-size both_int8 / faster-whisper = {paper:.2f}x ({verdict} the "
            f"{TARGET_INT8_VS_WHISPER:g}x target; the untrained model runs every hypothesis "
            "to the length cap)"
        )
    out["report"] = "\n".join(lines)
    return out


def strip_hyps(section):
    """The section without the token lists (kept out of the JSON line)."""
    out = dict(section)
    out["results"] = {
        name: {k: v for k, v in res.items() if k != "hyps"}
        for name, res in section["results"].items()
    }
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.train_into is not None:
        train_tiny(args.train_into, args.seed)
        return
    started = time.perf_counter()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    batches = load_batches(args, device)
    sections = {}
    with tempfile.TemporaryDirectory(prefix="decode_bench.") as tmp:
        if args.model is None:
            folder = tiny_model_folder(args, tmp)
            label = "tiny C8 (hparams/train_tiny.yaml) trained on synthetic espeak-ng speech"
        else:
            folder = args.model
            label = f"model {args.model}"
        asr = load_asr(folder, args.device, tmp)
        probe = Probe()
        model, ratio, runs = asr_pipeline(asr, args, probe)
        params = sum(p.numel() for p in model.parameters())
        note = f"{label}, {params / 1e3:.0f}k parameters"
        if args.model is None:
            note += (
                f" ({TRAIN_EPOCHS} epochs on the 6 test utterances, which it also decodes): "
                "numbers come from a tiny model on synthetic speech"
            )
        log(f"timing {note}")
        sections["model"] = run_section(
            args, args.rows, model, ratio, runs, batches, probe, device, note
        )
        del asr
    if args.paper_size:
        model, features, normalize = build_paper_model(device, args.seed)
        probe = Probe()
        model, ratio, runs = paper_pipeline(
            model, features, normalize, args, probe, batches[: args.paper_batches]
        )
        params = sum(p.numel() for p in model.parameters())
        note = (
            f"paper-size C8 (hparams/c8.yaml), {params / 1e6:.1f}M parameters, RANDOM "
            f"weights, fixed-length hypotheses (max_decode_ratio {ratio:g}): measures "
            "per-step cost, not real decoding"
        )
        log(f"timing {note}")
        # With random weights hypotheses rarely end, so the stopping rule never acts: the
        # stock-rule rows would repeat their twins.
        rows = [name for name in args.rows if name not in STOCK_RULE_OF]
        paper_batches = batches[: args.paper_batches]
        sections["paper_size"] = run_section(
            args, rows, model, ratio, runs, paper_batches, probe, device, note
        )

    titles = {"model": "Trained model", "paper_size": "Paper-size C8, untrained"}
    for key, section in sections.items():
        print(report(titles[key], section, args, per_step_targets=key == "paper_size"))
        print()
    whisper = None
    if args.faster_whisper is not None:
        whisper = faster_whisper_section(args, batches, sections)
        print(whisper["report"])
        print()
    payload = {
        "benchmark": "decode",
        "device": args.device,
        "beam_size": args.beam_size,
        "batch_size": args.batch_size,
        "copies": args.copies,
        "repeats": args.repeats,
        "seed": args.seed,
        "model": str(args.model) if args.model else "tiny (trained by the script)",
        "torch": torch.__version__,
        "wall_s": time.perf_counter() - started,
        "sections": {key: strip_hyps(section) for key, section in sections.items()},
    }
    if whisper is not None:
        payload["faster_whisper"] = {k: v for k, v in whisper.items() if k != "report"}
    emit_json(payload, args.json)


if __name__ == "__main__":
    main()
