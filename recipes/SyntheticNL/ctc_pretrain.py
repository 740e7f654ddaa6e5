#!/usr/bin/env python3
"""CTC-only pre-training of the verbatim encoder, then a model folder to fine-tune from.

Joint training from scratch on the small synthetic corpora left the CTC head
of the demo-size C8 in its all-blank phase for thousands of updates while the
decoders learned the texts as a language model (see README.md). Trained
alone with CTC on the verbatim rows (Adam 5e-4, 500 warm-up steps, inverse
square-root decay, PyTorch's default initialisation, no SpecAugment) the same
encoder writes recognisable held-out transcripts after about 750 updates.

Steps:

1. ``pretrain``: trains ``VerbatimEncoder`` + a linear CTC head on the rows
   of ``train.csv`` that have a verbatim text, printing greedy CTC output on
   two validation rows every ``--report`` updates, and saves
   ``{"encoder", "head", "step"}`` to ``--checkpoint``.
2. ``merge``: copies an exported model folder (``speechbrain-subtitle
   export``; same architecture and tokenizer) and replaces its ``encoder.*``
   and ``ctc_head.*`` weights by the pre-trained ones. The result is a
   ``pretrained_path`` for ``train.py`` (use ``--freeze_encoder=True`` to
   train only the rest).

Example::

    python recipes/SyntheticNL/ctc_pretrain.py pretrain --data_folder data/SyntheticNL_medium \\
        --tokenizer results/.../save/tokenizer.model --steps 1000 --checkpoint ctc.pt
    python recipes/SyntheticNL/ctc_pretrain.py merge --checkpoint ctc.pt --model exported/ \\
        --out init_ctc/
"""

import argparse
import csv
import pathlib
import shutil
import sys
import time

import soundfile as sf
import torch


def _encoder():
    from speechbrain_subtitle.lobes.encoders import VerbatimEncoder

    return VerbatimEncoder(80, d_model=144, nhead=4, d_ffn=576, num_layers=6,
                           intermediate_layer=3, kernel_size=15, dropout=0.1)  # fmt: skip


class _Rows(torch.utils.data.Dataset):
    """(waveform, token ids) of manifest rows; waveforms read with soundfile."""

    def __init__(self, folder, rows, sp, text_key="verbatim"):
        self.folder, self.rows, self.sp, self.key = folder, rows, sp, text_key

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        row = self.rows[i]
        wav = torch.from_numpy(sf.read(self.folder / row["wav"], dtype="float32")[0])
        return wav, torch.tensor(self.sp.encode(row[self.key]))


def _collate(items):
    wavs, texts = zip(*items)
    longest = max(map(len, wavs))
    x = torch.zeros(len(wavs), longest)
    for k, w in enumerate(wavs):
        x[k, : len(w)] = w
    y = torch.zeros(len(texts), max(map(len, texts)), dtype=torch.long)
    for k, t in enumerate(texts):
        y[k, : len(t)] = t
    rel = torch.tensor([len(w) / longest for w in wavs])
    return x, rel, y, torch.tensor([len(t) for t in texts])


