"""Builds the NeLF-import test fixtures with the authors' own runtime.

The NeLF checkpoints (``nelfproject/NeLF_S2T_Pytorch``: ``model.pth``,
``train.yaml``, ``tokens.txt``, ``bpe.model``, ``stats.npz``) run only in the
authors' code (``nelfproject/NeLF_Speech2Text_Pytorch``, CC BY-NC). This script
imports that code from a checkout given on the command line, builds *small
random* models in the same file format for each option our converter
(:mod:`speechbrain_subtitle.nelf`) supports, and stores their outputs on fixed
inputs. The tests (``tests/test_nelf.py``) then convert the files with our
code, which never sees the authors' code, and compare.

Nothing of the authors' code is copied or stored: the fixtures are generated
data (random weights, a tiny SentencePiece model trained here, a hand-written
``train.yaml``, synthetic waveforms, reference outputs).

Usage::

    python recipes/NeLF/make_fixtures.py --nelf-code /tmp/nelf_code \\
        --out tests/fixtures/nelf

The authors' code needs ``librosa``, ``humanfriendly``, ``torch-complex`` and
``six`` besides torch, numpy, PyYAML and sentencepiece: run this script in a
separate environment that has them (they are not dependencies of this package).

Each case folder holds the five files plus ``reference.npz`` (per utterance
``u<k>/wav`` as int16 samples, ``feats``, ``encoder``, ``intermediate``,
``subtitle_encoder``, ``ctc_logprobs``, ``verbatim_logprobs``,
``subtitle_logprobs``) and ``reference.json`` (prefix ids, greedy token ids and
texts, CTC greedy texts, the authors' beam-search texts, and the smallest
top-1/top-2 margin of every greedy step, which the script keeps above 1e-3 so
that equality within 1e-4 must give equal greedy texts).
"""

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
from itertools import groupby

import numpy as np
import sentencepiece as spm
import torch

TEXTS = [
    "euh goeie avond en welkom bij het journaal van vandaag",
    "de minister zegt dat er twintig procent meer geld komt",
    "ja maar da is toch nie waar zeker",
    "Goedenavond en welkom bij het journaal.",
    "De minister zegt dat er 20 procent meer geld komt.",
    "Dat is toch niet waar.",
    "in antwerpen regent het de hele dag",
    "morgen wordt het droog en zonnig",
]

# Options of each case. Dimensions are tiny on purpose (small files).
CASES = {
    # Input layer conv2d (4x), subtitle encoder without input layer, interCTC on.
    "conv2d_none_interctc": {
        "seed": 1,
        "frontend_conf": {"n_fft": 512, "hop_length": 128, "n_mels": 20},
        "encoder_conf": {
            "output_size": 16,
            "attention_heads": 2,
            "linear_units": 32,
            "num_blocks": 2,
            "input_layer": "conv2d",
            "macaron_style": True,
            "rel_pos_type": "latest",
            "pos_enc_layer_type": "rel_pos",
            "selfattention_layer_type": "rel_selfattn",
            "activation_type": "swish",
            "use_cnn_module": True,
            "cnn_module_kernel": 7,
            "interctc_layer_idx": [1],
        },
        "subtitle_encoder_conf": {"input_layer": "none", "num_blocks": 1},
        "stats_differ": False,
    },
    # Input layer conv2d6 (6x), subtitle encoder with a linear input layer,
    # no interCTC, other STFT settings, and stats.npz that disagrees with the
    # model.pth buffers (the buffers must win, as in the authors' loader).
    "conv2d6_linear": {
        "seed": 2,
        "frontend_conf": {
            "n_fft": 400,
            "win_length": 400,
            "hop_length": 160,
            "n_mels": 24,
            "fmin": 20,
            "fmax": 7600,
        },
        "encoder_conf": {
            "output_size": 16,
            "attention_heads": 4,
            "linear_units": 24,
            "num_blocks": 2,
            "input_layer": "conv2d6",
            "macaron_style": True,
            "rel_pos_type": "latest",
            "pos_enc_layer_type": "rel_pos",
            "selfattention_layer_type": "rel_selfattn",
            "activation_type": "swish",
            "use_cnn_module": True,
            "cnn_module_kernel": 5,
        },
        "subtitle_encoder_conf": {"input_layer": "linear", "num_blocks": 1},
        "stats_differ": True,
    },
}

WAV_LENGTHS = (4000, 7100, 10000)
PREFIX_TEXTS = ("goeie avond en welkom", "De minister zegt.", "ja")
MAX_GREEDY_TOKENS = 12


def _yaml_block(name, conf):
    lines = [f"{name}:"]
    for key, value in conf.items():
        lines.append(f"    {key}: {json.dumps(value)}")
    return "\n".join(lines)


