"""CTC prefix scoring on candidate tokens with fewer Python steps per search step.

SpeechBrain's :class:`~speechbrain.decoders.ctc.CTCPrefixScore` computes, at
every search step, the CTC forward variables of each hypothesis extended by
each candidate token, frame by frame. On a CPU its cost is mostly Python and
operator dispatch, not arithmetic: per frame it selects four slices, stacks
them, takes a ``logsumexp`` and copies the result back, and per step it loops
over every hypothesis three times in Python (the previous token's column, the
candidates' scores, end-of-sequence). Long-form decoding, with batches of
segments of up to 15 s (375 encoder frames), pays this at every step of
every hypothesis.

:class:`CandidateCTCPrefixScore` computes the same recursion (Algorithm 2 of
Watanabe et al., 2017, as SpeechBrain writes it) with:

- the per-hypothesis loops replaced by indexed tensor operations;
- the frame loop reduced to four in-place operations per frame on views
  prepared once per step (``torch.logaddexp`` writing into the forward
  variables, then adding the frame's log posteriors).

``logaddexp(a, b)`` and SpeechBrain's ``logsumexp`` of the stacked pair are
the same function computed in a different order, so scores can differ in the
last bits of a float32 (about 1e-6 relative); ``tests/test_fast_decoding.py``
checks that the searches still give the reference hypotheses. Every
operation is row-wise, so a hypothesis's scores never depend on its batch.
Only the candidate (partial) scoring path is replaced; scoring the whole
vocabulary (``ctc_candidates=0``, the reference path) stays SpeechBrain's.
"""

import torch
from speechbrain.decoders.ctc import CTCPrefixScore
from speechbrain.decoders.scorer import CTCScorer


class CandidateCTCPrefixScore(CTCPrefixScore):
    """:class:`CTCPrefixScore` with a vectorized step for candidate scoring.

    Example
    -------
    >>> x = torch.randn(1, 6, 5).log_softmax(-1)
    >>> ctc = CandidateCTCPrefixScore(x.clone(), torch.tensor([6]), 0, 4)
    >>> bos = torch.tensor([3])
    >>> psi, state = ctc.forward_step(bos, None, torch.tensor([[1, 2]]))
    >>> psi.shape
    torch.Size([1, 5])
    >>> bool(psi[0, 3] < -1e19)  # not a candidate
    True
    """

    def __init__(self, x, enc_lens, blank_index, eos_index, ctc_window_size=0):
        super().__init__(x, enc_lens, blank_index, eos_index, ctc_window_size)
        # Gathering candidate columns from the (2, time, batch, vocab) posteriors is a
        # strided copy that cost more than the recursion; rows of (batch * vocab, time)
        # are gathered with contiguous copies instead. The blank posterior is the same
        # for every candidate: one column per utterance.
        self.nonblank_rows = self.x[0].permute(1, 2, 0).reshape(-1, self.max_enc_len).contiguous()
        self.blank_frames = self.x[1, :, :, self.blank_index]  # (time, batch)

    @torch.no_grad()
    def forward_step(self, inp_tokens, states, candidates=None, attn=None):  # noqa: D102
        if candidates is None or self.ctc_window_size:
            return super().forward_step(inp_tokens, states, candidates, attn)
        n_bh = inp_tokens.size(0)
        beam_size = n_bh // self.batch_size
        frames, vocab = self.max_enc_len, self.vocab_size
        self.prefix_length += 1
        count = self.num_candidates = candidates.size(-1)
        rows = torch.arange(n_bh, device=self.device)
        if states is None:
            r_prev = torch.full((frames, 2, n_bh), self.minus_inf, device=self.device)
            r_prev[:, 1] = torch.cumsum(self.x[0, :, :, self.blank_index], 0).repeat_interleave(
                beam_size, dim=1
            )
            psi_prev = torch.zeros(n_bh, vocab, device=self.device)
        else:
            r_prev, psi_prev = states

        # Where each candidate sits in its hypothesis's row of candidates
        scoring_table = torch.full((n_bh, vocab), -1, dtype=torch.long, device=self.device)
        scoring_table[rows.unsqueeze(1), candidates] = torch.arange(count, device=self.device)
        offsets = (self.batch_index * vocab).repeat_interleave(beam_size)
        scoring_index = (candidates + offsets.unsqueeze(1)).view(-1)
        x_nonblank = self.nonblank_rows.index_select(0, scoring_index).view(n_bh, count, frames)
        x_blank = self.blank_frames.repeat_interleave(beam_size, dim=1).unsqueeze(-1)

        r = torch.full((frames, 2, n_bh, count), self.minus_inf, device=self.device)
        if self.prefix_length == 0:
            r[0, 0] = x_nonblank[..., 0]
        # phi: probability of the prefix g up to frame t; for a candidate that repeats
        # g's last token, only the paths that end in a blank
        r_sum = torch.logsumexp(r_prev, 1)
        phi = r_sum.unsqueeze(2).repeat(1, 1, count)
        pos = scoring_table[rows, inp_tokens]
        repeat = (pos >= 0).nonzero().squeeze(1)
        phi[:, repeat, pos[repeat]] = r_prev[:, 1, repeat]

        start, end = max(1, self.prefix_length), frames
        nonblank, blank = r[:, 0].unbind(0), r[:, 1].unbind(0)
        x_nb, x_b, phis = x_nonblank.unbind(-1), x_blank.unbind(0), phi.unbind(0)
        for t in range(start, end):
            torch.logaddexp(nonblank[t - 1], phis[t - 1], out=nonblank[t])
            nonblank[t].add_(x_nb[t])
            torch.logaddexp(nonblank[t - 1], blank[t - 1], out=blank[t])
            blank[t].add_(x_b[t])

        # psi: probability of the prefix g + c (c emitted at some frame)
        phix = torch.cat((phi[:1], phi[:-1]), dim=0) + x_nonblank.permute(2, 0, 1)
        psi_c = torch.logsumexp(torch.cat((phix[start:end], r[start - 1, 0].unsqueeze(0))), 0)
        psi = torch.full((n_bh, vocab), self.minus_inf, device=self.device)
        psi.scatter_(1, candidates, psi_c)
        last = self.last_frame_index.repeat_interleave(beam_size)
        psi[:, self.eos_index] = r_sum[last, rows]
        if self.eos_index != self.blank_index:
            psi[:, self.blank_index] = self.minus_inf
        return psi - psi_prev, (r, psi, scoring_table)


class CTCScorerOnCandidates(CTCScorer):
    """SpeechBrain's :class:`CTCScorer` using :class:`CandidateCTCPrefixScore`.

    (``ScorerBuilder`` names a scorer by its class name up to "scorer", and the
    searchers look for "ctc": hence the name.)
    """

    def reset_mem(self, x, enc_lens):  # noqa: D102
        x = self.softmax(self.ctc_fc(x))
        self.ctc_score = CandidateCTCPrefixScore(
            x, enc_lens, self.blank_index, self.eos_index, self.ctc_window_size
        )
