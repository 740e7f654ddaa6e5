#!/usr/bin/env python3
"""Time one training step of the C8 joint model next to a stock SpeechBrain Conformer.

One step is: zero the gradients, forward, loss, backward, Adam update. Three
configurations are measured on the same synthetic audio batch:

``c8_mixed``
    C8 (``hparams/c8.yaml``) on the batch the training sampler produces: the
    first half of the rows carry only a verbatim transcript, the second half
    only a subtitle. Each decoder therefore runs on half of the rows.
``stock``
    SpeechBrain's own ``TransformerASR`` Conformer with the same encoder and
    decoder sizes, trained as in the LibriSpeech Conformer recipe
    (0.3 CTC + 0.7 label-smoothed NLL) on every row with a verbatim target.
``c8_both``
    C8 with both texts on every row: the worst case, both branches on all rows.

Each configuration runs in its own Python process (the script re-invokes
itself with ``--only NAME``) so that peak memory is measured per model: on
CPU the peak resident set size of that process, on CUDA
``torch.cuda.max_memory_allocated`` over the timed steps. Features are computed
before timing starts; only the model step is timed.

Examples::

    python bench/train_step.py                      # CPU defaults
    python bench/train_step.py --device cuda --batch-size 16 --seconds 15 --steps 10
    python bench/train_step.py --precision bf16 --json results/step.json
"""

import argparse
import contextlib
import json
import math
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ("c8_mixed", "stock", "c8_both")
DESCRIPTIONS = {
    "c8_mixed": "C8, half verbatim-only / half subtitle-only rows",
    "stock": "SpeechBrain TransformerASR Conformer, verbatim on all rows",
    "c8_both": "C8, verbatim and subtitle on every row",
}
BASELINE = "stock"

# Token ids shared with the package's tokenizer.
PAD, EOS, VERBATIM_BOS, SUBTITLE_BOS, FIRST_WORDPIECE = 0, 2, 3, 4, 5

SAMPLE_RATE = 16000
VERBATIM_TOKENS_PER_SECOND = 3.0
SUBTITLE_TOKENS_PER_SECOND = 2.4


# --------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Measure one training step (forward + loss + backward + Adam) of the C8 joint "
            "verbatim/subtitle model on a mixed batch, of a stock SpeechBrain Conformer "
            "(TransformerASR) of the same encoder/decoder size on the same audio, and of C8 "
            "with both texts on every row. Prints a table and one JSON line. Each model runs "
            "in its own subprocess so that its peak memory is measured alone. The defaults "
            "(8 rows x 10 s, 1 warm-up + 3 timed steps) take about 1.5 minutes on an idle "
            "2-core CPU and about 5.5 GB of RAM per run; lower --batch-size/--seconds for a "
            "quicker look. On a shared machine, other processes distort CPU timings badly "
            "(a warning is printed when that is detected)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="rows per batch; C8 mixed uses the first half as verbatim-only rows and the "
        "second half as subtitle-only rows (must be even)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="length of the longest utterance in seconds; the others are up to 10%% shorter. "
        f"Targets get about {VERBATIM_TOKENS_PER_SECOND:g} verbatim and "
        f"{SUBTITLE_TOKENS_PER_SECOND:g} subtitle tokens per second of audio",
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    parser.add_argument("--steps", type=int, default=3, help="timed steps; the median is reported")
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="where to run; the default is cuda when it is available, else cpu",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16"),
        default="fp32",
        help="fp32, or torch.autocast to bf16/fp16 (fp16 only on cuda, with a GradScaler)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads in each run; unset leaves torch's own choice (all cores)",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=CONFIGS,
        default=list(CONFIGS),
        help="which configurations to run; ratios need 'stock'",
    )
    parser.add_argument(
        "--hparams-dir",
        type=pathlib.Path,
        default=REPO / "hparams",
        help="folder holding c8.yaml",
    )
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=1234, help="torch seed (data and models)")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also save the JSON here")
    # Internal: run a single configuration and write its result to a file.
    parser.add_argument("--only", choices=CONFIGS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=pathlib.Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batch_size < 2 or args.batch_size % 2:
        parser.error("--batch-size must be an even number >= 2")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but CUDA is not available")
    if args.device == "cpu" and args.precision == "fp16":
        parser.error("fp16 autocast is only supported here on cuda; use bf16 on cpu")
    return args


def child_argv(args, name, result_file):
    """Command line that re-runs this script for one configuration."""
    argv = [
        sys.executable,
        str(pathlib.Path(__file__).resolve()),
        "--batch-size",
        str(args.batch_size),
        "--seconds",
        repr(args.seconds),
        "--warmup",
        str(args.warmup),
        "--steps",
        str(args.steps),
        "--device",
        args.device,
        "--precision",
        args.precision,
        "--hparams-dir",
        str(args.hparams_dir),
        "--lr",
        repr(args.lr),
        "--seed",
        str(args.seed),
        "--only",
        name,
        "--result-file",
        str(result_file),
    ]
    if args.threads is not None:
        argv += ["--threads", str(args.threads)]
    return argv


# ------------------------------------------------------------------------ memory
def current_rss_mb():
    """Resident set size of this process now (Linux), or NaN where unknown."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def peak_rss_mb():
    """Peak resident set size of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


# -------------------------------------------------------------------------- data
def pad_rows(rows):
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD)


