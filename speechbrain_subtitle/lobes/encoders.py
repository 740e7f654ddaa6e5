"""Acoustic encoders: the verbatim Conformer encoder and the subtitle encoder.

The verbatim encoder turns filterbank features into 40 ms frames (2-D
convolution front end, 4x time subsampling) and runs a Conformer stack over
them, exposing the output of one intermediate block for intermediate CTC. Its
front end is SpeechBrain's CNN (``frontend="speechbrain"``) or ESPnet's
``Conv2dSubsampling`` (``frontend="conv2d"``, the authors' input layer). The
subtitle encoder is a small Conformer or Transformer stack that reads either the
verbatim encoder output (cascaded models) or the verbatim decoder's hidden
states (chained models). Both reuse SpeechBrain's layers.

Both are **batch-invariant**: an utterance gets the same states whether it is
encoded alone or padded next to longer ones. SpeechBrain's convolutions read
padded frames (its Conformer convolution module masks only its output, and its
CNN front end masks nothing; SpeechBrain issue 2986), so here padded frames are
reset before every convolution over time to what the convolution would read
past the end of the utterance alone (zeros; for the front end's reflect-padded
convolutions, the mirrored frames), and frame counts are computed exactly from
the convolution arithmetic instead of rounded from relative lengths.
"""

import torch
from speechbrain.dataio.dataio import length_to_mask
from speechbrain.lobes.models.convolution import ConvolutionFrontEnd
from speechbrain.lobes.models.transformer.Conformer import (
    ConformerEncoder,
    ConvolutionModule,
)
from speechbrain.lobes.models.transformer.Transformer import TransformerEncoder
from speechbrain.nnet.attention import RelPosEncXL
from speechbrain.nnet.CNN import Conv2d
from speechbrain.nnet.linear import Linear


def padding_mask(lengths, max_len):
    """Key-padding mask from absolute lengths (True = padded position).

    Arguments
    ---------
    lengths : torch.Tensor
        Absolute lengths, shape ``(batch,)``.
    max_len : int
        The padded length.

    Returns
    -------
    torch.Tensor
        Boolean mask of shape ``(batch, max_len)``.

    Example
    -------
    >>> padding_mask(torch.tensor([1, 3]), 3)
    tensor([[False,  True,  True],
            [False, False, False]])
    """
    return ~length_to_mask(lengths, max_len=max_len, device=lengths.device).bool()


def relative_to_absolute(rel_lens, max_len):
    """Converts SpeechBrain relative lengths (in [0, 1]) to integer lengths.

    Arguments
    ---------
    rel_lens : torch.Tensor
        Relative lengths, shape ``(batch,)``.
    max_len : int
        The padded length the relative lengths refer to.

    Returns
    -------
    torch.Tensor
        Integer lengths, at least 1.

    Example
    -------
    >>> relative_to_absolute(torch.tensor([0.5, 1.0]), 10)
    tensor([ 5, 10])
    """
    return torch.round(rel_lens * max_len).long().clamp(min=1, max=max_len)


def zero_padded(x, lengths):
    """``x`` with every time step at or past ``lengths`` set to zero (time = dim 1).

    Arguments
    ---------
    x : torch.Tensor
        ``(batch, time, ...)``.
    lengths : torch.Tensor
        Absolute lengths ``(batch,)``.

    Returns
    -------
    torch.Tensor
        A new tensor (``x`` is not modified).

    Example
    -------
    >>> zero_padded(torch.ones(2, 3), torch.tensor([1, 3])).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    """
    valid = ~padding_mask(lengths, x.shape[1])
    return x * valid.view(valid.shape + (1,) * (x.dim() - 2)).to(x.dtype)


class MaskedConvolutionModule(ConvolutionModule):
    """SpeechBrain's Conformer convolution module, blind to padded frames.

    Same parameters (and state-dict keys) as
    :class:`speechbrain.lobes.models.transformer.Conformer.ConvolutionModule`;
    the only change is that padded frames are zeroed after the pointwise
    convolution + GLU, right before the depthwise convolution over time, so no
    padded frame reaches a valid one. :func:`mask_convolutions` turns the
    modules of an existing Conformer into this class.
    """

    def forward(self, x, mask=None, dynchunktrain_config=None):
        """Applies the module; ``mask`` is ``(batch, time, 1)``, True = padded."""
        if mask is None or dynchunktrain_config is not None or self.causal:
            return super().forward(x, mask, dynchunktrain_config)
        out = self.layer_norm(x).transpose(1, 2)
        out = self.bottleneck(out)
        out = out.masked_fill(mask.transpose(1, 2), 0.0)
        out = self.conv(out).transpose(1, 2)
        out = self.after_conv(out)
        return out.masked_fill(mask, 0.0)


