"""Turning timed subtitle words into cues, and writing them as SRT, WebVTT or text.

The subtitle branch of the model gives the words of the subtitle text; with a
time for each word (from an aligner or the decoder) they become a list of
:class:`Word`. This module groups them into :class:`Cue` objects that follow
the usual broadcast conventions (:class:`CueConstraints`): at most two lines
of 42 characters, a reading speed of at most 17 characters per second, cues
shown between 1 s and 7 s, on the frames of a 25 fps video and at least two
frames apart.

How the words are grouped (:func:`split_into_cues`)
---------------------------------------------------
Every way of cutting the word stream into cues that fit the constraints is
scored and the cheapest one is kept (dynamic programming, so the choice is
the best over the whole stream, not greedy). A cut costs least at a sentence
end, a long pause or a change of speaker; more after a comma, semicolon or
colon; more before one of the :data:`DUTCH_BREAK_WORDS` (conjunctions and
prepositions); most anywhere else, and it is penalised heavily inside what
looks like a name ("Jan Peeters", "Den Haag"). A cut inside a sentence that
would fit one cue (its lines, its duration, its reading speed; a pause
inside it does not count) costs much more, so such a sentence stays whole; a
pause inside a sentence makes a cut cheaper only where the sentence has to
be cut anyway. Every cue costs a little, and a cue of one word (or of two
words that are not a whole sentence) costs more, so short fragments are
merged with a neighbour whenever the limits allow. A cue that cannot be
shown long enough for its text costs in proportion to the missing reading
time. A cue that ends with the start of a new sentence, or a two-line cue
whose lines do not break where a sentence inside it ends, costs extra.
Inside a cue the lines are broken by the same preferences plus balanced
line lengths (:func:`break_lines`).

Words are never split. The one case where a limit is knowingly exceeded is
a single word longer than a line: it becomes a cue of its own, on one line,
and :func:`check_cues` reports it.

Timing
------
A cue starts at its first word and ends at its last word; when that is too
short for ``min_duration`` or ``max_cps`` it is kept up longer, into the
silence that follows (at most ``max_lead`` past the last word, and up to
``min_gap`` before the next cue), and when that is not enough it is shown
earlier, up to ``max_lead`` before its first word, and where the cue before
is up longer than its own text needs, that one ends earlier to make room
(never before its last word starts). As a last resort the next cue starts
up to ``max_delay`` after its first word, when its own text keeps the time
it needs. When speech runs on with no room for any of this, the cue stays
too fast and :func:`check_cues` reports it; words are never dropped. A
cue is therefore never up longer than its words plus the reading time its
text needs. Cues are at least ``min_gap`` apart: when the next word
follows without a pause, the earlier cue ends ``min_gap`` before it, that
is slightly before its own last word ends.

With ``fps`` (25 by default) all of this is done in whole frames: a word
starts on the frame at or before its start and ends on the frame at or
after its end, and the gap is rounded up to whole frames (2 at 25 fps).
Cue times are then frame times rounded to the millisecond; with ``fps=0``
they are whole milliseconds.

Writers
-------
:func:`to_srt`, :func:`to_vtt` and :func:`to_text` return the text of a
file; :func:`write_srt` and :func:`write_vtt` write it atomically.

Example
-------
>>> words = [Word("Goedenavond,", 0.5, 1.1), Word("dit", 1.2, 1.4),
...          Word("is", 1.45, 1.6), Word("het", 1.65, 1.8), Word("nieuws.", 1.85, 2.3)]
>>> cues = split_into_cues(words)
>>> cues
[Cue(start=0.48, end=2.32, lines=['Goedenavond, dit is het nieuws.'])]
>>> check_cues(cues)
[]
>>> print(to_srt(cues), end="")
1
00:00:00,480 --> 00:00:02,320
Goedenavond, dit is het nieuws.
<BLANKLINE>

Authors
 * speechbrain_subtitle contributors
"""

from __future__ import annotations

import math
import os
import secrets
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import srt
import webvtt

__all__ = [
    "DUTCH_BREAK_WORDS",
    "Word",
    "Cue",
    "CueConstraints",
    "break_lines",
    "split_into_cues",
    "check_cues",
    "to_srt",
    "to_vtt",
    "to_text",
    "to_ass",
    "to_ttml",
    "write_srt",
    "write_vtt",
]

#: Dutch conjunctions, relative pronouns and prepositions: a line or a cue
#: preferably starts with one of them rather than ending with it.
DUTCH_BREAK_WORDS = frozenset(
    """
    en of maar want dus noch ofwel zowel
    omdat dat die als dan wanneer terwijl zodat hoewel toen nadat voordat
    totdat zoals alsof doordat indien mits tenzij zodra sinds opdat
    wat wie welke waar waarom hoe waardoor waarin waarop waarmee waarvan
    met voor naar van in op bij door over aan om tot zonder uit onder tegen
    tussen na tijdens vanaf volgens achter binnen buiten langs rond naast
    boven via per behalve ondanks wegens vanwege richting
    """.split()
)

# Words that should not end a line or a cue either (besides the break words).
_ARTICLES = frozenset({"de", "het", "een", "'t", "'n"})

# Lower-case parts of names: "Jan de Vries", "Ursula von der Leyen".
_NAME_PARTICLES = frozenset(
    {"van", "de", "der", "den", "ter", "ten", "te", "'t", "von", "vom", "zu", "la", "le", "du",
     "da", "di", "del", "della", "dos", "das", "do", "el", "al", "bin", "ibn"}
)  # fmt: skip

_SENTENCE_END = ".!?…"
_CLAUSE_END = ",;:–—"
_CLOSERS = "\"'”’»)]}"
_OPENERS = "\"'“‘«([{¿¡"

# Costs of a line break (a cut between two cues costs _CUE_CUT_FACTOR times as
# much). The steps between the kinds of break are larger than the largest
# balance cost of two lines (a little over _BALANCE), so balance only decides
# between breaks of the same kind.
_COST_SENTENCE = 0.0
_COST_CLAUSE = 0.5
_COST_BEFORE_BREAK_WORD = 3.0
_COST_ELSEWHERE = 6.0
_COST_DANGLING = 3.0  # a line ending with an article, conjunction or preposition
_COST_IN_NAME = 15.0
_COST_PAUSE = 1.0  # at most this much at a long pause
# Line balance: weight of the distance of each line's length from the target
# (relative to the line length), and how many characters each line's target
# grows from top to bottom (a slightly bottom-heavy pyramid).
_BALANCE = 2.0
_PYRAMID = 1.0
# Cue-level costs.
_CUE_CUT_FACTOR = 2.5
_COST_PER_CUE = 2.0
_COST_LAYOUT_FACTOR = 1.0
_COST_MIXED_SENTENCES = 3.0  # a sentence ends inside a line of a two-line cue
_COST_PER_MISSING_SECOND = 20.0
_COST_ORPHAN = 12.0  # a cue that ends with the start of a new sentence
_COST_SPLIT_SENTENCE = 8.0  # a cut inside a sentence that would fit one cue
_COST_ONE_WORD = 8.0  # a cue of one word (half when it is a whole sentence)
_COST_TWO_WORDS = 3.0  # a cue of two words that are not a whole sentence


