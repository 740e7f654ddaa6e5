"""ESPnet-compatible parts: the layout of the authors' released NeLF models.

The NeLF models (Poncelet & Van hamme) were trained with ESPnet. These modules
compute what ESPnet's layers compute and keep ESPnet's parameter names (so a
converted ``model.pth`` loads by renaming a few prefixes, see
:mod:`speechbrain_subtitle.nelf`), while fitting the interfaces of our own
lobes, so they plug into :class:`speechbrain_subtitle.lobes.model.JointSubtitleModel`
like the SpeechBrain-based ones and can be selected in YAML:

- :class:`Fbank` (STFT power spectrum, Slaney mel filterbank, natural log)
  and :class:`GlobalMVN`: ``compute_features`` / ``normalize``;
- :class:`ConformerEncoder`: convolutional subsampling (``conv2d``: 4x,
  ``conv2d6``: 6x) + Conformer blocks with BatchNorm convolution modules and
  relative positional self-attention (ESPnet's "latest" type), with an
  intermediate output; the ``encoder`` of the joint model;
- :class:`TransformerEncoder`: the subtitle encoder (input layer ``none`` or
  ``linear``);
- :class:`TransformerDecoder`: a pre-LN decoder attending one or two sources
  (self-attention, then cross-attention to each source in order, then FFN).

All of them are batch-invariant, like :mod:`speechbrain_subtitle.lobes.encoders`:
padded frames are zeroed before every convolution over time (ESPnet's own fix
of the same leak), frame counts follow the convolution arithmetic exactly, and
attention never reads a padded key. BatchNorm runs per frame in eval mode.
"""

import math

import torch
from speechbrain.nnet.linear import Linear

from speechbrain_subtitle.lobes.decoders import DecoderCache, TextDecoder, attend, attend_source
from speechbrain_subtitle.lobes.encoders import padding_mask, relative_to_absolute, zero_padded

LAYER_NORM_EPS = 1e-12  # ESPnet's LayerNorm
SUBSAMPLING = {
    # input layer name -> (kernel, stride) of each 2-D convolution
    "conv2d": ((3, 2), (3, 2)),
    "conv2d6": ((3, 2), (5, 3)),
}


def _layer_norm(size):
    return torch.nn.LayerNorm(size, eps=LAYER_NORM_EPS)


def _activation(name):
    if name == "swish":
        return torch.nn.SiLU()
    if name == "relu":
        return torch.nn.ReLU()
    raise ValueError(f"Unsupported activation {name!r} (swish, relu)")