def make_batch(args, vocab_size, device):
    """Synthetic audio, features and token targets, the same in every subprocess.

    Returns a dict with ``feats``, ``rel_lens``, ``audio_seconds`` and per text
    (``verbatim``, ``subtitle``) the word-piece lists of every row.
    """
    from speechbrain.lobes.features import Fbank
    from speechbrain.processing.features import InputNormalization

    gen = torch.Generator().manual_seed(args.seed)
    batch = args.batch_size
    longest = int(round(args.seconds * SAMPLE_RATE))
    # Lengths spread evenly between 90 % and 100 % of the longest, in shuffled order.
    fractions = torch.linspace(1.0, 0.9, batch)[torch.randperm(batch, generator=gen)]
    n_samples = [max(1, int(round(longest * float(f)))) for f in fractions]
    wavs = torch.zeros(batch, max(n_samples))
    for row, n in enumerate(n_samples):
        wavs[row, :n] = 0.1 * torch.randn(n, generator=gen)
    wav_lens = torch.tensor(n_samples, dtype=torch.float) / max(n_samples)

    # Same front end as hparams/c8.yaml; computed once, outside the timing.
    compute_features = Fbank(sample_rate=SAMPLE_RATE, n_fft=400, n_mels=80)
    normalize = InputNormalization(norm_type="global")
    with torch.no_grad():
        feats = normalize(compute_features(wavs), wav_lens, epoch=0)

    def token_rows(per_second):
        rows = []
        for n in n_samples:
            # About per_second tokens per second of this row's audio, +-10 %.
            jitter = 0.9 + 0.2 * float(torch.rand(1, generator=gen))
            length = max(1, int(round(per_second * n / SAMPLE_RATE * jitter)))
            rows.append(torch.randint(FIRST_WORDPIECE, vocab_size, (length,), generator=gen))
        return rows

    return {
        "feats": feats.to(device),
        "rel_lens": wav_lens.to(device),
        "audio_seconds": sum(n_samples) / SAMPLE_RATE,
        "verbatim": token_rows(VERBATIM_TOKENS_PER_SECOND),
        "subtitle": token_rows(SUBTITLE_TOKENS_PER_SECOND),
    }


