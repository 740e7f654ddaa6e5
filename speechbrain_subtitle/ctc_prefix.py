"""CTC prefix scores without a Python loop over frames.

SpeechBrain's :class:`~speechbrain.decoders.ctc.CTCPrefixScore` (Algorithm 2
of Watanabe et al., 2017) extends every hypothesis by one token per search
step and, for that, runs the forward recursion of the CTC prefix
probabilities frame by frame in Python::

    r_t^n(h) = (r_{t-1}^n(h) + phi_{t-1}) * p_t(c)
    r_t^b(h) = (r_{t-1}^n(h) + r_{t-1}^b(h)) * p_t(blank)

One step therefore costs a few tensor operations per frame, and decoding a
segment costs in proportion to its frames times its tokens: the square of
its length. Both lines are first-order linear recurrences, so each is a
cumulative sum of logarithms followed by a ``logcumsumexp`` over frames
(a prefix scan), done here in float64 for all frames at once:

    log r_t^n = C_t + logcumsumexp_s(log phi_{s-1} - C_{s-1}),  C_t = sum_{u<=t} log p_u(c)

and the same for ``r^b`` with ``log p_u(blank)`` and ``r^n`` in place of
``phi``. :class:`ScanCTCPrefixScore` returns what the stock class returns
(scores, and the states its ``permute_mem`` reorders), to float32 rounding;
``tests/test_fast_decoding.py`` compares the two step by step.

Only scoring on candidates (a pre-beam of a few tokens per hypothesis) goes
through the scan; scoring the whole vocabulary, or with an attention window
(``ctc_window_size``), falls back to the stock code.
"""

import torch
from speechbrain.decoders.ctc import CTCPrefixScore

# Floor of the log-probabilities in the scan: the stock scorer marks frames
# past an utterance's end with -1e20, which would swamp the float64 sums.
_LOG_FLOOR = -1e4


def _linear_scan(log_rate, log_input, log_initial):
    """Solves ``y_t = (y_{t-1} + u_{t-1}) * a_t`` for every t at once, in logs.

    ``log_rate`` holds ``log a_t`` and ``log_input`` ``log u_{t-1}`` for
    ``t = 1..T`` (first dimension), ``log_initial`` is ``log y_0``. Returns
    ``log y_t`` for ``t = 1..T``.
    """
    total = torch.cumsum(log_rate, 0)
    before = torch.cat([torch.zeros_like(total[:1]), total[:-1]])
    terms = log_input - before
    terms[0] = torch.logaddexp(terms[0], log_initial)
    return total + torch.logcumsumexp(terms, 0)


class ScanCTCPrefixScore(CTCPrefixScore):
    """:class:`~speechbrain.decoders.ctc.CTCPrefixScore` with the frame loop as a scan.

    Same arguments, results and states as the parent (see the module
    documentation); with ``candidates`` the recursion over frames is two
    prefix scans instead of a Python loop, and the per-hypothesis loops are
    tensor operations.

    Example
    -------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> x = torch.randn(1, 12, 6).log_softmax(-1)
    >>> fast = ScanCTCPrefixScore(x.clone(), torch.tensor([12]), 0, 2)
    >>> stock = CTCPrefixScore(x.clone(), torch.tensor([12]), 0, 2)
    >>> tokens, candidates = torch.tensor([1, 1]), torch.tensor([[3, 4, 2], [4, 5, 2]])
    >>> a, _ = fast.forward_step(tokens, None, candidates)
    >>> b, _ = stock.forward_step(tokens, None, candidates)
    >>> bool(torch.allclose(a, b, atol=1e-4))
    True
    """

    @torch.no_grad()
    def forward_step(self, inp_tokens, states, candidates=None, attn=None):  # noqa: D102
        if candidates is None or (self.ctc_window_size and attn is not None):
            return super().forward_step(inp_tokens, states, candidates, attn)
        n_bh = inp_tokens.size(0)
        beam_size = n_bh // self.batch_size
        self.prefix_length += 1
        self.num_candidates = candidates.size(-1)
        frames, device = self.max_enc_len, self.device
        if states is None:
            r_prev = torch.full(
                (frames, 2, self.batch_size, beam_size), self.minus_inf, device=device
            )
            r_prev[:, 1] = torch.cumsum(self.x[0, :, :, self.blank_index], 0).unsqueeze(2)
            r_prev = r_prev.view(-1, 2, n_bh)
            psi_prev = torch.zeros(n_bh, self.vocab_size, device=device)
        else:
            r_prev, psi_prev = states

        rows = torch.arange(n_bh, device=device)
        scoring_table = torch.full((n_bh, self.vocab_size), -1, dtype=torch.long, device=device)
        scoring_table[rows.unsqueeze(1), candidates] = torch.arange(
            self.num_candidates, device=device
        )
        offsets = (self.batch_index * self.vocab_size).repeat_interleave(beam_size)
        x = torch.index_select(
            self.x.view(2, -1, self.batch_size * self.vocab_size),
            2,
            (candidates + offsets.unsqueeze(1)).view(-1),
        ).view(2, -1, n_bh, self.num_candidates)

        # phi: prefix probability before each frame; for a candidate equal to the
        # last token, only the paths ending in blank may continue with it.
        r_sum = torch.logsumexp(r_prev, 1)
        phi = r_sum.unsqueeze(2).repeat(1, 1, self.num_candidates)
        position = scoring_table[rows, inp_tokens]
        repeat = position >= 0
        phi[:, rows[repeat], position[repeat]] = r_prev[:, 1, rows[repeat]]

        start = max(1, self.prefix_length)
        r = torch.full((frames, 2, n_bh, self.num_candidates), self.minus_inf, device=device)
        if self.prefix_length == 0:
            r[0, 0] = x[0, 0]
        if start < frames:
            x64 = x[:, start:].double().clamp(min=_LOG_FLOOR)
            initial = r[start - 1].double()
            log_n = _linear_scan(x64[0], phi[start - 1 : -1].double(), initial[0])
            # frames past the end: p(c) = 0 there, as the stock scorer has it
            log_n = log_n.masked_fill(x[0, start:] <= _LOG_FLOOR, self.minus_inf)
            previous_n = torch.cat([initial[0].unsqueeze(0), log_n[:-1]])
            log_b = _linear_scan(x64[1], previous_n, initial[1])
            r[start:, 0] = log_n.to(r.dtype)
            r[start:, 1] = log_b.to(r.dtype)

        # psi: the prefix probability of h = g + c over all frames.
        phix = torch.cat((phi[:1], phi[:-1]), dim=0) + x[0]
        scored = torch.logsumexp(torch.cat((phix[start:], r[start - 1, 0].unsqueeze(0)), 0), 0)
        psi = torch.full((n_bh, self.vocab_size), self.minus_inf, device=device)
        psi.scatter_(1, candidates, scored)
        last = self.last_frame_index.long().repeat_interleave(beam_size)
        psi[rows, self.eos_index] = r_sum[last, rows]
        if self.eos_index != self.blank_index:
            psi[:, self.blank_index] = self.minus_inf
        return psi - psi_prev, (r, psi, scoring_table)
