"""speechbrain_subtitle.ctc_prefix: the candidate CTC prefix scorer against SpeechBrain's."""

import pytest
import torch
from speechbrain.decoders.ctc import CTCPrefixScore

from speechbrain_subtitle.ctc_prefix import CandidateCTCPrefixScore

BLANK, EOS = 0, 2


def _run(cls, x, lens, steps, beam, count, seed):
    """``steps`` search steps with random candidates and random beam reordering."""
    batch, _, vocab = x.shape
    n_bh = batch * beam
    gen = torch.Generator().manual_seed(seed)
    scorer = cls(x.clone(), lens, BLANK, EOS)
    state, tokens, out = None, torch.full((n_bh,), 1), []
    for _ in range(steps):
        candidates = torch.stack(
            [torch.randperm(vocab - 3, generator=gen)[:count] + 3 for _ in range(n_bh)]
        )
        candidates[:, -2:] = BLANK  # padding columns, as PrunedCTCScorerBuilder writes them
        candidates[::3, 0] = tokens[::3]  # candidates that repeat the last token
        candidates[1::4, 1] = EOS
        psi, memory = scorer.forward_step(tokens, state, candidates)
        out.append(psi)
        # each hypothesis continues from a random hypothesis of its utterance
        source = torch.randint(beam, (batch, beam), generator=gen)
        column = torch.randint(count - 2, (batch, beam), generator=gen)
        picked = candidates.view(batch, beam, count)[torch.arange(batch)[:, None], source, column]
        state = scorer.permute_mem(memory, source * vocab + picked)
        tokens = picked.view(-1)
    return torch.stack(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_candidate_scores_equal_speechbrains(seed):
    torch.manual_seed(seed)
    batch, frames, vocab, beam, count = 3, 40, 20, 4, 7
    x = torch.randn(batch, frames, vocab).mul(2).log_softmax(-1)
    lens = torch.tensor([40, 24, 34], dtype=torch.int32)  # padded rows (frames)
    reference = _run(CTCPrefixScore, x, lens, 10, beam, count, seed)
    fast = _run(CandidateCTCPrefixScore, x, lens, 10, beam, count, seed)
    scored = reference > -1e10
    assert torch.equal(scored, fast > -1e10)  # the same tokens scored
    assert scored.any(-1).all()
    assert torch.allclose(reference[scored], fast[scored], rtol=1e-5, atol=1e-4)


def _two_steps(x, lens, candidates, beam):
    """Two steps: every hypothesis extended by its first candidate, then scored again."""
    scorer = CandidateCTCPrefixScore(x.clone(), lens, BLANK, EOS)
    n_bh = candidates.shape[0]
    tokens = torch.full((n_bh,), 1)
    first, memory = scorer.forward_step(tokens, None, candidates)
    keep = torch.arange(beam).repeat(x.shape[0], 1)  # each hypothesis keeps its own row
    state = scorer.permute_mem(memory, keep * x.shape[-1] + candidates[:, 0].view(-1, beam))
    second, _ = scorer.forward_step(candidates[:, 0], state, candidates)
    return first, second


def test_a_row_is_scored_the_same_in_any_batch():
    torch.manual_seed(3)
    x = torch.randn(3, 30, 16).log_softmax(-1)
    lens = torch.tensor([30, 21, 27], dtype=torch.int32)
    candidates = torch.stack([torch.randperm(13)[:5] + 3 for _ in range(6)])  # beam 2
    together = _two_steps(x, lens, candidates, beam=2)
    alone = _two_steps(x[1:2, :21], lens[1:2], candidates[2:4], beam=2)
    for step_together, step_alone in zip(together, alone):
        assert torch.equal(step_together[2:4], step_alone)
