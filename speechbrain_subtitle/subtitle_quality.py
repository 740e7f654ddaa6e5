"""How a subtitler would judge a list of cues: counts per rule and the worst cues.

:func:`quality_report` measures cues (ours, or any SRT/WebVTT/ASS/TTML file
read with :func:`read_cues`) against the broadcast conventions of
:class:`~speechbrain_subtitle.subtitles.CueConstraints`. Unlike
:func:`~speechbrain_subtitle.subtitles.check_cues`, which lists every
violation as a sentence, it counts them per rule and keeps the worst cues of
each rule, so that two subtitle files (or two versions of the splitter) can
be compared by numbers. The rules (:data:`RULES`):

``chars_per_line``
    a line longer than ``max_chars_per_line`` (value: the longest line);
``lines_per_cue``
    more than ``max_lines`` lines (value: the number of lines);
``chars_per_second``
    faster than ``max_cps`` (value: characters per second);
``too_short`` / ``too_long``
    shown less than ``min_duration`` / more than ``max_duration`` (value:
    seconds);
``gap_too_small``
    less than ``min_gap`` after the previous cue, overlaps included (value:
    the gap in seconds, negative for an overlap);
``off_frame``
    a start or end that is not on a frame of ``fps`` (value: how far off,
    in seconds; never counted when ``fps`` is 0);
``one_word``
    a cue of a single word;
``one_word_mergeable``
    of those, the ones that could join the cue before or after within the
    line, duration and reading-speed limits (not across a silence longer
    than ``max_pause`` after a sentence end: that ends a cue);
``mid_sentence``
    a cue whose text does not end a sentence (``.``, ``!``, ``?`` or ``…``,
    possibly followed by a closing quote or bracket) while a next cue
    continues it;
``split_sentence_fits``
    of those, the ones whose whole sentence would fit in one cue (its text
    in the lines, the time from its first cue's start to its last cue's end
    within ``max_duration`` and readable at ``max_cps``);
``beyond_audio``
    a cue that ends after the end of the audio (only with ``duration``).

Example
-------
>>> from speechbrain_subtitle.subtitles import Cue
>>> cues = [Cue(0.0, 1.0, ["Dank"]), Cue(1.08, 2.0, ["u wel."])]
>>> report = quality_report(cues)
>>> {rule: report["rules"][rule]["count"] for rule in ("one_word", "mid_sentence")}
{'one_word': 1, 'mid_sentence': 1}
>>> report["rules"]["split_sentence_fits"]["worst"][0]["text"]
'Dank'
"""

from __future__ import annotations

import html
import io
import os
import re
import warnings
from collections.abc import Sequence

from speechbrain_subtitle.subtitles import (
    _CLOSERS,
    _SENTENCE_END,
    MAX_PAUSE,
    Cue,
    CueConstraints,
    break_lines,
)

__all__ = ["RULES", "quality_report", "format_report", "read_cues"]

#: The rules :func:`quality_report` counts, in the order it reports them.
RULES = (
    "chars_per_line",
    "lines_per_cue",
    "chars_per_second",
    "too_short",
    "too_long",
    "gap_too_small",
    "off_frame",
    "one_word",
    "one_word_mergeable",
    "mid_sentence",
    "split_sentence_fits",
    "beyond_audio",
)

# Formatting tags of SRT/WebVTT (<i>, <font color=...>, <c.yellow>, <v Jan>) and ASS
# override blocks ({\an8}); other text in angle brackets is kept.
_TAGS = re.compile(r"</?(?:i|b|u|s|font|c|v|ruby|rt|lang)\b[^>]*>|\{\\[^}]*\}")

# Times are compared to the millisecond (files store whole milliseconds).
_EPS = 0.0005


def _words(cue: Cue) -> list:
    """The words of a cue, without the dashes that mark a speaker."""
    return [w for line in cue.lines for w in line.removeprefix("- ").split()]