def train_yaml_text(
    title, frontend_conf, encoder_conf, subtitle_encoder_conf, decoder_conf, token_list
):
    """An ESPnet-style NeLF ``train.yaml`` (as the authors' runtime reads it) as text.

    Also used by ``bench/nelf_decode.py`` for its paper-size layout.
    """
    return "\n".join(
        [
            f"# {title}",
            "output_dir: exp/asr_tiny",
            "seed: 0",
            "max_epoch: 1",
            "batch_size: 16",
            "accum_grad: 1",
            "grad_clip: 5",
            "optim: adam",
            _yaml_block("optim_conf", {"lr": 0.004}),
            "scheduler: warmuplr",
            _yaml_block("scheduler_conf", {"warmup_steps": 25000}),
            "token_type: bpe",
            "bpemodel: data/token_list/bpe_unigram/bpe.model",
            "token_list:",
            *[f"- {json.dumps(t)}" for t in token_list],
            "frontend: default",
            _yaml_block("frontend_conf", frontend_conf),
            "specaug: specaug",
            _yaml_block(
                "specaug_conf",
                {
                    "apply_time_warp": True,
                    "time_warp_window": 5,
                    "time_warp_mode": "bicubic",
                    "apply_freq_mask": True,
                    "freq_mask_width_range": [0, 30],
                    "num_freq_mask": 2,
                    "apply_time_mask": True,
                    "time_mask_width_range": [0, 40],
                    "num_time_mask": 2,
                },
            ),
            "normalize: global_mvn",
            _yaml_block("normalize_conf", {"stats_file": "exp/asr_stats/train/feats_stats.npz"}),
            _yaml_block(
                "model_conf",
                {"ctc_weight": 0.3, "lsm_weight": 0.1, "length_normalized_loss": False},
            ),
            "encoder: conformer",
            _yaml_block("encoder_conf", encoder_conf),
            "subtitle_encoder: transformer",
            _yaml_block("subtitle_encoder_conf", subtitle_encoder_conf),
            "decoder: multi_transformer",
            _yaml_block("decoder_conf", decoder_conf),
            "subtitle_decoder: multi_transformer",
            _yaml_block("subtitle_decoder_conf", decoder_conf),
            _yaml_block("ctc_conf", {"dropout_rate": 0.0, "ctc_type": "builtin"}),
            "",
        ]
    )


def write_train_yaml(path, case, token_list):
    """A hand-written ESPnet-style train.yaml for one case."""
    d = case["encoder_conf"]["output_size"]
    heads = case["encoder_conf"]["attention_heads"]
    sub = {
        "output_size": d,
        "attention_heads": heads,
        "linear_units": 24,
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "attention_dropout_rate": 0.1,
        "normalize_before": True,
        **case["subtitle_encoder_conf"],
    }
    dec = {
        "attention_heads": heads,
        "linear_units": 24,
        "num_blocks": 1,
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "self_attention_dropout_rate": 0.1,
        "src_attention_dropout_rate": 0.1,
    }
    enc = {
        "dropout_rate": 0.1,
        "positional_dropout_rate": 0.1,
        "attention_dropout_rate": 0.1,
        "normalize_before": True,
        **case["encoder_conf"],
    }
    text = train_yaml_text(
        "Hand-written ESPnet-style config of a tiny random NeLF-layout model (test fixture).",
        {"fs": 16000, **case["frontend_conf"]},
        enc,
        sub,
        dec,
        token_list,
    )
    path.write_text(text, encoding="utf-8")


