"""The joint verbatim + subtitle model: one acoustic encoder, two text branches.

Every architecture of Poncelet & Van hamme (2025) is a wiring of the same
parts, chosen in YAML:

===================  ===================  ===================  ======================
variant              subtitle encoder     verbatim decoder     subtitle decoder
                                          attends              attends
===================  ===================  ===================  ======================
verbatim_only        none                 verbatim             (none)
parallel             none                 verbatim             verbatim
cascaded (C8)        on verbatim encoder  verbatim             subtitle, verbatim
cascaded_dual (v2)   on verbatim encoder  verbatim, subtitle   subtitle, verbatim
chained (C6)         on verbatim decoder  verbatim             subtitle, verbatim
shared_task          none                 verbatim             the same decoder
===================  ===================  ===================  ======================

"verbatim" is the verbatim (Conformer) encoder output, "subtitle" the subtitle
encoder output. The shared-task model passes one decoder object as both
decoders; the task token that starts each sequence tells it what to write.
"""

import torch

from speechbrain_subtitle.lobes.decoders import greedy_search, row_max_steps, task_prefixed

SOURCES = ("verbatim", "subtitle")
SUBTITLE_ENCODER_INPUTS = ("verbatim_encoder", "verbatim_decoder")


def _pad_stack(rows):
    """Pads a list of ``(length_k, dim)`` tensors into ``(n, max_len, dim)``."""
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)


class EncoderOutput:
    """What :meth:`JointSubtitleModel.encode` returns.

    Arguments
    ---------
    states : torch.Tensor
        Verbatim encoder output ``(batch, frames, d_model)``.
    intermediate : torch.Tensor or None
        Output of the intermediate-CTC block.
    lengths : torch.Tensor
        Absolute frame counts.
    """

    def __init__(self, states, intermediate, lengths):
        self.states = states
        self.intermediate = intermediate
        self.lengths = lengths

    def select(self, rows):
        """The same output restricted to batch ``rows`` (a LongTensor)."""
        inter = None if self.intermediate is None else self.intermediate[rows]
        return EncoderOutput(self.states[rows], inter, self.lengths[rows])