def _chars(cue: Cue) -> int:
    return sum(len(line) for line in cue.lines)


def _ends_sentence(cue: Cue) -> bool:
    text = cue.text.strip().rstrip(_CLOSERS)
    return bool(text) and text[-1] in _SENTENCE_END


def _fits(words: Sequence[str], start: float, end: float, constraints: CueConstraints) -> bool:
    """Whether these words shown from ``start`` to ``end`` make one cue within the limits."""
    lines = break_lines(words, constraints.max_chars_per_line, constraints.max_lines)
    if len(lines) > constraints.max_lines:
        return False
    if any(len(line) > constraints.max_chars_per_line for line in lines):
        return False
    duration = end - start
    if duration <= 0 or duration > constraints.max_duration + _EPS:
        return False
    return sum(len(line) for line in lines) / constraints.max_cps <= duration + _EPS


def _off_frame(seconds: float, fps: float) -> float:
    """How far a time is from the nearest frame (frame times rounded to the millisecond)."""
    frame = round(seconds * fps)
    return abs(seconds - round(frame * 1000 / fps) / 1000)


def quality_report(
    cues: Sequence[Cue],
    constraints: CueConstraints | None = None,
    duration: float | None = None,
    worst: int = 3,
    max_pause: float = MAX_PAUSE,
) -> dict:
    """Counts, per rule, the cues that break it, and keeps the worst of them.

    Arguments
    ---------
    cues : sequence of Cue
        The cues, in the order they are shown.
    constraints : CueConstraints, optional
        The limits (default: ``CueConstraints()``); its ``fps`` is the
        frame grid (0: no frame rule).
    duration : float, optional
        Length of the audio in seconds: cues ending after it are counted.
    worst : int
        How many of the worst cues to keep per rule.
    max_pause : float
        Longest gap (seconds) after a cue that ends a sentence across which
        ``one_word_mergeable`` may join it to the next; the same silence
        after a sentence ends a cue in
        :func:`~speechbrain_subtitle.subtitles.split_into_cues`.

    Returns
    -------
    dict
        ``{"cues": n, "fps": fps, "rules": {rule: {"count": k, "worst":
        [{"cue": number from 1, "start": s, "end": s, "text": str, "value":
        float}, ...]}}}`` with every rule of :data:`RULES`, worst first.

    Example
    -------
    >>> from speechbrain_subtitle.subtitles import Cue
    >>> cues = [Cue(0.0, 0.5, ["Hallo daar, hoe gaat het met jou vandaag?"]),
    ...         Cue(0.55, 2.0, ["Goed."])]
    >>> counts = {k: v["count"] for k, v in quality_report(cues)["rules"].items() if v["count"]}
    >>> counts
    {'chars_per_second': 1, 'too_short': 1, 'gap_too_small': 1, 'off_frame': 2, 'one_word': 1}
    """
    constraints = constraints or CueConstraints()
    found = {rule: [] for rule in RULES}
    fps = constraints.fps

    def add(rule, index, value, key=None):
        cue = cues[index]
        found[rule].append(
            (
                value if key is None else key,
                {
                    "cue": index + 1,
                    "start": round(cue.start, 3),
                    "end": round(cue.end, 3),
                    "text": cue.text,
                    "value": round(value, 3),
                },
            )
        )

    for index, cue in enumerate(cues):
        longest = max((len(line) for line in cue.lines), default=0)
        if longest > constraints.max_chars_per_line:
            add("chars_per_line", index, longest)
        if len(cue.lines) > constraints.max_lines:
            add("lines_per_cue", index, len(cue.lines))
        shown = cue.end - cue.start
        chars = _chars(cue)
        if shown > 0 and chars / constraints.max_cps - shown > _EPS:
            add("chars_per_second", index, chars / shown)
        if shown < constraints.min_duration - _EPS:
            add("too_short", index, shown, key=-shown)
        if shown > constraints.max_duration + _EPS:
            add("too_long", index, shown)
        if index:
            gap = cue.start - cues[index - 1].end
            if gap < constraints.min_gap - _EPS:
                add("gap_too_small", index, gap, key=-gap)
        if fps:
            off = max(_off_frame(cue.start, fps), _off_frame(cue.end, fps))
            if off > _EPS:
                add("off_frame", index, off)
        words = _words(cue)
        if len(words) == 1:
            add("one_word", index, 1)
            neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(cues)]
            for other in neighbours:
                a, b = sorted((index, other))
                joined = _words(cues[a]) + _words(cues[b])
                gap = cues[b].start - cues[a].end
                if gap > max_pause + _EPS and _ends_sentence(cues[a]):
                    continue
                if _fits(joined, cues[a].start, cues[b].end, constraints):
                    add("one_word_mergeable", index, 1)
                    break
        if duration is not None and cue.end > duration + _EPS:
            add("beyond_audio", index, cue.end - duration)

    # Sentences over several cues: from the cue after a sentence end up to
    # the next cue that ends one.
    first = 0
    for index, cue in enumerate(cues):
        if index + 1 < len(cues) and not _ends_sentence(cue):
            add("mid_sentence", index, 1)
            continue
        if index > first:  # cues first..index hold one sentence (and perhaps more)
            words = _sentence_words(cues[first : index + 1])
            if _fits(words, cues[first].start, cue.end, constraints):
                for k in range(first, index):
                    add("split_sentence_fits", k, 1)
        first = index + 1

    rules = {}
    for rule in RULES:
        ranked = sorted(found[rule], key=lambda item: -item[0])
        rules[rule] = {"count": len(ranked), "worst": [entry for _, entry in ranked[:worst]]}
    return {"cues": len(cues), "fps": fps, "rules": rules}


