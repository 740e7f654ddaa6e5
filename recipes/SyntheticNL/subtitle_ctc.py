#!/usr/bin/env python3
"""Adds a trained subtitle CTC head to an exported model, everything else frozen.

The C8 wiring has an optional linear CTC head on the subtitle encoder's states
(``subtitle_ctc_head`` in ``hparams/c8.yaml``); the authors built it but gave it
weight 0, and the demo model has none. This script trains one on the
subtitle rows of a corpus with every other weight frozen, so the model's
transcripts and subtitles do not change, and writes a copy of the model folder
with the head: a model with which ``--subtitle-timing ctc`` and
``SubtitleASR.align_text(..., task="subtitle")`` work. ``word_timing.py
--subtitles`` then measures whether subtitle words are timed better by this
head or by carrying the verbatim words' times over.

Example::

    python recipes/SyntheticNL/subtitle_ctc.py --model models/synthetic-nl-c8-demo \\
        --data_folder data/SyntheticNL_medium --steps 600 --out results/demo_subctc
"""

import argparse
import csv
import pathlib
import shutil
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from ctc_pretrain import _collate, _Rows  # noqa: E402

#: What ``hparams/c8.yaml`` suggests for the head; the exported yaml has ``subtitle_ctc_head:``.
HEAD_YAML = (
    "subtitle_ctc_head: !new:speechbrain.nnet.linear.Linear\n"
    "  input_size: !ref <d_model>\n"
    "  n_neurons: !ref <vocab_size>\n"
)


def with_head_yaml(text):
    """The exported ``hyperparams.yaml`` text with a subtitle CTC head declared.

    >>> print(with_head_yaml("a: 1\\nsubtitle_ctc_head:\\nmodel: 2\\n"), end="")
    a: 1
    subtitle_ctc_head: !new:speechbrain.nnet.linear.Linear
      input_size: !ref <d_model>
      n_neurons: !ref <vocab_size>
    model: 2
    """
    lines = text.splitlines(keepends=True)
    unset = ("subtitle_ctc_head:", "subtitle_ctc_head: null")
    empty = [k for k, line in enumerate(lines) if line.strip() in unset]
    if len(empty) != 1:
        raise ValueError("expected one empty 'subtitle_ctc_head:' entry (a C8 export with no head)")
    lines[empty[0]] = HEAD_YAML
    return "".join(lines)


def train_head(asr, folder, rows, steps, batch_size=16, lr=1e-3, report=100, num_workers=0):
    """Trains a ``speechbrain.nnet.linear.Linear`` subtitle CTC head; returns it."""
    from speechbrain.nnet.linear import Linear

    model = asr.model
    head = Linear(input_size=asr.hparams.d_model, n_neurons=asr.tokenizer.get_piece_size())
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(
        _Rows(folder, rows, asr.tokenizer, text_key="subtitle"), batch_size=batch_size,
        shuffle=True, drop_last=True, collate_fn=_collate, num_workers=num_workers,
    )  # fmt: skip
    step, start, losses = 0, time.time(), []
    while step < steps:
        for x, rel, y, y_lens in loader:
            with torch.no_grad():  # the model is frozen: its states are inputs here
                enc = asr.encode_batch(x, rel)
                states, lengths = model.subtitle_encoder_states(enc)
            logprobs = torch.log_softmax(head(states), -1)
            loss = torch.nn.functional.ctc_loss(
                logprobs.transpose(0, 1), y, lengths, y_lens, blank=model.blank_index,
                zero_infinity=True,
            )  # fmt: skip
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
            if step % report == 0 or step == steps:
                mean = sum(losses[-report:]) / len(losses[-report:])
                print(f"step {step} loss {mean:.3f} ({time.time() - start:.0f} s)", flush=True)
            if step >= steps:
                break
    return head


def write_folder(model_dir, head, out):
    """A copy of ``model_dir`` whose yaml and weights include ``head``."""
    model_dir, out = pathlib.Path(model_dir), pathlib.Path(out)
    if out.exists():
        raise SystemExit(f"{out} exists")
    hp = with_head_yaml((model_dir / "hyperparams.yaml").read_text(encoding="utf-8"))
    shutil.copytree(model_dir, out)
    (out / "hyperparams.yaml").write_text(hp, encoding="utf-8")
    weights = torch.load(out / "asr.ckpt", weights_only=True)
    dtype = weights["ctc_head.w.weight"].dtype
    for key, value in head.state_dict().items():
        weights[f"subtitle_ctc_head.{key}"] = value.detach().to(dtype)
    torch.save(weights, out / "asr.ckpt")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="exported C8 model folder (no head)")
    parser.add_argument("--data_folder", required=True, help="corpus with train.csv")
    parser.add_argument("--out", required=True, help="model folder to create")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--num_workers", type=int, default=0, help="audio-reading processes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from speechbrain_subtitle.inference import SubtitleASR

    torch.manual_seed(args.seed)
    folder = pathlib.Path(args.data_folder)
    rows = [r for r in csv.DictReader(open(folder / "train.csv", encoding="utf-8"))
            if r["subtitle"]]  # fmt: skip
    asr = SubtitleASR.from_hparams(source=args.model, savedir=args.model)
    if asr.model.subtitle_ctc_head is not None:
        raise SystemExit(f"{args.model} already has a subtitle CTC head")
    head = train_head(asr, folder, rows, args.steps, args.batch_size, args.lr,
                      num_workers=args.num_workers)  # fmt: skip
    out = write_folder(args.model, head, args.out)
    check = SubtitleASR.from_hparams(source=str(out), savedir=str(out))  # strict load
    assert check.model.subtitle_ctc_head is not None
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
