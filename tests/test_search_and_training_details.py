"""Search and training details on constructed cases, where the right answer is known.

* Joint CTC scoring (verbatim and subtitle heads) changes the *chosen*
  hypothesis, and an uninformative (zeroed) head gives the attention-only
  choice back: the searcher really reads the head.
* :class:`~speechbrain_subtitle.decoding.SubtitleBeamSearcher`'s stopping rule:
  it keeps searching past early, poor hypotheses (where SpeechBrain's stock
  searcher stops) and stops before the length cap once the best finished
  hypothesis beats every live one.
* The training Brain evaluates the element-wise mean of the kept checkpoints.
* Label smoothing of the attention terms.

The decoders here are bigram tables: a :class:`TextDecoder` whose hidden state
at each position is a fixed row of logits chosen by the token at that position
(``fc`` is the identity), so every hypothesis' attention score is known in
advance. Encoder states are one-hot frames and the CTC heads scaled identities,
so every frame's CTC distribution is chosen too.
"""

import math

import pytest
import torch
import yaml
from conftest import HPARAMS
from speechbrain.decoders.seq2seq import S2STransformerBeamSearcher
from speechbrain.nnet.linear import Linear

from speechbrain_subtitle import train
from speechbrain_subtitle.brain import SubtitleBrain
from speechbrain_subtitle.decoding import DecodingOptions, SubtitleBeamSearcher, decode
from speechbrain_subtitle.lobes.decoders import DecoderCache, TextDecoder
from speechbrain_subtitle.lobes.model import EncoderOutput, JointSubtitleModel
from speechbrain_subtitle.losses import JointSubtitleLoss

# Token ids: 0 blank, 1 junk, 2 eos, 3 <verbatim>, 4 <subtitle>, 5.. words.
V = 12
BLANK, JUNK, EOS, VBOS, SBOS = 0, 1, 2, 3, 4
SURE = 0.999  # "certain" transitions leave 0.1 % to JUNK: with p = 1 exactly, the
# eos log-prob is 0.0 and SpeechBrain's eos threshold (eos > 1.5 * max) blocks eos.
# JUNK only leads to JUNK: a hypothesis that takes it never ends.
A, B = 5, 6  # the two competing one-word hypotheses of the CTC tests
NEVER = -30.0  # logit of a transition the bigram table does not allow


class BigramDecoder(TextDecoder):
    """A TextDecoder whose next-token distribution depends on the last token only.

    ``hidden_states`` returns, at each position, the row of ``table`` (log-probs;
    what a row leaves goes to JUNK) indexed by the token there; ``fc`` is set to the identity by
    :func:`_set_identity`. The real ``decode`` (unpacking two-source memories)
    and ``fc`` of TextDecoder are used. ``calls`` counts search steps.
    """

    def __init__(self, transitions, num_sources=1):
        super().__init__(vocab_size=V, d_model=V, nhead=1, d_ffn=4, num_layers=0,
                         num_sources=num_sources)  # fmt: skip
        table = torch.full((V, V), NEVER)
        for prev, nexts in transitions.items():
            for token, prob in nexts.items():
                table[prev, token] = math.log(prob)
            rest = 1.0 - sum(nexts.values())
            if rest > 1e-9:
                table[prev, JUNK] = math.log(rest)
        table[JUNK, JUNK] = 0.0
        self.register_buffer("table", table)
        self.calls = 0

    def hidden_states(self, tokens, memories, token_lengths=None):  # noqa: D102
        assert len(memories) == self.num_sources  # decode() unpacked what the search packed
        self.calls += 1
        frames = memories[0][0].shape[1]
        attn = torch.zeros(tokens.shape[0], tokens.shape[1], frames)
        return self.table[tokens.long()], attn

    # The incremental interface the (cached) searches use: the same table lookup.
    def start_cache(self, memories, group=1):  # noqa: D102
        assert len(memories) == self.num_sources
        cache = DecoderCache([], group)
        cache.frames = memories[0][0].shape[1]
        return cache

    def step(self, tokens, cache):  # noqa: D102
        self.calls += 1
        cache.length += 1
        return self.table[tokens.long()], torch.zeros(tokens.shape[0], 1, cache.frames)


def _set_identity(linear, scale=1.0):
    with torch.no_grad():
        linear.w.weight.copy_(scale * torch.eye(V))
        linear.w.bias.zero_()


def _one_hot_frames(tokens):
    """Encoder states ``(1, frames, V)``: frame t is the one-hot vector of tokens[t]."""
    return torch.nn.functional.one_hot(torch.tensor([tokens]), V).float()