# ----------------------------------------------------------------- features
def slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin=0.0, fmax=None):
    """Triangular mel filters on the Slaney scale with Slaney area normalization.

    Linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per
    factor 6.4); each filter is scaled by ``2 / (upper - lower)`` Hz. This is
    the filterbank of ``librosa.filters.mel(htk=False, norm="slaney")``,
    computed here in float64.

    Returns
    -------
    torch.Tensor
        ``(n_fft // 2 + 1, n_mels)`` float32 matrix (power spectrum @ matrix).

    Example
    -------
    >>> slaney_mel_filterbank(16000, 512, 80).shape
    torch.Size([257, 80])
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0

    def hz_to_mel(f):
        f = torch.as_tensor(f, dtype=torch.float64)
        linear = f / f_sp
        log = min_log_mel + torch.log(torch.clamp(f, min=min_log_hz) / min_log_hz) / logstep
        return torch.where(f >= min_log_hz, log, linear)

    def mel_to_hz(m):
        linear = f_sp * m
        log = min_log_hz * torch.exp(logstep * (m - min_log_mel))
        return torch.where(m >= min_log_mel, log, linear)

    freqs = torch.linspace(0, sample_rate / 2.0, n_fft // 2 + 1, dtype=torch.float64)
    mels = torch.linspace(float(hz_to_mel(fmin)), float(hz_to_mel(fmax)), n_mels + 2)
    edges = mel_to_hz(mels.double())
    widths = edges[1:] - edges[:-1]
    ramps = edges[:, None] - freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights = weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.T.contiguous().float()


class Fbank(torch.nn.Module):
    """Log-mel filterbank features as computed by ESPnet's default front end.

    Centered STFT (reflect padding) with a periodic Hann window, power
    spectrum, Slaney mel filterbank, ``log(max(mel, 1e-10))``; no dither, no
    pre-emphasis. ``win_length`` defaults to ``n_fft``.

    Computes one utterance per row without lengths: give each row its own
    samples (:func:`speechbrain_subtitle.features.batch_features` does) so
    that the reflect padding at its end reads its own samples.

    Arguments
    ---------
    sample_rate : int
        Sampling rate of the input.
    n_fft, win_length, hop_length : int
        STFT sizes in samples.
    n_mels : int
        Number of mel filters.
    fmin, fmax : float
        Filterbank range in Hz (default 0 and ``sample_rate / 2``).

    Example
    -------
    >>> fbank = Fbank(n_mels=20)
    >>> fbank(torch.randn(1, 1600)).shape
    torch.Size([1, 13, 20])
    >>> fbank.num_frames(1600)
    13
    """

    def __init__(
        self,
        sample_rate=16000,
        n_fft=512,
        win_length=None,
        hop_length=128,
        n_mels=80,
        fmin=None,
        fmax=None,
    ):
        super().__init__()
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = n_fft if win_length is None else win_length
        self.hop_length = hop_length
        self.n_mels = n_mels
        fmin = 0.0 if fmin is None else fmin
        self.register_buffer(
            "melmat", slaney_mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
        )

    def num_frames(self, num_samples):
        """Frames of an utterance of ``num_samples`` samples."""
        return num_samples // self.hop_length + 1

    def forward(self, wavs):
        """``(batch, samples)`` waveforms -> ``(batch, frames, n_mels)`` log-mels."""
        window = torch.hann_window(self.win_length, dtype=torch.float32, device=wavs.device)
        spec = torch.stft(
            wavs.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        ).transpose(1, 2)
        power = spec.real**2 + spec.imag**2
        mel = torch.matmul(power, self.melmat)
        return torch.clamp(mel, min=1e-10).log()


class GlobalMVN(torch.nn.Module):
    """Global mean and variance normalization with fixed statistics.

    Called like SpeechBrain's ``InputNormalization`` in eval mode:
    ``normalize(feats, rel_lens)``; padded frames come out as zeros.

    Arguments
    ---------
    n_feats : int
        Feature size.

    Example
    -------
    >>> norm = GlobalMVN.from_stats(count=4, sums=torch.ones(3) * 4, sum_squares=torch.ones(3) * 8)
    >>> norm(torch.full((1, 2, 3), 3.0), torch.tensor([0.5])).tolist()
    [[[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]]
    """

    def __init__(self, n_feats):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_feats))
        self.register_buffer("std", torch.ones(n_feats))

    @classmethod
    def from_stats(cls, count, sums, sum_squares, eps=1e-20):
        """Statistics as accumulated by ESPnet (``count``, ``sum``, ``sum_square``);
        the variance is floored at ``eps`` before the square root."""
        sums = torch.as_tensor(sums, dtype=torch.float64)
        sum_squares = torch.as_tensor(sum_squares, dtype=torch.float64)
        mean = sums / float(count)
        var = sum_squares / float(count) - mean * mean
        norm = cls(mean.shape[0])
        norm.mean.copy_(mean.float())
        norm.std.copy_(torch.sqrt(torch.clamp(var, min=eps)).float())
        return norm

    def forward(self, feats, rel_lens=None, epoch=None):
        """Normalizes ``(batch, frames, n_feats)``; ``rel_lens`` relative lengths.

        ``epoch`` is accepted (and ignored) so that a training Brain can call this
        as it calls SpeechBrain's ``InputNormalization``: the statistics stay those
        the model was trained with, also when it is fine-tuned."""
        out = (feats - self.mean) / self.std
        if rel_lens is not None:
            out = zero_padded(out, relative_to_absolute(rel_lens, feats.shape[1]))
        return out


# -------------------------------------------------------------- positional
def _inverse_frequencies(d_model, device):
    return torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32, device=device)
        * -(math.log(10000.0) / d_model)
    )


def _sinusoids(positions, d_model):
    """Interleaved ``sin``/``cos`` encodings of float32 ``positions``."""
    angles = positions[:, None] * _inverse_frequencies(d_model, positions.device)[None, :]
    out = torch.zeros(positions.shape[0], d_model, device=positions.device)
    out[:, 0::2] = torch.sin(angles)
    out[:, 1::2] = torch.cos(angles)
    return out


def absolute_positions(length, d_model, device=None):
    """``(length, d_model)`` sinusoidal encodings of positions ``0 .. length-1``.

    Example
    -------
    >>> absolute_positions(3, 4)[0].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    return _sinusoids(torch.arange(length, dtype=torch.float32, device=device), d_model)


def relative_positions(length, d_model, device=None):
    """``(2 * length - 1, d_model)`` encodings of offsets ``length-1`` down to ``-(length-1)``.

    Example
    -------
    >>> pe = relative_positions(3, 4)
    >>> pe.shape, pe[2].tolist()
    (torch.Size([5, 4]), [0.0, 1.0, 0.0, 1.0])
    """
    positive = torch.arange(length - 1, -1, -1, dtype=torch.float32, device=device)
    pos = _sinusoids(positive, d_model)
    neg = _sinusoids(positive.flip(0)[1:], d_model)
    neg[:, 0::2] = -neg[:, 0::2]  # sin is odd, cos is even
    return torch.cat([pos, neg])


# --------------------------------------------------------------- attention
class MultiHeadedAttention(torch.nn.Module):
    """Scaled dot-product attention with separate q/k/v/out projections.

    Arguments
    ---------
    n_head : int
        Heads.
    n_feat : int
        Model dimension.
    dropout_rate : float
        Dropout on the attention weights.

    Example
    -------
    >>> att = MultiHeadedAttention(2, 8, 0.0)
    >>> out, w = att(torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8))
    >>> out.shape, w.shape
    (torch.Size([2, 3, 8]), torch.Size([2, 2, 3, 5]))
    """

    def __init__(self, n_head, n_feat, dropout_rate=0.0):
        super().__init__()
        if n_feat % n_head:
            raise ValueError(f"n_feat={n_feat} is not a multiple of n_head={n_head}")
        self.d_k = n_feat // n_head
        self.h = n_head
        self.linear_q = torch.nn.Linear(n_feat, n_feat)
        self.linear_k = torch.nn.Linear(n_feat, n_feat)
        self.linear_v = torch.nn.Linear(n_feat, n_feat)
        self.linear_out = torch.nn.Linear(n_feat, n_feat)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def _heads(self, linear, x):
        return linear(x).view(x.shape[0], -1, self.h, self.d_k).transpose(1, 2)

    def _attend(self, scores, value, blocked):
        """Softmax over keys with ``blocked`` (True = not allowed) removed."""
        if blocked is not None:
            scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1).masked_fill(blocked, 0.0)
        else:
            weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(self.dropout(weights), value)
        batch = out.shape[0]
        out = out.transpose(1, 2).reshape(batch, -1, self.h * self.d_k)
        return self.linear_out(out), weights

    def forward(self, query, key, value, blocked=None):
        """Attends ``key``/``value`` from ``query``.

        Arguments
        ---------
        query : torch.Tensor
            ``(batch, time1, n_feat)``.
        key, value : torch.Tensor
            ``(batch, time2, n_feat)``.
        blocked : torch.Tensor, optional
            Boolean, broadcastable to ``(batch, 1, time1, time2)``; True where
            a query may not look.

        Returns
        -------
        output : torch.Tensor
            ``(batch, time1, n_feat)``.
        weights : torch.Tensor
            ``(batch, heads, time1, time2)``.
        """
        q = self._heads(self.linear_q, query)
        k = self._heads(self.linear_k, key)
        v = self._heads(self.linear_v, value)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
        return self._attend(scores, v, blocked)


