"""Word times for the verbatim transcript and for the subtitle text.

The model writes two texts for a segment of speech: a verbatim transcript,
which follows the audio word for word, and a subtitle, which is shortened,
rephrased, cased and punctuated. Only the verbatim branch has a CTC head,
so only the verbatim words can be placed in time directly. The subtitle
words get their times from the verbatim words in two steps.

Step 1: CTC forced alignment of the verbatim hypothesis
-------------------------------------------------------
:func:`ctc_forced_align` finds the most likely CTC path (Viterbi) through
the frame log-probabilities of the CTC head that emits exactly the given
tokens, and returns the frames each token covers. :func:`word_times` groups
SentencePiece pieces into words (a piece starting with ``"▁"`` starts a
word) and turns their frames into seconds; :func:`align_words` does both,
starting from token ids and the tokenizer.

Step 2: carrying the times over to the subtitle words
-----------------------------------------------------
:func:`transfer_times` writes every subtitle word and every verbatim word in
normalised matching forms (:func:`match_forms`: lower case, no punctuation,
numbers in words, so ``"20"`` and ``"twintig"`` are the same form) and
aligns the two form sequences by edit distance. A subtitle form takes the
time of the verbatim form it is matched with or substituted for; a
substitution costs less the more alike the two forms are, so ``"goe"`` goes
with ``"goed"``. A number that the speaker says in several words
(``"een en twintig"``) matches the single form of the subtitle (``"21"``,
``"eenentwintig"``). Subtitle words without a counterpart in the verbatim
text are placed in the gap between their neighbours.

Example
-------
>>> verbatim = [Word("ja", 0.0, 0.2), Word("euh", 0.3, 0.5), Word("ik", 0.6, 0.7),
...             Word("ik", 0.8, 0.9), Word("denk", 1.0, 1.3), Word("dat", 1.3, 1.5)]
>>> for word in transfer_times(["Ik", "denk", "dat."], verbatim):
...     print(word.text, word.start, word.end)
Ik 0.8 0.9
denk 1.0 1.3
dat. 1.3 1.5

Authors
 * speechbrain_subtitle contributors
"""

from __future__ import annotations

import difflib
import functools
import logging
import unicodedata

import numpy as np
import torch

from speechbrain_subtitle.metrics import NormalizationOptions, normalize_text
from speechbrain_subtitle.subtitles import Word
from speechbrain_subtitle.tokenizer import BLANK_INDEX, content_ids

__all__ = [
    "align_words",
    "ctc_forced_align",
    "match_forms",
    "transfer_times",
    "word_times",
]

logger = logging.getLogger(__name__)

#: SentencePiece's word-boundary mark (U+2581).
WORD_MARK = "\u2581"

# Emission log-probabilities are floored at this finite value, so that a path
# through a -inf emission still beats a path that breaks the CTC topology.
_LOG_FLOOR = -1e30
# Times are rounded to the microsecond, which hides float noise such as
# 3 * 0.04 = 0.12000000000000001.
_TIME_DECIMALS = 6


# ---------------------------------------------------------------------------
# Step 1: CTC forced alignment
# ---------------------------------------------------------------------------


def _min_frames(tokens):
    """Frames a CTC path needs: one per token, plus a blank between repeats."""
    repeats = sum(1 for a, b in zip(tokens[:-1], tokens[1:]) if a == b)
    return len(tokens) + repeats