def joint_inputs(data, verbatim_rows, subtitle_rows, device):
    """Model inputs and loss targets of the joint model, as the Brain builds them.

    Rows without a text hold only its task token (and eos as target), exactly
    like ``speechbrain_subtitle.data.make_dataset`` produces for an empty text.
    """
    inputs, targets = {}, {}
    for task, bos, rows in (
        ("verbatim", VERBATIM_BOS, verbatim_rows),
        ("subtitle", SUBTITLE_BOS, subtitle_rows),
    ):
        keep = set(rows)
        pieces = [p if r in keep else p[:0] for r, p in enumerate(data[task])]
        with_bos = [torch.cat([torch.tensor([bos]), p]) for p in pieces]
        with_eos = [torch.cat([p, torch.tensor([EOS])]) for p in pieces]
        lengths = torch.tensor([len(p) + 1 for p in pieces])
        inputs[f"{task}_tokens"] = pad_rows(with_bos).to(device)
        inputs[f"{task}_lengths"] = lengths.to(device)
        inputs[f"{task}_rows"] = torch.tensor(rows, dtype=torch.long, device=device)
        targets[f"{task}_eos"] = pad_rows(with_eos).to(device)
        targets[f"{task}_eos_lengths"] = lengths.to(device)
    return inputs, targets


# ------------------------------------------------------------------------ models
def emit_json(payload, path=None):
    """Prints ``payload`` as one JSON line and also writes it to ``path`` when given."""
    line = json.dumps(payload)
    print(line)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n")


def count_parameters(module):
    """Unique trainable parameters (shared modules counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def build_c8(args, data, rows_verbatim, rows_subtitle, device):
    """C8 model, its loss, and a closure computing the loss of the batch."""
    from hyperpyyaml import load_hyperpyyaml

    with open(args.hparams_dir / "c8.yaml", encoding="utf-8") as f:
        hp = load_hyperpyyaml(f)
    model = hp["model"].to(device).train()
    loss_fn = hp["loss"]
    inputs, targets = joint_inputs(data, rows_verbatim, rows_subtitle, device)

    def compute_loss():
        out = model(data["feats"], data["rel_lens"], **inputs)
        loss, _ = loss_fn(out, targets)
        return loss

    return model, compute_loss


def stock_modules(vocab_size=5000):
    """SpeechBrain's stock Conformer ASR at C8's sizes, as the LibriSpeech recipe wires it.

    Returns a ``ModuleDict`` with the recipe's module names: ``CNN`` (front end),
    ``Transformer`` (``TransformerASR``), ``ctc_lin`` and ``seq_lin``.
    """
    from speechbrain.lobes.models.convolution import ConvolutionFrontEnd
    from speechbrain.lobes.models.transformer.TransformerASR import TransformerASR
    from speechbrain.nnet.linear import Linear

    cnn = ConvolutionFrontEnd(
        input_shape=(None, None, 80),
        num_blocks=2,
        num_layers_per_block=1,
        out_channels=(64, 32),
        kernel_sizes=(3, 3),
        strides=(2, 2),
        residuals=(False, False),
    )
    transformer = TransformerASR(
        tgt_vocab=vocab_size,
        input_size=640,  # 20 frequency bins x 32 channels after the front end
        d_model=256,
        nhead=4,
        num_encoder_layers=12,
        num_decoder_layers=6,
        d_ffn=2048,
        dropout=0.1,
        activation=torch.nn.GELU,
        encoder_module="conformer",
        attention_type="RelPosMHAXL",
        normalize_before=True,
        causal=False,
        kernel_size=31,
    )
    return torch.nn.ModuleDict(
        {
            "CNN": cnn,
            "Transformer": transformer,
            "ctc_lin": Linear(input_size=256, n_neurons=vocab_size),
            "seq_lin": Linear(input_size=256, n_neurons=vocab_size),
        }
    )


def build_stock(args, data, device, vocab_size=5000):
    """Stock Conformer and a closure computing the LibriSpeech recipe's loss on the batch."""
    from speechbrain.nnet.losses import ctc_loss, nll_loss

    model = stock_modules(vocab_size).to(device).train()

    pieces = data["verbatim"]
    tokens_bos = pad_rows([torch.cat([torch.tensor([VERBATIM_BOS]), p]) for p in pieces])
    tokens_eos = pad_rows([torch.cat([p, torch.tensor([EOS])]) for p in pieces])
    tokens = pad_rows(pieces)
    n_tokens = torch.tensor([len(p) for p in pieces], dtype=torch.float)
    # SpeechBrain losses take lengths relative to the padded width.
    tokens_lens = n_tokens / tokens.shape[1]
    tokens_eos_lens = (n_tokens + 1) / tokens_eos.shape[1]
    tokens_bos, tokens_eos, tokens = (t.to(device) for t in (tokens_bos, tokens_eos, tokens))
    tokens_lens, tokens_eos_lens = tokens_lens.to(device), tokens_eos_lens.to(device)
    ctc_weight = 0.3

    def compute_loss():
        # Mirrors compute_forward/compute_objectives of the LibriSpeech Conformer recipe.
        src = model["CNN"](data["feats"])
        enc_out, pred = model["Transformer"](src, tokens_bos, data["rel_lens"], pad_idx=PAD)
        p_ctc = torch.log_softmax(model["ctc_lin"](enc_out), dim=-1)
        p_seq = torch.log_softmax(model["seq_lin"](pred), dim=-1)
        loss_ctc = ctc_loss(
            p_ctc, tokens, data["rel_lens"], tokens_lens, blank_index=PAD, reduction="batchmean"
        )
        loss_seq = nll_loss(
            p_seq, tokens_eos, length=tokens_eos_lens, label_smoothing=0.1, reduction="batchmean"
        )
        return ctc_weight * loss_ctc + (1 - ctc_weight) * loss_seq

    return model, compute_loss


