"""Transformer text decoders that attend one or two encoder outputs.

A block of a :class:`TextDecoder` is self-attention, then one cross-attention
per source (in the order the sources are given), then a feed-forward module,
each wrapped as a pre-LayerNorm residual. With one source this is the usual
Transformer decoder block; with two it is the twin-source block of the
cascaded models (primary source first, secondary second).

SpeechBrain's beam searchers hand a decoder a single ``enc_states`` tensor. For
two sources the decoder takes a *packed* tensor made by :func:`pack_memories`:
both sources padded to a common length, concatenated on the feature axis, plus
one validity channel per source. Packed tensors can be repeated along the
batch axis like any encoder output, which is all a searcher does with them.
"""

import math

import torch
from speechbrain.lobes.models.transformer.Transformer import (
    NormalizedEmbedding,
    PositionalEncoding,
)
from speechbrain.nnet.attention import MultiheadAttention, PositionalwiseFeedForward
from speechbrain.nnet.linear import Linear
from speechbrain.nnet.normalization import LayerNorm

from speechbrain_subtitle.lobes.encoders import padding_mask


def pack_memories(memories):
    """Packs ``[(states, lengths), ...]`` into one tensor for a searcher.

    Arguments
    ---------
    memories : list of (torch.Tensor, torch.Tensor)
        Each source's states ``(batch, time_k, dim_k)`` and absolute lengths.

    Returns
    -------
    torch.Tensor
        ``(batch, max_time, sum(dim_k) + n_sources)``; the last ``n_sources``
        channels are 1.0 on valid positions of each source and 0.0 on padding.

    Example
    -------
    >>> a = torch.randn(2, 5, 4); b = torch.randn(2, 3, 4)
    >>> packed = pack_memories([(a, torch.tensor([5, 2])), (b, torch.tensor([3, 3]))])
    >>> packed.shape
    torch.Size([2, 5, 10])
    >>> [(s.shape, l.tolist()) for s, l in unpack_memories(packed, [4, 4])]
    [(torch.Size([2, 5, 4]), [5, 2]), (torch.Size([2, 5, 4]), [3, 3])]
    """
    max_time = max(states.shape[1] for states, _ in memories)
    parts, flags = [], []
    for states, lengths in memories:
        pad = max_time - states.shape[1]
        parts.append(torch.nn.functional.pad(states, (0, 0, 0, pad)))
        valid = ~padding_mask(lengths, max_time)
        flags.append(valid.unsqueeze(-1).to(states.dtype))
    return torch.cat(parts + flags, dim=-1)


def unpack_memories(packed, dims):
    """Inverse of :func:`pack_memories` (sources come back padded to a common length).

    Arguments
    ---------
    packed : torch.Tensor
        Output of :func:`pack_memories`.
    dims : list of int
        Feature size of each source.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor)
        Each source's states and absolute lengths.
    """
    n_sources = len(dims)
    if packed.shape[-1] != sum(dims) + n_sources:
        raise ValueError(
            f"Packed memory has {packed.shape[-1]} channels, expected "
            f"{sum(dims) + n_sources} for sources of sizes {list(dims)}"
        )
    out, start = [], 0
    flags = packed[..., sum(dims) :]
    for k, dim in enumerate(dims):
        lengths = (flags[..., k] > 0.5).sum(dim=1)
        out.append((packed[..., start : start + dim], lengths))
        start += dim
    return out


class DecoderCache:
    """What an incremental decoder keeps between search steps.

    Arguments
    ---------
    memory_kv : list of list of (torch.Tensor, torch.Tensor, torch.Tensor)
        Per block, per source: keys and values of the source states, computed
        once per utterance (``(batch, heads, time, head_dim)``), and the
        key-padding mask (``(batch, 1, 1, time)``, True = padded).
    group : int
        Hypotheses per source row: a beam search keeps ``beam_size``
        consecutive hypotheses per utterance, and all of them attend one copy
        of its keys and values (one matrix product per utterance and head
        instead of one per hypothesis, and ``group`` times less memory read).
    """

    def __init__(self, memory_kv, group=1):
        self.memory_kv = memory_kv
        self.group = group
        self.self_kv = [None] * len(memory_kv)  # per block: keys/values of earlier positions
        self.length = 0  # tokens consumed so far

    def reorder(self, index):
        """Keeps the hypotheses ``index`` (a beam search's predecessors).

        Only the self-attention entries move: a search reorders hypotheses
        within each utterance's beam, whose source keys and values are equal.
        """
        self.self_kv = [
            None if kv is None else (kv[0].index_select(0, index), kv[1].index_select(0, index))
            for kv in self.self_kv
        ]
        return self