def ctc_forced_align(log_probs, tokens, blank=BLANK_INDEX):
    """Viterbi alignment of a token sequence to CTC frame log-probabilities.

    Among the CTC paths that collapse to ``tokens`` (the token sequence with
    optional blanks around and between the tokens, a token repeated over
    consecutive frames, and a blank required between two equal neighbouring
    tokens), finds the one with the highest total log-probability. The
    dynamic programme runs over the ``2 * len(tokens) + 1`` states of that
    path at once for each frame, in float64.

    Arguments
    ---------
    log_probs : torch.Tensor or numpy.ndarray
        Log-probabilities of shape ``(T, V)``, one row per encoder frame. A
        tensor may live on any device; only the columns of the blank and the
        tokens are copied to the CPU.
    tokens : sequence of int
        The token ids to align, without blanks.
    blank : int
        The id of the CTC blank.

    Returns
    -------
    list of tuple of int
        For each token its ``(first_frame, last_frame)``, both inclusive.
        The spans are in order and do not overlap.

    Raises
    ------
    ValueError
        When ``log_probs`` is not two-dimensional, when ``tokens`` contains
        the blank or an id outside ``[0, V)``, or when there are too few
        frames: ``T < len(tokens) + (number of equal neighbouring tokens)``.

    Example
    -------
    >>> lp = torch.full((5, 3), -5.0)
    >>> lp[[0, 3], 0] = lp[[1, 2], 1] = lp[4, 2] = 0.0   # blank 1 1 blank 2
    >>> ctc_forced_align(lp, [1, 2])
    [(1, 2), (4, 4)]
    >>> ctc_forced_align(lp, [])
    []
    """
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.tolist()
    tokens = [int(t) for t in tokens]
    if not isinstance(log_probs, torch.Tensor):
        log_probs = np.asarray(log_probs)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, V), got {tuple(log_probs.shape)}")
    num_frames, vocab = int(log_probs.shape[0]), int(log_probs.shape[1])
    if not tokens:
        return []
    if blank in tokens:
        raise ValueError(f"tokens contain the blank id {blank}")
    if min(tokens) < 0 or max(tokens) >= vocab:
        raise ValueError(f"token ids must be in [0, {vocab}), got {min(tokens)}..{max(tokens)}")
    needed = _min_frames(tokens)
    if num_frames < needed:
        raise ValueError(
            f"cannot align {len(tokens)} tokens ({needed - len(tokens)} repeated) "
            f"to {num_frames} frames: at least {needed} frames are needed"
        )

    # Extended label sequence: blank t1 blank t2 ... tL blank.
    num_states = 2 * len(tokens) + 1
    ext = np.full(num_states, blank, dtype=np.int64)
    ext[1::2] = tokens
    columns = ext
    if isinstance(log_probs, torch.Tensor):
        log_probs = log_probs.detach()
        if log_probs.device.type != "cpu":
            # Copy only the needed columns off the accelerator.
            log_probs = log_probs.index_select(1, torch.from_numpy(ext).to(log_probs.device))
            columns = np.arange(num_states)
        if log_probs.dtype not in (torch.float32, torch.float64):
            log_probs = log_probs.float()
        # Gathering columns with numpy is much faster than a torch column gather on CPU.
        log_probs = log_probs.cpu().numpy()
    emit = log_probs[:, columns].astype(np.float64)
    emit = np.maximum(np.nan_to_num(emit, nan=-np.inf), _LOG_FLOOR)

    # A token state may be entered from the previous token state (skipping
    # the blank between them) unless both are the same token.
    skip = np.full(num_states - 2, -np.inf)
    skip[1::2] = np.where(ext[3::2] != ext[1:-2:2], 0.0, -np.inf)

    # Forward pass. from_prev[t, s]: state s at frame t came from s - 1 (else
    # from s itself); from_skip[t, s]: it came from s - 2. Ties keep the
    # state, then take the single step.
    from_prev = np.zeros((num_frames, num_states), dtype=bool)
    from_skip = np.zeros((num_frames, num_states), dtype=bool)
    alpha = np.full(num_states, -np.inf)
    alpha[:2] = emit[0, :2]
    best = np.empty(num_states)
    skipped = np.empty(num_states - 2)
    for t in range(1, num_frames):
        best[0] = alpha[0]
        np.maximum(alpha[1:], alpha[:-1], out=best[1:])
        np.greater(alpha[:-1], alpha[1:], out=from_prev[t, 1:])
        np.add(alpha[:-2], skip, out=skipped)
        np.greater(skipped, best[2:], out=from_skip[t, 2:])
        np.maximum(best[2:], skipped, out=best[2:])
        np.add(best, emit[t], out=alpha)

    # Backtrace from the final blank or the last token, whichever is better.
    state = num_states - 1 if alpha[-1] >= alpha[-2] else num_states - 2
    path = np.empty(num_frames, dtype=np.int64)
    for t in range(num_frames - 1, 0, -1):
        path[t] = state
        if from_skip[t, state]:
            state -= 2
        elif from_prev[t, state]:
            state -= 1
    path[0] = state

    frames = np.flatnonzero(path % 2 == 1)
    token_index = path[frames] // 2  # non-decreasing along the path
    order = np.arange(len(tokens))
    first = frames[np.searchsorted(token_index, order, side="left")]
    last = frames[np.searchsorted(token_index, order, side="right") - 1]
    return list(zip(first.tolist(), last.tolist()))


