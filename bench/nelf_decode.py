#!/usr/bin/env python3
"""Decoding speed of an imported NeLF model: ours (batched, joint CTC) against the authors' code.

Builds a "v2-size" model in the file layout of the authors' released NeLF
checkpoint (``model.pth``, ``train.yaml``, ``tokens.txt``, ``bpe.model``,
``stats.npz``) with random weights at the released sizes (12x512 Conformer
with 8 heads, a 6-block 512-d Transformer subtitle encoder, two 6-block
decoders that each attend both encoders, 5000 tokens; about 178M parameters),
converts it with ``speechbrain_subtitle.nelf.import_nelf`` and decodes the
same real speech with the same beam size, in one run:

``ours``
    ``SubtitleASR.transcribe_batch`` on all utterances in one batch: verbatim
    search with the joint CTC prefix score (weight 0.3) and the subtitle
    search (no CTC). The product path.
``ours_no_ctc``
    The same call with ``ctc_weight=0``: the search the authors' code really
    runs (their verbatim search drops its CTC scorer: it is registered as
    "ctc" and its weight as "ctc_weight"). A diagnostic.
``authors``
    The authors' runtime as shipped (``NeLFModel.decode``, their ESPnet
    ``BatchBeamSearch``), one utterance at a time, both decoders. Only with
    ``--nelf-code PATH`` (a checkout of ``nelfproject/NeLF_Speech2Text_Pytorch``);
    it runs in a child process with ``--nelf-python`` (an environment with
    their dependencies: librosa, humanfriendly, torch-complex, six). Nothing
    of their code is copied here: the child imports it from the checkout.

Every time includes features, normalization and both encoders. Random
weights rarely emit end-of-sequence, so hypotheses run to the length cap:
both sides cap each search at ``max(1, int(R * encoder frames))`` tokens with
the same ``R`` (``--max-len-ratio``; their ``maxlenratio``, our
``max_decode_ratio``, the same formula) and a minimum length of 0. The
figures therefore compare the cost of the same number of search steps, not
real decoding.

The model's file layout is written without the authors' code: our parts
(:func:`speechbrain_subtitle.nelf.build_parts`) with PyTorch's default
initialisation, saved under the ESPnet key names that the converter maps
(the inverse of :data:`speechbrain_subtitle.nelf.PREFIXES`), a hand-written
``train.yaml``, ``stats.npz`` from the log-mels of the benchmark audio, and a
token list of 5000 entries over a tiny SentencePiece model (most entries are
placeholder pieces that decode as unknown: the hypotheses are random
anyway). The authors' side reports whether their loader (``strict=False``)
found every key.

Examples::

    python bench/nelf_decode.py                                     # ours only
    python bench/nelf_decode.py --nelf-code /tmp/nelf_code \\
        --nelf-python /tmp/nelfenv/bin/python                     # both sides
    python bench/nelf_decode.py --model-dir /tmp/nelf_v2 ...        # keep/reuse the files
    python bench/nelf_decode.py --device cuda --beam-size 20 ...
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE_RATE = 16000
CTC_WEIGHT = 0.3
VOCAB_SIZE = 5000
FILES = ("model.pth", "train.yaml", "tokens.txt", "bpe.model", "stats.npz")
# (file, start s, end s): real speech, cropped to 5-10 s.
AUDIO = (
    ("tests/fixtures/real_speech/librivox/sense_and_sensibility_01_austen_64kb-0870.wav", 0, 7.1),
    ("tests/fixtures/real_speech/librivox/sense_and_sensibility_01_austen_64kb-0920.wav", 0, 6.05),
    ("tests/fixtures/real_speech/librivox/sense_and_sensibility_01_austen_64kb-0890.wav", 0, 5.3),
    ("tests/fixtures/real_speech/pyannote_sample.wav", 7.0, 14.0),
)
# The released v2 sizes; unspecified options take the authors' code defaults.
FRONTEND_CONF = {"fs": SAMPLE_RATE, "n_fft": 512, "hop_length": 128, "n_mels": 80}
ENCODER_CONF = {
    "output_size": 512,
    "attention_heads": 8,
    "linear_units": 2048,
    "num_blocks": 12,
    "dropout_rate": 0.1,
    "positional_dropout_rate": 0.1,
    "attention_dropout_rate": 0.1,
    "input_layer": "conv2d",
    "normalize_before": True,
    "macaron_style": True,
    "rel_pos_type": "latest",
    "pos_enc_layer_type": "rel_pos",
    "selfattention_layer_type": "rel_selfattn",
    "activation_type": "swish",
    "use_cnn_module": True,
    "cnn_module_kernel": 31,
}
SUBTITLE_ENCODER_CONF = {
    "output_size": 512,
    "attention_heads": 8,
    "linear_units": 2048,
    "num_blocks": 6,
    "dropout_rate": 0.1,
    "positional_dropout_rate": 0.1,
    "attention_dropout_rate": 0.1,
    "input_layer": "none",
    "normalize_before": True,
}
DECODER_CONF = {
    "attention_heads": 8,
    "linear_units": 2048,
    "num_blocks": 6,
    "dropout_rate": 0.1,
    "positional_dropout_rate": 0.1,
    "self_attention_dropout_rate": 0.1,
    "src_attention_dropout_rate": 0.1,
}


# --------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Decode the same real speech with a v2-size NeLF-layout model (random weights, "
            "about 178M parameters) converted by import_nelf: ours (SubtitleASR, one batch, "
            "joint CTC 0.3) against the authors' runtime (one utterance at a time, as shipped; "
            "only with --nelf-code). Prints wall time, RTF and ours/theirs per row, then one "
            "JSON line. Both sides cap every search at the same number of tokens "
            "(--max-len-ratio of the encoder frames): random weights run to that cap, so "
            "this compares the same amount of search work. About 5-8 minutes on a 2-core CPU "
            "with the defaults."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model-dir",
        type=pathlib.Path,
        default=None,
        help="folder of the five NeLF files: used when it holds them, else built there and "
        "kept; unset: built in a temp dir",
    )
    parser.add_argument(
        "--nelf-code",
        type=pathlib.Path,
        default=None,
        help="checkout of nelfproject/NeLF_Speech2Text_Pytorch; unset: the authors' side is "
        "skipped",
    )
    parser.add_argument(
        "--nelf-python",
        default=sys.executable,
        help="python of an environment that runs the authors' code (librosa, humanfriendly, "
        "torch-complex, six)",
    )
    parser.add_argument("--beam-size", type=int, default=8, help="beam size of both sides")
    parser.add_argument(
        "--max-len-ratio",
        type=float,
        default=0.05,
        help="length cap of every search on both sides, as a fraction of the encoder frames "
        "(about 31 frames/s here: 0.05 is about 1.6 tokens per second of audio)",
    )
    parser.add_argument(
        "--utterances", type=int, default=3, choices=range(1, len(AUDIO) + 1), help="how many"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="timed passes per row (after a warm-up on the first utterance); median reported",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=("ours", "ours_no_ctc"),
        default=["ours", "ours_no_ctc"],
        help="our rows to time (the authors' row follows --nelf-code)",
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="cpu or cuda[:N], both sides",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both sides")
    parser.add_argument("--seed", type=int, default=1234, help="seed of the random weights")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also save the JSON here")
    # Internal: the authors' side, run in a child process.
    parser.add_argument("--authors-child", type=pathlib.Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.beam_size < 1 or args.repeats < 1:
        parser.error("--beam-size and --repeats must be >= 1")
    if args.max_len_ratio <= 0:
        parser.error("--max-len-ratio must be positive")
    if args.nelf_code is not None and not (args.nelf_code / "utils" / "espnet_model.py").is_file():
        parser.error(f"{args.nelf_code} is not a checkout of NeLF_Speech2Text_Pytorch")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def busy_cpu_seconds():
    """CPU seconds all processes of the machine have used since boot (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall, own CPU and other processes' CPU seconds of a block."""

    def __init__(self, device):
        self.device = str(device)

    def __enter__(self):
        self._sync()
        self.busy = busy_cpu_seconds()
        self.start, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self._sync()
        self.wall_s = time.perf_counter() - self.start
        self.cpu_s = time.process_time() - self.cpu
        busy = busy_cpu_seconds()
        self.others_cpu_s = None if self.busy is None else max(0.0, busy - self.busy - self.cpu_s)

    def record(self):
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "others_cpu_s": self.others_cpu_s}

    def _sync(self):
        if self.device.startswith("cuda"):
            torch.cuda.synchronize(self.device)