def train_tiny_bpe(folder, lines, **options):
    """Trains a 48-piece unigram model on ``lines`` into ``folder/bpe.model``;
    returns its pieces other than ``<unk>``, ``<s>`` and ``</s>``, by id.

    Also used by ``bench/nelf_decode.py``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "text.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(pathlib.Path(tmp) / "bpe"),
            vocab_size=48,
            model_type="unigram",
            character_coverage=1.0,
            minloglevel=2,
            **options,
        )
        shutil.copy(pathlib.Path(tmp) / "bpe.model", folder / "bpe.model")
    sp = spm.SentencePieceProcessor()
    sp.load(str(folder / "bpe.model"))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    return [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]


def make_tokenizer(folder, rng):
    """Trains a tiny unigram model; tokens.txt lists its pieces in a shuffled
    order (ESPnet orders them by corpus frequency, not by SentencePiece id)."""
    pieces = train_tiny_bpe(folder, TEXTS * 3, normalization_rule_name="identity")
    order = rng.permutation(len(pieces))
    token_list = ["<blank>", "<unk>"] + [pieces[i] for i in order] + ["<sos/eos>"]
    (folder / "tokens.txt").write_text("\n".join(token_list) + "\n", encoding="utf-8")
    return token_list


def make_waveforms(rng):
    """Deterministic synthetic 16 kHz waveforms (int16): chirps, harmonics, noise."""
    wavs = []
    for k, n in enumerate(WAV_LENGTHS):
        t = np.arange(n) / 16000.0
        f0 = 120.0 + 40.0 * k
        sig = sum(np.sin(2 * np.pi * h * (f0 * t + 30.0 * t**2)) / h for h in range(1, 6)) * (
            0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
        )
        sig = 0.2 * sig + 0.02 * rng.standard_normal(n)
        wavs.append(np.clip(sig * 32767, -32768, 32767).astype(np.int16))
    return wavs


def randomize(model, rng):
    """Gives every parameter and BatchNorm statistic a random non-trivial value."""
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or name.endswith("embed.1.weight")):
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.3 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))


def stats_from_feats(feats, shift=0.0):
    """count/sum/sum_square of log-mel frames (optionally shifted)."""
    x = feats.astype(np.float64) + shift
    return {
        "count": np.array(x.shape[0]),
        "sum": x.sum(0),
        "sum_square": (x**2).sum(0),
    }


def greedy(decoder, memory, memory_multi, sos, eos, max_len):
    """Greedy decoding with the decoder's incremental scorer (as in their beam search)."""
    ys = torch.tensor([sos])
    state = None
    out, margins = [], []
    for _ in range(max_len):
        logp, state = decoder.score(ys, state, (memory, memory_multi))
        top = torch.topk(logp, 2)
        margins.append(float(top.values[0] - top.values[1]))
        token = int(top.indices[0])
        if token == eos:
            break
        out.append(token)
        ys = torch.cat([ys, torch.tensor([token])])
    return out, min(margins)