class RelPositionMultiHeadedAttention(MultiHeadedAttention):
    """Self-attention with Transformer-XL relative positions (ESPnet "latest").

    Score of query ``i`` and key ``j``: ``((q_i + u) . k_j + (q_i + v) . P(i - j))
    / sqrt(d_k)`` with learned per-head biases ``u`` (``pos_bias_u``), ``v``
    (``pos_bias_v``) and ``P`` the projected (``linear_pos``, no bias)
    sinusoidal encoding of the offset.

    Example
    -------
    >>> att = RelPositionMultiHeadedAttention(2, 8, 0.0)
    >>> x = torch.randn(1, 4, 8)
    >>> att(x, relative_positions(4, 8))[0].shape
    torch.Size([1, 4, 8])
    """

    def __init__(self, n_head, n_feat, dropout_rate=0.0):
        super().__init__(n_head, n_feat, dropout_rate)
        self.linear_pos = torch.nn.Linear(n_feat, n_feat, bias=False)
        self.pos_bias_u = torch.nn.Parameter(torch.empty(self.h, self.d_k))
        self.pos_bias_v = torch.nn.Parameter(torch.empty(self.h, self.d_k))
        torch.nn.init.xavier_uniform_(self.pos_bias_u)
        torch.nn.init.xavier_uniform_(self.pos_bias_v)

    def forward(self, x, pos_emb, blocked=None):
        """``x`` ``(batch, time, n_feat)``; ``pos_emb`` from :func:`relative_positions`."""
        time = x.shape[1]
        q = self._heads(self.linear_q, x)  # (batch, head, time, d_k)
        k = self._heads(self.linear_k, x)
        v = self._heads(self.linear_v, x)
        p = self.linear_pos(pos_emb).view(-1, self.h, self.d_k).transpose(0, 1)
        content = torch.matmul(q + self.pos_bias_u[:, None, :], k.transpose(-2, -1))
        position = torch.matmul(q + self.pos_bias_v[:, None, :], p.transpose(-2, -1))
        # Row i of ``position`` holds offsets time-1 .. -(time-1); key j needs i - j,
        # found at column time - 1 - i + j.
        rows = torch.arange(time, device=x.device)
        index = (time - 1 - rows)[:, None] + rows[None, :]
        position = position.gather(-1, index.expand(position.shape[:2] + index.shape))
        scores = (content + position) / math.sqrt(self.d_k)
        return self._attend(scores, v, blocked)