def _sentence_words(cues: Sequence[Cue]) -> list:
    """The words of the sentence that runs through ``cues``.

    It starts after the last sentence end inside the first cue and stops at
    the first sentence end inside the last one.
    """
    head = _words(cues[0])
    start = 0
    for k, word in enumerate(head[:-1]):
        if word.rstrip(_CLOSERS)[-1:] in tuple(_SENTENCE_END):
            start = k + 1
    words = head[start:]
    for cue in cues[1:-1]:
        words += _words(cue)
    tail = _words(cues[-1])
    for k, word in enumerate(tail):
        if word.rstrip(_CLOSERS)[-1:] in tuple(_SENTENCE_END):
            tail = tail[: k + 1]
            break
    return words + tail


def format_report(report: dict) -> str:
    """The report as text: one line per rule with its count, then its worst cues.

    Example
    -------
    >>> from speechbrain_subtitle.subtitles import Cue
    >>> print(format_report(quality_report([Cue(0.0, 2.0, ["Ja."])])), end="")
    1 cue(s), frame grid 25 fps
    chars_per_line        0
    lines_per_cue         0
    chars_per_second      0
    too_short             0
    too_long              0
    gap_too_small         0
    off_frame             0
    one_word              1
      cue 1 00:00:00.000 --> 00:00:02.000 (1): Ja.
    one_word_mergeable    0
    mid_sentence          0
    split_sentence_fits   0
    beyond_audio          0
    """
    from speechbrain_subtitle.subtitles import _timestamp

    grid = f"frame grid {report['fps']:g} fps" if report["fps"] else "no frame grid"
    lines = [f"{report['cues']} cue(s), {grid}"]
    for rule, entry in report["rules"].items():
        lines.append(f"{rule:<21} {entry['count']}")
        for cue in entry["worst"]:
            lines.append(
                f"  cue {cue['cue']} {_timestamp(cue['start'])} --> {_timestamp(cue['end'])} "
                f"({cue['value']:g}): {cue['text']}"
            )
    return "".join(line + "\n" for line in lines)


def _strip_tags(text: str) -> str:
    """Removes ``<i>``-style and ``{\\an8}``-style formatting from a line."""
    return _TAGS.sub("", text).strip()