class FixedStates(torch.nn.Module):
    """A subtitle encoder that returns fixed states, whatever it reads."""

    def __init__(self, states):
        super().__init__()
        self.register_buffer("states", states)

    def forward(self, x, lengths):  # noqa: D102
        return self.states[:, : x.shape[1]].expand(x.shape[0], -1, -1)


def _head():
    return Linear(input_size=V, n_neurons=V)


# The attention decoders prefer A (0.6) over B (0.4); both end right after.
PREFERS_A = {VBOS: {A: 0.6, B: 0.4}, SBOS: {A: 0.6, B: 0.4}, A: {EOS: SURE}, B: {EOS: SURE}}
# CTC frames that say "B" (and, for the verbatim encoder of the subtitle test, "A").
SAYS_B = [BLANK, B, B, BLANK, BLANK, BLANK]
SAYS_A = [BLANK, A, A, BLANK, BLANK, BLANK]


def _chosen(model, enc, task, **options):
    out = decode(model, enc, (task,), DecodingOptions(beam_size=3, **options))
    (hyp,), _ = out[task]
    return hyp


def test_verbatim_ctc_head_changes_the_chosen_hypothesis_and_a_blank_head_does_not():
    model = JointSubtitleModel(
        torch.nn.Identity(), _head(), BigramDecoder(PREFERS_A), variant="verbatim_only"
    ).eval()
    _set_identity(model.verbatim_decoder.fc)
    _set_identity(model.ctc_head, scale=10.0)  # each frame: its token with p > 0.999
    frames = _one_hot_frames(SAYS_B)
    enc = EncoderOutput(frames, None, torch.tensor([frames.shape[1]]))
    assert _chosen(model, enc, "verbatim", ctc_weight=0.0) == [A]  # attention alone
    assert _chosen(model, enc, "verbatim", ctc_weight=0.3) == [B]  # 0.7 att + 0.3 CTC
    # The same weight with a head that says nothing (uniform over the vocabulary at
    # every frame): A and B get equal CTC scores, so the attention choice is back.
    with torch.no_grad():
        model.ctc_head.w.weight.zero_()
    assert _chosen(model, enc, "verbatim", ctc_weight=0.3) == [A]


def _subtitle_model(subtitle_ctc_head=True):
    """C8 wiring: the subtitle decoder attends (subtitle encoder, verbatim encoder).
    The verbatim encoder's frames say A, the subtitle encoder's say B; the subtitle
    CTC head reads them as they are, the verbatim CTC head says nothing."""
    sub_states = _one_hot_frames(SAYS_B)
    model = JointSubtitleModel(
        torch.nn.Identity(), _head(), BigramDecoder(PREFERS_A),
        subtitle_decoder=BigramDecoder(PREFERS_A, num_sources=2),
        subtitle_encoder=FixedStates(sub_states),
        subtitle_ctc_head=_head() if subtitle_ctc_head else None,
        subtitle_sources=("subtitle", "verbatim"),
    ).eval()  # fmt: skip
    for linear in (model.verbatim_decoder.fc, model.subtitle_decoder.fc):
        _set_identity(linear)
    _set_identity(model.ctc_head, scale=0.0)  # uniform: only the subtitle head can say B
    if subtitle_ctc_head:
        _set_identity(model.subtitle_ctc_head, scale=10.0)
    frames = _one_hot_frames(SAYS_A)
    return model, EncoderOutput(frames, None, torch.tensor([frames.shape[1]]))


def test_subtitle_ctc_head_changes_the_chosen_subtitle_and_a_blank_head_does_not():
    model, enc = _subtitle_model()
    assert _chosen(model, enc, "subtitle", subtitle_ctc_weight=0.0) == [A]
    # Read on the subtitle encoder's frames (the packed memory's first source),
    # the subtitle head says B; on the verbatim encoder's frames it would say A,
    # and the verbatim head would say nothing.
    assert _chosen(model, enc, "subtitle", subtitle_ctc_weight=0.3) == [B]
    # The verbatim CTC weight plays no part in the subtitle search.
    assert _chosen(model, enc, "subtitle", subtitle_ctc_weight=0.0, ctc_weight=1.0) == [A]
    with torch.no_grad():
        model.subtitle_ctc_head.w.weight.zero_()
    assert _chosen(model, enc, "subtitle", subtitle_ctc_weight=0.3) == [A]
    # A model without a subtitle CTC head ignores subtitle_ctc_weight.
    plain, enc = _subtitle_model(subtitle_ctc_head=False)
    assert _chosen(plain, enc, "subtitle", subtitle_ctc_weight=0.3) == [A]


