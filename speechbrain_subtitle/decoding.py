"""Decoding both texts from one encoder pass.

The encoder runs once; each requested task is decoded by its own decoder. The
chained (C6) model decodes the verbatim text first and feeds that hypothesis,
through the verbatim decoder, to its subtitle encoder.
"""

import torch

from speechbrain_subtitle.lobes.decoders import greedy_search, task_prefixed

TASKS = ("verbatim", "subtitle")


@torch.no_grad()
def greedy_decode(model, enc, tasks=TASKS):
    """Greedy hypotheses (token ids, without task token/eos) for each task.

    Arguments
    ---------
    model : speechbrain_subtitle.lobes.model.JointSubtitleModel
        The model (in eval mode).
    enc : speechbrain_subtitle.lobes.model.EncoderOutput
        Output of ``model.encode``.
    tasks : tuple of str
        Which texts to write; ``"subtitle"`` is ignored for verbatim-only models.

    Returns
    -------
    dict
        ``task -> list of token-id lists``, one per batch row.
    """
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"Unknown task(s) {sorted(unknown)}; choose from {TASKS}")
    max_len = model.max_decode_length(enc)
    hyps = {}
    need_verbatim = "verbatim" in tasks or ("subtitle" in tasks and model.chained)
    if need_verbatim:
        hyps["verbatim"] = greedy_search(
            model.verbatim_decoder,
            model.memories("verbatim", enc),
            model.verbatim_bos_index,
            model.eos_index,
            max_len,
        )
    if "subtitle" in tasks and model.has_subtitle_branch:
        subtitle_states = None
        if model.chained:
            tokens, lengths = task_prefixed(
                hyps["verbatim"], model.verbatim_bos_index, enc.states.device
            )
            subtitle_states = model.chained_subtitle_states(enc, tokens, lengths)
        hyps["subtitle"] = greedy_search(
            model.subtitle_decoder,
            model.memories("subtitle", enc, subtitle_states),
            model.subtitle_bos_index,
            model.eos_index,
            max_len,
        )
    return {task: hyps[task] for task in tasks if task in hyps}