def split_heads(x, heads):
    """``(batch, time, dim)`` -> ``(batch, heads, time, dim // heads)``."""
    return x.view(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)


def attend(q, k, v, blocked=None):
    """Scaled dot-product attention over heads; returns the merged heads
    ``(batch, time_q, dim)`` and the head-averaged weights ``(batch, time_q, time_k)``.
    ``blocked`` (True = not allowed) broadcasts to ``(batch, heads, time_q, time_k)``."""
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if blocked is not None:
        scores = scores.masked_fill(blocked, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    out = torch.matmul(weights, v).transpose(1, 2)
    return out.reshape(out.shape[0], out.shape[1], -1), weights.mean(dim=1)


def attend_source(q, k, v, blocked=None, group=1):
    """:func:`attend` of one new position per hypothesis on a source whose keys and
    values have one row per ``group`` consecutive hypotheses.

    ``q``: ``(hyps, heads, 1, head_dim)``; ``k``, ``v``: ``(hyps // group, heads,
    time, head_dim)``; returns ``(hyps, 1, dim)`` and the head-averaged weights
    ``(hyps, 1, time)``, as :func:`attend` on keys repeated per hypothesis would.
    """
    if group == 1:
        return attend(q, k, v, blocked)
    hyps, heads, _, head_dim = q.shape
    q = q.view(hyps // group, group, heads, head_dim).transpose(1, 2)
    out, weights = attend(q, k, v, blocked)  # the group's queries as one block of rows
    return out.reshape(hyps, 1, -1), weights.reshape(hyps, 1, -1)


def _mha_projections(mha):
    """``(q, k, v)`` weight/bias pairs and the output projection of a SpeechBrain
    ``MultiheadAttention`` (a ``torch.nn.MultiheadAttention`` inside)."""
    att = mha.att
    weights = att.in_proj_weight.chunk(3)
    biases = att.in_proj_bias.chunk(3) if att.in_proj_bias is not None else (None,) * 3
    return list(zip(weights, biases)), att.out_proj, att.num_heads


def _project(x, weight_bias, heads):
    return split_heads(torch.nn.functional.linear(x, *weight_bias), heads)


class MultiSourceDecoderLayer(torch.nn.Module):
    """Pre-LN decoder block: self-attention, one cross-attention per source, FFN.

    Arguments
    ---------
    d_model : int
        Model dimension.
    nhead : int
        Attention heads.
    d_ffn : int
        Feed-forward hidden size.
    num_sources : int
        Number of cross-attentions (1 or 2 in the paper's models).
    dropout : float
        Dropout on attention weights, FFN and residual branches.

    Example
    -------
    >>> layer = MultiSourceDecoderLayer(16, 2, 32, num_sources=2)
    >>> mem = [(torch.randn(2, 6, 16), None), (torch.randn(2, 9, 16), None)]
    >>> out, attn = layer(torch.randn(2, 4, 16), mem)
    >>> out.shape, attn.shape
    (torch.Size([2, 4, 16]), torch.Size([2, 4, 6]))
    """

    def __init__(self, d_model, nhead, d_ffn, num_sources=1, dropout=0.1):
        super().__init__()
        self.self_attn = MultiheadAttention(nhead=nhead, d_model=d_model, dropout=dropout)
        self.cross_attns = torch.nn.ModuleList(
            MultiheadAttention(nhead=nhead, d_model=d_model, dropout=dropout)
            for _ in range(num_sources)
        )
        self.ffn = PositionalwiseFeedForward(
            d_ffn=d_ffn, input_size=d_model, dropout=dropout, activation=torch.nn.ReLU
        )
        self.norms = torch.nn.ModuleList(
            LayerNorm(d_model, eps=1e-6) for _ in range(num_sources + 2)
        )
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x, memories, tgt_mask=None, tgt_key_padding_mask=None, need_weights=True):
        """Runs the block.

        Arguments
        ---------
        x : torch.Tensor
            Target states ``(batch, length, d_model)``.
        memories : list of (torch.Tensor, torch.Tensor or None)
            Each source's states and key-padding mask (True = padded).
        tgt_mask : torch.Tensor, optional
            Causal attention mask.
        tgt_key_padding_mask : torch.Tensor, optional
            Target key-padding mask.
        need_weights : bool
            Whether to return the attention weights. Without them PyTorch's
            fused attention (``scaled_dot_product_attention``) runs, which
            is faster (training needs no weights).

        Returns
        -------
        x : torch.Tensor
            Updated target states.
        attn : torch.Tensor or None
            Head-averaged weights of the first cross-attention ``(batch, length, time)``
            (None without ``need_weights``).
        """
        h = self.norms[0](x)
        h = self.self_attn(
            h,
            h,
            h,
            attn_mask=tgt_mask,
            key_padding_mask=tgt_key_padding_mask,
            return_attn_weights=False,
        )
        x = x + self.dropout(h)
        first_attn = None
        for k, (attn, (memory, memory_mask)) in enumerate(zip(self.cross_attns, memories)):
            h = self.norms[k + 1](x)
            if k == 0 and need_weights:
                h, first_attn = attn(h, memory, memory, key_padding_mask=memory_mask)
            else:
                h = attn(h, memory, memory, key_padding_mask=memory_mask, return_attn_weights=False)
            x = x + self.dropout(h)
        return x + self.dropout(self.ffn(self.norms[-1](x))), first_attn

    def memory_kv(self, memories):
        """Keys and values of each source for :meth:`step` (computed once per utterance).

        ``memories``: ``[(states, key_padding_mask), ...]`` as for :meth:`forward`.
        """
        out = []
        for attn, (memory, memory_mask) in zip(self.cross_attns, memories):
            (_, wk, wv), _, heads = _mha_projections(attn)
            blocked = None if memory_mask is None else memory_mask[:, None, None, :]
            out.append((_project(memory, wk, heads), _project(memory, wv, heads), blocked))
        return out

    def step(self, x, self_kv, memory_kv, group=1):
        """The block on one new position ``x`` ``(batch, 1, d_model)`` (inference).

        ``self_kv``: keys/values of the earlier positions (None at the first);
        ``memory_kv``: :meth:`memory_kv`, one row per ``group`` consecutive rows of
        ``x`` (:class:`DecoderCache`). Returns the output, the updated
        ``self_kv`` and the first cross-attention's weights. Equals the last
        position of :meth:`forward` on the whole prefix with a causal mask.
        """
        (wq, wk, wv), out_proj, heads = _mha_projections(self.self_attn)
        h = self.norms[0](x)
        k, v = _project(h, wk, heads), _project(h, wv, heads)
        if self_kv is not None:
            k, v = torch.cat([self_kv[0], k], dim=2), torch.cat([self_kv[1], v], dim=2)
        x = x + out_proj(attend(_project(h, wq, heads), k, v)[0])
        first_attn = None
        for index, (attn, (mk, mv, blocked)) in enumerate(zip(self.cross_attns, memory_kv)):
            (wq_src, _, _), src_out, src_heads = _mha_projections(attn)
            q = _project(self.norms[index + 1](x), wq_src, src_heads)
            h, weights = attend_source(q, mk, mv, blocked, group)
            x = x + src_out(h)
            first_attn = weights if first_attn is None else first_attn
        return x + self.ffn(self.norms[-1](x)), (k, v), first_attn


class TextDecoder(torch.nn.Module):
    """Autoregressive Transformer decoder over one or two encoder outputs.

    Arguments
    ---------
    vocab_size : int
        Output vocabulary (the joint SentencePiece vocabulary).
    d_model : int
        Model dimension; every source must have this size.
    nhead : int
        Attention heads.
    d_ffn : int
        Feed-forward hidden size.
    num_layers : int
        Number of blocks.
    num_sources : int
        Number of encoder outputs each block attends (1 or 2).
    dropout : float
        Dropout.
    max_length : int
        Longest token sequence the positional encoding supports.

    Example
    -------
    >>> dec = TextDecoder(vocab_size=20, d_model=16, nhead=2, d_ffn=32, num_layers=1)
    >>> tokens = torch.tensor([[3, 5, 6], [3, 7, 0]])
    >>> memory = torch.randn(2, 8, 16)
    >>> logits = dec(tokens, [(memory, torch.tensor([8, 5]))])
    >>> logits.shape
    torch.Size([2, 3, 20])
    >>> hidden, _ = dec.decode(tokens, memory, torch.tensor([8, 5]))
    >>> hidden.shape
    torch.Size([2, 3, 16])
    """

    def __init__(
        self,
        vocab_size,
        d_model=256,
        nhead=4,
        d_ffn=2048,
        num_layers=6,
        num_sources=1,
        dropout=0.1,
        max_length=2500,
    ):
        super().__init__()
        if num_sources not in (1, 2):
            raise ValueError(f"num_sources must be 1 or 2, got {num_sources}")
        self.d_model = d_model
        self.num_sources = num_sources
        self.embedding = NormalizedEmbedding(d_model, vocab_size)
        self.positional_encoding = PositionalEncoding(d_model, max_length)
        self.layers = torch.nn.ModuleList(
            MultiSourceDecoderLayer(d_model, nhead, d_ffn, num_sources, dropout)
            for _ in range(num_layers)
        )
        self.norm = LayerNorm(d_model, eps=1e-6)
        # A SpeechBrain Linear, as the searchers expect for their ``fc`` module.
        self.fc = Linear(input_size=d_model, n_neurons=vocab_size)

    def hidden_states(self, tokens, memories, token_lengths=None, need_weights=True):
        """Final (normalized) hidden states for teacher-forced ``tokens``.

        Arguments
        ---------
        tokens : torch.Tensor
            ``(batch, length)`` input ids, starting with the task/bos token.
        memories : list of (torch.Tensor, torch.Tensor)
            Each source's states ``(batch, time, d_model)`` and absolute lengths.
        token_lengths : torch.Tensor, optional
            Absolute token counts; padded positions are then masked as keys.
        need_weights : bool
            Whether to compute ``attn`` (None otherwise; faster, see
            :meth:`MultiSourceDecoderLayer.forward`).

        Returns
        -------
        hidden : torch.Tensor
            ``(batch, length, d_model)``.
        attn : torch.Tensor or None
            Last block's first cross-attention weights ``(batch, length, time)``.
        """
        if len(memories) != self.num_sources:
            raise ValueError(
                f"This decoder attends {self.num_sources} source(s), got {len(memories)}"
            )
        x = self.embedding(tokens)
        x = x + self.positional_encoding(x)
        length = tokens.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        tgt_pad = None
        if token_lengths is not None:
            tgt_pad = padding_mask(token_lengths, tokens.shape[1])
        masked = [(m, padding_mask(lens, m.shape[1])) for m, lens in memories]
        attn = None
        for layer in self.layers:
            x, attn = layer(
                x, masked, tgt_mask=causal, tgt_key_padding_mask=tgt_pad, need_weights=need_weights
            )
        return self.norm(x), attn

    def forward(self, tokens, memories, token_lengths=None):
        """Teacher-forced logits ``(batch, length, vocab)``; see :meth:`hidden_states`."""
        hidden, _ = self.hidden_states(tokens, memories, token_lengths, need_weights=False)
        return self.fc(hidden)

    def start_cache(self, memories, group=1):
        """A :class:`DecoderCache` for incremental decoding of ``memories``
        (``[(states, absolute lengths), ...]``) with :meth:`step`, each row of
        which serves ``group`` consecutive hypotheses."""
        masked = [(m, padding_mask(lens, m.shape[1])) for m, lens in memories]
        return DecoderCache([layer.memory_kv(masked) for layer in self.layers], group)

    def step(self, tokens, cache):
        """Feeds the next token of each hypothesis (inference, no dropout).

        Arguments
        ---------
        tokens : torch.Tensor
            ``(batch,)`` the latest token of each hypothesis (the bos/task
            token at the first step).
        cache : DecoderCache
            From :meth:`start_cache`; updated in place.

        Returns
        -------
        hidden : torch.Tensor
            ``(batch, d_model)`` final hidden state of the new position: equal
            (to float rounding) to the last position of :meth:`hidden_states`
            on the whole prefix, at a cost that does not grow with the sources
            reread or the prefix recomputed.
        attn : torch.Tensor
            The last block's first cross-attention weights ``(batch, 1, time)``.
        """
        x = self.embedding(tokens.long().unsqueeze(1))
        x = x + self.positional_encoding.pe[:, cache.length : cache.length + 1].to(x.dtype)
        attn = None
        for index, layer in enumerate(self.layers):
            x, cache.self_kv[index], attn = layer.step(
                x, cache.self_kv[index], cache.memory_kv[index], cache.group
            )
        cache.length += 1
        return self.norm(x)[:, 0], attn

    def memories_of(self, enc_states, enc_lens=None):
        """The ``[(states, lengths), ...]`` of a searcher's ``enc_states``
        (one source, or a tensor made by :func:`pack_memories`)."""
        if self.num_sources == 1:
            if enc_lens is None:
                enc_lens = torch.full(
                    (enc_states.shape[0],), enc_states.shape[1], device=enc_states.device
                )
            return [(enc_states, enc_lens.long())]
        return unpack_memories(enc_states, [self.d_model] * self.num_sources)

    def decode(self, tokens, enc_states, enc_lens=None):
        """One search step, with the signature SpeechBrain's searchers call.

        Arguments
        ---------
        tokens : torch.Tensor
            ``(batch, length)`` tokens decoded so far (starting with bos).
        enc_states : torch.Tensor
            For one source, the encoder states; for two, a tensor made by
            :func:`pack_memories`.
        enc_lens : torch.Tensor, optional
            Absolute encoder lengths (one source only; packed tensors carry
            their own).

        Returns
        -------
        hidden : torch.Tensor
            ``(batch, length, d_model)`` states; the searcher applies ``fc``.
        attn : torch.Tensor
            Last block's first cross-attention weights.
        """
        return self.hidden_states(tokens, self.memories_of(enc_states, enc_lens))


def row_max_steps(memories, ratio):
    """Longest hypothesis of each row: ``ratio`` times its longest source.

    That is the cap a search of the row alone would have (SpeechBrain caps
    every row of a batch at the padded length instead).

    Example
    -------
    >>> row_max_steps([(torch.zeros(2, 9, 4), torch.tensor([9, 5]))], 0.5)
    [4, 2]
    """
    longest = torch.stack([lengths for _, lengths in memories]).max(dim=0).values
    return [max(1, int(int(n) * ratio)) for n in longest.tolist()]


@torch.no_grad()
def greedy_search(decoder, memories, bos_index, eos_index, max_len, use_cache=True):
    """Batched greedy decoding with a :class:`TextDecoder`.

    Arguments
    ---------
    decoder : TextDecoder
        The decoder to run.
    memories : list of (torch.Tensor, torch.Tensor)
        The decoder's sources (states and absolute lengths).
    bos_index : int
        First input token (the task token).
    eos_index : int
        Token that ends a hypothesis.
    max_len : int or list of int
        Maximum number of output tokens per hypothesis (one per row, or one
        for all rows).
    use_cache : bool
        Decode incrementally (``decoder.step``: each step feeds one token; the
        sources' keys and values are computed once) instead of rerunning the
        decoder on the whole prefix. Same tokens.

    Returns
    -------
    list of list of int
        One token list per row, without bos/eos.

    Example
    -------
    >>> dec = TextDecoder(vocab_size=10, d_model=16, nhead=2, d_ffn=32, num_layers=1)
    >>> hyps = greedy_search(dec.eval(), [(torch.randn(2, 5, 16), torch.tensor([5, 3]))], 3, 2, 4)
    >>> len(hyps), all(len(h) <= 4 for h in hyps)
    (2, True)
    """
    batch = memories[0][0].shape[0]
    device = memories[0][0].device
    tokens = torch.full((batch, 1), bos_index, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    caps = torch.as_tensor(max_len, device=device).expand(batch)
    cache = decoder.start_cache(memories) if use_cache else None
    for index in range(int(caps.max())):
        finished |= caps <= index  # a row stops at its own cap, as it would alone
        if finished.all():
            break
        if cache is not None:
            last, _ = decoder.step(tokens[:, -1], cache)
        else:
            last = decoder.hidden_states(tokens, memories)[0][:, -1]
        step = decoder.fc(last).argmax(dim=-1)
        step = step.masked_fill(finished, eos_index)
        tokens = torch.cat([tokens, step.unsqueeze(1)], dim=1)
        finished |= step == eos_index
        if finished.all():
            break
    hyps = []
    for row in tokens[:, 1:].tolist():
        hyps.append(row[: row.index(eos_index)] if eos_index in row else row)
    return hyps


def task_prefixed(hyps, bos_index, device=None):
    """Padded ``(rows, 1 + max_len)`` tensor of ``[bos] + tokens`` rows, and their lengths.

    Arguments
    ---------
    hyps : list of list of int
        Token lists (without task token).
    bos_index : int
        Task token put in front of each row.
    device : torch.device, optional
        Where to put the tensors.

    Returns
    -------
    tokens, lengths : torch.Tensor, torch.Tensor

    Example
    -------
    >>> tokens, lengths = task_prefixed([[7, 8], []], 3)
    >>> tokens.tolist(), lengths.tolist()
    ([[3, 7, 8], [3, 0, 0]], [3, 1])
    """
    rows = [torch.tensor([bos_index] + list(h), dtype=torch.long, device=device) for h in hyps]
    lengths = torch.tensor([len(r) for r in rows], device=device)
    return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True), lengths
