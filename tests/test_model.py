"""Model zoo: wiring, paper sizes, and SpeechBrain searcher compatibility."""

import pytest
import torch
from conftest import ARCHITECTURES, HPARAMS, features, make_batch, tiny_hparams
from speechbrain.decoders.seq2seq import S2STransformerBeamSearcher, S2STransformerGreedySearcher

from speechbrain_subtitle.brain import batch_targets
from speechbrain_subtitle.config import load_hparams
from speechbrain_subtitle.lobes.decoders import TextDecoder, greedy_search, pack_memories
from speechbrain_subtitle.lobes.model import JointSubtitleModel

# Authors' sizes (Poncelet & Van hamme 2025): released v1 (C8) and the scaled v2 model.
PAPER_SIZES = {"c8": 66e6, "v2": 180e6}


@pytest.mark.parametrize("architecture", sorted(PAPER_SIZES))
def test_paper_size_parameter_counts(architecture):
    model = load_hparams(HPARAMS / f"{architecture}.yaml")["model"]
    count = sum(p.numel() for p in model.parameters())
    paper = PAPER_SIZES[architecture] / 1e6
    print(f"{architecture}: {count / 1e6:.2f}M parameters (paper {paper:.0f}M)")
    assert abs(count - PAPER_SIZES[architecture]) / PAPER_SIZES[architecture] < 0.10


def test_c8_paper_shape():
    hp = load_hparams(HPARAMS / "c8.yaml")
    model = hp["model"]
    assert len(model.encoder.conformer.layers) == 12 and model.encoder.intermediate_layer == 6
    assert len(model.subtitle_encoder.layers.layers) == 2
    assert model.verbatim_decoder.num_sources == 1 and model.subtitle_decoder.num_sources == 2
    assert len(model.subtitle_decoder.layers) == 6
    assert model.subtitle_sources == ("subtitle", "verbatim")


def test_shared_task_uses_one_decoder():
    model = tiny_hparams("shared_task")["model"]
    assert model.shared_decoder and model.subtitle_decoder is model.verbatim_decoder
    assert model.verbatim_bos_index != model.subtitle_bos_index


def _parts(**changes):
    d = 32
    kwargs = dict(
        encoder=torch.nn.Identity(),
        ctc_head=torch.nn.Linear(d, 10),
        verbatim_decoder=TextDecoder(10, d, 2, 64, 1, num_sources=1),
        subtitle_decoder=TextDecoder(10, d, 2, 64, 1, num_sources=2),
        subtitle_encoder=None,
        subtitle_sources=("subtitle", "verbatim"),
    )
    kwargs.update(changes)
    return kwargs


@pytest.mark.parametrize(
    "changes, message",
    [
        ({}, "no subtitle_encoder"),
        ({"subtitle_sources": ("verbatim",)}, "attends 2 source"),
        ({"subtitle_sources": ("verbatim", "lm")}, "unknown source"),
        (
            {"subtitle_encoder": torch.nn.Identity(), "subtitle_encoder_input": "x"},
            "subtitle_encoder_input",
        ),
    ],
)
def test_wiring_errors_are_clear(changes, message):
    with pytest.raises(ValueError, match=message):
        JointSubtitleModel(**_parts(**changes))


def test_shared_decoder_needs_distinct_task_tokens():
    dec = TextDecoder(10, 32, 2, 64, 1)
    with pytest.raises(ValueError, match="distinct task tokens"):
        JointSubtitleModel(
            torch.nn.Identity(), torch.nn.Linear(32, 10), dec, dec,
            subtitle_sources=("verbatim",), verbatim_bos_index=3, subtitle_bos_index=3,
        )  # fmt: skip


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_forward_outputs_per_architecture(architecture, tiny_rows, tiny_tokenizer, device):
    hp = tiny_hparams(architecture)
    model = hp["model"].to(device).train()
    hp["normalize"].to(device)
    batch = make_batch(tiny_rows, tiny_tokenizer, ["utt5", "utt6", "utt1"], device)
    feats, lens = features(hp, batch)
    inputs, targets = batch_targets(batch)
    out = model(feats, lens, **inputs)
    assert out["ctc_logprobs"].shape[0] == 2  # utt5 and utt1 hold verbatim text
    assert out["verbatim_logprobs"].shape[:2] == inputs["verbatim_tokens"][[0, 2]].shape
    if architecture == "verbatim_only":
        assert "subtitle_logprobs" not in out
    else:
        assert out["subtitle_logprobs"].shape[0] == 2
    loss, _ = hp["loss"](out, targets)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("architecture", ["parallel", "c8", "v2", "chained"])
