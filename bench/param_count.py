#!/usr/bin/env python3
"""Parameter count of every architecture YAML, per top-level part of the model.

Each file in ``hparams/`` that defines a model (c8, v2, parallel, chained,
shared_task, verbatim_only) is instantiated at the size it ships with
(vocabulary of 5000 unless ``--vocab-size`` says otherwise), and its
parameters are counted per part: ``encoder``, ``ctc_head``,
``verbatim_decoder``, ``subtitle_encoder``, ``subtitle_decoder`` and
``subtitle_ctc_head``. A part that is the same object as an earlier one (the
shared-task model passes its decoder twice) is marked ``shared`` and counted
once, as ``model.parameters()`` does. Where the authors published a size, the
total is compared with it. For scale, the stock SpeechBrain Conformer of
``train_step.py`` (same encoder and decoder sizes, verbatim only) is counted
too.

Example::

    python bench/param_count.py
    python bench/param_count.py --architectures c8 v2 --json results/params.json
"""

import argparse
import pathlib
import sys
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
ARCHITECTURES = ("c8", "v2", "parallel", "chained", "shared_task", "verbatim_only")
PARTS = (
    "encoder",
    "ctc_head",
    "verbatim_decoder",
    "subtitle_encoder",
    "subtitle_decoder",
    "subtitle_ctc_head",
)
# Sizes the authors report for their released models (5000-token vocabulary),
# Poncelet & Van hamme (2025): C8 about 66M, the scaled v2 about 180M.
REFERENCE = {"c8": 66e6, "v2": 180e6}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Print the parameter count of each architecture YAML at paper size, broken "
            "down by top-level part of the model, with the authors' published size where "
            "there is one and the relative difference from it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--architectures",
        nargs="+",
        choices=ARCHITECTURES,
        default=list(ARCHITECTURES),
        help="which hparams/<name>.yaml files to count",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=5000, help="vocabulary size (the paper's is 5000)"
    )
    parser.add_argument(
        "--hparams-dir", type=pathlib.Path, default=REPO / "hparams", help="architecture folder"
    )
    parser.add_argument(
        "--no-stock",
        action="store_true",
        help="skip the stock SpeechBrain Conformer reference row",
    )
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also save JSON here")
    return parser.parse_args(argv)


def count(module):
    return sum(p.numel() for p in module.parameters())


def count_architecture(path, vocab_size):
    """Per-part and total parameter counts of the model an architecture file builds."""
    from hyperpyyaml import load_hyperpyyaml

    with open(path, encoding="utf-8") as f:
        model = load_hyperpyyaml(f, {"vocab_size": vocab_size})["model"]
    parts, seen = {}, {}
    for name in PARTS:
        module = getattr(model, name, None)
        if module is None:
            parts[name] = None
        elif id(module) in seen:
            parts[name] = f"shared:{seen[id(module)]}"
        else:
            seen[id(module)] = name
            parts[name] = count(module)
    total = count(model)  # parameters() yields a shared tensor once
    listed = sum(v for v in parts.values() if isinstance(v, int))
    return {
        "variant": model.variant,
        "parts": parts,
        "total": total,
        "outside_parts": total - listed,
    }


def count_stock(vocab_size):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from train_step import stock_modules

    modules = stock_modules(vocab_size)
    return {
        "variant": "SpeechBrain TransformerASR Conformer",
        "parts": {name: count(m) for name, m in modules.items()},
        "total": count(modules),
    }


def millions(value):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value.replace("shared:", "= ")
    return f"{value / 1e6:.2f}"


def format_table(results, stock):
    header = ["architecture", *PARTS, "total M", "reference M", "diff"]
    rows = []
    for name, res in results.items():
        ref = REFERENCE.get(name)
        rows.append(
            [
                name,
                *(millions(res["parts"][p]) for p in PARTS),
                millions(res["total"]),
                "-" if ref is None else f"~{ref / 1e6:.0f}",
                "-" if ref is None else f"{(res['total'] - ref) / ref:+.1%}",
            ]
        )
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def line(cells):
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([cells[0].ljust(widths[0])] + rest)

    out = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    out.append("")
    out.append(
        "Parameters in millions; '= X' marks a part that is the same module as part X "
        "(counted once in the total)."
    )
    for name, res in results.items():
        if res["outside_parts"]:
            out.append(f"  {name}: {res['outside_parts']} parameters outside the listed parts")
    if stock is not None:
        parts = ", ".join(f"{k} {v / 1e6:.2f}" for k, v in stock["parts"].items())
        out.append(
            f"Stock SpeechBrain Conformer (TransformerASR, same sizes, verbatim only): "
            f"{stock['total'] / 1e6:.2f} M ({parts})."
        )
        if "c8" in results:
            ratio = results["c8"]["total"] / stock["total"]
            out.append(f"C8 / stock = {ratio:.3f}x")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(0)
    started = time.perf_counter()
    results = {}
    for name in args.architectures:
        results[name] = count_architecture(args.hparams_dir / f"{name}.yaml", args.vocab_size)
    stock = None if args.no_stock else count_stock(args.vocab_size)
    print(format_table(results, stock))
    payload = {
        "benchmark": "param_count",
        "vocab_size": args.vocab_size,
        "results": results,
        "reference": REFERENCE,
        "stock": stock,
        "wall_s": time.perf_counter() - started,
    }
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from train_step import emit_json

    emit_json(payload, args.json)


if __name__ == "__main__":
    main()
