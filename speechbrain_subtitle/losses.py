"""The joint verbatim/subtitle objective with per-row masking.

::

    L = a * [ c * ((1 - i) * CTC_last + i * CTC_interm) + (1 - c) * Att_verbatim ]
      + (1 - a) * [ s * CTC_subtitle + (1 - s) * Att_subtitle ]

with the authors' defaults a = 0.5, c = 0.3, i = 0.3, s = 0 and label-smoothed
(0.1) cross-entropy for the attention terms. Each term is averaged over the
rows that hold its text only; a term without rows in the batch is exactly 0.
"""

import torch


def masked_cross_entropy(logprobs, targets, lengths, label_smoothing=0.0):
    """Label-smoothed cross-entropy averaged over the valid target tokens.

    Arguments
    ---------
    logprobs : torch.Tensor
        ``(rows, length, vocab)`` log-probabilities.
    targets : torch.Tensor
        ``(rows, length)`` target ids.
    lengths : torch.Tensor
        Absolute number of valid targets per row.
    label_smoothing : float
        Probability mass spread uniformly over the vocabulary.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Example
    -------
    >>> logp = torch.log_softmax(torch.randn(2, 3, 5), -1)
    >>> targets = torch.tensor([[1, 2, 0], [3, 0, 0]])
    >>> loss = masked_cross_entropy(logp, targets, torch.tensor([2, 1]))
    >>> bool(loss > 0)
    True
    """
    steps = torch.arange(targets.shape[1], device=targets.device)
    valid = steps.unsqueeze(0) < lengths.unsqueeze(1)
    nll = -logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    smooth = -logprobs.mean(dim=-1)
    per_token = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    return (per_token * valid).sum() / valid.sum().clamp(min=1)


def ctc_loss(logprobs, input_lengths, targets, target_lengths, blank_index=0):
    """CTC loss averaged over rows (each row normalized by its target length).

    Unreachable alignments give 0 instead of infinity, so that masking can never
    turn into NaN.

    Arguments
    ---------
    logprobs : torch.Tensor
        ``(rows, frames, vocab)`` log-probabilities.
    input_lengths : torch.Tensor
        Absolute frame counts.
    targets : torch.Tensor
        ``(rows, length)`` target ids (padding beyond ``target_lengths``).
    target_lengths : torch.Tensor
        Absolute target lengths.
    blank_index : int
        The CTC blank.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    return torch.nn.functional.ctc_loss(
        logprobs.transpose(0, 1).float(),
        targets,
        input_lengths,
        target_lengths,
        blank=blank_index,
        reduction="mean",
        zero_infinity=True,
    )


class JointSubtitleLoss(torch.nn.Module):
    """Combines the CTC and attention terms of both branches with masking.

    Arguments
    ---------
    verbatim_weight : float
        ``a``: weight of the verbatim branch (the subtitle branch gets ``1 - a``).
    ctc_weight : float
        ``c``: CTC share of the verbatim branch.
    intermediate_ctc_weight : float
        ``i``: intermediate share of the verbatim CTC.
    subtitle_ctc_weight : float
        ``s``: CTC share of the subtitle branch (needs a subtitle CTC head).
    label_smoothing : float
        Label smoothing of the attention terms.
    blank_index : int
        CTC blank.

    Example
    -------
    >>> loss_fn = JointSubtitleLoss()
    >>> out = {"verbatim_rows": torch.zeros(0, dtype=torch.long),
    ...        "subtitle_rows": torch.tensor([0]),
    ...        "subtitle_logprobs": torch.log_softmax(torch.randn(1, 2, 6), -1),
    ...        "anchor": torch.tensor(0.0)}
    >>> targets = {"subtitle_eos": torch.tensor([[4, 2]]),
    ...            "subtitle_eos_lengths": torch.tensor([2])}
    >>> total, terms = loss_fn(out, targets)
    >>> terms["ctc"].item(), terms["verbatim_attention"].item(), bool(total > 0)
    (0.0, 0.0, True)
    """

    def __init__(
        self,
        verbatim_weight=0.5,
        ctc_weight=0.3,
        intermediate_ctc_weight=0.3,
        subtitle_ctc_weight=0.0,
        label_smoothing=0.1,
        blank_index=0,
    ):
        super().__init__()
        for name, value in (
            ("verbatim_weight", verbatim_weight),
            ("ctc_weight", ctc_weight),
            ("intermediate_ctc_weight", intermediate_ctc_weight),
            ("subtitle_ctc_weight", subtitle_ctc_weight),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        self.a = verbatim_weight
        self.c = ctc_weight
        self.i = intermediate_ctc_weight
        self.s = subtitle_ctc_weight
        self.label_smoothing = label_smoothing
        self.blank_index = blank_index

    def forward(self, outputs, targets):
        """Computes the loss.

        Arguments
        ---------
        outputs : dict
            The model's forward output.
        targets : dict
            Full-batch targets: ``verbatim_eos``/``subtitle_eos`` (tokens followed
            by eos) with ``*_eos_lengths``; CTC targets are the same tensors
            with ``*_eos_lengths - 1`` (the eos dropped).

        Returns
        -------
        total : torch.Tensor
            The weighted loss.
        terms : dict
            Each unweighted term (``ctc``, ``intermediate_ctc``,
            ``verbatim_attention``, ``subtitle_ctc``, ``subtitle_attention``),
            each 0 when no row of the batch holds its text.
        """
        zero = outputs["anchor"]
        terms = dict.fromkeys(
            ("ctc", "intermediate_ctc", "verbatim_attention", "subtitle_ctc", "subtitle_attention"),
            zero,
        )
        v_rows, s_rows = outputs["verbatim_rows"], outputs["subtitle_rows"]
        if v_rows.numel() and "verbatim_logprobs" in outputs:
            tokens = targets["verbatim_eos"][v_rows]
            lengths = targets["verbatim_eos_lengths"][v_rows]
            terms["verbatim_attention"] = zero + masked_cross_entropy(
                outputs["verbatim_logprobs"], tokens, lengths, self.label_smoothing
            )
            ctc_args = (outputs["ctc_lengths"], tokens, lengths - 1, self.blank_index)
            terms["ctc"] = zero + ctc_loss(outputs["ctc_logprobs"], *ctc_args)
            if "intermediate_ctc_logprobs" in outputs:
                terms["intermediate_ctc"] = zero + ctc_loss(
                    outputs["intermediate_ctc_logprobs"], *ctc_args
                )
        if s_rows.numel() and "subtitle_logprobs" in outputs:
            tokens = targets["subtitle_eos"][s_rows]
            lengths = targets["subtitle_eos_lengths"][s_rows]
            terms["subtitle_attention"] = zero + masked_cross_entropy(
                outputs["subtitle_logprobs"], tokens, lengths, self.label_smoothing
            )
            if "subtitle_ctc_logprobs" in outputs:
                terms["subtitle_ctc"] = zero + ctc_loss(
                    outputs["subtitle_ctc_logprobs"],
                    outputs["subtitle_ctc_lengths"],
                    tokens,
                    lengths - 1,
                    self.blank_index,
                )
        i = self.i if "intermediate_ctc_logprobs" in outputs else 0.0
        ctc = (1 - i) * terms["ctc"] + i * terms["intermediate_ctc"]
        verbatim = self.c * ctc + (1 - self.c) * terms["verbatim_attention"]
        subtitle = self.s * terms["subtitle_ctc"] + (1 - self.s) * terms["subtitle_attention"]
        total = zero + self.a * verbatim + (1 - self.a) * subtitle
        return total, terms