def _read_text(path) -> str:
    data = open(path, "rb").read()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


_VTT_TIMING = re.compile(
    r"\s*(\d+:)?[0-5]\d:[0-5]\d\.\d{3}\s+-->\s+(\d+:)?[0-5]\d:[0-5]\d\.\d{3}(\s.*)?"
)


def _check_vtt_timings(text: str) -> None:
    """Raises ``ValueError`` naming the first cue timing line (one with ``-->``) that is
    not ``[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt [settings]``.

    >>> _check_vtt_timings("WEBVTT\\n\\n00:01.000 --> 00:02.500 line:90%\\nJa.\\n")
    >>> _check_vtt_timings("WEBVTT\\n\\n00:00:xx.000 --> 00:00:02.000\\nJa.\\n")
    Traceback (most recent call last):
    ...
    ValueError: line 3: malformed cue timing '00:00:xx.000 --> 00:00:02.000'
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if "-->" in line and not _VTT_TIMING.fullmatch(line):
            raise ValueError(f"line {number}: malformed cue timing {line.strip()[:80]!r}")


def read_cues(path: str | os.PathLike) -> list[Cue]:
    """Reads the cues of a subtitle file: SRT, WebVTT, ASS/SSA or TTML/DFXP.

    SRT is read with ``srt``, WebVTT with ``webvtt-py``, ASS/SSA with
    ``pysubs2`` and TTML/DFXP with ``pycaption``, chosen by the file's
    suffix. Formatting tags (``<i>``, ``<font ...>``, ``{\\an8}``...) are
    removed from the text and WebVTT's ``&amp;``, ``&lt;`` and ``&gt;`` read
    as the characters; empty cues are kept out. A file that is not UTF-8 is read as Windows-1252.

    Arguments
    ---------
    path : str or os.PathLike
        The file.

    Returns
    -------
    list of Cue
        In the order of the file.

    Raises
    ------
    ValueError
        For an unknown suffix or a file the reader cannot parse.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".srt", ".vtt", ".ass", ".ssa", ".ttml", ".dfxp", ".xml"):
        raise ValueError(f"{path}: unknown subtitle format {suffix!r} (srt, vtt, ass, ttml)")
    text = _read_text(path)
    raw = []  # (start, end, lines)
    try:
        if suffix == ".srt":
            import srt

            for sub in srt.parse(text):
                raw.append((sub.start.total_seconds(), sub.end.total_seconds(), sub.content))
        elif suffix == ".vtt":
            import webvtt

            _check_vtt_timings(text)  # webvtt-py drops a cue with a bad timing line silently
            for caption in webvtt.from_buffer(io.StringIO(text)):
                start = caption.start_time.in_milliseconds() / 1000
                end = caption.end_time.in_milliseconds() / 1000
                raw.append((start, end, html.unescape(caption.text)))
        elif suffix in (".ass", ".ssa"):
            import pysubs2

            for event in pysubs2.SSAFile.from_string(text):
                if not event.is_comment:
                    raw.append((event.start / 1000, event.end / 1000, event.plaintext))
        elif suffix in (".ttml", ".dfxp", ".xml"):
            from pycaption import DFXPReader

            with warnings.catch_warnings():  # pycaption calls deprecated bs4 methods
                warnings.simplefilter("ignore", DeprecationWarning)
                captions = DFXPReader().read(text)
            for language in captions.get_languages():
                for caption in captions.get_captions(language):
                    raw.append((caption.start / 1e6, caption.end / 1e6, caption.get_text()))
                break
    except Exception as err:  # each library has its own parse errors
        raise ValueError(f"{path}: not a valid {suffix[1:]} file ({err})") from err
    cues = []
    for start, end, content in raw:
        lines = [_strip_tags(line) for line in str(content).splitlines()]
        lines = [line for line in lines if line]
        if lines:
            cues.append(Cue(round(start, 3), round(end, 3), lines))
    return cues