@dataclass
class Word:
    """One timed word of the subtitle text.

    Arguments
    ---------
    text : str
        The word as it is shown, with its casing and punctuation
        (``"Goedenavond,"``).
    start : float
        When the word starts, in seconds.
    end : float
        When the word ends, in seconds.
    speaker : str, optional
        Who says it. ``None`` means unknown: the word belongs to the speaker
        of the word before it.

    Example
    -------
    >>> Word("nieuws.", 1.85, 2.3)
    Word(text='nieuws.', start=1.85, end=2.3, speaker=None)
    """

    text: str
    start: float
    end: float
    speaker: str | None = None


@dataclass
class Cue:
    """One subtitle: the lines shown together from ``start`` to ``end``.

    Arguments
    ---------
    start : float
        When the cue appears, in seconds.
    end : float
        When it disappears, in seconds.
    lines : list of str
        The lines of text, top to bottom.

    Example
    -------
    >>> cue = Cue(1.0, 3.5, ["Dit is de eerste regel", "en dit de tweede."])
    >>> cue.text
    'Dit is de eerste regel en dit de tweede.'
    >>> cue.duration
    2.5
    """

    start: float
    end: float
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The lines joined by a space."""
        return " ".join(self.lines)

    @property
    def duration(self) -> float:
        """How long the cue is shown, in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class CueConstraints:
    """Limits a cue should keep to (defaults: common broadcast practice).

    Arguments
    ---------
    max_chars_per_line : int
        Longest line, in characters.
    max_lines : int
        Most lines in one cue.
    max_cps : float
        Highest reading speed, in characters per second, counting every
        character of the lines (spaces and the dashes of a dialogue too, but
        not the line break).
    min_duration : float
        Shortest time a cue is shown, in seconds.
    max_duration : float
        Longest time a cue is shown, in seconds.
    min_gap : float
        Shortest time between the end of a cue and the start of the next,
        in seconds (2 frames at 25 fps by default); with ``fps`` it is
        rounded up to whole frames.
    max_lead : float
        How long text may be shown before its first word starts or after
        its last word ends, in seconds.
    max_delay : float
        How long a cue may start after its first word, in seconds, to give
        the cue before the time ``min_duration`` or ``max_cps`` needs when
        nothing else does (5 frames at 25 fps by default; 0 = never).
    fps : float
        Frame rate of the video the subtitles go with: cue times are put
        on its frames (frame ``k`` at ``k / fps`` s, rounded to the
        millisecond) and gaps are whole frames. 0 turns this off (times
        are whole milliseconds).
    word_seconds_per_char : float
        Longest time a word is taken to be spoken: this many seconds per
        character, at least :data:`MIN_WORD_SECONDS`. A word timed longer
        (a CTC alignment holds a token across a pause) counts as ending
        there, so its cue does not stay on screen through the pause
        (:func:`spoken_end`). 0 turns this off.

    Raises
    ------
    ValueError
        If a value is not a number, not finite, out of range, or
        ``min_duration`` exceeds ``max_duration``.

    Example
    -------
    >>> CueConstraints(max_chars_per_line=37).max_chars_per_line
    37
    >>> CueConstraints(max_lines=0)
    Traceback (most recent call last):
    ...
    ValueError: max_lines must be an integer >= 1, got 0
    """

    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cps: float = 17.0
    min_duration: float = 1.0
    max_duration: float = 7.0
    min_gap: float = 2 / 25
    max_lead: float = 1.5
    max_delay: float = 0.2
    fps: float = 25.0
    word_seconds_per_char: float = 0.15

    def __post_init__(self):
        for name in ("max_chars_per_line", "max_lines"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        numbers = ("max_cps", "min_duration", "max_duration", "min_gap", "max_lead", "max_delay")
        numbers += ("fps",)
        for name in numbers + ("word_seconds_per_char",):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_cps <= 0:
            raise ValueError(f"max_cps must be > 0, got {self.max_cps!r}")
        if 0 < self.fps < 1 or self.fps > 1000:
            raise ValueError(f"fps must be 0 (off) or between 1 and 1000, got {self.fps!r}")
        if self.max_duration < 0.001:
            raise ValueError(f"max_duration must be at least 1 ms, got {self.max_duration!r}")
        if self.min_duration > self.max_duration:
            raise ValueError(
                f"min_duration ({self.min_duration}) must not exceed "
                f"max_duration ({self.max_duration})"
            )


#: A pause longer than this (seconds) after a sentence ends a cue
#: (:func:`split_into_cues`'s default).
MAX_PAUSE = 2.0

#: Shortest time :func:`spoken_end` allows a word, in seconds.
MIN_WORD_SECONDS = 0.5


def spoken_end(text, start, end, constraints):
    """Where a word is taken to end for timing cues: ``end``, or earlier when
    the word is timed longer than ``constraints.word_seconds_per_char`` per
    character (at least :data:`MIN_WORD_SECONDS`).

    >>> spoken_end("gaan", 1.0, 3.7, CueConstraints())  # held across a pause
    1.6
    >>> spoken_end("gaan", 1.0, 1.3, CueConstraints())
    1.3
    >>> spoken_end("gaan", 1.0, 3.7, CueConstraints(word_seconds_per_char=0))
    3.7
    """
    per_char = constraints.word_seconds_per_char
    if not per_char:
        return end
    longest = max(MIN_WORD_SECONDS, per_char * len(str(text)))
    return min(end, round(start + longest, 6))


# ---------------------------------------------------------------------------
# Word classes
# ---------------------------------------------------------------------------


def _ends_sentence(text: str) -> bool:
    """Whether a word ends a sentence (``nieuws.``, ``"Echt?"``)."""
    core = text.rstrip(_CLOSERS)
    return bool(core) and core[-1] in _SENTENCE_END


def _ends_clause(text: str) -> bool:
    """Whether a word ends with a comma, semicolon, colon or dash."""
    core = text.rstrip(_CLOSERS)
    return bool(core) and core[-1] in _CLAUSE_END


def _ends_with_punctuation(text: str) -> bool:
    """Whether a word ends a sentence or a clause."""
    return _ends_sentence(text) or _ends_clause(text)


def _bare(text: str) -> str:
    """The word in lower case without surrounding quotes or punctuation.

    Example
    -------
    >>> _bare("(Maar"), _bare("nieuws.»"), _bare("'t")
    ('maar', 'nieuws', "'t")
    """
    bare = text.strip(_CLOSERS + _OPENERS + _SENTENCE_END + _CLAUSE_END + "-").lower()
    if bare in ("t", "n", "s") and text.lower().startswith(("'" + bare, "’" + bare)):
        return "'" + bare  # the short forms 't, 'n and 's
    return bare


def _is_capitalized(text: str) -> bool:
    """Whether the first letter of a word is upper case."""
    core = text.lstrip(_OPENERS)
    return bool(core) and core[0].isupper()


def _name_links(texts: Sequence[str]) -> list:
    """Marks the places between two words that lie inside a name.

    A name is approximated as capitalized words, possibly joined by
    lower-case particles ("Jan Peeters", "Jan de Vries", "Den Haag"), with
    no punctuation in between; a capital after a sentence end starts a
    sentence, so it does not continue a name.

    Arguments
    ---------
    texts : sequence of str
        The words.

    Returns
    -------
    list of bool
        Entry ``k`` is true when words ``k`` and ``k + 1`` belong to one name.

    Example
    -------
    >>> _name_links(["Volgens", "Jan", "de", "Vries", "is", "het", "goed."])
    [True, True, True, False, False, False]
    """
    n = len(texts)
    links = [False] * max(n - 1, 0)
    for a in range(n - 1):
        if not _is_capitalized(texts[a]) or _ends_with_punctuation(texts[a]):
            continue
        b = a + 1
        while (
            b < n
            and b - a <= 3
            and texts[b].islower()
            and _bare(texts[b]) in _NAME_PARTICLES
            and not _ends_with_punctuation(texts[b])
        ):
            b += 1
        if b < n and b - a <= 3 and _is_capitalized(texts[b]):
            for k in range(a, b):
                links[k] = True
    return links


def _break_costs(texts: Sequence[str], break_words) -> list:
    """The cost of a line break between each two consecutive words.

    Arguments
    ---------
    texts : sequence of str
        The words.
    break_words : collection of str
        Lower-case words a line preferably starts with.

    Returns
    -------
    list of float
        Entry ``k`` is the cost of breaking between word ``k`` and ``k + 1``.

    Example
    -------
    >>> _break_costs(["Ja,", "dat", "klopt", "met", "Jan", "Peeters."], DUTCH_BREAK_WORDS)
    [0.5, 9.0, 3.0, 9.0, 21.0]
    """
    links = _name_links(texts)
    costs = []
    for k in range(len(texts) - 1):
        before, after = texts[k], texts[k + 1]
        if _ends_sentence(before):
            cost = _COST_SENTENCE
        elif _ends_clause(before):
            cost = _COST_CLAUSE
        else:
            if _bare(after) in break_words:
                cost = _COST_BEFORE_BREAK_WORD
            else:
                cost = _COST_ELSEWHERE
            bare_before = _bare(before)
            if bare_before in break_words or bare_before in _ARTICLES:
                cost += _COST_DANGLING
        if links[k]:
            cost += _COST_IN_NAME
        costs.append(cost)
    return costs


# ---------------------------------------------------------------------------
# Line breaking
# ---------------------------------------------------------------------------


def _greedy_lines(lengths: Sequence[int], max_chars: int) -> list:
    """Fills lines greedily; returns the number of words on each line."""
    counts = []
    width = None
    for length in lengths:
        if width is not None and width + 1 + length <= max_chars:
            width += 1 + length
            counts[-1] += 1
        else:
            width = length
            counts.append(1)
    return counts


def _best_layout(lengths: Sequence[int], costs: Sequence[float], max_chars: int, max_lines: int):
    """Finds the cheapest way to put words on as few lines as possible.

    Arguments
    ---------
    lengths : sequence of int
        The length of each word.
    costs : sequence of float
        The cost of a break after each word but the last.
    max_chars : int
        Longest line.
    max_lines : int
        Most lines.

    Returns
    -------
    tuple or None
        ``(cost, starts)``, with ``starts`` the index of the first word of
        every line but the first, or ``None`` when the words do not fit.

    Example
    -------
    >>> _best_layout([3, 3, 3, 3], [4.0, 0.0, 4.0], max_chars=8, max_lines=2)
    (0.25, [2])
    >>> _best_layout([3, 3, 3, 3], [4.0, 0.0, 4.0], max_chars=6, max_lines=2) is None
    True
    """
    n = len(lengths)
    if n == 0:
        return 0.0, []
    if sum(lengths) + n - 1 <= max_chars:
        return 0.0, []
    if max(lengths) > max_chars:
        return None
    n_lines = len(_greedy_lines(lengths, max_chars))
    if n_lines > max_lines:
        return None
    prefix = [0]
    for length in lengths:
        prefix.append(prefix[-1] + length)
    average = (prefix[-1] + n - n_lines) / n_lines
    inf = math.inf
    best = [[inf] * (n + 1) for _ in range(n_lines + 1)]
    back = [[0] * (n + 1) for _ in range(n_lines + 1)]
    best[0][0] = 0.0
    for line in range(1, n_lines + 1):
        target = average + _PYRAMID * (line - 1 - (n_lines - 1) / 2)
        for end in range(line, n + 1):
            for start in range(end - 1, line - 2, -1):
                width = prefix[end] - prefix[start] + end - start - 1
                if width > max_chars:
                    break
                previous = best[line - 1][start]
                if previous == inf:
                    continue
                cost = previous + _BALANCE * abs(width - target) / max_chars
                if start > 0:
                    cost += costs[start - 1]
                if cost < best[line][end]:
                    best[line][end] = cost
                    back[line][end] = start
    if best[n_lines][n] == inf:
        return None
    starts = []
    end = n
    for line in range(n_lines, 1, -1):
        end = back[line][end]
        starts.append(end)
    return best[n_lines][n], starts[::-1]


def _join_lines(texts: Sequence[str], starts: Sequence[int]) -> list:
    """Joins words into lines that start at the given word indices."""
    bounds = [0, *starts, len(texts)]
    return [" ".join(texts[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def break_lines(
    text_words: Sequence[str],
    max_chars: int = 42,
    max_lines: int = 2,
    break_words: Collection[str] = DUTCH_BREAK_WORDS,
) -> list[str]:
    """Breaks the words of one cue into lines.

    Text that fits on one line stays on one line. Otherwise it is put on as
    few lines as possible, each at most ``max_chars`` long, choosing the
    breaks by, in order of preference: after a sentence end, after a comma,
    semicolon, colon or dash, before a break word (a conjunction or
    preposition), and balanced line lengths (with the lower line slightly
    longer). A break between two capitalized words (an approximate name,
    such as "Jan Peeters"), or around a lower-case particle inside one
    ("Jan de Vries"), is avoided whenever another break fits. Words are
    never split.

    Arguments
    ---------
    text_words : sequence of str
        The words, in order.
    max_chars : int
        Longest line, in characters.
    max_lines : int
        Most lines.
    break_words : collection of str
        Lower-case words a line preferably starts with.

    Returns
    -------
    list of str
        The lines. When the words cannot fit (too much text, or a word longer
        than ``max_chars``), lines are filled greedily instead: then there
        may be more than ``max_lines`` lines, and a word longer than
        ``max_chars`` gets a line of its own that exceeds the limit.

    Raises
    ------
    ValueError
        If ``max_chars`` or ``max_lines`` is below 1.

    Example
    -------
    >>> break_lines("Het kabinet wil dat Jan Peeters voorzitter wordt van de commissie".split())
    ['Het kabinet wil dat Jan Peeters', 'voorzitter wordt van de commissie']
    >>> break_lines("De regering zegt dat het geld er komt, maar niet wanneer".split())
    ['De regering zegt dat het geld er komt,', 'maar niet wanneer']
    >>> break_lines(["Kort."])
    ['Kort.']
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be an integer >= 1, got {max_chars!r}")
    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1:
        raise ValueError(f"max_lines must be an integer >= 1, got {max_lines!r}")
    texts = [" ".join(str(word).split()) for word in text_words]
    texts = [text for text in texts if text]
    if not texts:
        return []
    lengths = [len(text) for text in texts]
    layout = _best_layout(lengths, _break_costs(texts, break_words), max_chars, max_lines)
    if layout is not None:
        return _join_lines(texts, layout[1])
    starts = []
    for count in _greedy_lines(lengths, max_chars)[:-1]:
        starts.append((starts[-1] if starts else 0) + count)
    return _join_lines(texts, starts)


# ---------------------------------------------------------------------------
# Cue splitting
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """The time grid cues are timed on: whole milliseconds or video frames.

    Times inside the splitter are whole *ticks* of this grid; a tick is one
    millisecond (``per_second`` 1000) or one frame (``per_second`` = fps).

    Example
    -------
    >>> grid = _Grid(25)
    >>> grid.floor(1.03), grid.ceil(1.03), grid.seconds(26)
    (25, 26, 1.04)
    """

    per_second: float

    @classmethod
    def of(cls, constraints: CueConstraints) -> _Grid:
        return cls(float(constraints.fps) if constraints.fps else 1000.0)

    def floor(self, seconds: float) -> int:
        """Seconds to whole ticks, rounded down (tolerating float noise)."""
        return math.floor(seconds * self.per_second + 1e-6)

    def ceil(self, seconds: float) -> int:
        """Seconds to whole ticks, rounded up (tolerating float noise)."""
        return math.ceil(seconds * self.per_second - 1e-6)

    def seconds(self, tick: int) -> float:
        """A tick as seconds, rounded to the millisecond."""
        return round(tick * 1000 / self.per_second) / 1000


@dataclass
class _Stream:
    """The words prepared for splitting: cleaned text, times in milliseconds."""

    texts: list
    starts: list
    ends: list
    speakers: list


def _prepare(words: Iterable, grid: _Grid = _Grid(1000.0), constraints=None) -> _Stream:
    """Cleans the words and converts their times to whole ticks of ``grid``.

    Empty words are dropped and white space inside a word becomes one space
    (the word stays one unit). Starts are made non-decreasing and every end
    at least its start, so words that come out of order keep their order.
    A word whose speaker is ``None`` takes the speaker of the word before.
    With ``constraints``, a word ends no later than :func:`spoken_end`.
    """
    stream = _Stream([], [], [], [])
    speaker = None
    for word in words:
        text = " ".join(str(word.text).split())
        start, end = word.start, word.end
        for value in (start, end):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"word {text!r} has a time that is not a number: {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"word {text!r} has an invalid time: {value!r}")
        if not text:
            continue
        if constraints is not None:
            end = spoken_end(text, start, end, constraints)
        start_ms = grid.floor(start)
        if stream.starts:
            start_ms = max(start_ms, stream.starts[-1])
        end_ms = max(grid.ceil(end), start_ms)
        if getattr(word, "speaker", None) is not None:
            speaker = word.speaker
        stream.texts.append(text)
        stream.starts.append(start_ms)
        stream.ends.append(end_ms)
        stream.speakers.append(speaker)
    return stream


def _cue_layout(stream: _Stream, costs, first: int, last: int, constraints: CueConstraints):
    """Lays out words ``first`` to ``last - 1`` as one cue.

    Returns ``(cost, lines, starts)``, with ``starts`` the indices (counted
    from ``first``) of the words that start the second and later lines, or
    ``None`` when they do not fit. One change of speaker is allowed when
    there are at least two lines: each speaker then gets one line that
    starts with "- ".
    """
    texts = stream.texts[first:last]
    max_chars = constraints.max_chars_per_line
    changes = [k for k in range(first + 1, last) if stream.speakers[k] != stream.speakers[k - 1]]
    if not changes:
        lengths = [len(text) for text in texts]
        layout = _best_layout(lengths, costs[first : last - 1], max_chars, constraints.max_lines)
        if layout is None:
            return None
        return layout[0], _join_lines(texts, layout[1]), layout[1]
    if len(changes) > 1 or constraints.max_lines < 2:
        return None
    split = changes[0] - first
    lines = ["- " + " ".join(texts[:split]), "- " + " ".join(texts[split:])]
    if max(len(line) for line in lines) > max_chars:
        return None
    return 0.0, lines, [split]


@dataclass
class _Limits:
    """The constraints in whole ticks (milliseconds or frames, see :class:`_Grid`)."""

    min_duration: int
    max_duration: int
    min_gap: int
    max_lead: int
    max_cps: float
    per_second: float = 1000.0
    max_delay: int = 0

    @classmethod
    def of(cls, constraints: CueConstraints, grid: _Grid = _Grid(1000.0)) -> _Limits:
        max_duration = max(grid.floor(constraints.max_duration), 1)
        return cls(
            min_duration=min(grid.ceil(constraints.min_duration), max_duration),
            max_duration=max_duration,
            min_gap=grid.ceil(constraints.min_gap),
            max_lead=grid.floor(constraints.max_lead),
            max_cps=constraints.max_cps,
            per_second=grid.per_second,
            max_delay=grid.floor(constraints.max_delay),
        )

    def reading(self, chars: int) -> int:
        """How long this many characters take to read at ``max_cps`` (ticks)."""
        return math.ceil(chars * self.per_second / self.max_cps - 1e-6)

    def needed(self, chars: int) -> int:
        """How long a cue with this many characters should be shown (ticks)."""
        return min(max(self.min_duration, self.reading(chars)), self.max_duration)


def split_into_cues(
    words: Iterable[Word],
    constraints: CueConstraints = CueConstraints(),
    conjunctions: Collection[str] = DUTCH_BREAK_WORDS,
    *,
    long_pause: float = 0.7,
    max_pause: float | None = MAX_PAUSE,
) -> list[Cue]:
    """Groups timed words into subtitle cues.

    The cut of the word stream into cues is chosen to be the cheapest over
    the whole stream (see the module documentation): a sentence that fits
    one cue stays in one cue; cues end preferably at a sentence end or a
    change of speaker, then after a comma, semicolon or colon or at a pause
    of at least ``long_pause``, then before one of ``conjunctions``; never
    inside what looks like a name when there is a choice; one-word cues
    only when nothing else fits. Every cue fits ``max_lines`` lines of
    ``max_chars_per_line`` characters and its words span at most
    ``max_duration``. A pause longer than ``max_pause`` after a sentence
    always ends a cue; inside a sentence only the limits cut.

    A cue is shown from its first word to its last, kept up longer (up to
    ``max_lead`` into the following silence) or shown earlier (up to
    ``max_lead`` before its first word) where needed for ``min_duration``
    and ``max_cps``, and ends at least ``min_gap`` before the next cue
    starts (when the next word follows without a pause, that is slightly
    before its own last word ends). Fast speech may leave a cue too fast or
    too short; :func:`check_cues` reports that. All words are kept, in
    order, and never split: a single word longer than a line becomes a cue
    of its own, exceeding the line limit, and a single word spoken longer
    than ``max_duration`` is shown for ``max_duration`` only. Order and
    ``min_gap`` always hold: where word times leave no room for them (words
    of two cues that overlap, or a cue whose words last less than
    ``min_gap`` followed at once by the next word), the earlier cue is cut
    short, down to 1 ms (one frame with ``fps``), and the next one starts a
    little after its first word. With ``constraints.fps`` every time is on
    a frame (see the module documentation).

    When the speaker changes inside a cue, the cue has two lines, one per
    speaker, each starting with "- ". A cue never holds more than one
    change of speaker.

    Arguments
    ---------
    words : iterable of Word
        The words in order (any objects with ``text``, ``start``, ``end``
        and optionally ``speaker`` attributes). Words with empty text are
        skipped; starts that go backwards are moved up to the previous
        start, and ends before their start to the start.
    constraints : CueConstraints
        The limits to keep to.
    conjunctions : collection of str
        Lower-case words a cue or line preferably starts with.
    long_pause : float
        A pause of at least this many seconds is a good place to end a cue.
    max_pause : float, optional
        A pause longer than this many seconds after a sentence (or at a
        change of speaker) always ends a cue (``None``: only the limits do).
        Inside a sentence a pause never forces a cut: only the limits do.

    Returns
    -------
    list of Cue
        The cues, in order; times are whole milliseconds, frame times with
        ``constraints.fps``.

    Raises
    ------
    ValueError
        If a word time is not a finite number >= 0, or ``long_pause`` or
        ``max_pause`` is not.

    Example
    -------
    >>> words = [Word(w, 0.4 * k, 0.4 * k + 0.3) for k, w in enumerate(
    ...     "Het regent vandaag in het hele land, maar morgen wordt het droog en zonnig "
    ...     "met temperaturen tot twintig graden.".split())]
    >>> for cue in split_into_cues(words):
    ...     print(cue.start, cue.end, cue.lines)
    0.0 2.72 ['Het regent vandaag in het hele land,']
    2.8 7.52 ['maar morgen wordt het droog en zonnig', 'met temperaturen tot twintig graden.']
    >>> dialogue = [Word("Kom", 0.0, 0.3, "A"), Word("je?", 0.3, 0.6, "A"),
    ...             Word("Ja.", 1.0, 1.4, "B")]
    >>> split_into_cues(dialogue)[0].lines
    ['- Kom je?', '- Ja.']
    """
    for name, value in (("long_pause", long_pause), ("max_pause", max_pause)):
        if value is None and name == "max_pause":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    grid = _Grid.of(constraints)
    stream = _prepare(words, grid, constraints)
    if not stream.texts:
        return []
    splitter = _Splitter(stream, constraints, conjunctions, long_pause, max_pause, grid)
    return _time_cues(stream, splitter.best_groups(), splitter.limits, grid)


class _Splitter:
    """Scores the possible cues of a word stream and finds the cheapest cut.

    Arguments
    ---------
    stream : _Stream
        The prepared words.
    constraints : CueConstraints
        The limits.
    conjunctions : collection of str
        Lower-case words a cue or line preferably starts with.
    long_pause : float
        Seconds of silence that make a good cut.
    max_pause : float or None
        Seconds of silence that always make a cut after a sentence or at a
        change of speaker.
    grid : _Grid
        The time grid of the stream (milliseconds or frames).
    """

    def __init__(self, stream, constraints, conjunctions, long_pause, max_pause, grid=None):
        grid = grid or _Grid(1000.0)
        self.stream = stream
        self.constraints = constraints
        self.limits = _Limits.of(constraints, grid)
        self.max_pause = math.inf if max_pause is None else grid.floor(max_pause)
        n = len(stream.texts)
        self.n = n
        # The pause after each word, measured from the latest end so far.
        reach = []
        for end in stream.ends:
            reach.append(max(end, reach[-1]) if reach else end)
        self.pauses = [stream.starts[k + 1] - reach[k] for k in range(n - 1)]
        self.sentence_ends = [_ends_sentence(text) for text in stream.texts]
        # Where a pause above max_pause forces a cut: after a sentence or at a change
        # of speaker (inside a sentence only the limits cut).
        self.hard_pause = [
            self.pauses[k] > self.max_pause
            and (self.sentence_ends[k] or stream.speakers[k + 1] != stream.speakers[k])
            for k in range(n - 1)
        ]
        self.line_costs = _break_costs(stream.texts, conjunctions)
        for k, pause in enumerate(self.pauses):
            if pause >= grid.ceil(long_pause):
                self.line_costs[k] = min(self.line_costs[k], _COST_PAUSE)
        self.cut_costs = [_CUE_CUT_FACTOR * cost for cost in self.line_costs]
        for k in range(n - 1):
            if stream.speakers[k + 1] != stream.speakers[k]:
                self.cut_costs[k] = 0.0
        self.cut_costs.append(0.0)  # the end of the stream
        self.max_text = constraints.max_lines * (constraints.max_chars_per_line + 1) - 1
        # A sentence that fits one cue should be one: cutting inside it costs extra.
        for first, last in self.sentences():
            if self.fits_one_cue(first, last):
                for k in range(first, last - 1):
                    self.cut_costs[k] += _COST_SPLIT_SENTENCE

    def sentences(self):
        """The ``(first, last)`` word ranges of the sentences (a change of speaker ends one)."""
        first = 0
        for k in range(self.n):
            if (
                k + 1 == self.n
                or self.sentence_ends[k]
                or self.stream.speakers[k + 1] != self.stream.speakers[k]
            ):
                yield first, k + 1
                first = k + 1

    def fits_one_cue(self, first, last):
        """Whether words ``first`` to ``last - 1`` can be one cue within every limit.

        The text must fit the lines, the words must span at most
        ``max_duration`` with no pause above ``max_pause`` after a sentence or
        at a change of speaker, and the cue must
        be readable at ``max_cps`` when it stays up ``max_lead`` after its
        last word.
        """
        stream, limits = self.stream, self.limits
        if any(self.hard_pause[k] for k in range(first, last - 1)):
            return False
        span = max(stream.ends[first:last]) - stream.starts[first]
        if span > limits.max_duration:
            return False
        layout = _cue_layout(stream, self.line_costs, first, last, self.constraints)
        if layout is None:
            return False
        chars = sum(len(line) for line in layout[1])
        return limits.reading(chars) <= min(span + limits.max_lead, limits.max_duration)

    def candidates(self, last):
        """The first words of the cues that may end with word ``last - 1``.

        Going back from ``last - 1``, a cue stops growing at a pause longer
        than ``max_pause`` after a sentence or at a change of speaker, when
        its text cannot fit ``max_lines`` lines or when its words span more
        than ``max_duration``.
        """
        stream = self.stream
        chars = len(stream.texts[last - 1])
        span_end = stream.ends[last - 1]
        yield last - 1
        for first in range(last - 2, -1, -1):
            chars += len(stream.texts[first]) + 1
            span_end = max(span_end, stream.ends[first])
            if (
                self.hard_pause[first]
                or chars > self.max_text
                or span_end - stream.starts[first] > self.limits.max_duration
            ):
                return
            yield first

    def cost(self, first, last):
        """The cost of one cue of words ``first`` to ``last - 1``.

        Returns ``(cost, lines)``, or ``None`` when the words do not fit.
        """
        stream, limits = self.stream, self.limits
        layout = _cue_layout(stream, self.line_costs, first, last, self.constraints)
        if layout is None:
            if last - first > 1:
                return None
            layout = (0.0, [stream.texts[first]], [])  # a word longer than a line
        layout_cost, lines, line_starts = layout
        internal_ends = [k for k in range(first, last - 1) if self.sentence_ends[k]]
        for k in internal_ends:
            if line_starts and k + 1 - first not in line_starts:
                layout_cost += _COST_MIXED_SENTENCES
        cost = _COST_PER_CUE + self.cut_costs[last - 1] + _COST_LAYOUT_FACTOR * layout_cost
        strong_end = last == self.n or self.sentence_ends[last - 1] or self.cut_costs[last - 1] == 0
        if internal_ends and not strong_end:
            cost += _COST_ORPHAN
        # One- and two-word cues are avoided; less so when they are a whole sentence.
        whole = (first == 0 or self.sentence_ends[first - 1]) and strong_end
        if last - first == 1:
            cost += _COST_ONE_WORD / 2 if whole else _COST_ONE_WORD
        elif last - first == 2 and not whole:
            cost += _COST_TWO_WORDS
        # Reading time: the cue may run into the silence after it and
        # (estimated at half the silence before it) start early.
        needed = limits.needed(sum(len(line) for line in lines))
        start = stream.starts[first]
        words_end = max(stream.ends[first:last])
        next_start = stream.starts[last] if last < self.n else math.inf
        room_end = min(
            max(words_end, start + needed),
            words_end + limits.max_lead,
            next_start - limits.min_gap,
            start + limits.max_duration,
        )
        if first == 0:
            lead = min(limits.max_lead, start)
        else:
            lead = min(limits.max_lead, max(0, (self.pauses[first - 1] - limits.min_gap) // 2))
        missing = needed - (room_end - start + lead)
        if missing > 0:
            cost += _COST_PER_MISSING_SECOND * missing / limits.per_second
        return cost, lines

    def best_groups(self):
        """The cheapest cut: a list of ``(first, last, lines)``, one per cue."""
        best = [0.0] + [math.inf] * self.n
        choice = [None] * (self.n + 1)
        for last in range(1, self.n + 1):
            for first in self.candidates(last):
                scored = self.cost(first, last)
                if scored is None:
                    continue
                total = best[first] + scored[0]
                if total < best[last]:
                    best[last] = total
                    choice[last] = (first, scored[1])
        groups = []
        last = self.n
        while last > 0:
            first, lines = choice[last]
            groups.append((first, last, lines))
            last = first
        return groups[::-1]


def _time_cues(stream: _Stream, groups, limits: _Limits, grid: _Grid = _Grid(1000.0)) -> list:
    """Gives each group of words its display times (see the module documentation)."""
    times = []  # [start, end, needed, words start, last word start] in ticks
    previous_end = None
    for index, (first, last, lines) in enumerate(groups):
        words_start = stream.starts[first]
        words_end = max(stream.ends[first:last])
        lower = 0 if previous_end is None else previous_end + limits.min_gap
        start = max(words_start, lower)
        needed = limits.needed(sum(len(line) for line in lines))
        upper = start + limits.max_duration
        if index + 1 < len(groups):
            upper = min(upper, stream.starts[groups[index + 1][0]] - limits.min_gap)
        end = min(max(words_end, start + needed), words_end + limits.max_lead, upper)
        end = max(end, start + 1)
        if end - start < needed:
            earliest = max(words_start - limits.max_lead, lower, 0)
            start = min(start, max(earliest, end - needed))
        if end - start < needed and times:
            # Borrow from the cue before when it is up longer than its text needs:
            # it ends earlier (not before its last word starts), this one starts earlier.
            before = times[-1]
            shift = min(
                needed - (end - start),
                before[1] - before[0] - before[2],
                before[1] - before[4],
                start - max(words_start - limits.max_lead, 0),
            )
            if shift > 0:
                before[1] -= shift
                start -= shift
        if end - start < needed and index + 1 < len(groups):
            # Last resort: the next cue starts up to max_delay after its first word,
            # when its own text keeps the time it needs.
            room = min(
                needed - (end - start),
                _delay_room(stream, groups, index, limits),
                words_end + limits.max_lead - end,
                start + limits.max_duration - end,
            )
            end += max(0, room)
        times.append([start, end, needed, words_start, stream.starts[last - 1]])
        previous_end = end
    return [
        Cue(grid.seconds(start), grid.seconds(end), list(lines))
        for (start, end, *_), (_, _, lines) in zip(times, groups)
    ]


def _delay_room(stream: _Stream, groups, index: int, limits: _Limits) -> int:
    """How much later than its first word the cue after ``index`` can start (ticks)."""
    first, last, lines = groups[index + 1]
    words_start = stream.starts[first]
    latest_end = max(stream.ends[first:last]) + limits.max_lead
    if index + 2 < len(groups):
        latest_end = min(latest_end, stream.starts[groups[index + 2][0]] - limits.min_gap)
    latest_end = min(latest_end, words_start + limits.max_duration)
    needed = limits.needed(sum(len(line) for line in lines))
    return min(limits.max_delay, latest_end - needed - words_start)


# ---------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------


def _timestamp(seconds: float) -> str:
    """Formats seconds as ``HH:MM:SS.mmm`` (hours may have more digits)."""
    if not math.isfinite(seconds):
        return str(seconds)
    milliseconds = round(seconds * 1000)
    sign = "-" if milliseconds < 0 else ""
    hours, rest = divmod(abs(milliseconds), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def check_cues(cues: Sequence[Cue], constraints: CueConstraints = CueConstraints()) -> list[str]:
    """Lists the ways in which cues break the constraints.

    Each message names the cue (from 1) and its times, then the kind of
    violation: ``no text``, ``invalid time`` (negative or not finite),
    ``ends before it starts``, ``too many lines``,
    ``line too long``, ``too fast``, ``too short``, ``shown too long``, and
    between a cue and the one before it ``out of order``, ``overlap`` or
    ``gap too small``. Times are compared to the millisecond.

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in the order they are shown.
    constraints : CueConstraints
        The limits.

    Returns
    -------
    list of str
        One message per violation; empty when there are none.

    Example
    -------
    >>> cues = [Cue(0.0, 0.5, ["Hallo daar, hoe gaat het met jou vandaag?"]),
    ...         Cue(0.55, 2.0, ["Goed."])]
    >>> for problem in check_cues(cues):
    ...     print(problem)
    cue 1 (00:00:00.000 --> 00:00:00.500): too fast (82.0 characters per second, max 17)
    cue 1 (00:00:00.000 --> 00:00:00.500): too short (0.500 s, min 1.000 s)
    cue 2 (00:00:00.550 --> 00:00:02.000): gap too small (0.050 s after cue 1, min 0.080 s)
    """
    eps = 0.0005
    problems = []
    previous = None
    for number, cue in enumerate(cues, start=1):
        where = f"cue {number} ({_timestamp(cue.start)} --> {_timestamp(cue.end)})"

        def report(message, where=where):
            problems.append(f"{where}: {message}")

        lines = list(cue.lines)
        chars = sum(len(line) for line in lines)
        duration = cue.end - cue.start
        if chars == 0:
            report("no text")
        if not (math.isfinite(cue.start) and math.isfinite(cue.end) and cue.start >= 0):
            report("invalid time")
        elif duration <= 0:
            report("ends before it starts")
        if len(lines) > constraints.max_lines:
            report(f"too many lines ({len(lines)}, max {constraints.max_lines})")
        for line_number, line in enumerate(lines, start=1):
            if len(line) > constraints.max_chars_per_line:
                kind = " (a single word)" if len(line.split()) == 1 else ""
                report(
                    f"line too long (line {line_number}: {len(line)} characters, "
                    f"max {constraints.max_chars_per_line}){kind}"
                )
        if duration > 0 and chars / constraints.max_cps - duration > eps:
            report(
                f"too fast ({chars / duration:.1f} characters per second, "
                f"max {constraints.max_cps:g})"
            )
        if 0 < duration < constraints.min_duration - eps:
            report(f"too short ({duration:.3f} s, min {constraints.min_duration:.3f} s)")
        if duration > constraints.max_duration + eps:
            report(f"shown too long ({duration:.3f} s, max {constraints.max_duration:.3f} s)")
        if previous is not None:
            if cue.start < previous.start - eps:
                report(f"out of order (starts before cue {number - 1})")
            elif cue.start < previous.end - eps:
                report(f"overlap ({previous.end - cue.start:.3f} s with cue {number - 1})")
            elif cue.start - previous.end < constraints.min_gap - eps:
                report(
                    f"gap too small ({cue.start - previous.end:.3f} s after cue {number - 1}, "
                    f"min {constraints.min_gap:.3f} s)"
                )
        previous = cue
    return problems


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------


def _checked_cue(number: int, cue: Cue) -> tuple:
    """Returns a cue's times in milliseconds and its non-empty lines, or raises."""
    for value in (cue.start, cue.end):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"cue {number}: time is not a number: {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"cue {number}: invalid time {value!r}")
    start, end = round(cue.start * 1000), round(cue.end * 1000)
    if end < start:
        raise ValueError(f"cue {number}: ends ({cue.end}) before it starts ({cue.start})")
    lines = []
    for line in cue.lines:
        lines.extend(part.strip() for part in str(line).splitlines())
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"cue {number} has no text")
    return start, end, lines


def to_srt(cues: Sequence[Cue]) -> str:
    """Writes cues as SubRip (SRT) text, numbered from 1.

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in order.

    Returns
    -------
    str
        The SRT text (empty for no cues).

    Raises
    ------
    ValueError
        If a cue has no text, a negative or non-finite time, or ends before
        it starts.

    Example
    -------
    >>> print(to_srt([Cue(1.0, 2.5, ["Goedenavond,", "dit is het nieuws."])]), end="")
    1
    00:00:01,000 --> 00:00:02,500
    Goedenavond,
    dit is het nieuws.
    <BLANKLINE>
    """
    subtitles = []
    for number, cue in enumerate(cues, start=1):
        start, end, lines = _checked_cue(number, cue)
        subtitles.append(
            srt.Subtitle(
                index=number,
                start=timedelta(milliseconds=start),
                end=timedelta(milliseconds=end),
                content="\n".join(lines),
            )
        )
    return srt.compose(subtitles, reindex=False)


def _escape_vtt(line: str) -> str:
    """Escapes the characters WebVTT cue text reserves (``&``, ``<``, ``>``)."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: Sequence[Cue]) -> str:
    """Writes cues as WebVTT text.

    ``&``, ``<`` and ``>`` in the text are written as ``&amp;``, ``&lt;``
    and ``&gt;``, as WebVTT requires (a reader shows them as the
    characters; ``webvtt-py`` gives them back escaped).

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in order.

    Returns
    -------
    str
        The WebVTT text, starting with the ``WEBVTT`` header.

    Raises
    ------
    ValueError
        If a cue has no text, a negative or non-finite time, or ends before
        it starts.

    Example
    -------
    >>> print(to_vtt([Cue(1.0, 2.5, ["Goedenavond,", "dit is het nieuws."])]), end="")
    WEBVTT
    <BLANKLINE>
    00:00:01.000 --> 00:00:02.500
    Goedenavond,
    dit is het nieuws.
    """
    captions = []
    for number, cue in enumerate(cues, start=1):
        start, end, lines = _checked_cue(number, cue)
        captions.append(
            webvtt.Caption(
                start=_timestamp(start / 1000),
                end=_timestamp(end / 1000),
                text=[_escape_vtt(line) for line in lines],
            )
        )
    return webvtt.WebVTT(captions=captions).content


def to_text(cues: Sequence[Cue]) -> str:
    """Writes the text of cues, one cue per line.

    Arguments
    ---------
    cues : sequence of Cue
        The cues.

    Returns
    -------
    str
        Each cue's lines joined by a space, one cue per line, ending with a
        newline (empty for no cues).

    Example
    -------
    >>> print(to_text([Cue(0.0, 2.0, ["Goedenavond,", "dit is het nieuws."]),
    ...                Cue(2.5, 4.0, ["Eerst het weer."])]), end="")
    Goedenavond, dit is het nieuws.
    Eerst het weer.
    """
    return "".join(cue.text + "\n" for cue in cues)


def to_ass(cues: Sequence[Cue]) -> str:
    """Writes cues as Advanced SubStation Alpha (ASS) text, with ``pysubs2``.

    Lines are joined by ASS's hard line break ``\\N``; times are stored in
    centiseconds, as the format requires (``pysubs2`` rounds them). Text
    that ASS would read as markup is written so that it shows as written:
    braces (which open an override block, hiding what they hold) become the
    full-width ``｛`` and ``｝``, and a backslash gets a word joiner (U+2060)
    after it, so that a literal ``\\N``, ``\\n`` or ``\\h`` is not a line break
    or a hard space (:func:`ass_text`).

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in order.

    Returns
    -------
    str
        The ASS file, with ``pysubs2``'s default style.

    Raises
    ------
    ValueError
        If a cue has no text, a negative or non-finite time, or ends before
        it starts.

    Example
    -------
    >>> text = to_ass([Cue(1.0, 2.5, ["Goedenavond,", "dit is het nieuws."])])
    >>> print(text.splitlines()[-1])
    Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,Goedenavond,\\Ndit is het nieuws.
    """
    import pysubs2

    subs = pysubs2.SSAFile()
    for number, cue in enumerate(cues, start=1):
        start, end, lines = _checked_cue(number, cue)
        subs.append(
            pysubs2.SSAEvent(start=start, end=end, text="\\N".join(map(ass_text, lines)))
        )
    return subs.to_string("ass")


def ass_text(line: str) -> str:
    r"""One line of cue text made literal for ASS (see :func:`to_ass`).

    >>> ass_text("Boven {korting} geen breuk") == "Boven \uff5bkorting\uff5d geen breuk"
    True
    >>> ass_text("a \\N b") == "a \\\u2060N b"
    True
    """
    return line.replace("\\", "\\\u2060").replace("{", "\uff5b").replace("}", "\uff5d")


def to_ttml(cues: Sequence[Cue], language: str = "nl") -> str:
    """Writes cues as TTML (DFXP) XML, with ``pycaption``.

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in order.
    language : str
        The language code written in the file (``xml:lang``).

    Returns
    -------
    str
        The TTML document.

    Raises
    ------
    ValueError
        If a cue has no text, a negative or non-finite time, or ends before
        it starts.

    Example
    -------
    >>> text = to_ttml([Cue(1.0, 2.5, ["Goedenavond,", "dit is het nieuws."])])
    >>> 'begin="00:00:01.000" end="00:00:02.500"' in text
    True
    """
    from pycaption import Caption, CaptionList, CaptionNode, CaptionSet, DFXPWriter

    captions = []
    for number, cue in enumerate(cues, start=1):
        start, end, lines = _checked_cue(number, cue)
        nodes = []
        for line in lines:
            if nodes:
                nodes.append(CaptionNode.create_break())
            nodes.append(CaptionNode.create_text(line))
        captions.append(Caption(start * 1000, end * 1000, nodes))
    with warnings.catch_warnings():  # pycaption calls BeautifulSoup methods bs4 deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return DFXPWriter().write(CaptionSet({language: CaptionList(captions)}))


def _write_atomically(path, text: str) -> None:
    """Writes UTF-8 text to ``path`` through a temporary file in the same folder.

    The temporary file is moved over ``path`` only once it is complete and
    flushed to disk, so a crash leaves either the old file or the new one,
    never half a file, and a failure removes the temporary file. A new file
    gets the usual permissions (those the umask allows), a replaced file
    keeps its own.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    for _ in range(100):
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            file = open(temporary, "x", encoding="utf-8", newline="")
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 clashes of 48 random bits
        raise FileExistsError(f"could not create a temporary file next to {path}")
    try:
        with file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_srt(cues: Sequence[Cue], path: str | os.PathLike) -> None:
    """Writes cues to an SRT file (UTF-8), atomically.

    Arguments
    ---------
    cues : sequence of Cue
        The cues.
    path : str or os.PathLike
        Where to write; an existing file is replaced.

    Example
    -------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "nieuws.srt"
    ...     write_srt([Cue(0.0, 1.0, ["Hallo."])], path)
    ...     print(path.read_text(encoding="utf-8"), end="")
    1
    00:00:00,000 --> 00:00:01,000
    Hallo.
    <BLANKLINE>
    """
    _write_atomically(path, to_srt(cues))


def write_vtt(cues: Sequence[Cue], path: str | os.PathLike) -> None:
    """Writes cues to a WebVTT file (UTF-8), atomically.

    Arguments
    ---------
    cues : sequence of Cue
        The cues.
    path : str or os.PathLike
        Where to write; an existing file is replaced.

    Example
    -------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "nieuws.vtt"
    ...     write_vtt([Cue(0.0, 1.0, ["Hallo."])], path)
    ...     print(path.read_text(encoding="utf-8").splitlines()[2])
    00:00:00.000 --> 00:00:01.000
    """
    _write_atomically(path, to_vtt(cues))