def _group_pieces(pieces):
    """Splits pieces into words: ``[(text, first_piece, last_piece), ...]``."""
    groups = []
    text, first = None, 0
    for index, piece in enumerate(pieces):
        starts_word = piece.startswith(WORD_MARK)
        # A lone "▁" (an empty word so far) takes the next piece along.
        if text is None or (starts_word and text != ""):
            if text:
                groups.append((text, first, index - 1))
            text, first = "", index
        text += piece.replace(WORD_MARK, "")
    if text:
        groups.append((text, first, len(pieces) - 1))
    return groups


def _seconds(value):
    return round(float(value), _TIME_DECIMALS)


def word_times(pieces, spans, frame_shift, offset=0.0):
    """Groups aligned SentencePiece pieces into timed words.

    A piece starting with ``"▁"`` starts a new word and the pieces after it
    that do not start with ``"▁"`` belong to the same word. A piece that is
    only ``"▁"`` starts a word and takes the next piece along (SentencePiece
    writes ``"▁20"`` as ``"▁"``, ``"20"`` when it has no piece ``"▁2"``); a
    lone ``"▁"`` at the very end is dropped. A first piece without ``"▁"``
    starts a word too.

    Arguments
    ---------
    pieces : sequence of str
        The pieces of the aligned tokens, in order.
    spans : sequence of tuple of int
        ``(first_frame, last_frame)`` of each piece, as returned by
        :func:`ctc_forced_align`.
    frame_shift : float
        Seconds per frame (0.04 for a 10 ms hop and 4x subsampling).
    offset : float
        Time of frame 0, in seconds.

    Returns
    -------
    list of Word
        The words, with the ``"▁"`` marks removed, from the first frame of
        their first piece (``offset + first_frame * frame_shift``) to the
        end of the last frame of their last piece
        (``offset + (last_frame + 1) * frame_shift``), rounded to the
        microsecond.

    Raises
    ------
    ValueError
        When ``pieces`` and ``spans`` differ in length.

    Example
    -------
    >>> pieces = ["▁goe", "den", "avond", "▁", "20", "▁jaar"]
    >>> spans = [(2, 4), (5, 6), (8, 10), (14, 14), (15, 17), (20, 22)]
    >>> for word in word_times(pieces, spans, frame_shift=0.04, offset=10.0):
    ...     print(word.text, word.start, word.end)
    goedenavond 10.08 10.44
    20 10.56 10.72
    jaar 10.8 10.92
    """
    if len(pieces) != len(spans):
        raise ValueError(f"{len(pieces)} pieces but {len(spans)} spans")
    return [
        Word(
            text,
            _seconds(offset + spans[first][0] * frame_shift),
            _seconds(offset + (spans[last][1] + 1) * frame_shift),
        )
        for text, first, last in _group_pieces(pieces)
    ]