class JointSubtitleModel(torch.nn.Module):
    """Acoustic encoder, CTC head(s), optional subtitle encoder and two decoders.

    Arguments
    ---------
    encoder : speechbrain_subtitle.lobes.encoders.VerbatimEncoder
        Shared acoustic encoder (verbatim encoder).
    ctc_head : speechbrain.nnet.linear.Linear
        Verbatim CTC projection, shared by the final and intermediate CTC.
    verbatim_decoder : speechbrain_subtitle.lobes.decoders.TextDecoder
        Decoder writing the verbatim transcript.
    subtitle_decoder : TextDecoder or None
        Decoder writing the subtitle (None: verbatim-only model; the same
        object as ``verbatim_decoder``: shared-task model).
    subtitle_encoder : speechbrain_subtitle.lobes.encoders.SubtitleEncoder or None
        Extra encoder for the subtitle branch.
    subtitle_ctc_head : speechbrain.nnet.linear.Linear or None
        Optional CTC projection on the subtitle encoder output.
    verbatim_sources : list of str
        What the verbatim decoder attends, in order (``"verbatim"``/``"subtitle"``).
    subtitle_sources : list of str
        What the subtitle decoder attends, in order.
    subtitle_encoder_input : str
        ``"verbatim_encoder"`` (cascaded) or ``"verbatim_decoder"`` (chained).
    verbatim_bos_index : int
        Task token that starts verbatim sequences.
    subtitle_bos_index : int
        Task token that starts subtitle sequences.
    eos_index : int
        End-of-sequence token.
    blank_index : int
        CTC blank (must differ from the task tokens and eos for joint decoding).
    max_decode_ratio : float
        Longest hypothesis, as a fraction of the encoder frames, when the
        chained model must decode a verbatim hypothesis itself.
    variant : str
        Name of the wiring (see the module docstring), kept for export and reports.
    """

    def __init__(
        self,
        encoder,
        ctc_head,
        verbatim_decoder,
        subtitle_decoder=None,
        subtitle_encoder=None,
        subtitle_ctc_head=None,
        verbatim_sources=("verbatim",),
        subtitle_sources=("subtitle", "verbatim"),
        subtitle_encoder_input="verbatim_encoder",
        verbatim_bos_index=3,
        subtitle_bos_index=4,
        eos_index=2,
        blank_index=0,
        max_decode_ratio=1.0,
        variant="cascaded",
    ):
        super().__init__()
        self.encoder = encoder
        self.ctc_head = ctc_head
        self.verbatim_decoder = verbatim_decoder
        self.subtitle_decoder = subtitle_decoder
        self.subtitle_encoder = subtitle_encoder
        self.subtitle_ctc_head = subtitle_ctc_head
        self.verbatim_sources = tuple(verbatim_sources)
        self.subtitle_sources = tuple(subtitle_sources) if subtitle_decoder else ()
        self.subtitle_encoder_input = subtitle_encoder_input
        self.verbatim_bos_index = verbatim_bos_index
        self.subtitle_bos_index = subtitle_bos_index
        self.eos_index = eos_index
        self.blank_index = blank_index
        self.max_decode_ratio = max_decode_ratio
        self.variant = variant
        self._check_wiring()
        self._init_parameters()

    @property
    def has_subtitle_branch(self):
        """Whether the model writes subtitles at all."""
        return self.subtitle_decoder is not None

    @property
    def shared_decoder(self):
        """Whether one decoder writes both texts (task-token prompted)."""
        return self.subtitle_decoder is self.verbatim_decoder

    @property
    def chained(self):
        """Whether the subtitle encoder reads the verbatim decoder (C6)."""
        return self.subtitle_encoder_input == "verbatim_decoder"

    def _check_wiring(self):
        for name, sources, decoder in (
            ("verbatim", self.verbatim_sources, self.verbatim_decoder),
            ("subtitle", self.subtitle_sources, self.subtitle_decoder),
        ):
            if decoder is None:
                continue
            unknown = set(sources) - set(SOURCES)
            if unknown:
                raise ValueError(f"{name}_sources: unknown source(s) {sorted(unknown)}")
            if "subtitle" in sources and self.subtitle_encoder is None:
                raise ValueError(f"{name}_sources use 'subtitle' but no subtitle_encoder is set")
            if decoder.num_sources != len(sources):
                raise ValueError(
                    f"The {name} decoder attends {decoder.num_sources} source(s) "
                    f"but {name}_sources lists {list(sources)}"
                )
        if self.subtitle_encoder_input not in SUBTITLE_ENCODER_INPUTS:
            raise ValueError(f"subtitle_encoder_input must be one of {SUBTITLE_ENCODER_INPUTS}")
        if self.chained and "subtitle" in self.verbatim_sources:
            raise ValueError(
                "A chained model's verbatim decoder cannot attend the subtitle encoder"
            )
        if self.subtitle_ctc_head is not None and (self.subtitle_encoder is None or self.chained):
            raise ValueError("subtitle_ctc_head needs a subtitle encoder over the verbatim encoder")
        if self.blank_index in (self.eos_index, self.verbatim_bos_index, self.subtitle_bos_index):
            raise ValueError("blank_index must differ from eos_index and the task tokens")
        if self.shared_decoder and self.verbatim_bos_index == self.subtitle_bos_index:
            raise ValueError("A shared-task decoder needs distinct task tokens")

    def _init_parameters(self):
        # Xavier-normal init of weight matrices, as SpeechBrain's TransformerASR.
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.xavier_normal_(p)

    # ------------------------------------------------------------------ pieces
    def encode(self, feats, rel_lens):
        """Runs the shared acoustic encoder; returns an :class:`EncoderOutput`."""
        return EncoderOutput(*self.encoder(feats, rel_lens))

    def ctc_logprobs(self, enc, intermediate=False):
        """Verbatim CTC log-probabilities of the final (or intermediate) encoder states."""
        states = enc.intermediate if intermediate else enc.states
        return torch.log_softmax(self.ctc_head(states), dim=-1)

    def subtitle_encoder_states(self, enc):
        """Subtitle encoder over the verbatim encoder output (cascaded models)."""
        return self.subtitle_encoder(enc.states, enc.lengths), enc.lengths

    def chained_subtitle_states(self, enc, verbatim_tokens, verbatim_lengths):
        """Subtitle encoder over the verbatim decoder's hidden states (chained model).

        Arguments
        ---------
        enc : EncoderOutput
            Encoder output of the rows.
        verbatim_tokens : torch.Tensor
            Task-token-prefixed verbatim sequences ``(rows, length)``: the
            reference in training, the decoded hypothesis at inference.
        verbatim_lengths : torch.Tensor
            Their absolute lengths (including the task token).

        Returns
        -------
        states, lengths : torch.Tensor, torch.Tensor
        """
        hidden, _ = self.verbatim_decoder.hidden_states(
            verbatim_tokens, self.memories("verbatim", enc), verbatim_lengths
        )
        return self.subtitle_encoder(hidden, verbatim_lengths), verbatim_lengths

    def memories(self, task, enc, subtitle_states=None):
        """The ``[(states, lengths), ...]`` sources of one decoder, in its order.

        Arguments
        ---------
        task : str
            ``"verbatim"`` or ``"subtitle"``.
        enc : EncoderOutput
            Encoder output.
        subtitle_states : tuple, optional
            ``(states, lengths)`` of the subtitle encoder when already computed
            (required for chained models).
        """
        sources = self.verbatim_sources if task == "verbatim" else self.subtitle_sources
        out = []
        for source in sources:
            if source == "verbatim":
                out.append((enc.states, enc.lengths))
                continue
            if subtitle_states is None:
                if self.chained:
                    raise ValueError("Chained models need the subtitle encoder states given")
                subtitle_states = self.subtitle_encoder_states(enc)
            out.append(subtitle_states)
        return out

    def decoder(self, task):
        """The decoder that writes ``task`` (``"verbatim"`` or ``"subtitle"``)."""
        return self.verbatim_decoder if task == "verbatim" else self.subtitle_decoder

    def bos_index(self, task):
        """The task token that starts ``task`` sequences."""
        return self.verbatim_bos_index if task == "verbatim" else self.subtitle_bos_index

    def max_decode_length(self, enc, ratio=None):
        """Longest hypothesis of each row (``ratio``: default the model's), from its own frames."""
        ratio = self.max_decode_ratio if ratio is None else ratio
        return row_max_steps([(enc.states, enc.lengths)], ratio)

    def greedy_verbatim_tokens(self, enc):
        """Greedy verbatim hypotheses as task-prefixed tensors (for chained models)."""
        hyps = greedy_search(
            self.verbatim_decoder,
            self.memories("verbatim", enc),
            self.verbatim_bos_index,
            self.eos_index,
            self.max_decode_length(enc),
        )
        return task_prefixed(hyps, self.verbatim_bos_index, enc.states.device)

    # ---------------------------------------------------------------- training
    def forward(
        self,
        feats,
        rel_lens,
        verbatim_tokens=None,
        verbatim_lengths=None,
        verbatim_rows=None,
        subtitle_tokens=None,
        subtitle_lengths=None,
        subtitle_rows=None,
    ):
        """Teacher-forced forward pass over a mixed batch.

        Only rows that hold a text run the parts that learn from it: a row
        without verbatim never reaches the CTC heads or the verbatim decoder
        (and, in the chained model, contributes no gradient to it); a row
        without subtitle never reaches the subtitle encoder/decoder.

        Arguments
        ---------
        feats : torch.Tensor
            ``(batch, time, n_mels)`` normalized features.
        rel_lens : torch.Tensor
            Relative feature lengths.
        verbatim_tokens, subtitle_tokens : torch.Tensor
            ``(batch, length)`` decoder inputs starting with the task token.
        verbatim_lengths, subtitle_lengths : torch.Tensor
            Their absolute lengths (task token included).
        verbatim_rows, subtitle_rows : torch.Tensor
            Indices (LongTensor) of the rows that hold each text.

        Returns
        -------
        dict
            ``encoder_output`` (an :class:`EncoderOutput` of all rows),
            ``verbatim_rows``/``subtitle_rows``; for verbatim rows
            ``ctc_logprobs``, ``intermediate_ctc_logprobs`` (if configured),
            ``ctc_lengths`` and ``verbatim_logprobs``; for subtitle rows
            ``subtitle_logprobs`` and, with a subtitle CTC head,
            ``subtitle_ctc_logprobs``/``subtitle_ctc_lengths``; and ``anchor``, a
            zero that touches the parameters left unused by this batch so that
            DistributedDataParallel sees every parameter (its gradient is 0).
        """
        device = feats.device
        empty = torch.zeros(0, dtype=torch.long, device=device)
        v_rows = empty if verbatim_rows is None else verbatim_rows
        s_rows = empty if (subtitle_rows is None or not self.has_subtitle_branch) else subtitle_rows
        enc = self.encode(feats, rel_lens)
        out = {"verbatim_rows": v_rows, "subtitle_rows": s_rows, "encoder_output": enc}
        used = [self.encoder]

        # Subtitle encoder over the verbatim encoder: once, on the rows that need it.
        sub_full = None
        if self.subtitle_encoder is not None and not self.chained:
            need = s_rows
            if "subtitle" in self.verbatim_sources and v_rows.numel():
                need = torch.unique(torch.cat([v_rows, s_rows]))
            if need.numel():
                states, _ = self.subtitle_encoder_states(enc.select(need))
                sub_full = enc.states.new_zeros(enc.states.shape).index_copy(0, need, states)
                used.append(self.subtitle_encoder)

        v_hidden = None
        if v_rows.numel():
            v_enc = enc.select(v_rows)
            out["ctc_logprobs"] = self.ctc_logprobs(v_enc)
            if v_enc.intermediate is not None:
                out["intermediate_ctc_logprobs"] = self.ctc_logprobs(v_enc, intermediate=True)
            out["ctc_lengths"] = v_enc.lengths
            v_sub = None if sub_full is None else (sub_full[v_rows], v_enc.lengths)
            v_hidden, _ = self.verbatim_decoder.hidden_states(
                verbatim_tokens[v_rows],
                self.memories("verbatim", v_enc, v_sub),
                verbatim_lengths[v_rows],
                need_weights=False,
            )
            out["verbatim_logprobs"] = torch.log_softmax(self.verbatim_decoder.fc(v_hidden), -1)
            used += [self.ctc_head, self.verbatim_decoder]

        if s_rows.numel():
            s_enc = enc.select(s_rows)
            if self.chained:
                s_sub = self._chained_states(
                    enc, s_rows, v_rows, v_hidden, verbatim_tokens, verbatim_lengths
                )
                used.append(self.subtitle_encoder)
            elif sub_full is not None:
                s_sub = (sub_full[s_rows], s_enc.lengths)
            else:
                s_sub = None
            logits = self.subtitle_decoder(
                subtitle_tokens[s_rows],
                self.memories("subtitle", s_enc, s_sub),
                subtitle_lengths[s_rows],
            )
            out["subtitle_logprobs"] = torch.log_softmax(logits, dim=-1)
            used.append(self.subtitle_decoder)
            if self.subtitle_ctc_head is not None:
                out["subtitle_ctc_logprobs"] = torch.log_softmax(
                    self.subtitle_ctc_head(s_sub[0]), -1
                )
                out["subtitle_ctc_lengths"] = s_enc.lengths
                used.append(self.subtitle_ctc_head)
        out["anchor"] = self._anchor(used, feats)
        return out

    def _chained_states(self, enc, s_rows, v_rows, v_hidden, verbatim_tokens, verbatim_lengths):
        """Subtitle-encoder input for chained models, row by row.

        Rows with a verbatim reference reuse the teacher-forced verbatim decoder
        states; rows without one get the decoder's own greedy hypothesis, run
        without gradient so that subtitle-only data never trains the verbatim
        decoder.
        """
        position = {int(r): k for k, r in enumerate(v_rows.tolist())}
        hidden_rows = [None] * len(s_rows)
        missing = [k for k, r in enumerate(s_rows.tolist()) if r not in position]
        for k, r in enumerate(s_rows.tolist()):
            if r in position:
                n = int(verbatim_lengths[r])
                hidden_rows[k] = v_hidden[position[r], :n]
        if missing:
            rows = s_rows[missing]
            sub_enc = enc.select(rows)
            with torch.no_grad():
                tokens, lengths = self.greedy_verbatim_tokens(sub_enc)
                hidden, _ = self.verbatim_decoder.hidden_states(
                    tokens, self.memories("verbatim", sub_enc), lengths
                )
            for j, k in enumerate(missing):
                hidden_rows[k] = hidden[j, : int(lengths[j])]
        lengths = torch.tensor([h.shape[0] for h in hidden_rows], device=enc.states.device)
        states = _pad_stack(hidden_rows)
        return self.subtitle_encoder(states, lengths), lengths

    def _anchor(self, used, like):
        """A zero that depends on every parameter of the modules not in ``used``."""
        used_ids = {id(m) for m in used}
        zero = like.new_zeros(())
        if not self.training:
            return zero
        for module in (
            self.ctc_head,
            self.verbatim_decoder,
            self.subtitle_decoder,
            self.subtitle_encoder,
            self.subtitle_ctc_head,
        ):
            if module is None or id(module) in used_ids:
                continue
            used_ids.add(id(module))
            for p in module.parameters():
                if p.requires_grad:
                    zero = zero + p.reshape(-1)[0] * 0.0
        return zero