def build_case(name, case, code, out_root):
    sys.path.insert(0, str(code))
    from utils.espnet_model import build_model_from_file  # noqa: E402 (their code)

    rng = np.random.default_rng(case["seed"])
    torch.manual_seed(case["seed"])
    folder = out_root / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    token_list = make_tokenizer(folder, rng)
    write_train_yaml(folder / "train.yaml", case, token_list)
    n_mels = case["frontend_conf"]["n_mels"]
    wavs = make_waveforms(rng)

    # stats.npz from the log-mels of the waveforms: build a model once without
    # stats to get the front end, then write the statistics it implies.
    def build():
        return build_model_from_file(
            folder / "train.yaml",
            _empty_state(folder),
            folder / "tokens.txt",
            folder / "bpe.model",
            ctc=True,
            verbatim=True,
            subtitle=True,
            stats_file=folder / "stats.npz",
        )

    np.savez(folder / "stats.npz", **stats_from_feats(np.zeros((2, n_mels)) + [[0.0], [1.0]]))
    probe, _ = build()
    with torch.no_grad():
        logmel = [
            probe.frontend(
                torch.tensor(w / 32768.0, dtype=torch.float32)[None], torch.tensor([len(w)])
            )[0][0]
            for w in wavs
        ]
    feats = torch.cat(logmel).numpy()
    np.savez(folder / "stats.npz", **stats_from_feats(feats))
    model, _ = build()
    randomize(model, rng)
    sos = token_list.index("<sos/eos>")
    with torch.no_grad():  # ending at once is likely with random weights: make it rarer
        for decoder in (model.decoder, model.subtitle_decoder):
            decoder.output_layer.bias[sos] -= 1.0
    state = model.state_dict()
    # The untrained subtitle CTC head that real checkpoints carry (their loader
    # drops it): the converter must skip it.
    d = case["encoder_conf"]["output_size"]
    state["subtitle_ctc.ctc_lo.weight"] = torch.randn(len(token_list), d)
    state["subtitle_ctc.ctc_lo.bias"] = torch.randn(len(token_list))
    if case["stats_differ"]:
        np.savez(folder / "stats.npz", **stats_from_feats(feats, shift=3.0))
    torch.save(state, folder / "model.pth")

    # Reload exactly as their runtime does.
    model, _ = build_model_from_file(
        folder / "train.yaml",
        folder / "model.pth",
        folder / "tokens.txt",
        folder / "bpe.model",
        ctc=True,
        verbatim=True,
        subtitle=True,
        stats_file=folder / "stats.npz",
    )
    model.eval()
    model.prepare_for_beam_search(beam_size=4, minlenratio=0.0, maxlenratio=0.0)
    eos = sos
    arrays, utts = {}, []
    min_margin = float("inf")
    with torch.no_grad():
        for k, w in enumerate(wavs):
            speech = torch.tensor(w / 32768.0, dtype=torch.float32)[None]
            lens = torch.tensor([speech.shape[1]])
            feats, feat_lens = model.frontend(speech, lens)
            feats, feat_lens = model.normalize(feats, feat_lens)
            enc, enc_lens, _ = model.encoder(feats, feat_lens)
            inter = None
            if isinstance(enc, tuple):
                enc, inter = enc[0], enc[1][0][1]
            sub, sub_lens, _ = model.subtitle_encoder(enc, enc_lens)
            ctc_lp = model.ctc.log_softmax(enc)
            ctc_text = model.decode_ctc(enc, mode="verbatim")[0]
            prefix_ids = model.converter.tokens2ids(
                model.tokenizer.text2tokens(PREFIX_TEXTS[k % len(PREFIX_TEXTS)])
            )
            ys = torch.tensor([[sos] + prefix_ids])
            ys_lens = torch.tensor([ys.shape[1]])
            v_logits, _ = model.decoder(enc, enc_lens, sub, sub_lens, ys, ys_lens)
            s_logits, _ = model.subtitle_decoder(sub, sub_lens, enc, enc_lens, ys, ys_lens)
            max_len = min(MAX_GREEDY_TOKENS, int(enc_lens[0]))
            v_ids, v_margin = greedy(model.decoder, enc[0], sub[0], sos, eos, max_len)
            s_ids, s_margin = greedy(model.subtitle_decoder, sub[0], enc[0], sos, eos, max_len)
            min_margin = min(min_margin, v_margin, s_margin)
            beam = model.decode(speech, lens, ctc=False, verbatim=True, subtitle=True)
            key = f"u{k}/"
            arrays[key + "wav"] = w
            arrays[key + "feats"] = feats[0].numpy()
            arrays[key + "encoder"] = enc[0].numpy()
            if inter is not None:
                arrays[key + "intermediate"] = inter[0].numpy()
            arrays[key + "subtitle_encoder"] = sub[0].numpy()
            arrays[key + "ctc_logprobs"] = ctc_lp[0].numpy()
            arrays[key + "verbatim_logprobs"] = torch.log_softmax(v_logits, -1)[0].numpy()
            arrays[key + "subtitle_logprobs"] = torch.log_softmax(s_logits, -1)[0].numpy()

            def text(ids):
                return model.tokenizer.tokens2text(model.converter.ids2tokens(ids))

            utts.append(
                {
                    "num_samples": int(w.shape[0]),
                    "feat_frames": int(feat_lens[0]),
                    "encoder_frames": int(enc_lens[0]),
                    "prefix_ids": [sos] + prefix_ids,
                    "greedy_max_tokens": max_len,
                    "verbatim_greedy_ids": v_ids,
                    "subtitle_greedy_ids": s_ids,
                    "verbatim_greedy_text": text(v_ids),
                    "subtitle_greedy_text": text(s_ids),
                    "ctc_greedy_text": ctc_text,
                    "ctc_greedy_ids": [
                        t for t, _ in groupby(ctc_lp[0].argmax(-1).tolist()) if t != 0
                    ],
                    "authors_beam4": {
                        "verbatim": beam["verbatim"][0],
                        "subtitle": beam["subtitle"][0],
                        "note": "their search as shipped: attention only (CTC dropped)",
                    },
                }
            )
    if min_margin < 1e-3:
        raise RuntimeError(f"{name}: a greedy step has a near tie ({min_margin}); change the seed")
    np.savez_compressed(folder / "reference.npz", **arrays)
    meta = {
        "case": name,
        "sos_eos": sos,
        "min_greedy_margin": min_margin,
        "utterances": utts,
        "generated_by": "recipes/NeLF/make_fixtures.py with the authors' runtime",
    }
    (folder / "reference.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    print(name, sum(sizes.values()), sizes, "min margin", round(min_margin, 4))


def _empty_state(folder):
    """An empty state dict file: their loader (strict=False) then keeps the init."""
    path = folder / "_empty.pth"
    torch.save({}, path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nelf-code", required=True, type=pathlib.Path)
    parser.add_argument("--out", default="tests/fixtures/nelf", type=pathlib.Path)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    args = parser.parse_args(argv)
    if not (args.nelf_code / "utils" / "espnet_model.py").is_file():
        parser.error(f"{args.nelf_code} is not a checkout of NeLF_Speech2Text_Pytorch")
    torch.set_num_threads(1)
    for name in args.cases:
        build_case(name, CASES[name], args.nelf_code.resolve(), args.out)
        (args.out / name / "_empty.pth").unlink()


if __name__ == "__main__":
    main()