def _spread(lo, hi, weights):
    """Cuts ``[lo, hi]`` into consecutive intervals in proportion to ``weights``."""
    weights = [max(int(w), 1) for w in weights]
    total = sum(weights)
    bounds, running = [lo], 0
    for w in weights[:-1]:
        running += w
        bounds.append(lo + (hi - lo) * running / total)
    bounds.append(hi)
    return list(zip(bounds[:-1], bounds[1:]))


def align_words(log_probs, token_ids, tokenizer, frame_shift, offset=0.0, blank=BLANK_INDEX):
    """Timed words of a verbatim CTC hypothesis (token ids to words).

    Special ids (blank, ``<unk>``, ``<eos>`` and the task tokens, that is
    ids up to 4) and ids beyond the tokenizer's vocabulary are dropped, as in
    :func:`speechbrain_subtitle.tokenizer.ids_to_text` (for a
    :class:`~speechbrain_subtitle.tokenizer.TokenListTokenizer`: blank and
    ``<sos/eos>``; see :func:`~speechbrain_subtitle.tokenizer.content_ids`); the rest is aligned
    with :func:`ctc_forced_align` and grouped with :func:`word_times`.

    When the segment has too few frames for the tokens (which a hypothesis
    from an attention decoder can have), the words are spread over
    ``[offset, offset + T * frame_shift]`` in proportion to their numbers of
    characters instead, and a debug message is logged.

    Arguments
    ---------
    log_probs : torch.Tensor or numpy.ndarray
        CTC log-probabilities of the segment, shape ``(T, V)``.
    token_ids : sequence of int
        The verbatim hypothesis.
    tokenizer : sentencepiece.SentencePieceProcessor or TokenListTokenizer
        The tokenizer of the model (for ``id_to_piece``).
    frame_shift : float
        Seconds per frame.
    offset : float
        Time of frame 0, in seconds.
    blank : int
        The id of the CTC blank.

    Returns
    -------
    list of Word
        The words of the hypothesis with their times.

    Example
    -------
    >>> class Pieces:  # stands in for a SentencePieceProcessor
    ...     table = ["<blank>", "<unk>", "<eos>", "<verbatim>", "<subtitle>", "▁ja", "▁nee"]
    ...     def get_piece_size(self):
    ...         return len(self.table)
    ...     def id_to_piece(self, i):
    ...         return self.table[i]
    >>> lp = torch.full((4, 7), -9.0)
    >>> lp[0, 5] = lp[1, 0] = lp[2, 6] = lp[3, 6] = 0.0
    >>> [(w.text, w.start, w.end) for w in align_words(lp, [3, 5, 6, 2], Pieces(), 0.04)]
    [('ja', 0.0, 0.04), ('nee', 0.08, 0.16)]

    With one frame for two tokens, the words share it by length:

    >>> [(w.text, w.start, w.end) for w in align_words(lp[:1], [5, 6], Pieces(), 0.04)]
    [('ja', 0.0, 0.016), ('nee', 0.016, 0.04)]
    """
    if isinstance(token_ids, torch.Tensor):
        token_ids = token_ids.tolist()
    tokens = content_ids(tokenizer, token_ids)
    if not tokens:
        return []
    pieces = [tokenizer.id_to_piece(i) for i in tokens]
    num_frames = int(log_probs.shape[0])
    if num_frames < _min_frames(tokens):
        groups = _group_pieces(pieces)
        logger.debug(
            "Too few frames (%d) to align %d tokens; spreading %d words over the segment",
            num_frames,
            len(tokens),
            len(groups),
        )
        spans = _spread(offset, offset + num_frames * frame_shift, [len(g[0]) for g in groups])
        return [
            Word(text, _seconds(lo), _seconds(hi)) for (text, _, _), (lo, hi) in zip(groups, spans)
        ]
    spans = ctc_forced_align(log_probs, tokens, blank=blank)
    return word_times(pieces, spans, frame_shift, offset=offset)


# ---------------------------------------------------------------------------
# Step 2: from verbatim words to subtitle words
# ---------------------------------------------------------------------------

