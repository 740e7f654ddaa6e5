"""Decoding both texts from one encoder pass.

The encoder runs once per batch; each requested task is decoded by its own
decoder, with SpeechBrain's beam searcher (or greedily). The verbatim branch
joins CTC prefix scores of the verbatim CTC head (weight ``ctc_weight``); the
subtitle branch joins its own CTC head when the model has one
(``subtitle_ctc_weight``). The chained (C6) model decodes the verbatim text
first and feeds that hypothesis, through the verbatim decoder, to its subtitle
encoder.
"""

import dataclasses

import torch
from speechbrain.decoders.scorer import CTCScorer, ScorerBuilder
from speechbrain.decoders.seq2seq import S2STransformerBeamSearcher

from speechbrain_subtitle.ctc_prefix import CTCScorerOnCandidates
from speechbrain_subtitle.lobes.decoders import (
    DecoderCache,
    greedy_search,
    pack_memories,
    padding_mask,
    row_max_steps,
    task_prefixed,
)

TASKS = ("verbatim", "subtitle")


@dataclasses.dataclass
class DecodingOptions:
    """How to search.

    Arguments
    ---------
    beam_size : int
        Beam width (the authors use 20); 1 or ``greedy=True`` decodes greedily.
    ctc_weight : float
        Weight of the CTC prefix score in the verbatim branch (authors: 0.3).
    subtitle_ctc_weight : float
        Weight of the subtitle CTC head's prefix score (models with one).
    max_decode_ratio : float
        Longest hypothesis as a fraction of the encoder frames.
    length_normalization : bool
        Rank finished hypotheses by score per token.
    greedy : bool
        Greedy decoding (fast, no CTC).
    verbatim_length_normalization : bool or None
        ``length_normalization`` of the verbatim search alone (None: the same
        as ``length_normalization``). The authors' NeLF search ranks verbatim
        hypotheses by their total score and subtitles per token.
    ctc_candidates : float
        CTC prefix scores are computed only for the ``ctc_candidates x
        beam_size`` tokens the decoder ranks best for each hypothesis
        (ESPnet's pre-beam, default 1.5); the other tokens cannot be chosen.
        0 scores the whole vocabulary (slow with large vocabularies).
    use_cache : bool
        Incremental decoding with key/value caches (same hypotheses as
        rerunning the decoder on each whole prefix, which ``False`` does).
    """

    beam_size: int = 10
    ctc_weight: float = 0.3
    subtitle_ctc_weight: float = 0.0
    max_decode_ratio: float = 1.0
    length_normalization: bool = True
    greedy: bool = False
    verbatim_length_normalization: bool = None
    ctc_candidates: float = 1.5
    use_cache: bool = True

    def length_normalized(self, task):
        """Whether ``task``'s search ranks hypotheses by score per token.

        >>> DecodingOptions(verbatim_length_normalization=False).length_normalized("subtitle")
        True
        """
        if task == "verbatim" and self.verbatim_length_normalization is not None:
            return bool(self.verbatim_length_normalization)
        return self.length_normalization

    def __post_init__(self):
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        for name in ("ctc_weight", "subtitle_ctc_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.max_decode_ratio <= 0:
            raise ValueError("max_decode_ratio must be positive")
        if self.ctc_candidates != 0 and self.ctc_candidates < 1:
            raise ValueError(
                f"ctc_candidates must be 0 (whole vocabulary) or at least 1, got "
                f"{self.ctc_candidates}"
            )


class SourceSlice(torch.nn.Module):
    """Applies ``head`` to one source's channels of a packed memory tensor.

    Arguments
    ---------
    head : torch.nn.Module
        A CTC projection.
    start : int
        First channel of the source.
    size : int
        Channels of the source.
    """

    def __init__(self, head, start, size):
        super().__init__()
        self.head, self.start, self.size = head, start, size

    def forward(self, x):
        """Projects ``x[..., start:start + size]``."""
        return self.head(x[..., self.start : self.start + self.size])


class SubtitleBeamSearcher(S2STransformerBeamSearcher):
    """SpeechBrain's Transformer beam search: safer stopping, batch-invariant.

    The stock searcher keeps the first ``beam_size`` hypotheses that end and
    stops as soon as it has them, so short, poor hypotheses that end early can
    crowd out the best one while it is still being extended (subtitles, whose
    final full stop makes an early end likely, suffer most). This searcher
    keeps the best ``beam_size`` finished hypotheses (replacing the worst) and
    stops when, for every row, the ``topk``-th best finished hypothesis scores
    at least as well as the best live one (length-normalized scores when
    ``length_normalization`` is on, the usual heuristic), or at the length cap.

    Each row of a batch is searched as it would be alone: a row whose
    stopping rule holds, or that reaches its own length cap (``row_max_steps``,
    from its own encoder length; the stock searcher caps every row at the
    padded length), is frozen there: its pool is completed with its live
    hypotheses exactly as a search that ends at that step would complete it,
    and it takes no part in the later steps of the batch.

    Arguments
    ---------
    row_max_steps : list of int, optional
        Length cap of each row (default: the padded length for all rows).
    use_cache : bool
        Decode incrementally (the decoder's ``start_cache``/``step``: one new
        token per hypothesis and step, the sources' keys and values computed
        once, the caches reordered with the beam) instead of rerunning the
        decoder on every whole prefix as the stock searcher does. Same
        hypotheses; scores equal to float rounding.
    **kwargs
        As for ``S2STransformerBeamSearcher``.
    """

    def __init__(self, *args, row_max_steps=None, use_cache=True, **kwargs):
        bos = kwargs.get("bos_index")
        if bos is not None and bos == kwargs.get("eos_index"):
            # Models trained with ESPnet (the NeLF import) start and end with one
            # <sos/eos> token. SpeechBrain refuses bos == eos with a CTC scorer,
            # but its prefix scorer never scores the start token (the first step
            # gives eos the all-blank probability, as ESPnet's does): only blank
            # must differ. Build with a stand-in start token, then set the real one.
            kwargs["bos_index"] = -1
            super().__init__(*args, **kwargs)
            self.bos_index = bos
        else:
            super().__init__(*args, **kwargs)
        self.row_max_steps = row_max_steps
        self.use_cache = use_cache
        self._best_alive = None
        self._frozen = None
        self._last_scores = None

    def forward(self, enc_states, wav_len):  # noqa: D102 (same as the parent)
        self._best_alive = None
        self._frozen = [False] * enc_states.shape[0]
        self._last_scores = None
        return super().forward(enc_states, wav_len)

    def forward_step(self, inp_tokens, memory, enc_states, enc_lens):  # noqa: D102
        if not self.use_cache:
            return super().forward_step(inp_tokens, memory, enc_states, enc_lens)
        if memory is None:  # first step: the sources' keys and values, once per utterance
            # (the searcher repeats each utterance's rows beam_size times, consecutively)
            beam = self.beam_size
            lens = None if enc_lens is None else enc_lens[::beam]
            sources = self.model.memories_of(enc_states[::beam], lens)
            memory = self.model.start_cache(sources, group=beam)
        hidden, attn = self.model.step(inp_tokens, memory)
        return self.softmax(self.fc(hidden) / self.temperature), memory, attn

    def permute_mem(self, memory, index):  # noqa: D102
        if isinstance(memory, DecoderCache):
            return memory.reorder(index)
        return super().permute_mem(memory, index)

    def search_step(self, alived_hyps, inp_tokens, log_probs, eos_hyps, *rest):  # noqa: D102
        self._freeze_finished_rows(alived_hyps, eos_hyps, step=rest[-1])
        out = super().search_step(alived_hyps, inp_tokens, log_probs, eos_hyps, *rest)
        alive, scores = out[0], out[-1]
        self._last_scores = scores
        length = max(1, alive.alived_seq.shape[1])
        best = alive.sequence_scores.view(self.batch_size, self.beam_size).max(dim=-1).values
        self._best_alive = best / length if self.length_normalization else best
        return out

    def _row_done(self, row, pool):
        """The stopping rule for one row (see the class docstring)."""
        if self._frozen[row]:
            return True
        if self._best_alive is None or len(pool) < self.topk:
            return False
        kth = sorted((float(e[2]) for e in pool), reverse=True)[self.topk - 1]
        return kth >= float(self._best_alive[row])

    def _freeze_finished_rows(self, alived_hyps, pools, step):
        """Completes and freezes the rows that a search of their own would end now."""
        caps = self.row_max_steps
        rows = [
            row
            for row, pool in enumerate(pools)
            if not self._frozen[row]
            and (self._row_done(row, pool) or (caps is not None and step >= caps[row]))
        ]
        if not rows:
            return
        self._complete_rows(rows, alived_hyps, pools, self._last_scores)
        beams = alived_hyps.sequence_scores.view(self.batch_size, self.beam_size)
        for row in rows:
            self._frozen[row] = True
            beams[row] = float("-inf")

    def _complete_rows(self, rows, alived_hyps, pools, scores):
        """Tops up the pools of ``rows`` with their live hypotheses, as the
        parent does for every row when the search ends."""
        rows = [row for row in rows if len(pools[row]) < self.beam_size]
        if not rows or scores is None:
            return
        tokens = torch.full((self.n_bh,), -1, dtype=torch.long, device=self.device)
        for row in rows:
            tokens[row * self.beam_size : (row + 1) * self.beam_size] = self.eos_index
        self._update_hyps_and_scores_if_eos_token(tokens, alived_hyps, pools, scores)

    def _update_hyps_and_scores_if_eos_token(self, inp_tokens, alived_hyps, eos_hyps, scores):
        is_eos = inp_tokens.eq(self.eos_index)
        for index in torch.nonzero(is_eos, as_tuple=True)[0].tolist():
            row = index // self.beam_size
            if self._frozen is not None and self._frozen[row]:
                continue
            pool = eos_hyps[row]
            entry = (
                alived_hyps.alived_seq[index, :],
                alived_hyps.alived_log_probs[index, :],
                scores[index].clone(),
            )
            if len(pool) < self.beam_size:
                pool.append(entry)
                continue
            worst = min(range(len(pool)), key=lambda k: float(pool[k][2]))
            if float(entry[2]) > float(pool[worst][2]):
                pool[worst] = entry
        return is_eos

    def _fill_alived_hyps_with_eos_token(self, alived_hyps, eos_hyps, scores):
        # The parent tops up every pool when one is short; here only the rows
        # still searching are completed (frozen rows were completed earlier).
        live = [row for row in range(len(eos_hyps)) if not self._frozen[row]]
        self._complete_rows(live, alived_hyps, eos_hyps, scores)
        return eos_hyps

    def _check_full_beams(self, hyps):
        return all(self._row_done(row, pool) for row, pool in enumerate(hyps))


class PrunedCTCScorerBuilder(ScorerBuilder):
    """SpeechBrain's ``ScorerBuilder`` with CTC prefix scores on a few candidates.

    Scoring a CTC prefix costs in proportion to the tokens scored, so the
    stock full scorer pays for the whole vocabulary at every step. Here, for
    each hypothesis, only these tokens are scored (the others get CTC's minus
    infinity, so they cannot be chosen):

    - the ``scorer_beam_scale x beam_size`` tokens the decoder ranks best
      (ESPnet's pre-beam);
    - the tokens the CTC head itself ranks in its top 2 at some frame of the
      utterance, and end-of-sequence. A token that is nowhere among the CTC
      head's two best has a negligible prefix score, while a token the
      decoder ranks low but CTC hears (what joint decoding is for) stays in
      reach; the decoder's pre-beam alone loses such tokens on a model whose
      decoder is weaker than its CTC head.

    Blank is never a candidate (the full scorer excludes it the same way).
    One CTC scorer, given as the only partial scorer.
    """

    def reset_scorer_mem(self, x, enc_lens):  # noqa: D102
        memory = super().reset_scorer_mem(x, enc_lens)
        (ctc,) = self.partial_scorers.values()
        logits = ctc.ctc_fc(x)  # (utterances, time, vocab): not yet one row per hypothesis
        top = logits.topk(min(2, logits.shape[-1]), dim=-1).indices  # (n_bh, time, 2)
        valid = ~padding_mask(enc_lens.long(), logits.shape[1])
        heard = torch.zeros(logits.shape[0], logits.shape[-1], dtype=torch.bool, device=x.device)
        for k in range(top.shape[-1]):
            index = top[..., k].masked_fill(~valid, ctc.blank_index)
            heard.scatter_(1, index, True)
        heard[:, ctc.eos_index] = True
        heard[:, ctc.blank_index] = False
        self._heard = heard
        return memory

    def score(self, inp_tokens, memory, attn, log_probs, beam_size):  # noqa: D102
        ((name, ctc),) = self.partial_scorers.items()
        log_probs[:, ctc.blank_index] = float("-inf")
        if self._heard.shape[0] != log_probs.shape[0]:  # per utterance -> per hypothesis
            self._heard = self._heard.repeat_interleave(beam_size, dim=0)
        # Heard tokens first, then the decoder's ranking. Each hypothesis keeps its own
        # number of candidates (so a row's search does not depend on the batch): the
        # columns past it hold blank, which is never chosen (its total stays -inf) and
        # is not a prefix's last token, so every such column scores the same.
        ranked = log_probs.masked_fill(self._heard, 1e4) + log_probs.clamp(min=-1e3)
        vocab = log_probs.shape[-1]
        own = (self._heard.sum(-1) + int(beam_size * self.scorer_beam_scale)).clamp(1, vocab)
        candidates = ranked.topk(int(own.max()), dim=-1).indices
        beyond = torch.arange(candidates.shape[-1], device=own.device) >= own[:, None]
        candidates = candidates.masked_fill(beyond, ctc.blank_index)
        scores, new_memory = ctc.score(inp_tokens, memory[name], candidates, attn)
        return log_probs + scores * self.weights[name], {name: new_memory}


def _ctc_head(model, task, options):
    """The CTC head joining ``task``'s search, its source name and weight (or None)."""
    if task == "verbatim" and options.ctc_weight > 0:
        return model.ctc_head, "verbatim", options.ctc_weight
    if (
        task == "subtitle"
        and options.subtitle_ctc_weight > 0
        and model.subtitle_ctc_head is not None
    ):
        return model.subtitle_ctc_head, "subtitle", options.subtitle_ctc_weight
    return None


def _search_inputs(model, task, memories):
    """(enc_states, relative lengths, source names) as the searcher wants them."""
    sources = model.verbatim_sources if task == "verbatim" else model.subtitle_sources
    if len(memories) == 1:
        states, lengths = memories[0]
        return states, lengths.float() / states.shape[1], sources
    packed = pack_memories(memories)
    return packed, memories[0][1].float() / packed.shape[1], sources


def beam_search(model, task, memories, options):
    """Beam search of one task; returns (token lists, scores)."""
    decoder = model.decoder(task)
    enc_states, rel_lens, sources = _search_inputs(model, task, memories)
    scorer = None
    joined = _ctc_head(model, task, options)
    if joined is not None:
        head, source, weight = joined
        if len(memories) > 1:
            k = sources.index(source)
            head = SourceSlice(head, k * decoder.d_model, decoder.d_model)
            rel_lens = memories[k][1].float() / enc_states.shape[1]
        elif sources[0] != source:
            raise ValueError(f"The {task} decoder does not attend the {source} encoder")
        if options.ctc_candidates:
            ctc = CTCScorerOnCandidates(ctc_fc=head, blank_index=model.blank_index,
                                        eos_index=model.eos_index)  # fmt: skip
            scorer = PrunedCTCScorerBuilder(
                partial_scorers=[ctc], weights={"ctc": weight},
                scorer_beam_scale=options.ctc_candidates,
            )  # fmt: skip
        else:
            ctc = CTCScorer(ctc_fc=head, blank_index=model.blank_index, eos_index=model.eos_index)
            scorer = ScorerBuilder(full_scorers=[ctc], weights={"ctc": weight})
    searcher = SubtitleBeamSearcher(
        row_max_steps=row_max_steps(memories, options.max_decode_ratio),
        modules=[decoder, decoder.fc],
        bos_index=model.bos_index(task),
        eos_index=model.eos_index,
        min_decode_ratio=0.0,
        max_decode_ratio=options.max_decode_ratio,
        beam_size=options.beam_size,
        temperature=1.0,
        length_normalization=options.length_normalized(task),
        scorer=scorer,
        use_cache=options.use_cache,
    )
    hyps, _, scores, _ = searcher(enc_states, rel_lens)
    return [list(map(int, h)) for h in hyps], [float(s) for s in scores]


@torch.no_grad()
def decode(model, enc, tasks=TASKS, options=None):
    """Hypotheses for each task from one encoder output.

    Arguments
    ---------
    model : speechbrain_subtitle.lobes.model.JointSubtitleModel
        The model (in eval mode).
    enc : speechbrain_subtitle.lobes.model.EncoderOutput
        Output of ``model.encode``.
    tasks : tuple of str
        Which texts to write; ``"subtitle"`` is ignored for verbatim-only models.
    options : DecodingOptions, optional
        Search settings (default: ``DecodingOptions()``).

    Returns
    -------
    dict
        ``task -> (token lists, scores)``; scores are None when greedy.
    """
    options = options or DecodingOptions()
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"Unknown task(s) {sorted(unknown)}; choose from {TASKS}")
    results = {}
    order = [t for t in TASKS if t in tasks]
    if "subtitle" in order and model.chained and "verbatim" not in order:
        order.insert(0, "verbatim")  # the chained subtitle branch reads the verbatim hypothesis
    for task in order:
        if task == "subtitle" and not model.has_subtitle_branch:
            continue
        subtitle_states = None
        if task == "subtitle" and model.chained:
            tokens, lengths = task_prefixed(
                results["verbatim"][0], model.verbatim_bos_index, enc.states.device
            )
            subtitle_states = model.chained_subtitle_states(enc, tokens, lengths)
        memories = model.memories(task, enc, subtitle_states)
        if options.greedy or options.beam_size == 1 and _ctc_head(model, task, options) is None:
            max_len = row_max_steps(memories, options.max_decode_ratio)
            hyps = greedy_search(
                model.decoder(task), memories, model.bos_index(task), model.eos_index, max_len,
                use_cache=options.use_cache,
            )  # fmt: skip
            results[task] = (hyps, None)
        else:
            results[task] = beam_search(model, task, memories, options)
    return {task: results[task] for task in tasks if task in results}


def greedy_decode(model, enc, tasks=TASKS, max_decode_ratio=None):
    """Greedy token lists per task (see :func:`decode`)."""
    ratio = model.max_decode_ratio if max_decode_ratio is None else max_decode_ratio
    out = decode(model, enc, tasks, DecodingOptions(greedy=True, max_decode_ratio=ratio))
    return {task: hyps for task, (hyps, _) in out.items()}