class PositionwiseFeedForward(torch.nn.Module):
    """``w_2(dropout(activation(w_1(x))))``."""

    def __init__(self, idim, hidden_units, dropout_rate=0.0, activation="relu"):
        super().__init__()
        self.w_1 = torch.nn.Linear(idim, hidden_units)
        self.w_2 = torch.nn.Linear(hidden_units, idim)
        self.dropout = torch.nn.Dropout(dropout_rate)
        self.activation = _activation(activation)

    def forward(self, x):
        """Applies the module to ``(..., idim)``."""
        return self.w_2(self.dropout(self.activation(self.w_1(x))))


def _key_blocked(lengths, time):
    """``(batch, 1, 1, time)`` mask of padded keys (True = padded)."""
    return padding_mask(lengths, time)[:, None, None, :]


# ------------------------------------------------------------------ encoder
class ConvolutionModule(torch.nn.Module):
    """Conformer convolution module with BatchNorm, blind to padded frames.

    pointwise conv (2x channels) -> GLU -> (padded frames zeroed) ->
    depthwise conv -> BatchNorm -> activation -> pointwise conv.
    """

    def __init__(self, channels, kernel_size, activation="swish"):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"cnn_module_kernel must be odd, got {kernel_size}")
        self.pointwise_conv1 = torch.nn.Conv1d(channels, 2 * channels, 1)
        self.depthwise_conv = torch.nn.Conv1d(
            channels, channels, kernel_size, padding=(kernel_size - 1) // 2, groups=channels
        )
        self.norm = torch.nn.BatchNorm1d(channels)
        self.pointwise_conv2 = torch.nn.Conv1d(channels, channels, 1)
        self.activation = _activation(activation)

    def forward(self, x, lengths):
        """``x`` ``(batch, time, channels)``, ``lengths`` absolute frame counts."""
        h = torch.nn.functional.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        valid = ~padding_mask(lengths, x.shape[1])
        h = h * valid[:, None, :].to(h.dtype)
        h = self.activation(self.norm(self.depthwise_conv(h)))
        return self.pointwise_conv2(h).transpose(1, 2)


class ConformerLayer(torch.nn.Module):
    """Pre-LN Conformer block: (macaron FFN x0.5), MHSA, conv, FFN (x0.5), LayerNorm."""

    def __init__(
        self,
        size,
        attention_heads,
        linear_units,
        dropout_rate=0.1,
        attention_dropout_rate=0.0,
        macaron_style=True,
        use_cnn_module=True,
        cnn_module_kernel=31,
        activation="swish",
    ):
        super().__init__()
        self.self_attn = RelPositionMultiHeadedAttention(
            attention_heads, size, attention_dropout_rate
        )
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate, activation)
        self.norm_ff = _layer_norm(size)
        self.norm_mha = _layer_norm(size)
        self.feed_forward_macaron = None
        self.ff_scale = 1.0
        if macaron_style:
            self.feed_forward_macaron = PositionwiseFeedForward(
                size, linear_units, dropout_rate, activation
            )
            self.norm_ff_macaron = _layer_norm(size)
            self.ff_scale = 0.5
        self.conv_module = None
        if use_cnn_module:
            self.conv_module = ConvolutionModule(size, cnn_module_kernel, activation)
            self.norm_conv = _layer_norm(size)
            self.norm_final = _layer_norm(size)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def forward(self, x, pos_emb, lengths):
        """One block over ``(batch, time, size)`` with absolute ``lengths``."""
        blocked = _key_blocked(lengths, x.shape[1])
        if self.feed_forward_macaron is not None:
            h = self.feed_forward_macaron(self.norm_ff_macaron(x))
            x = x + self.ff_scale * self.dropout(h)
        x = x + self.dropout(self.self_attn(self.norm_mha(x), pos_emb, blocked)[0])
        if self.conv_module is not None:
            x = x + self.dropout(self.conv_module(self.norm_conv(x), lengths))
        x = x + self.ff_scale * self.dropout(self.feed_forward(self.norm_ff(x)))
        if self.conv_module is not None:
            x = self.norm_final(x)
        return x