def mask_convolutions(module):
    """Makes every Conformer convolution module inside ``module`` padding-blind.

    The modules keep their parameters; only their class changes to
    :class:`MaskedConvolutionModule`. Returns ``module``.

    Example
    -------
    >>> enc = ConformerEncoder(num_layers=1, d_model=8, d_ffn=16, nhead=2, kernel_size=3)
    >>> type(mask_convolutions(enc).layers[0].convolution_module).__name__
    'MaskedConvolutionModule'
    """
    for child in module.modules():
        if type(child) is ConvolutionModule:
            child.__class__ = MaskedConvolutionModule
    return module


def reflect_padded(x, lengths, width):
    """``x`` with the ``width`` steps after each row's end mirrored from inside it.

    That is what a convolution with reflect padding reads past the end of an
    utterance encoded alone (``x[n + j] = x[n - 2 - j]``).

    Example
    -------
    >>> x = torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> reflect_padded(x, torch.tensor([3, 5]), 1).tolist()
    [[1.0, 2.0, 3.0, 2.0, 0.0], [1.0, 2.0, 3.0, 4.0, 5.0]]
    """
    x = x.clone()
    for row, n in enumerate(lengths.tolist()):
        w = min(width, x.shape[1] - n, n - 1)
        if w > 0:
            x[row, n : n + w] = x[row, n - 1 - w : n - 1].flip(0)
    return x