def pretrain(args):
    """Step 1: CTC-only training of the demo-size encoder."""
    import sentencepiece as spm
    from speechbrain.lobes.features import Fbank
    from speechbrain.processing.features import InputNormalization

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    folder = pathlib.Path(args.data_folder)
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    train = [r for r in csv.DictReader(open(folder / "train.csv", encoding="utf-8"))
             if r["verbatim"]]  # fmt: skip
    if not train:
        raise SystemExit(f"error: {folder / 'train.csv'} has no row with a verbatim transcript")
    valid_rows = list(csv.DictReader(open(folder / "valid.csv", encoding="utf-8")))[:2]
    valid = _Rows(folder, valid_rows, sp)
    # Incomplete batches are dropped (steady batch size), unless that would leave none:
    # with fewer verbatim rows than one batch, the loop below would never step.
    drop_last = len(train) >= args.batch_size
    loader = torch.utils.data.DataLoader(
        _Rows(folder, train, sp), batch_size=args.batch_size, shuffle=True, drop_last=drop_last,
        collate_fn=_collate, num_workers=args.num_workers, persistent_workers=args.num_workers > 0,
    )  # fmt: skip

    fbank = Fbank(sample_rate=16000, n_fft=400, n_mels=80).to(device)
    norm = InputNormalization("global").to(device)
    enc, head = _encoder().to(device), torch.nn.Linear(144, sp.get_piece_size()).to(device)
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.98))
    warmup = args.warmup
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, (warmup / (s + 1)) ** 0.5)
    )

    def report(step, loss):
        enc.eval()
        print(f"step {step} loss {loss:.3f} ({time.time() - start:.0f} s)", flush=True)
        with torch.no_grad():
            for wav, ref in valid:
                one = torch.ones(1, device=device)
                out, _, _ = enc(norm(fbank(wav[None].to(device)), one), one)
                ids = head(out)[0].argmax(-1).tolist()
                kept = [a for j, a in enumerate(ids) if a and (j == 0 or ids[j - 1] != a)]
                print(f"   hyp: {sp.decode(kept)}\n   ref: {sp.decode(ref.tolist())}")
        state = {"encoder": enc.state_dict(), "head": head.state_dict(), "step": step,
                 "normalizer": norm._statistics_dict()}  # fmt: skip
        torch.save(state, args.checkpoint)
        enc.train()

    start, step, limit = time.time(), 0, args.max_minutes * 60 if args.max_minutes else None
    enc.train()
    while step < args.steps:
        for x, rel, y, y_lens in loader:
            step += 1
            x, rel, y = x.to(device), rel.to(device), y.to(device)
            out, _, lens = enc(norm(fbank(x), rel), rel)
            logprobs = torch.log_softmax(head(out), -1)
            loss = torch.nn.functional.ctc_loss(logprobs.transpose(0, 1), y, lens, y_lens,
                                                zero_infinity=True)  # fmt: skip
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
            out_of_time = limit is not None and time.time() - start > limit
            if step % args.report == 0 or step == args.steps or out_of_time:
                report(step, loss.item())
            if step >= args.steps or out_of_time:
                return 0
    return 0


def merge(args):
    """Step 2: an exported folder with the pre-trained encoder and CTC head."""
    out = pathlib.Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists")
    shutil.copytree(args.model, out)
    weights = torch.load(out / "asr.ckpt", weights_only=True)
    trained = torch.load(args.checkpoint, weights_only=True)
    for key, value in trained["encoder"].items():
        if f"encoder.{key}" not in weights:
            raise SystemExit(f"encoder.{key} is not in {args.model}: another architecture?")
        weights[f"encoder.{key}"] = value.to(weights[f"encoder.{key}"].dtype)
    weights["ctc_head.w.weight"] = trained["head"]["weight"]
    weights["ctc_head.w.bias"] = trained["head"]["bias"]
    torch.save(weights, out / "asr.ckpt")
    print(f"wrote {out} (encoder and CTC head from update {trained['step']})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="CTC-only training of the encoder")
    p.add_argument("--data_folder", required=True)
    p.add_argument("--tokenizer", required=True, help="the recipe's tokenizer.model")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--report", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="e.g. cuda:0 (default: cpu)")
    p.add_argument("--num_workers", type=int, default=0, help="audio-reading processes")
    p.add_argument(
        "--max_minutes",
        type=float,
        default=None,
        help="stop (and save) after this many minutes even before --steps",
    )
    p.add_argument("--checkpoint", required=True)
    p.set_defaults(func=pretrain)
    p = sub.add_parser("merge", help="put the pre-trained encoder into an exported model folder")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--model", required=True, help="exported folder of the same architecture")
    p.add_argument("--out", required=True)
    p.set_defaults(func=merge)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