class Conv2dSubsampling(torch.nn.Module):
    """2-D convolutions (no padding, ReLU) over (time, frequency) + a linear layer.

    ``conv2d``: two 3x3 stride-2 convolutions (4x); ``conv2d6``: 3x3 stride 2
    then 5x5 stride 3 (6x). Each valid output frame reads only valid input
    frames, so padding cannot leak in; frame counts are exact.
    """

    def __init__(self, input_size, output_size, kind="conv2d"):
        super().__init__()
        if kind not in SUBSAMPLING:
            raise ValueError(f"Unsupported input layer {kind!r} ({', '.join(SUBSAMPLING)})")
        self.layout = SUBSAMPLING[kind]
        layers, channels, freq = [], 1, input_size
        for kernel, stride in self.layout:
            layers += [torch.nn.Conv2d(channels, output_size, kernel, stride), torch.nn.ReLU()]
            channels, freq = output_size, (freq - kernel) // stride + 1
        if freq < 1:
            raise ValueError(f"{input_size} features are too few for input layer {kind!r}")
        self.conv = torch.nn.Sequential(*layers)
        self.out = torch.nn.Sequential(torch.nn.Linear(output_size * freq, output_size))

    def output_lengths(self, lengths):
        """Frame counts after subsampling (0 or less: too short)."""
        for kernel, stride in self.layout:
            lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
        return lengths

    def min_frames(self):
        """The fewest input frames that give one output frame."""
        n = 1
        for kernel, stride in reversed(self.layout):
            n = (n - 1) * stride + kernel
        return n

    def forward(self, x, lengths):
        """``(batch, time, feats)`` -> ``(batch, time', output_size)`` and frame counts."""
        out_lengths = self.output_lengths(lengths)
        if int(out_lengths.min()) < 1:
            raise ValueError(
                f"An utterance of {int(lengths.min())} feature frames is too short for the "
                f"encoder's input layer (at least {self.min_frames()} frames needed)"
            )
        h = self.conv(zero_padded(x, lengths).unsqueeze(1))
        batch, channels, time, freq = h.shape
        h = self.out(h.transpose(1, 2).reshape(batch, time, channels * freq))
        return zero_padded(h, out_lengths), out_lengths