#: Normalisation for matching: as for scoring, but fillers stay words.
MATCH_OPTIONS = NormalizationOptions(fillers=frozenset())

# Edit costs in integer units, so that ties are exact.
_UNIT = 1000
# Longest run of forms on either side that may be matched as one string.
_MAX_MERGE = 6


@functools.lru_cache(maxsize=65536)
def _forms(text):
    return tuple(normalize_text(text, MATCH_OPTIONS).split())


def match_forms(text):
    """The normalised forms by which one displayed word is matched.

    The word is normalised as for scoring (:func:`normalize_text`), except
    that fillers are kept, and split on spaces: a number may give several
    forms, punctuation alone gives none.

    Arguments
    ---------
    text : str
        One word as displayed, with its casing and punctuation.

    Returns
    -------
    list of str
        Its forms, possibly none.

    Example
    -------
    >>> match_forms("Twintig,"), match_forms("20"), match_forms("...")
    (['twintig'], ['twintig'], [])
    >>> match_forms("2,5%")
    ['twee', 'komma', 'vijf', 'procent']
    >>> match_forms("Oost-Vlaanderen"), match_forms("euh")
    (['oost', 'vlaanderen'], ['euh'])
    """
    return list(_forms(text))


@functools.lru_cache(maxsize=262144)
def _substitution_cost(a, b):
    """Cost of putting form ``a`` in place of ``b``: 0 when equal, else (0, 1] units."""
    if a == b:
        return 0
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return max(1, round(_UNIT * (1.0 - ratio)))


def _merge_key(forms):
    """Concatenated forms without diacritics (``twee`` ``en`` ~ ``tweeën``)."""
    joined = unicodedata.normalize("NFD", "".join(forms))
    return "".join(ch for ch in joined if not unicodedata.combining(ch))


def _merges(sub_forms, verb_forms):
    """Runs of forms spelling the same string: ``{(i_end, j_end): [(k, l), ...]}``.

    ``sub_forms[i_end - k:i_end]`` and ``verb_forms[j_end - l:j_end]`` join
    to the same string, with ``k`` and ``l`` not both 1 (that is a match);
    the shortest runs come first.
    """
    by_key = {}
    for j in range(len(verb_forms)):
        for length in range(1, min(_MAX_MERGE, len(verb_forms) - j) + 1):
            by_key.setdefault(_merge_key(verb_forms[j : j + length]), []).append((j, length))
    merges = {}
    for i in range(len(sub_forms)):
        for k in range(1, min(_MAX_MERGE, len(sub_forms) - i) + 1):
            for j, length in by_key.get(_merge_key(sub_forms[i : i + k]), ()):
                if k > 1 or length > 1:
                    merges.setdefault((i + k, j + length), []).append((k, length))
    # Shortest runs first: "kost 21" against "kost een en twintig" is the
    # match "kost" plus the run "21" = "een en twintig", not one long run.
    for runs in merges.values():
        runs.sort(key=sum)
    return merges