# ------------------------------------------------------------------------- audio
def load_audio(n):
    """The first ``n`` crops of :data:`AUDIO` as float32 arrays at 16 kHz."""
    import soundfile

    wavs = []
    for path, start, end in AUDIO[:n]:
        data, rate = soundfile.read(REPO / path, dtype="float32")
        if rate != SAMPLE_RATE or data.ndim != 1:
            raise ValueError(f"{path}: expected 16 kHz mono")
        wavs.append(data[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)])
    return wavs


# ------------------------------------------------------------------------- model
def _make_fixtures():
    """recipes/NeLF/make_fixtures.py as a module (its yaml and tokenizer builders)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_fixtures", REPO / "recipes" / "NeLF" / "make_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_yaml(token_list):
    """The v2-size ``train.yaml`` text, written by the fixture script's builder."""
    return _make_fixtures().train_yaml_text(
        "Hand-written ESPnet-style config at the released NeLF v2 sizes (bench/nelf_decode.py).",
        FRONTEND_CONF,
        ENCODER_CONF,
        SUBTITLE_ENCODER_CONF,
        DECODER_CONF,
        token_list,
    )


def make_tokens(folder):
    """A tiny SentencePiece model and a 5000-entry token list over it (placeholders after
    the real pieces)."""
    text = [
        "goeie avond en welkom bij het journaal van vandaag",
        "de minister zegt dat er twintig procent meer geld komt",
        "in antwerpen regent het de hele dag en morgen wordt het droog",
    ]
    pieces = _make_fixtures().train_tiny_bpe(folder, text * 5)
    fill = [f"\u2581w{k:04d}" for k in range(VOCAB_SIZE - 3 - len(pieces))]
    tokens = ["<blank>", "<unk>"] + pieces + fill + ["<sos/eos>"]
    (folder / "tokens.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return tokens


def espnet_key(ours):
    """The ESPnet key of one of our model keys (inverse of ``nelf.PREFIXES``)."""
    from speechbrain_subtitle import nelf

    inverse = {p: e for e, (part, p) in nelf.PREFIXES.items() if part == "model"}
    best = max((p for p in inverse if ours.startswith(p)), key=len)
    return inverse[best] + ours[len(best) :]


def build_model_dir(folder, wavs, seed):
    """Writes the five NeLF files of a random v2-size model into ``folder``."""
    from speechbrain_subtitle import nelf

    folder.mkdir(parents=True, exist_ok=True)
    tokens = make_tokens(folder)
    (folder / "train.yaml").write_text(train_yaml(tokens), encoding="utf-8")
    config = nelf.read_config(folder / "train.yaml")
    torch.manual_seed(seed)
    parts = nelf.build_parts(config, len(tokens))
    with torch.no_grad():
        feats = torch.cat([parts["compute_features"](torch.from_numpy(w)[None])[0] for w in wavs])
    x = feats.double().numpy()
    np.savez(
        folder / "stats.npz", count=np.array(x.shape[0]), sum=x.sum(0), sum_square=(x**2).sum(0)
    )
    # The front end and normalizer come from train.yaml and stats.npz on both sides.
    state = {espnet_key(k): v for k, v in parts["model"].state_dict().items()}
    torch.save(state, folder / "model.pth")
    nelf.load_nelf(folder)  # every key maps back (strict both ways)


def count_parameters(folder):
    state = torch.load(folder / "model.pth", map_location="cpu", weights_only=True)
    return sum(v.numel() for k, v in state.items() if v.is_floating_point() and "running" not in k)


# -------------------------------------------------------------------------- ours
def time_ours(args, folder, wavs, tmp):
    from speechbrain_subtitle.inference import SubtitleASR, pad_waveforms
    from speechbrain_subtitle.nelf import import_nelf

    with Meter("cpu") as m:
        imported = import_nelf(folder, pathlib.Path(tmp) / "imported")
    log(f"import_nelf: {m.wall_s:.1f} s")
    asr = SubtitleASR.from_hparams(
        source=str(imported),
        savedir=str(pathlib.Path(tmp) / "savedir"),
        run_opts={"device": args.device},
    )
    batch, lens = pad_waveforms([torch.from_numpy(w) for w in wavs])
    enc = asr.encode_batch(batch, lens)
    frames = [int(n) for n in enc.lengths.tolist()]
    caps = [max(1, int(n * args.max_len_ratio)) for n in frames]

    steps = {}
    for task in ("verbatim", "subtitle"):
        decoder = asr.model.decoder(task)

        def counted(*a, _orig=decoder.decode, _task=task, **k):
            steps[_task] = steps.get(_task, 0) + 1
            return _orig(*a, **k)

        decoder.decode = counted

    def run(ctc_weight, wav_batch, wav_lens):
        return asr.transcribe_batch(
            wav_batch,
            wav_lens,
            beam_size=args.beam_size,
            ctc_weight=ctc_weight,
            max_decode_ratio=args.max_len_ratio,
        )

    rows = {}
    one, one_len = pad_waveforms([torch.from_numpy(wavs[0])])
    for name in args.rows:
        weight = CTC_WEIGHT if name == "ours" else 0.0
        with Meter(args.device) as m:
            run(weight, one, one_len)
        log(f"  [{name}] warm-up (utterance 1 alone): {m.wall_s:.1f} s")
        passes = []
        for k in range(args.repeats):
            steps.clear()
            with Meter(args.device) as m:
                results = run(weight, batch, lens)
            log(f"  [{name}] pass {k + 1}/{args.repeats}: {m.wall_s:.1f} s")
            passes.append(
                {
                    **m.record(),
                    "steps": dict(steps),
                    "verbatim": [r.verbatim for r in results],
                    "subtitle": [r.subtitle for r in results],
                    "verbatim_tokens": [len(r.verbatim_tokens or []) for r in results],
                    "subtitle_tokens": [len(r.subtitle_tokens or []) for r in results],
                }
            )
        rows[name] = passes
    return rows, frames, caps


# ---------------------------------------------------------------------- authors'
def authors_child(spec_path):
    """Runs in the authors' environment: imports their code from the checkout."""
    spec = json.loads(spec_path.read_text())
    torch.set_num_threads(spec["threads"])
    sys.path.insert(0, spec["nelf_code"])
    import logging
    import warnings

    logging.getLogger().setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    from utils.espnet_model import build_model_from_file  # their code, from the checkout

    folder = pathlib.Path(spec["model_dir"])
    device = spec["device"]
    start = time.perf_counter()
    model, _ = build_model_from_file(
        folder / "train.yaml",
        folder / "model.pth",
        folder / "tokens.txt",
        folder / "bpe.model",
        ctc=True,
        verbatim=True,
        subtitle=True,
        stats_file=folder / "stats.npz",
        device=device,
    )
    load_s = time.perf_counter() - start
    # Their loader uses strict=False and drops the result: check it here.
    state = torch.load(folder / "model.pth", map_location=device)
    check = model.load_state_dict(state, strict=False)
    model.eval()
    # Their example's settings, except the length bounds (the same as ours) and no
    # subtitle length bonus (ours has none).
    model.prepare_for_beam_search(
        beam_size=spec["beam_size"],
        minlenratio=0.0,
        maxlenratio=spec["max_len_ratio"],
        normalize_length_subtitle=True,
    )
    torch.set_grad_enabled(False)
    steps = {}
    for task, decoder in (("verbatim", model.decoder), ("subtitle", model.subtitle_decoder)):

        def counted(*a, _orig=decoder.batch_score, _task=task, **k):
            steps[_task] = steps.get(_task, 0) + 1
            return _orig(*a, **k)

        decoder.batch_score = counted
    wavs = [torch.from_numpy(w).to(device) for w in np.load(spec["audio"]).values()]

    def run(ws):
        out = []
        for w in ws:
            res = model.decode(
                w[None],
                torch.tensor([w.shape[0]], device=device),
                ctc=True,
                verbatim=True,
                subtitle=True,
            )
            out.append(res)
        return out

    with Meter(device) as m:
        run(wavs[:1])
    print(f"  [authors] warm-up (utterance 1 alone): {m.wall_s:.1f} s", file=sys.stderr)
    passes = []
    for k in range(spec["repeats"]):
        steps.clear()
        with Meter(device) as m:
            out = run(wavs)
        print(f"  [authors] pass {k + 1}/{spec['repeats']}: {m.wall_s:.1f} s", file=sys.stderr)
        passes.append(
            {
                **m.record(),
                "steps": dict(steps),
                "verbatim": [r["verbatim"][0] for r in out],
                "subtitle": [r["subtitle"][0] for r in out],
            }
        )
    result = {
        "load_s": load_s,
        "missing_keys": list(check.missing_keys),
        "unexpected_keys": list(check.unexpected_keys),
        "verbatim_search_weights": dict(model.verbatim_beam_search.weights),
        "verbatim_search_scorers": sorted(model.verbatim_beam_search.full_scorers)
        + sorted(model.verbatim_beam_search.part_scorers),
        "passes": passes,
    }
    pathlib.Path(spec["out"]).write_text(json.dumps(result))


def time_authors(args, folder, wavs, tmp):
    tmp = pathlib.Path(tmp)
    np.savez(tmp / "audio.npz", *wavs)
    spec = {
        "nelf_code": str(args.nelf_code.resolve()),
        "model_dir": str(folder.resolve()),
        "audio": str(tmp / "audio.npz"),
        "device": args.device,
        "threads": args.threads,
        "beam_size": args.beam_size,
        "max_len_ratio": args.max_len_ratio,
        "repeats": args.repeats,
        "out": str(tmp / "authors.json"),
    }
    (tmp / "spec.json").write_text(json.dumps(spec))
    cmd = [
        args.nelf_python,
        str(pathlib.Path(__file__).resolve()),
        "--authors-child",
        str(tmp / "spec.json"),
    ]
    subprocess.run(cmd, check=True, cwd=tmp)
    return json.loads((tmp / "authors.json").read_text())


# ----------------------------------------------------------------------- summary
def render(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            [str(cells[0]).ljust(widths[0])]
            + [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        )

    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def agree(ours, theirs):
    """Equal up to the shorter text's length, case-insensitive: at the same number of steps
    our hypotheses end one token earlier (the last step scores the end-of-sequence, where
    theirs appends it without scoring)."""
    a, b = (" ".join((t or "").lower().split()) for t in (ours, theirs))
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def main(argv=None):
    args = parse_args(argv)
    if args.authors_child is not None:
        return authors_child(args.authors_child)
    torch.set_num_threads(args.threads)
    wavs = load_audio(args.utterances)
    audio_s = sum(len(w) for w in wavs) / SAMPLE_RATE
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model_dir or pathlib.Path(tmp) / "nelf_v2"
        if all((folder / f).is_file() for f in FILES):
            log(f"using the NeLF files in {folder}")
        else:
            with Meter("cpu") as m:
                build_model_dir(folder, wavs, args.seed)
            log(f"built a random v2-size NeLF model in {folder} ({m.wall_s:.1f} s)")
        params = count_parameters(folder)
        log(f"decoding {len(wavs)} utterances, {audio_s:.1f} s of audio, beam {args.beam_size}")
        rows, frames, caps = time_ours(args, folder, wavs, tmp)
        authors = None
        if args.nelf_code is not None:
            authors = time_authors(args, folder, wavs, tmp)
            rows["authors"] = authors["passes"]

    def med(name):
        return statistics.median(p["wall_s"] for p in rows[name])

    ref = med("authors") if authors else None
    summary = {}
    table = []
    descriptions = {
        "ours": f"SubtitleASR, 1 batch of {len(wavs)}, verbatim with CTC {CTC_WEIGHT}",
        "ours_no_ctc": f"SubtitleASR, 1 batch of {len(wavs)}, verbatim attention only",
        "authors": "authors' code, 1 utterance at a time (CTC dropped, as shipped)",
    }
    for name in rows:
        wall = med(name)
        p = rows[name][len(rows[name]) // 2]
        others = [q["others_cpu_s"] for q in rows[name] if q["others_cpu_s"] is not None]
        summary[name] = {
            "wall_s": wall,
            "rtf": wall / audio_s,
            "x_authors": wall / ref if ref else None,
            "steps": p["steps"],
            "others_cpu_s": max(others) if others else None,
            "verbatim": p["verbatim"],
            "subtitle": p["subtitle"],
        }
        table.append(
            [
                name,
                f"{wall:.2f}",
                f"{wall / audio_s:.3f}",
                "-" if not ref else f"{wall / ref:.2f}",
                str(p["steps"].get("verbatim", 0)),
                str(p["steps"].get("subtitle", 0)),
                "-" if not others else f"{max(others):.1f}",
                descriptions[name],
            ]
        )
    print(
        f"NeLF v2-size layout, random weights: {params / 1e6:.1f}M parameters, "
        f"{VOCAB_SIZE} tokens; device {args.device}, {args.threads} threads"
    )
    print(
        f"audio: {len(wavs)} utterances, {audio_s:.1f} s "
        f"({', '.join(f'{len(w) / SAMPLE_RATE:.2f}' for w in wavs)} s); beam {args.beam_size}"
    )
    print(
        f"length cap (both sides): int({args.max_len_ratio} x encoder frames) = "
        f"{caps} tokens for {frames} frames, min length 0. Random weights run to the cap, so "
        "this compares the same amount of search work, not real decoding."
    )
    print()
    header = [
        "row",
        "wall s",
        "RTF",
        "ours/theirs",
        "verb steps",
        "sub steps",
        "others CPU s",
        "what",
    ]
    print("\n".join(render(header, table)))
    print()
    print(
        "steps: decoder calls of each search in the pass (ours: one call per step for the "
        f"whole batch, cap {max(caps)}; authors': one per step per utterance, caps sum "
        f"{sum(caps)})"
    )
    if authors:
        print(
            f"authors' loader: {len(authors['missing_keys'])} missing keys "
            f"{authors['missing_keys'][:6]}, {len(authors['unexpected_keys'])} unexpected; "
            f"their verbatim search's scorers {authors['verbatim_search_scorers']} with weights "
            f"{authors['verbatim_search_weights']}"
        )
        for name in ("ours", "ours_no_ctc"):
            if name in summary:
                same = [
                    sum(agree(a, b) for a, b in zip(summary[name][t], summary["authors"][t]))
                    for t in ("verbatim", "subtitle")
                ]
                print(
                    f"{name}: hypotheses that equal the authors' up to the shorter one's length "
                    f"(case-insensitive): verbatim {same[0]}/{len(wavs)}, "
                    f"subtitle {same[1]}/{len(wavs)}"
                )
        for name in ("ours", "ours_no_ctc"):
            if name in summary:
                print(f">>> {name} / authors = {summary[name]['x_authors']:.2f}x")
    busy = [s["others_cpu_s"] for s in summary.values() if s["others_cpu_s"] is not None]
    if busy and max(busy) > 0.1 * args.threads * min(s["wall_s"] for s in summary.values()):
        print(
            "WARNING: other processes used CPU time during the timed passes; CPU figures are "
            "distorted"
        )
    payload = {
        "params": params,
        "audio_s": audio_s,
        "beam_size": args.beam_size,
        "max_len_ratio": args.max_len_ratio,
        "caps": caps,
        "device": args.device,
        "threads": args.threads,
        "rows": summary,
    }
    line = json.dumps(payload)
    print(line)
    if args.json is not None:
        args.json.write_text(line + "\n")


if __name__ == "__main__":
    main()