class ConformerEncoder(torch.nn.Module):
    """ESPnet Conformer encoder (``encoder`` of the NeLF models).

    Subsampling (:class:`Conv2dSubsampling`), scaling by ``sqrt(d)``, relative
    positional encodings, :class:`ConformerLayer` blocks, final LayerNorm
    (``after_norm``). The output of block ``interctc_layer`` (1-based) passes
    through the same final LayerNorm and is returned as the intermediate
    output (intermediate CTC).

    Same call as :class:`speechbrain_subtitle.lobes.encoders.VerbatimEncoder`:
    ``encoder(feats, rel_lens) -> (states, intermediate, lengths)``.

    Example
    -------
    >>> enc = ConformerEncoder(20, output_size=16, attention_heads=2, linear_units=32,
    ...                        num_blocks=2, cnn_module_kernel=3, interctc_layer=1).eval()
    >>> out, inter, lens = enc(torch.randn(2, 40, 20), torch.tensor([1.0, 0.5]))
    >>> out.shape, inter.shape, lens.tolist()
    (torch.Size([2, 9, 16]), torch.Size([2, 9, 16]), [9, 4])
    """

    def __init__(
        self,
        input_size=80,
        output_size=256,
        attention_heads=4,
        linear_units=2048,
        num_blocks=12,
        input_layer="conv2d",
        macaron_style=True,
        use_cnn_module=True,
        cnn_module_kernel=31,
        activation_type="swish",
        interctc_layer=None,
        dropout_rate=0.1,
        positional_dropout_rate=0.1,
        attention_dropout_rate=0.0,
    ):
        super().__init__()
        if interctc_layer and not 1 <= interctc_layer <= num_blocks:
            raise ValueError(f"interctc_layer={interctc_layer} must lie in 1..{num_blocks}")
        self.output_size = output_size
        self.interctc_layer = interctc_layer or None
        self.embed = Conv2dSubsampling(input_size, output_size, input_layer)
        self.pos_dropout = torch.nn.Dropout(positional_dropout_rate)
        self.encoders = torch.nn.ModuleList(
            ConformerLayer(
                output_size,
                attention_heads,
                linear_units,
                dropout_rate,
                attention_dropout_rate,
                macaron_style,
                use_cnn_module,
                cnn_module_kernel,
                activation_type,
            )
            for _ in range(num_blocks)
        )
        self.after_norm = _layer_norm(output_size)

    def output_lengths(self, feat_lengths):
        """Encoder frame counts of utterances of ``feat_lengths`` feature frames."""
        return self.embed.output_lengths(feat_lengths)

    def forward(self, feats, rel_lens):
        """Encodes ``(batch, time, input_size)`` features; see the class docstring."""
        lengths = relative_to_absolute(rel_lens, feats.shape[1])
        x, lengths = self.embed(feats, lengths)
        x = self.pos_dropout(x * math.sqrt(self.output_size))
        pos_emb = self.pos_dropout(relative_positions(x.shape[1], self.output_size, x.device))
        intermediate = None
        for index, layer in enumerate(self.encoders, start=1):
            x = layer(x, pos_emb, lengths)
            if index == self.interctc_layer:
                intermediate = zero_padded(self.after_norm(x), lengths)
        return zero_padded(self.after_norm(x), lengths), intermediate, lengths