# ---------------------------------------------------------------------- stopping
# From <verbatim>: "5" (0.4) ends at once; "6 7" (0.6) may end (0.45) or go on
# with "8" (0.55), which then ends. Length-normalized scores (log-prob sum over
# the tokens, eos included): [5] -0.459, [6 7] -0.437, [6 7 8] -0.278 (best);
# the live [6 7] and [6 7 8] score -0.256 and -0.370 per token.
LATE_BEST = {VBOS: {5: 0.4, 6: 0.6}, 5: {EOS: SURE}, 6: {7: SURE}, 7: {EOS: 0.45, 8: 0.55},
             8: {EOS: SURE}}  # fmt: skip
# From <verbatim>: "5" (0.9) ends at once (score -0.053); "6" and "7" (0.05 each)
# wander between 6 and 7 (0.5 each) and never end.
EARLY_BEST = {VBOS: {5: 0.9, 6: 0.05, 7: 0.05}, 5: {EOS: SURE}, 6: {6: 0.5, 7: 0.5},
              7: {6: 0.5, 7: 0.5}}  # fmt: skip


def _searchers(transitions, beam_size):
    """A bigram decoder, 20 blank frames, and ours and the stock searcher on them."""
    decoder = BigramDecoder(transitions).eval()
    _set_identity(decoder.fc)
    frames = _one_hot_frames([BLANK] * 20)
    kwargs = dict(modules=[decoder, decoder.fc], bos_index=VBOS, eos_index=EOS,
                  min_decode_ratio=0.0, max_decode_ratio=1.0, beam_size=beam_size,
                  temperature=1.0, length_normalization=True)  # fmt: skip
    return decoder, frames, SubtitleBeamSearcher(**kwargs), S2STransformerBeamSearcher(**kwargs)


def _search(searcher, decoder, frames):
    decoder.calls = 0
    with torch.no_grad():
        hyps, _, scores, _ = searcher(frames, torch.ones(1))
    return [int(t) for t in hyps[0]], float(scores[0]), decoder.calls


def test_search_keeps_going_past_early_poor_endings():
    decoder, frames, ours, stock = _searchers(LATE_BEST, beam_size=2)
    # Stock: after step 3 its pool holds [5] and [6 7] (beam_size endings), so it
    # stops and returns [6 7] while [6 7 8] is still live with a better score.
    stock_best = math.log(0.6 * SURE * 0.45) / 3
    assert _search(stock, decoder, frames)[:2] == ([6, 7], pytest.approx(stock_best))
    hyp, score, calls = _search(ours, decoder, frames)
    assert (hyp, score) == ([6, 7, 8], pytest.approx(math.log(0.6 * SURE * 0.55 * SURE) / 4))
    assert calls < 20  # and it stopped long before the length cap (20 frames)
    # The same through decode() (the searcher and options the package uses).
    model = JointSubtitleModel(torch.nn.Identity(), _head(), decoder, variant="verbatim_only")
    _set_identity(model.verbatim_decoder.fc)
    enc = EncoderOutput(frames, None, torch.tensor([20]))
    options = DecodingOptions(beam_size=2, ctc_weight=0.0)
    assert decode(model.eval(), enc, ("verbatim",), options)["verbatim"][0] == [[6, 7, 8]]


def test_search_stops_once_the_best_ending_beats_every_live_hypothesis():
    decoder, frames, ours, stock = _searchers(EARLY_BEST, beam_size=3)
    hyp, score, calls = _search(ours, decoder, frames)
    assert (hyp, score) == ([5], pytest.approx(math.log(0.9 * SURE) / 2))
    # Step 1 ends [5] (-0.053 per token); every live hypothesis is then below
    # log(0.5) per token and can only get worse: the search ends after 2 steps.
    assert calls == 2
    # The stock searcher waits for beam_size endings that never come: 20 steps.
    hyp, _, stock_calls = _search(stock, decoder, frames)
    assert hyp == [5] and stock_calls == 20