def _align_forms(sub_forms, verb_forms):
    """Edit-distance alignment of two form sequences.

    Returns a list of ``(sub_start, sub_end, verb_start, verb_end)`` blocks
    (half-open index ranges, in order): single forms matched or substituted
    for each other, and runs joined by :func:`_merges`. Forms in no block
    were inserted or deleted.
    """
    n, m = len(sub_forms), len(verb_forms)
    cost = np.array(
        [[_substitution_cost(a, b) for b in verb_forms] for a in sub_forms], dtype=np.int64
    ).reshape(n, m)
    merges = _merges(sub_forms, verb_forms)
    merges_by_row = {}
    for (row, j), runs in merges.items():
        merges_by_row.setdefault(row, []).append((j, runs))
    steps = np.arange(m + 1, dtype=np.int64) * _UNIT
    dist = np.empty((n + 1, m + 1), dtype=np.int64)
    dist[0] = steps
    for i in range(1, n + 1):
        # Best way into each cell from row i - 1 ...
        into = dist[i - 1] + _UNIT
        np.minimum(into[1:], dist[i - 1, :-1] + cost[i - 1], out=into[1:])
        for j, runs in merges_by_row.get(i, ()):
            into[j] = min([into[j]] + [dist[i - k, j - length] for k, length in runs])
        # ... then deletions of verbatim forms along the row (running minimum).
        dist[i] = np.minimum.accumulate(into - steps) + steps

    blocks = []
    i, j = n, m
    while i > 0 or j > 0:
        here = dist[i, j]
        if i > 0 and j > 0 and here == dist[i - 1, j - 1] + cost[i - 1, j - 1]:
            blocks.append((i - 1, i, j - 1, j))
            i, j = i - 1, j - 1
            continue
        run = next((r for r in merges.get((i, j), ()) if here == dist[i - r[0], j - r[1]]), None)
        if run is not None:
            blocks.append((i - run[0], i, j - run[1], j))
            i, j = i - run[0], j - run[1]
        elif j > 0 and here == dist[i, j - 1] + _UNIT:
            j -= 1  # a verbatim form the subtitle leaves out
        else:
            i -= 1  # a subtitle form the speaker did not say
    blocks.reverse()
    return blocks


def _interpolate(times, weights, first, last, lo_bound, hi_bound):
    """Fills ``times[first:last]`` in the gap between the known neighbours."""
    lo = times[first - 1][1] if first > 0 else lo_bound
    hi = times[last][0] if last < len(times) else hi_bound
    lo = min(lo, hi)
    for index, span in zip(range(first, last), _spread(lo, hi, weights[first:last])):
        times[index] = span