def test_subtitle_only_rows_leave_verbatim_decoder_and_ctc_untouched(
    architecture, tiny_rows, tiny_tokenizer, device
):
    hp = tiny_hparams(architecture)
    model = hp["model"].to(device).train()
    hp["normalize"].to(device)
    batch = make_batch(tiny_rows, tiny_tokenizer, ["utt6"], device)
    feats, lens = features(hp, batch)
    inputs, targets = batch_targets(batch)
    loss, _ = hp["loss"](model(feats, lens, **inputs), targets)
    loss.backward()
    for module in (model.verbatim_decoder, model.ctc_head):
        assert all(p.grad is None or not p.grad.any() for p in module.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.subtitle_decoder.parameters())


def test_pack_memories_round_trip_and_masks():
    a, b = torch.randn(2, 5, 4), torch.randn(2, 7, 4)
    packed = pack_memories([(a, torch.tensor([5, 3])), (b, torch.tensor([7, 2]))])
    assert packed.shape == (2, 7, 10)
    assert torch.equal(packed[:, :5, :4], a) and torch.equal(packed[:, :, 4:8], b)
    assert packed[0, :, 8].tolist() == [1, 1, 1, 1, 1, 0, 0]
    assert packed[1, :, 9].tolist() == [1, 1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("num_sources", [1, 2])
def test_speechbrain_searchers_drive_decode(num_sources):
    """SpeechBrain's own greedy and beam searchers run our decoders (packed memory for 2)."""
    torch.manual_seed(1)
    dec = TextDecoder(
        vocab_size=12, d_model=16, nhead=2, d_ffn=32, num_layers=2, num_sources=num_sources
    ).eval()
    lengths = torch.tensor([9, 6])
    memories = [(torch.randn(2, 9, 16), lengths) for _ in range(num_sources)]
    ours = greedy_search(dec, memories, bos_index=3, eos_index=2, max_len=9)
    enc = memories[0][0] if num_sources == 1 else pack_memories(memories)
    rel = lengths.float() / 9
    kwargs = dict(bos_index=3, eos_index=2, min_decode_ratio=0.0, max_decode_ratio=1.0)
    greedy = S2STransformerGreedySearcher(modules=[dec, dec.fc], **kwargs)
    hyps, *_ = greedy(enc, rel)
    assert [list(h) for h in hyps] == ours
    beam = S2STransformerBeamSearcher(modules=[dec, dec.fc], beam_size=3, temperature=1.0, **kwargs)
    hyps, _, scores, _ = beam(enc, rel)
    assert len(hyps) == 2 and torch.isfinite(scores).all()


def test_optional_subtitle_ctc_head_trains_and_joins_the_search(tiny_rows, tiny_tokenizer):
    from speechbrain.nnet.linear import Linear

    from speechbrain_subtitle.decoding import DecodingOptions, decode
    from speechbrain_subtitle.losses import JointSubtitleLoss

    hp = tiny_hparams("c8")
    base = hp["model"]
    head = Linear(input_size=64, n_neurons=64)
    model = JointSubtitleModel(
        base.encoder, base.ctc_head, base.verbatim_decoder, base.subtitle_decoder,
        subtitle_encoder=base.subtitle_encoder, subtitle_ctc_head=head,
        verbatim_sources=("verbatim",), subtitle_sources=("subtitle", "verbatim"),
    ).train()  # fmt: skip
    loss_fn = JointSubtitleLoss(subtitle_ctc_weight=0.3, label_smoothing=0.0)
    batch = make_batch(tiny_rows, tiny_tokenizer, ["utt6", "utt2"])
    feats, lens = features(hp, batch)
    inputs, targets = batch_targets(batch)
    out = model(feats, lens, **inputs)
    loss, terms = loss_fn(out, targets)
    assert terms["subtitle_ctc"] > 0
    loss.backward()
    assert model.subtitle_ctc_head.w.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        enc = model.encode(feats, lens)
        plain = decode(model, enc, ("subtitle",), DecodingOptions(beam_size=3))
        joined = decode(
            model, enc, ("subtitle",), DecodingOptions(beam_size=3, subtitle_ctc_weight=0.5)
        )
    assert plain["subtitle"][1] != joined["subtitle"][1]  # the head's scores entered the search