def _front_end_input(block, x, lengths):
    """The input of a front-end ConvBlock with padded steps as the block would
    pad an utterance alone: zeros, or a mirror image for reflect padding."""
    x = zero_padded(x, lengths)
    for conv in block.modules():
        if isinstance(conv, Conv2d) and conv.padding_mode == "reflect":
            return reflect_padded(x, lengths, conv.kernel_size[0] // 2)
        if isinstance(conv, Conv2d) and conv.padding_mode not in ("zeros", "constant"):
            raise ValueError(f"Unsupported front-end padding mode {conv.padding_mode!r}")
    return x


def conformer_stack(num_layers, d_model, d_ffn, nhead, kernel_size, dropout):
    """SpeechBrain's non-causal Conformer stack (relative positional attention)
    with padding-blind convolution modules (see :func:`mask_convolutions`)."""
    return mask_convolutions(
        ConformerEncoder(
            num_layers=num_layers,
            d_model=d_model,
            d_ffn=d_ffn,
            nhead=nhead,
            kernel_size=kernel_size,
            dropout=dropout,
            causal=False,
            attention_type="RelPosMHAXL",
        )
    )


def _conv_output_lengths(block, lengths):
    """Frame counts after one ConvBlock of a :class:`ConvolutionFrontEnd`."""
    for conv in block.modules():
        if not isinstance(conv, Conv2d):
            continue
        if conv.padding != "same":
            raise ValueError("Only 'same'-padded front-end convolutions are supported")
        kernel, stride, dilation = conv.kernel_size[0], conv.stride[0], conv.dilation[0]
        if stride > 1:  # SpeechBrain pads kernel // 2 on both sides when strided
            span = dilation * (kernel - 1) + 1
            lengths = torch.div(lengths + 2 * (kernel // 2) - span, stride, rounding_mode="floor")
            lengths = lengths + 1
    return lengths


class VerbatimEncoder(torch.nn.Module):
    """Convolutional front end + Conformer stack with an intermediate output.

    Arguments
    ---------
    input_size : int
        Number of input features per frame (filterbank channels).
    d_model : int
        Model dimension.
    nhead : int
        Attention heads.
    d_ffn : int
        Hidden size of the feed-forward modules.
    num_layers : int
        Number of Conformer blocks.
    intermediate_layer : int or None
        1-based index of the block whose output feeds intermediate CTC
        (``None`` or 0 disables it).
    kernel_size : int
        Kernel of the Conformer convolution module.
    dropout : float
        Dropout everywhere.
    frontend_channels : tuple
        Output channels of the two stride-2 convolution blocks of the
        ``"speechbrain"`` front end (the ``"conv2d"`` one has ``d_model``).
    frontend : str
        ``"speechbrain"``: SpeechBrain's ``ConvolutionFrontEnd`` (two 3x3
        stride-2 conv blocks with LayerNorm, "same" padding) + a linear
        projection to ``d_model``. ``"conv2d"``: ESPnet's input layer
        (:class:`speechbrain_subtitle.lobes.espnet.Conv2dSubsampling`: two
        unpadded 3x3 stride-2 convolutions with ``d_model`` channels and ReLU,
        then a linear layer), as in the authors' models; utterances need at
        least 7 feature frames.

    Example
    -------
    >>> enc = VerbatimEncoder(80, d_model=32, nhead=2, d_ffn=64, num_layers=2,
    ...                       intermediate_layer=1, kernel_size=3)
    >>> out, inter, lens = enc(torch.randn(2, 101, 80), torch.tensor([1.0, 0.5]))
    >>> out.shape, inter.shape, lens.tolist()
    (torch.Size([2, 26, 32]), torch.Size([2, 26, 32]), [26, 13])
    >>> enc = VerbatimEncoder(80, d_model=32, nhead=2, d_ffn=64, num_layers=2,
    ...                       intermediate_layer=1, kernel_size=3, frontend="conv2d")
    >>> enc(torch.randn(2, 101, 80), torch.tensor([1.0, 0.5]))[2].tolist()
    [24, 11]
    """

    def __init__(
        self,
        input_size=80,
        d_model=256,
        nhead=4,
        d_ffn=2048,
        num_layers=12,
        intermediate_layer=6,
        kernel_size=31,
        dropout=0.1,
        frontend_channels=(64, 32),
        frontend="speechbrain",
    ):
        super().__init__()
        if intermediate_layer and not 1 <= intermediate_layer <= num_layers:
            raise ValueError(f"intermediate_layer={intermediate_layer} must lie in 1..{num_layers}")
        self.intermediate_layer = intermediate_layer or None
        self.frontend_kind = frontend
        if frontend == "speechbrain":
            self.frontend = ConvolutionFrontEnd(
                input_shape=(None, None, input_size),
                num_blocks=2,
                num_layers_per_block=1,
                out_channels=tuple(frontend_channels),
                kernel_sizes=(3, 3),
                strides=(2, 2),
                residuals=(False, False),
            )
            n_freq = -(-input_size // 4)  # two stride-2 convolutions, "same" padding
            self.input_projection = Linear(
                input_size=n_freq * frontend_channels[-1], n_neurons=d_model
            )
        elif frontend == "conv2d":
            # espnet imports this module's helpers: import it here, not at the top.
            from speechbrain_subtitle.lobes.espnet import Conv2dSubsampling

            self.frontend = Conv2dSubsampling(input_size, d_model, "conv2d")
            self.input_projection = None  # Conv2dSubsampling ends with its own linear layer
        else:
            raise ValueError(f"Unknown encoder front end {frontend!r} (speechbrain, conv2d)")
        self.input_dropout = torch.nn.Dropout(dropout)
        self.positional_encoding = RelPosEncXL(d_model)
        self.conformer = conformer_stack(num_layers, d_model, d_ffn, nhead, kernel_size, dropout)

    def output_lengths(self, feat_lengths):
        """Encoder frame counts of utterances of ``feat_lengths`` feature frames."""
        if self.frontend_kind == "conv2d":
            return self.frontend.output_lengths(feat_lengths).clamp(min=1)
        lengths = feat_lengths
        for block in self.frontend.values():
            lengths = _conv_output_lengths(block, lengths)
        return lengths.clamp(min=1)

    def forward(self, feats, rel_lens):
        """Encodes features.

        Arguments
        ---------
        feats : torch.Tensor
            ``(batch, time, input_size)`` normalized features.
        rel_lens : torch.Tensor
            Relative lengths ``(batch,)`` of the feature frames; give them
            exactly (``frames / max_frames``, see
            :func:`speechbrain_subtitle.features.batch_features`) so that
            rounding recovers each utterance's frame count.

        Returns
        -------
        output : torch.Tensor
            Final encoder states ``(batch, frames, d_model)``, layer-normed,
            zero on padded frames.
        intermediate : torch.Tensor or None
            States after block ``intermediate_layer``, passed through the same
            final LayerNorm (as in ESPnet's intermediate CTC).
        lengths : torch.Tensor
            Absolute frame counts ``(batch,)``.
        """
        lengths = relative_to_absolute(rel_lens, feats.shape[1])
        if self.frontend_kind == "conv2d":  # Conv2dSubsampling zeroes padding, exact lengths
            x, lengths = self.frontend(feats, lengths)
        else:
            x = feats
            for block in self.frontend.values():
                x = block(_front_end_input(block, x, lengths))
                lengths = _conv_output_lengths(block, lengths).clamp(min=1)
            x = zero_padded(x, lengths)
            x = self.input_projection(x.reshape(x.shape[0], x.shape[1], -1))
        x = self.input_dropout(x)
        frames = x.shape[1]
        mask = padding_mask(lengths, frames)
        pos_embs = self.positional_encoding(x)
        intermediate = None
        for index, layer in enumerate(self.conformer.layers, start=1):
            x, _ = layer(x, src_key_padding_mask=mask, pos_embs=pos_embs)
            if index == self.intermediate_layer:
                intermediate = zero_padded(self.conformer.norm(x), lengths)
        return zero_padded(self.conformer.norm(x), lengths), intermediate, lengths


class SubtitleEncoder(torch.nn.Module):
    """A few Conformer or Transformer blocks on top of another representation.

    The input keeps its frame rate (no subsampling). Cascaded models (C8, v2)
    feed it the verbatim encoder output; chained models (C6) feed it the
    verbatim decoder's hidden states.

    Arguments
    ---------
    kind : str
        ``"conformer"`` (relative positional attention, convolution module)
        or ``"transformer"`` (pre-LN self-attention blocks).
    num_layers : int
        Number of blocks.
    d_model : int
        Model dimension (input and output).
    nhead : int
        Attention heads.
    d_ffn : int
        Feed-forward hidden size.
    kernel_size : int
        Conformer convolution kernel (ignored for ``"transformer"``).
    dropout : float
        Dropout.

    Example
    -------
    >>> enc = SubtitleEncoder("transformer", num_layers=1, d_model=32, nhead=2, d_ffn=64)
    >>> enc(torch.randn(2, 7, 32), torch.tensor([7, 4])).shape
    torch.Size([2, 7, 32])
    """

    def __init__(
        self,
        kind="conformer",
        num_layers=2,
        d_model=256,
        nhead=4,
        d_ffn=2048,
        kernel_size=31,
        dropout=0.1,
    ):
        super().__init__()
        self.kind = kind
        if kind == "conformer":
            self.positional_encoding = RelPosEncXL(d_model)
            self.layers = conformer_stack(num_layers, d_model, d_ffn, nhead, kernel_size, dropout)
        elif kind == "transformer":
            self.positional_encoding = None
            self.layers = TransformerEncoder(
                num_layers=num_layers,
                nhead=nhead,
                d_ffn=d_ffn,
                d_model=d_model,
                dropout=dropout,
                normalize_before=True,
                causal=False,
            )
        else:
            raise ValueError(f"Unknown subtitle encoder kind {kind!r}")

    def forward(self, x, lengths):
        """Encodes ``x`` of shape ``(batch, time, d_model)``.

        Arguments
        ---------
        x : torch.Tensor
            Input states.
        lengths : torch.Tensor
            Absolute lengths ``(batch,)``.

        Returns
        -------
        torch.Tensor
            Encoded states, same shape as ``x``.
        """
        mask = padding_mask(lengths, x.shape[1])
        pos_embs = None
        if self.positional_encoding is not None:
            pos_embs = self.positional_encoding(x)
        out = self.layers(zero_padded(x, lengths), src_key_padding_mask=mask, pos_embs=pos_embs)
        return zero_padded(out[0], lengths)