def transfer_times(subtitle_words, verbatim_words, start=None, end=None):
    """Gives the subtitle words the times of the verbatim words.

    Both sides are written as matching forms (:func:`match_forms`). A
    verbatim word with several forms (``"oost-vlaanderen"``) shares its time
    among them in proportion to their lengths. The two form sequences are
    aligned by edit distance: a match costs 0, a substitution
    ``1 - difflib ratio`` of the two forms (so ``"da"`` goes with ``"dat"``
    rather than with an unrelated word), an insertion or a deletion 1. A run
    of up to six forms on one side that spells the same string as a run on
    the other side also costs 0 (ignoring diacritics): ``"21"``
    (``"eenentwintig"``) against ``"een en twintig"``, ``"1500"``
    (``"vijftienhonderd"``) against ``"vijftien honderd"``. A number said in
    other words (``"duizend vijfhonderd"`` for ``"1500"``) goes by
    substitution and interpolation instead.

    A subtitle form takes the time of the verbatim form it was matched with
    or substituted for (a run takes the time of the run it matched, shared by
    length), and a subtitle word the union of the times of its forms, with
    the speaker of the first verbatim word it got a time from. When the
    alignment could equally match one of several repeated verbatim words, it
    takes the last one, the one next to the following match (for ``"ik ik
    denk"`` the second ``"ik"``).

    Subtitle words without a counterpart (rephrased or added, or with no
    forms such as ``"-"``) share the gap between their neighbours' times in
    proportion to their numbers of characters; before the first and after
    the last timed word the gap reaches ``start`` and ``end``. A word added
    between two words spoken without a pause gets no duration. With no
    verbatim words at all, the whole of ``[start, end]`` is shared that way.

    Verbatim times are clipped to ``[start, end]``, and the result is made
    monotone even for verbatim words out of order.

    Time and memory grow with the product of the two numbers of words
    (about 1 ms for 40 words, 0.15 s for 1000), so call it per segment or
    per sentence rather than on an hour of text at once.

    Arguments
    ---------
    subtitle_words : sequence of str
        The displayed words of the subtitle, in order.
    verbatim_words : sequence of Word
        The timed verbatim words, in order (as from :func:`align_words`).
    start : float, optional
        Start of the stream; default the first verbatim start.
    end : float, optional
        End of the stream; default the last verbatim end.

    Returns
    -------
    list of Word
        One word per subtitle word, with the same text and in the same
        order; ``start <= end`` for each, starts non-decreasing, all times
        within ``[start, end]``.

    Raises
    ------
    ValueError
        When ``verbatim_words`` is empty and ``start`` or ``end`` is not
        given, or when ``start > end``.

    Example
    -------
    >>> verbatim = [Word("het", 0.0, 0.2), Word("kost", 0.2, 0.5), Word("een", 0.6, 0.8),
    ...             Word("en", 0.8, 0.9), Word("twintig", 0.9, 1.4), Word("euro", 1.5, 1.8)]
    >>> words = transfer_times(["Dat", "kost", "21", "euro."], verbatim)
    >>> [(w.text, w.start, w.end) for w in words]
    [('Dat', 0.0, 0.2), ('kost', 0.2, 0.5), ('21', 0.6, 1.4), ('euro.', 1.5, 1.8)]
    >>> [(w.text, w.start, w.end) for w in transfer_times(["Ja,", "goed."], [], 1.0, 2.0)]
    [('Ja,', 1.0, 1.375), ('goed.', 1.375, 2.0)]
    """
    subtitle_words = [str(w) for w in subtitle_words]
    verbatim_words = list(verbatim_words)
    if not verbatim_words and (start is None or end is None):
        raise ValueError("start and end are needed when there are no verbatim words")
    if start is None:
        start = min(w.start for w in verbatim_words)
    if end is None:
        end = max(w.end for w in verbatim_words)
    start, end = float(start), float(end)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")

    # Forms of both sides, each verbatim form with its share of its word's time.
    sub_forms, sub_owner = [], []
    for index, text in enumerate(subtitle_words):
        forms = _forms(text)
        sub_forms.extend(forms)
        sub_owner.extend([index] * len(forms))
    verb_forms, verb_times, verb_owner = [], [], []
    for index, word in enumerate(verbatim_words):
        forms = _forms(word.text)
        lo = min(max(float(word.start), start), end)
        hi = min(max(float(word.end), lo), end)
        verb_forms.extend(forms)
        verb_times.extend(_spread(lo, hi, [len(f) for f in forms]) if forms else [])
        verb_owner.extend([index] * len(forms))

    form_times = [None] * len(sub_forms)
    form_source = [None] * len(sub_forms)
    if sub_forms and verb_forms:
        for i0, i1, j0, j1 in _align_forms(sub_forms, verb_forms):
            lo, hi = verb_times[j0][0], verb_times[j1 - 1][1]
            shares = _spread(lo, hi, [len(f) for f in sub_forms[i0:i1]])
            form_times[i0:i1] = shares
            form_source[i0:i1] = [verb_owner[j0]] * (i1 - i0)

    times = [None] * len(subtitle_words)
    speakers = [None] * len(subtitle_words)
    for form, span in enumerate(form_times):
        if span is None:
            continue
        owner = sub_owner[form]
        if times[owner] is None:
            times[owner] = span
            speakers[owner] = verbatim_words[form_source[form]].speaker
        else:
            times[owner] = (min(times[owner][0], span[0]), max(times[owner][1], span[1]))

    weights = [len(text) for text in subtitle_words]
    index = 0
    while index < len(times):
        if times[index] is not None:
            index += 1
            continue
        gap_end = index
        while gap_end < len(times) and times[gap_end] is None:
            gap_end += 1
        _interpolate(times, weights, index, gap_end, start, end)
        index = gap_end

    # Clip, make monotone, round; clipping and rounding keep the order.
    def clip(value):
        return min(max(value, start), end)

    words, previous = [], start
    for text, (lo, hi), speaker in zip(subtitle_words, times, speakers):
        lo = clip(max(lo, previous))
        hi = clip(max(hi, lo))
        previous = lo
        words.append(Word(text, clip(_seconds(lo)), clip(_seconds(hi)), speaker))
    return words