# ------------------------------------------------------------- label smoothing
def _loss_inputs():
    torch.manual_seed(3)
    logprobs = torch.log_softmax(torch.randn(3, 4, 7), dim=-1)
    tokens = torch.tensor([[5, 6, 2, 0], [4, 2, 0, 0], [6, 6, 6, 2]])
    lengths = torch.tensor([3, 2, 4])
    outputs = {
        "verbatim_rows": torch.tensor([0, 2]),  # row 1 has no verbatim text
        "subtitle_rows": torch.tensor([1]),
        "verbatim_logprobs": logprobs[[0, 2]],
        "subtitle_logprobs": logprobs[[1]],
        "ctc_logprobs": torch.log_softmax(torch.randn(2, 6, 7), -1),
        "ctc_lengths": torch.tensor([6, 6]),
        "anchor": torch.tensor(0.0),
    }
    targets = {"verbatim_eos": tokens, "verbatim_eos_lengths": lengths,
               "subtitle_eos": tokens, "subtitle_eos_lengths": lengths}  # fmt: skip
    return logprobs, tokens, lengths, outputs, targets


def _smoothed_cross_entropy(logprobs, tokens, lengths, rows, eps):
    """Cross-entropy with the target distribution (1 - eps) one-hot + eps uniform
    (over the whole vocabulary), averaged over the valid tokens of ``rows``."""
    vocab = logprobs.shape[-1]
    total, count = 0.0, 0
    for r in rows:
        for t in range(int(lengths[r])):
            target = torch.full((vocab,), eps / vocab, dtype=torch.float64)
            target[int(tokens[r, t])] += 1.0 - eps
            total += float(-(target * logprobs[r, t].double()).sum())
            count += 1
    return total / count


def test_label_smoothing_gives_the_smoothed_cross_entropy():
    logprobs, tokens, lengths, outputs, targets = _loss_inputs()
    _, smooth = JointSubtitleLoss(label_smoothing=0.1)(outputs, targets)
    _, plain = JointSubtitleLoss(label_smoothing=0.0)(outputs, targets)
    for term, rows in (("verbatim_attention", [0, 2]), ("subtitle_attention", [1])):
        expected = _smoothed_cross_entropy(logprobs, tokens, lengths, rows, 0.1)
        assert float(smooth[term]) == pytest.approx(expected, rel=1e-6, abs=1e-6)
        unsmoothed = _smoothed_cross_entropy(logprobs, tokens, lengths, rows, 0.0)
        assert float(plain[term]) == pytest.approx(unsmoothed, rel=1e-6, abs=1e-6)
        assert abs(float(smooth[term]) - float(plain[term])) > 1e-3
    # The same number as PyTorch's label-smoothed cross-entropy (uniform over all classes).
    flat = [(r, t) for r in (0, 2) for t in range(int(lengths[r]))]
    torch_ce = torch.nn.functional.cross_entropy(
        torch.stack([logprobs[r, t] for r, t in flat]),
        torch.stack([tokens[r, t] for r, t in flat]),
        label_smoothing=0.1,
    )
    assert float(smooth["verbatim_attention"]) == pytest.approx(float(torch_ce), rel=1e-6)


# --------------------------------------------------------- checkpoint averaging
def test_test_set_is_evaluated_with_the_mean_of_the_kept_checkpoints(tmp_path, monkeypatch):
    out = tmp_path / "run"
    seen = {}
    original = SubtitleBrain.compute_forward

    def compute_forward(self, batch, stage):
        if stage.name == "TEST" and "state" not in seen:
            seen["state"] = {
                k: v.detach().clone() for k, v in self.hparams.model.state_dict().items()
            }
        return original(self, batch, stage)

    monkeypatch.setattr(SubtitleBrain, "compute_forward", compute_forward)
    train.main([str(HPARAMS / "train_tiny.yaml"), f"--output_folder={out}", "--device=cpu",
                "--number_of_epochs=3", "--keep_checkpoints=3", "--avg_checkpoints=3",
                "--valid_search_interval=0"])  # fmt: skip
    folders = sorted((out / "save").glob("CKPT+*"))
    assert len(folders) == 3
    epochs = sorted(yaml.safe_load((f / "CKPT.yaml").read_text())["epoch"] for f in folders)
    assert epochs == [1, 2, 3]
    kept = [torch.load(f / "model.ckpt", map_location="cpu", weights_only=True) for f in folders]
    evaluated = seen["state"]
    assert set(evaluated) == set(kept[0])
    far_from_each = [0.0] * len(kept)
    for name, value in evaluated.items():
        stack = torch.stack([k[name].double() for k in kept])
        if not value.is_floating_point():
            assert all(torch.equal(k[name], value) for k in kept), name
            continue
        torch.testing.assert_close(value.double(), stack.mean(0), atol=1e-6, rtol=0)
        for i in range(len(kept)):
            far_from_each[i] = max(far_from_each[i], float((value.double() - stack[i]).abs().max()))
    # The mean is not simply one of the checkpoints (training moved the weights).
    assert min(far_from_each) > 1e-4