class TransformerEncoderLayer(torch.nn.Module):
    """Pre-LN Transformer block: ``x + MHSA(norm1(x))``, then ``x + FFN(norm2(x))``."""

    def __init__(self, size, attention_heads, linear_units, dropout_rate, attention_dropout_rate):
        super().__init__()
        self.self_attn = MultiHeadedAttention(attention_heads, size, attention_dropout_rate)
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate, "relu")
        self.norm1 = _layer_norm(size)
        self.norm2 = _layer_norm(size)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def forward(self, x, blocked):
        """One block; ``blocked`` masks padded keys."""
        h = self.norm1(x)
        x = x + self.dropout(self.self_attn(h, h, h, blocked)[0])
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class TransformerEncoder(torch.nn.Module):
    """ESPnet Transformer encoder without subsampling (the NeLF subtitle encoder).

    Input layer ``none`` (the input must have ``output_size`` features) or
    ``linear`` (Linear, LayerNorm, dropout, ReLU); then ``x * sqrt(d)`` plus
    absolute sinusoidal encodings, pre-LN blocks and a final LayerNorm.
    Same call as :class:`speechbrain_subtitle.lobes.encoders.SubtitleEncoder`:
    ``encoder(x, lengths) -> states``.

    Example
    -------
    >>> enc = TransformerEncoder(16, output_size=16, attention_heads=2, linear_units=32,
    ...                          num_blocks=1, input_layer="none").eval()
    >>> enc(torch.randn(2, 5, 16), torch.tensor([5, 3])).shape
    torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        input_size=256,
        output_size=256,
        attention_heads=4,
        linear_units=2048,
        num_blocks=6,
        input_layer="none",
        dropout_rate=0.1,
        positional_dropout_rate=0.1,
        attention_dropout_rate=0.0,
    ):
        super().__init__()
        self.output_size = output_size
        if input_layer == "linear":
            self.embed = torch.nn.Sequential(
                torch.nn.Linear(input_size, output_size),
                torch.nn.LayerNorm(output_size),
                torch.nn.Dropout(dropout_rate),
                torch.nn.ReLU(),
            )
        elif input_layer in (None, "none"):
            if input_size != output_size:
                raise ValueError(
                    f"input_layer 'none' needs input_size == output_size ({input_size} != "
                    f"{output_size})"
                )
            self.embed = None
        else:
            raise ValueError(f"Unsupported subtitle encoder input layer {input_layer!r}")
        self.pos_dropout = torch.nn.Dropout(positional_dropout_rate)
        self.encoders = torch.nn.ModuleList(
            TransformerEncoderLayer(
                output_size, attention_heads, linear_units, dropout_rate, attention_dropout_rate
            )
            for _ in range(num_blocks)
        )
        self.after_norm = _layer_norm(output_size)

    def forward(self, x, lengths):
        """Encodes ``(batch, time, input_size)`` with absolute ``lengths``."""
        x = zero_padded(x, lengths)
        if self.embed is not None:
            x = self.embed(x)
        x = x * math.sqrt(self.output_size)
        x = self.pos_dropout(x + absolute_positions(x.shape[1], self.output_size, x.device))
        blocked = _key_blocked(lengths, x.shape[1])
        for layer in self.encoders:
            x = layer(x, blocked)
        return zero_padded(self.after_norm(x), lengths)


# ------------------------------------------------------------------ decoder
class DecoderLayer(torch.nn.Module):
    """Pre-LN block: self-attention, cross-attention to each source, FFN.

    Parameter names follow ESPnet: ``src_attn`` (first source, ``norm2``),
    ``multi_attn`` (second source, ``norm3``); the FFN's norm is the last one.
    """

    def __init__(self, size, attention_heads, linear_units, num_sources, dropout_rate, att_drop):
        super().__init__()
        self.self_attn = MultiHeadedAttention(attention_heads, size, att_drop)
        self.src_attn = MultiHeadedAttention(attention_heads, size, att_drop)
        self.multi_attn = None
        if num_sources == 2:
            self.multi_attn = MultiHeadedAttention(attention_heads, size, att_drop)
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate, "relu")
        self.norm1 = _layer_norm(size)
        self.norm2 = _layer_norm(size)
        self.norm3 = _layer_norm(size)
        if num_sources == 2:
            self.norm4 = _layer_norm(size)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def forward(self, x, causal, memories):
        """``memories``: ``[(states, blocked), ...]`` in source order."""
        h = self.norm1(x)
        x = x + self.dropout(self.self_attn(h, h, h, causal)[0])
        attns = [(self.src_attn, self.norm2)]
        if self.multi_attn is not None:
            attns.append((self.multi_attn, self.norm3))
        first = None
        for (attn, norm), (memory, blocked) in zip(attns, memories):
            h, weights = attn(norm(x), memory, memory, blocked)
            x = x + self.dropout(h)
            first = weights if first is None else first
        ffn_norm = self.norm4 if self.multi_attn is not None else self.norm3
        return x + self.dropout(self.feed_forward(ffn_norm(x))), first

    def _source_attns(self):
        attns = [(self.src_attn, self.norm2)]
        if self.multi_attn is not None:
            attns.append((self.multi_attn, self.norm3))
        return attns

    def memory_kv(self, memories):
        """Keys and values of each source, computed once per utterance (see
        ``TextDecoder.start_cache``); ``memories`` as for :meth:`forward`."""
        return [
            (attn._heads(attn.linear_k, memory), attn._heads(attn.linear_v, memory), blocked)
            for (attn, _), (memory, blocked) in zip(self._source_attns(), memories)
        ]

    def step(self, x, self_kv, memory_kv, group=1):
        """The block on one new position (inference); see
        ``MultiSourceDecoderLayer.step``."""
        att = self.self_attn
        h = self.norm1(x)
        k, v = att._heads(att.linear_k, h), att._heads(att.linear_v, h)
        if self_kv is not None:
            k, v = torch.cat([self_kv[0], k], dim=2), torch.cat([self_kv[1], v], dim=2)
        x = x + att.linear_out(attend(att._heads(att.linear_q, h), k, v)[0])
        first = None
        for (attn, norm), (mk, mv, blocked) in zip(self._source_attns(), memory_kv):
            h, weights = attend_source(attn._heads(attn.linear_q, norm(x)), mk, mv, blocked, group)
            x = x + attn.linear_out(h)
            first = weights if first is None else first
        ffn_norm = self.norm4 if self.multi_attn is not None else self.norm3
        return x + self.feed_forward(ffn_norm(x)), (k, v), first


class TransformerDecoder(torch.nn.Module):
    """ESPnet Transformer decoder over one or two sources (the NeLF decoders).

    Token embedding times ``sqrt(d)`` plus absolute sinusoidal encodings,
    :class:`DecoderLayer` blocks, final LayerNorm (``after_norm``), output
    projection ``fc`` (a SpeechBrain ``Linear``, as the beam searchers need).
    Interface of :class:`speechbrain_subtitle.lobes.decoders.TextDecoder`:
    ``hidden_states``, ``forward``, ``decode``, ``fc``, ``num_sources``,
    ``d_model``.

    Example
    -------
    >>> dec = TransformerDecoder(20, d_model=16, attention_heads=2, linear_units=32,
    ...                          num_blocks=1, num_sources=2).eval()
    >>> lens = torch.tensor([6, 4])
    >>> mem = [(torch.randn(2, 6, 16), lens), (torch.randn(2, 6, 16), lens)]
    >>> dec(torch.tensor([[19, 5, 6], [19, 7, 0]]), mem).shape
    torch.Size([2, 3, 20])
    """

    def __init__(
        self,
        vocab_size,
        d_model=256,
        attention_heads=4,
        linear_units=2048,
        num_blocks=6,
        num_sources=2,
        dropout_rate=0.1,
        positional_dropout_rate=0.1,
        self_attention_dropout_rate=0.0,
        src_attention_dropout_rate=0.0,
    ):
        super().__init__()
        if num_sources not in (1, 2):
            raise ValueError(f"num_sources must be 1 or 2, got {num_sources}")
        if self_attention_dropout_rate != src_attention_dropout_rate:
            raise ValueError("Different self/source attention dropout is not supported")
        self.d_model = d_model
        self.num_sources = num_sources
        self.embed = torch.nn.Sequential(torch.nn.Embedding(vocab_size, d_model))
        self.pos_dropout = torch.nn.Dropout(positional_dropout_rate)
        self.decoders = torch.nn.ModuleList(
            DecoderLayer(
                d_model,
                attention_heads,
                linear_units,
                num_sources,
                dropout_rate,
                src_attention_dropout_rate,
            )
            for _ in range(num_blocks)
        )
        self.after_norm = _layer_norm(d_model)
        self.fc = Linear(input_size=d_model, n_neurons=vocab_size)

    def hidden_states(self, tokens, memories, token_lengths=None, need_weights=True):
        """Final hidden states ``(batch, length, d_model)`` and the last block's
        first cross-attention weights (head average; None without
        ``need_weights``, which saves nothing here); see ``TextDecoder``."""
        if len(memories) != self.num_sources:
            raise ValueError(
                f"This decoder attends {self.num_sources} source(s), got {len(memories)}"
            )
        x = self.embed(tokens) * math.sqrt(self.d_model)
        x = self.pos_dropout(x + absolute_positions(tokens.shape[1], self.d_model, x.device))
        length = tokens.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        if token_lengths is not None:
            causal = causal | _key_blocked(token_lengths, length)
        masked = [(m, _key_blocked(lens, m.shape[1])) for m, lens in memories]
        attn = None
        for layer in self.decoders:
            x, attn = layer(x, causal, masked)
        return self.after_norm(x), attn.mean(dim=1) if need_weights else None

    def forward(self, tokens, memories, token_lengths=None):
        """Teacher-forced logits ``(batch, length, vocab)``."""
        return self.fc(self.hidden_states(tokens, memories, token_lengths)[0])

    def decode(self, tokens, enc_states, enc_lens=None):
        """One search step as SpeechBrain's searchers call it; see ``TextDecoder.decode``.

        The searchers keep the tokens decoded so far in a float tensor: they are
        cast back to ids here."""
        return self.hidden_states(tokens.long(), self.memories_of(enc_states, enc_lens))

    memories_of = TextDecoder.memories_of

    def start_cache(self, memories, group=1):
        """A cache for :meth:`step`; see ``TextDecoder.start_cache``."""
        masked = [(m, _key_blocked(lens, m.shape[1])) for m, lens in memories]
        return DecoderCache([layer.memory_kv(masked) for layer in self.decoders], group)

    def step(self, tokens, cache):
        """Feeds the next token of each hypothesis; see ``TextDecoder.step``."""
        x = self.embed(tokens.long().unsqueeze(1)) * math.sqrt(self.d_model)
        position = torch.tensor([float(cache.length)], device=x.device)
        x = x + _sinusoids(position, self.d_model).to(x.dtype)
        attn = None
        for index, layer in enumerate(self.decoders):
            x, cache.self_kv[index], attn = layer.step(
                x, cache.self_kv[index], cache.memory_kv[index], cache.group
            )
        cache.length += 1
        return self.after_norm(x)[:, 0], attn