# ---------------------------------------------------------------------- one run
def run_one(args):
    """Builds one configuration, times it and returns its result dict."""
    name = args.only
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    import speechbrain  # noqa: F401  (counted in the import baseline)

    rss_imports = current_rss_mb()
    data = make_batch(args, vocab_size=5000, device=device)
    torch.manual_seed(args.seed)
    half = args.batch_size // 2
    every = list(range(args.batch_size))
    if name == "c8_mixed":
        model, compute_loss = build_c8(args, data, every[:half], every[half:], device)
    elif name == "c8_both":
        model, compute_loss = build_c8(args, data, every, every, device)
    else:
        model, compute_loss = build_stock(args, data, device)
    params = count_parameters(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler("cuda") if args.precision == "fp16" else None
    autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    rss_setup = current_rss_mb()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        if autocast_dtype is None:
            context = contextlib.nullcontext()
        else:
            context = torch.autocast(device_type=device.type, dtype=autocast_dtype)
        with context:
            loss = compute_loss()
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        return float(loss.detach())

    losses = []
    for k in range(args.warmup):
        start = time.perf_counter()
        losses.append(step())
        sync()
        print(
            f"[{name}] warm-up {k + 1}/{args.warmup}: {time.perf_counter() - start:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    if device.type == "cuda":
        sync()
        torch.cuda.reset_peak_memory_stats(device)
    times, cpu_times = [], []
    load_before = os.getloadavg()[0]
    for k in range(args.steps):
        sync()
        start, cpu_start = time.perf_counter(), time.process_time()
        losses.append(step())
        sync()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        print(f"[{name}] step {k + 1}/{args.steps}: {times[-1]:.2f} s", file=sys.stderr, flush=True)

    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        memory_kind = "cuda_max_allocated"
    else:
        peak = peak_rss_mb()
        memory_kind = "peak_rss"
    median = statistics.median(times)
    threads = torch.get_num_threads()
    return {
        "name": name,
        "description": DESCRIPTIONS[name],
        "params": params,
        "step_times_s": times,
        "median_step_s": median,
        "min_step_s": min(times),
        "audio_seconds": data["audio_seconds"],
        "audio_s_per_s": data["audio_seconds"] / median,
        "peak_memory_mb": peak,
        "memory_kind": memory_kind,
        "rss_after_imports_mb": rss_imports,
        "rss_after_setup_mb": rss_setup,
        "losses": losses,
        "finite_loss": all(math.isfinite(v) for v in losses),
        "threads": threads,
        # CPU seconds this process used per wall second and thread during the timed steps:
        # well below 1 on an otherwise idle machine means the threads were starved.
        "cpu_utilisation": sum(cpu_times) / (sum(times) * threads),
        "loadavg_1min_before": load_before,
        "loadavg_1min_after": os.getloadavg()[0],
    }


# ----------------------------------------------------------------------- report
def add_ratios(results):
    for res in results.values():
        if res["memory_kind"] == "peak_rss":
            # Peak RSS minus what the interpreter, torch and speechbrain take before any model.
            res["net_memory_mb"] = res["peak_memory_mb"] - res["rss_after_imports_mb"]
    base = results.get(BASELINE)
    for res in results.values():
        if base is None:
            res["time_vs_stock"] = res["memory_vs_stock"] = None
            res["params_vs_stock"] = None
            continue
        res["time_vs_stock"] = res["median_step_s"] / base["median_step_s"]
        res["memory_vs_stock"] = res["peak_memory_mb"] / base["peak_memory_mb"]
        res["params_vs_stock"] = res["params"] / base["params"]
        if "net_memory_mb" in res:
            res["net_memory_vs_stock"] = res["net_memory_mb"] / base["net_memory_mb"]


def format_table(results, args):
    on_cpu = args.device == "cpu"
    mem_head = "peak RSS MB" if on_cpu else "max alloc MB"
    header = ["config", "params M", "params x", "step s", "min s", "audio s/s", mem_head]
    header += ["time x", "mem x"]
    if on_cpu:
        header += ["net MB", "net x"]

    def ratio(value):
        return "-" if value is None else f"{value:.2f}"

    rows = []
    for res in results.values():
        row = [
            res["name"],
            f"{res['params'] / 1e6:.2f}",
            ratio(res["params_vs_stock"]),
            f"{res['median_step_s']:.2f}",
            f"{res['min_step_s']:.2f}",
            f"{res['audio_s_per_s']:.1f}",
            f"{res['peak_memory_mb']:.0f}",
            ratio(res["time_vs_stock"]),
            ratio(res["memory_vs_stock"]),
        ]
        if on_cpu:
            row += [f"{res['net_memory_mb']:.0f}", ratio(res.get("net_memory_vs_stock"))]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first] + rest)

    out = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    out.append("")
    out.append(
        f"device={args.device} precision={args.precision} threads="
        f"{next(iter(results.values()))['threads']} batch={args.batch_size} "
        f"longest={args.seconds:g}s warmup={args.warmup} timed steps={args.steps} (median)"
    )
    out.append(
        "step s = median step time; audio s/s and 'time x' use it. x = ratio to 'stock' "
        "(SpeechBrain TransformerASR Conformer, same sizes)."
    )
    if on_cpu:
        out.append(
            "net MB = peak RSS minus RSS after importing torch/speechbrain (model, Adam "
            "state, activations)."
        )
    for res in results.values():
        out.append(f"  {res['name']}: {res['description']}")
        if not res["finite_loss"]:
            out.append(f"  WARNING: {res['name']} produced a non-finite loss")
    if on_cpu:
        cores = os.cpu_count() or 1
        busy = [r["name"] for r in results.values() if r["cpu_utilisation"] < 0.7]
        if busy:
            out.append(
                f"WARNING: other processes competed for the {cores} CPU cores during "
                f"{', '.join(busy)} (CPU utilisation below 70 %); "
                "OpenMP threads then stall and step times are not comparable. Rerun on an "
                "idle machine or with --threads 1."
            )
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    if args.only is not None:
        result = run_one(args)
        text = json.dumps(result)
        if args.result_file is not None:
            args.result_file.write_text(text)
        else:
            print(text)
        return

    results = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            result_file = pathlib.Path(tmp) / f"{name}.json"
            print(f"running {name} ...", file=sys.stderr, flush=True)
            subprocess.run(child_argv(args, name, result_file), check=True)
            results[name] = json.loads(result_file.read_text())
    add_ratios(results)
    print(format_table(results, args))
    payload = {
        "benchmark": "train_step",
        "device": args.device,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "steps": args.steps,
        "seed": args.seed,
        "torch": torch.__version__,
        "wall_s": time.perf_counter() - started,
        "results": results,
    }
    emit_json(payload, args.json)


if __name__ == "__main__":
    main()
