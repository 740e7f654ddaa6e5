#!/usr/bin/env python3
"""Manifest preparation for subtitled broadcasts (subtitle-only training data).

Pairs audio files with their ``.srt`` or ``.vtt`` subtitles, cleans the cue
texts, merges consecutive cues into utterances and writes
``subtitle_train.csv``, ``subtitle_valid.csv`` and ``subtitle_test.csv``
(``verbatim`` empty, ``subtitle`` = cleaned cased and punctuated text) plus
``prepare_report.json``. Audio that is not 16 kHz mono is converted into
``<out>/audio/``.

The cleaning rules are in :func:`clean_cue_text`, the timing rules in
:func:`fix_cue_times`, the merging in :func:`merge_cues` and the held-out
selection in :func:`holdout_split`; the recipe's README.md sums them up.

Example
-------
::

    python recipes/CGN_subtitles/prepare_subtitles.py --media-dir /data/vrt_broadcasts \\
        --out data/broadcast

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import csv
import html
import logging
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import srt
import webvtt
from prepare_common import (
    RESAMPLERS,
    PreparationError,
    audio_info,
    ensure_16k_mono,
    log_counts,
    milliseconds,
    setup_logging,
    sorted_counts,
    write_manifest,
    write_report,
)

logger = logging.getLogger(__name__)

SUBTITLE_SUFFIXES = (".srt", ".vtt")
# Audio extensions looked for next to a subtitle file, in order of preference.
AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".mp3",
    ".ogg",
    ".oga",
    ".opus",
    ".aif",
    ".aiff",
    ".au",
    ".w64",
    ".rf64",
    ".caf",
)
SPLIT_FILES = {
    "train": "subtitle_train.csv",
    "valid": "subtitle_valid.csv",
    "test": "subtitle_test.csv",
}
REPORT_NAME = "prepare_report.json"
MAX_LISTED_FILES = 50

# --------------------------------------------------------------------------
# Reading subtitle files
# --------------------------------------------------------------------------


class NotTextError(ValueError):
    """A subtitle file holds binary data, not text."""


def _utf16_without_bom(data):
    """``"utf-16-le"`` or ``"utf-16-be"`` when ``data`` looks like UTF-16
    text without a byte order mark (most odd or most even bytes are NUL, as
    in mostly Latin text), else None.

    >>> _utf16_without_bom("Dag".encode("utf-16-le")), _utf16_without_bom(b"Dag")
    ('utf-16-le', None)
    """
    if len(data) < 4 or len(data) % 2:
        return None
    pairs = len(data) // 2
    if data[1::2].count(0) > 0.4 * pairs and data[0::2].count(0) < 0.1 * pairs:
        return "utf-16-le"
    if data[0::2].count(0) > 0.4 * pairs and data[1::2].count(0) < 0.1 * pairs:
        return "utf-16-be"
    return None


def _looks_binary(data):
    """Whether undecoded ``data`` is binary: it holds NUL bytes, or more than
    5 % of its bytes are control characters that text files do not use."""
    if b"\0" in data:
        return True
    controls = sum(data.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return controls > 0.05 * len(data)


def read_text(path):
    """Reads a text file whose encoding is not declared.

    Tried in order: a UTF-8 or UTF-16 byte order mark, UTF-16 without a byte
    order mark (recognized by its NUL bytes), strict UTF-8, strict
    Windows-1252 (CP1252, the usual encoding of older Dutch subtitle files),
    and finally ISO-8859-1 (Latin-1), which accepts any byte.

    Arguments
    ---------
    path : str or os.PathLike
        The file.

    Returns
    -------
    tuple
        ``(text, encoding)`` with encoding one of ``"utf-8-sig"``,
        ``"utf-16"``, ``"utf-16-le"``, ``"utf-16-be"``, ``"utf-8"``,
        ``"cp1252"``, ``"latin-1"``.

    Raises
    ------
    NotTextError
        If the file is binary (NUL bytes that are not UTF-16, or many
        control characters).

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.srt")
    >>> with open(path, "wb") as f:
    ...     _ = f.write("Café €5".encode("cp1252"))
    >>> read_text(path)
    ('Café €5', 'cp1252')
    """
    data = Path(path).read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    utf16 = _utf16_without_bom(data)
    if utf16:
        return data.decode(utf16, errors="replace"), utf16
    if _looks_binary(data):
        raise NotTextError("not a text subtitle file (binary data)")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1"), "latin-1"


def _vtt_seconds(stamp):
    """Converts a WebVTT timestamp (``[hh:]mm:ss.ttt``) to seconds."""
    parts = stamp.strip().replace(",", ".").split(":")
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    return value


_INDEX_LINE = re.compile(r"\s*-?\d+\s*")


def _timing_is_negative(line):
    """Whether a cue timing line (``start --> end``) has a negative timestamp."""
    start, _, rest = line.partition("-->")
    end = rest.split()[0] if rest.split() else ""
    return "-" in start or "-" in end


def _cue_block(lines, i):
    """``(first, stop)`` line range of the cue whose timing line is ``lines[i]``:
    its index or identifier line, the timing line and the text up to the
    next blank line."""
    first = i
    if i > 0:
        before = lines[i - 1]
        identifier = before.strip() and "-->" not in before
        starts_block = i == 1 or not lines[i - 2].strip()
        if _INDEX_LINE.fullmatch(before) or (identifier and starts_block):
            first = i - 1
    stop = i + 1
    while stop < len(lines) and lines[stop].strip():
        stop += 1
    return first, stop


def drop_negative_cues(text, source="<text>", drops=None):
    """Removes the cues with a negative timestamp, with a warning for each.

    The ``srt`` library reads ``-00:00:01,000`` as 1 s (it skips the sign as
    garbage), and ``webvtt-py`` skips such a cue silently; here the whole
    cue is skipped and named (``drops["negative_timestamp"]``).

    Arguments
    ---------
    text : str
        The subtitle file's text (``\\n`` line ends).
    source : str
        The file, for the warning.
    drops : collections.Counter, optional
        Receives ``negative_timestamp``.

    Returns
    -------
    str
        The text without those cues.

    Example
    -------
    >>> drop_negative_cues("1\\n-00:00:01,000 --> 00:00:02,000\\nA.\\n\\n2\\n00:00:03,000 --> "
    ...                    "00:00:04,000\\nB.\\n")
    '\\n2\\n00:00:03,000 --> 00:00:04,000\\nB.\\n'
    """
    lines = text.split("\n")
    for i in reversed(range(len(lines))):
        if "-->" not in lines[i] or not _timing_is_negative(lines[i]):
            continue
        first, stop = _cue_block(lines, i)
        name = lines[first].strip() if first < i else "without index"
        logger.warning(
            "%s: skipping cue %s (line %d): negative timestamp in %r",
            source,
            name,
            i + 1,
            lines[i].strip(),
        )
        if drops is not None:
            drops["negative_timestamp"] += 1
        lines[first:stop] = []
    return "\n".join(lines)


def parse_cues(text, kind, stats=None, source="<text>", drops=None):
    """Parses subtitle text into raw cues.

    Cues with a negative timestamp are skipped with a warning
    (:func:`drop_negative_cues`). SRT is read with the ``srt`` library in
    tolerant mode. That mode appends a malformed block (one without a
    timing line) to the text of the cue before it; as a cue's text cannot
    hold a blank line, everything after the first blank line of a cue is
    dropped again (``stats["malformed_srt_blocks"]``). WebVTT is read with
    ``webvtt-py``. Other timestamp problems are not checked here.

    Arguments
    ---------
    text : str
        The decoded file content.
    kind : str
        ``"srt"`` or ``"vtt"``.
    stats : collections.Counter, optional
        Receives ``malformed_srt_blocks``.
    source : str
        The file, named in warnings.
    drops : collections.Counter, optional
        Receives ``negative_timestamp``.

    Returns
    -------
    list of tuple
        ``(start, end, raw_text)`` in file order, times in seconds.

    Raises
    ------
    ValueError
        If the file cannot be parsed at all.

    Example
    -------
    >>> parse_cues("1\\n00:00:01,000 --> 00:00:02,500\\n<i>Hallo.</i>\\n", "srt")
    [(1.0, 2.5, '<i>Hallo.</i>')]
    >>> parse_cues("1\\n00:00:01,000 --> 00:00:02,500\\nJa.\\n\\nrommel\\n", "srt")
    [(1.0, 2.5, 'Ja.')]
    >>> parse_cues("WEBVTT\\n\\n00:01.000 --> 00:02.500\\nDag.\\n", "vtt")
    [(1.0, 2.5, 'Dag.')]
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if kind in ("srt", "vtt"):
        text = drop_negative_cues(text, source, drops)
    if kind == "srt":
        try:
            parsed = list(srt.parse(text, ignore_errors=True))
        except Exception as err:  # srt raises several types
            raise ValueError(f"unparseable SRT: {err}") from err
        cues = []
        for cue in parsed:
            content = _BLANK_LINE.split(cue.content.strip("\n"), maxsplit=1)
            if len(content) > 1 and stats is not None:
                stats["malformed_srt_blocks"] += 1
            cues.append((cue.start.total_seconds(), cue.end.total_seconds(), content[0]))
        return cues
    if kind == "vtt":
        try:
            captions = webvtt.from_string(text)
            return [
                (_vtt_seconds(cap.start), _vtt_seconds(cap.end), cap.raw_text) for cap in captions
            ]
        except Exception as err:  # webvtt raises several types
            raise ValueError(f"unparseable WebVTT: {err}") from err
    raise ValueError(f"unknown subtitle kind {kind!r}")


# --------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_ASS_TAG = re.compile(r"\{\\[^}]*\}")
_MARKUP_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")
# '#' counts as a music sign only as a word of its own ("# la la #").
_MUSIC_SIGN = re.compile(r"[♪♫♬]|(?<!\S)#(?!\S)")
_MUSIC_SPAN = re.compile(r"♪[^♪]*♪")
_BRACKETED = re.compile(r"\[[^\[\]]*\]|\([^()]*\)")
_UPPER = "A-ZÀ-ÖØ-Þ"
# A speaker label in capitals at the start of a line: "JAN:", "DE VROUW:".
_SPEAKER_LABEL = re.compile(
    rf"^(\s*(?:[-–—]\s*)?)[{_UPPER}][{_UPPER}0-9 .'&-]*[{_UPPER}0-9]\s*:\s*"
)
_LINE_DASH = re.compile(r"^\s*(?:>>+|[-–—])\s*")
_MID_DASH = re.compile(r"(?<=[.!?…\"”’'])\s+[-–—]\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:…])")
_HAS_WORD = re.compile(r"\w")


def clean_cue_text(text):
    """Cleans the text of one subtitle cue.

    In this order:

    1. HTML entities (``&amp;``, ``&lt;i&gt;``) are decoded, then ASS
       override tags (``{\\an8}``) and markup tags (``<i>``, ``<b>``,
       ``<u>``, ``<font ...>``, WebVTT ``<c.yellow>``, ``<v Name>``, inline
       timestamps) are removed, escaped ones included.
    2. Music: text between two music signs (``♪``, ``♫``, or ``#`` as a word
       of its own) is removed, across the lines of the cue; a line that
       still holds an unpaired sign (a song continuing over several cues)
       is removed entirely.
    3. Hearing-impaired annotations in brackets or parentheses
       (``[MUZIEK]``, ``(lacht)``) are removed.
    4. Speaker labels in capitals at the start of a line (``JAN:``,
       ``DE VROUW:``) are removed.
    5. Speaker dashes at the start of a line (``-``, ``–``, ``—``, ``>>``)
       and between sentences on one line (``Ja. - Nee.``) are removed.
    6. Lines are joined with a space, whitespace is collapsed, spaces before
       punctuation left by the removals are dropped.

    A text without any letter or digit left is returned as ``""``.

    Arguments
    ---------
    text : str
        The raw cue text (may hold newlines).

    Returns
    -------
    str
        The cleaned single-line text.

    Example
    -------
    >>> clean_cue_text("- Ja.\\n- <i>Nee</i>, zeker niet.")
    'Ja. Nee, zeker niet.'
    >>> clean_cue_text("{\\\\an8}JAN: Dag (lacht) iedereen.")
    'Dag iedereen.'
    >>> clean_cue_text("[MUZIEK]")
    ''
    >>> clean_cue_text("♪ Oh la la ♪ Goedenavond. - Dag Jan.")
    'Goedenavond. Dag Jan.'
    >>> clean_cue_text("# Zing maar mee\\nTot zo.")
    'Tot zo.'
    >>> clean_cue_text("Ze zegt: #MeToo &amp; meer.")
    'Ze zegt: #MeToo & meer.'
    >>> clean_cue_text("&lt;i&gt;Hallo&lt;/i&gt; 3 &lt; 4.")
    'Hallo 3 < 4.'
    """
    text = html.unescape(text).replace("\u00a0", " ")
    text = _ASS_TAG.sub("", text)
    text = _MARKUP_TAG.sub("", text)
    text = _MUSIC_SIGN.sub("♪", text)
    text = _MUSIC_SPAN.sub(" ", text)
    lines = [line for line in text.split("\n") if "♪" not in line]
    text = "\n".join(lines)
    previous = None
    while previous != text:  # nested brackets, innermost first
        previous = text
        text = _BRACKETED.sub(" ", text)
    lines = []
    for line in text.split("\n"):
        line = _SPEAKER_LABEL.sub(r"\1", line)
        line = _LINE_DASH.sub("", line)
        line = _MID_DASH.sub(" ", line)
        lines.append(line)
    text = " ".join(lines)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text).strip(" ,;:")
    if not _HAS_WORD.search(text):
        return ""
    return text


# --------------------------------------------------------------------------
# Timing, merging, held-out selection
# --------------------------------------------------------------------------


def fix_cue_times(cues, audio_seconds, drops, stats):
    """Cleans the texts of raw cues and repairs or drops their timestamps.

    Each cue is dropped for the first of these causes that applies (counted
    in ``drops``): ``reversed_timestamps`` (end before start),
    ``zero_duration`` (end equal to start), ``empty_cue`` (no text at all),
    ``empty_after_cleaning`` (only tags, annotations, music),
    ``beyond_audio_end`` (starts at or after the end of the audio). A cue
    that ends after the end of the audio is clipped to it
    (``stats["clipped_at_audio_end"]``).

    The remaining cues are sorted by start time. A cue that starts before
    the end of the previous cue has its start moved to that end
    (``stats["overlap_clipped"]``); a cue that lies entirely within the
    previous one is merged into it, its text appended
    (``stats["overlap_merged"]``). Cues therefore never overlap afterwards.

    Arguments
    ---------
    cues : list of tuple
        ``(start, end, raw_text)`` as returned by :func:`parse_cues`.
    audio_seconds : float
        Duration of the audio.
    drops : collections.Counter
        Receives the drop causes.
    stats : collections.Counter
        Receives the repair counts.

    Returns
    -------
    list of list
        ``[start, end, text]`` cues, sorted and non-overlapping.

    Example
    -------
    >>> drops, stats = Counter(), Counter()
    >>> cues = [(0.0, 2.0, "A."), (1.5, 3.0, "B."), (1.6, 1.9, "C."), (4, 3, "D."),
    ...         (9.0, 11.0, "E."), (12.0, 13.0, "F.")]
    >>> fix_cue_times(cues, 10.0, drops, stats)
    [[0.0, 2.0, 'A.'], [2.0, 3.0, 'B. C.'], [9.0, 10.0, 'E.']]
    >>> sorted(drops.items())
    [('beyond_audio_end', 1), ('reversed_timestamps', 1)]
    >>> sorted(stats.items())
    [('clipped_at_audio_end', 1), ('overlap_clipped', 1), ('overlap_merged', 1)]
    """
    kept = []
    for start, end, raw in cues:
        if end < start:
            drops["reversed_timestamps"] += 1
        elif end == start:
            drops["zero_duration"] += 1
        elif not raw.strip():
            drops["empty_cue"] += 1
        elif not (text := clean_cue_text(raw)):
            drops["empty_after_cleaning"] += 1
        elif start >= audio_seconds:
            drops["beyond_audio_end"] += 1
        else:
            if end > audio_seconds:
                end = audio_seconds
                stats["clipped_at_audio_end"] += 1
            kept.append([start, end, text])
    if any(a[0] > b[0] for a, b in zip(kept, kept[1:])):
        stats["files_with_unordered_cues"] += 1
    kept.sort(key=lambda cue: cue[0])
    fixed = []
    for cue in kept:
        if fixed and cue[0] < fixed[-1][1]:
            previous = fixed[-1]
            if cue[1] <= previous[1]:
                previous[2] = f"{previous[2]} {cue[2]}"
                stats["overlap_merged"] += 1
                continue
            cue[0] = previous[1]
            stats["overlap_clipped"] += 1
        fixed.append(cue)
    return fixed


def merge_cues(cues, max_utterance=20.0, max_gap=1.0, pad=0.2, audio_seconds=None, drops=None):
    """Merges consecutive cues into utterances.

    A cue joins the current utterance when the silence since the end of the
    utterance is at most ``max_gap`` and the utterance, cue included, spans
    at most ``max_utterance`` seconds (first cue start to last cue end);
    otherwise it starts a new utterance. A single cue longer than
    ``max_utterance`` is dropped (``drops["cue_too_long"]``).

    Each utterance is then padded by ``pad`` seconds on both sides, but
    never past the start or end of the audio, nor past the midpoint of the
    silence to the neighbouring utterance (so padded utterances never
    overlap). ``max_utterance`` applies before padding.

    Arguments
    ---------
    cues : list of list
        Sorted, non-overlapping ``[start, end, text]`` cues.
    max_utterance : float
        Longest utterance span in seconds.
    max_gap : float
        Longest silence in seconds between cues of one utterance.
    pad : float
        Padding in seconds.
    audio_seconds : float, optional
        Duration of the audio (no end limit when None).
    drops : collections.Counter, optional
        Receives ``cue_too_long``.

    Returns
    -------
    list of tuple
        ``(start, stop, text)`` per utterance; the text is the cue texts
        joined with spaces.

    Example
    -------
    >>> cues = [[0.5, 2.0, "Een."], [2.5, 4.0, "Twee."], [6.0, 7.0, "Drie."]]
    >>> merge_cues(cues, max_utterance=20, max_gap=1.0, pad=0.2, audio_seconds=7.1)
    [(0.3, 4.2, 'Een. Twee.'), (5.8, 7.1, 'Drie.')]
    >>> merge_cues(cues, max_utterance=3, max_gap=1.0, pad=0.0)
    [(0.5, 2.0, 'Een.'), (2.5, 4.0, 'Twee.'), (6.0, 7.0, 'Drie.')]
    """
    drops = Counter() if drops is None else drops
    # Compare in whole milliseconds: 14.0 - 12.6 must not exceed 1.4.
    max_utterance_ms, max_gap_ms = milliseconds(max_utterance), milliseconds(max_gap)
    groups = []
    for start, end, text in cues:
        if milliseconds(end) - milliseconds(start) > max_utterance_ms:
            drops["cue_too_long"] += 1
            continue
        if groups:
            group = groups[-1]
            gap_ms = milliseconds(start) - milliseconds(group[1])
            span_ms = milliseconds(end) - milliseconds(group[0])
            if gap_ms <= max_gap_ms and span_ms <= max_utterance_ms:
                group[1] = end
                group[2].append(text)
                continue
        groups.append([start, end, [text]])
    utterances = []
    for i, (start, end, texts) in enumerate(groups):
        low = start - pad
        if i > 0:
            low = max(low, (groups[i - 1][1] + start) / 2)
        high = end + pad
        if i + 1 < len(groups):
            high = min(high, (end + groups[i + 1][0]) / 2)
        if audio_seconds is not None:
            high = min(high, audio_seconds)
        low = max(low, 0.0)
        utterances.append((milliseconds(low) / 1000, milliseconds(high) / 1000, " ".join(texts)))
    return utterances


def holdout_split(n_segments, every=50):
    """Assigns segments to train, valid and test by position.

    Every ``every``-th segment (the ``every``-th, ``2 * every``-th, ... in
    order, counting from 1) is held out; held-out segments alternate between
    valid (first, third, ...) and test (second, fourth, ...). ``every=0``
    holds out nothing.

    Arguments
    ---------
    n_segments : int
        Number of segments.
    every : int
        Hold-out period.

    Returns
    -------
    list of str
        The split of each segment.

    Example
    -------
    >>> holdout_split(7, every=2)
    ['train', 'valid', 'train', 'test', 'train', 'valid', 'train']
    """
    splits = []
    held_out = 0
    for position in range(1, n_segments + 1):
        if every and position % every == 0:
            splits.append("valid" if held_out % 2 == 0 else "test")
            held_out += 1
        else:
            splits.append("train")
    return splits


# --------------------------------------------------------------------------
# Finding the files
# --------------------------------------------------------------------------


def _safe_id(text):
    """Turns a file path fragment into a manifest-friendly ID."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "rec"


def find_pairs(media_dir):
    """Pairs the subtitle files under a folder with same-stem audio files.

    For ``show.srt`` the audio is ``show.<ext>`` in the same folder (see
    :data:`AUDIO_SUFFIXES`, ``.wav`` preferred). A language tag before the
    extension is allowed: ``show.nl.srt`` also pairs with ``show.wav``. When
    several subtitle files pair with one audio file, the one with the exact
    stem wins, then SRT over WebVTT; the others are reported.

    Arguments
    ---------
    media_dir : str or os.PathLike
        Folder searched recursively.

    Returns
    -------
    tuple
        ``(pairs, missing_audio, duplicates)``: ``pairs`` is a list of
        ``(recording_id, audio_path, subtitle_path)``; ``missing_audio`` and
        ``duplicates`` are lists of subtitle paths.
    """
    media_dir = Path(media_dir)
    subtitles = sorted(
        path
        for path in media_dir.rglob("*")
        if path.is_file() and path.suffix.lower() in SUBTITLE_SUFFIXES
    )
    candidates = defaultdict(list)  # audio path -> [(rank, subtitle path)]
    missing = []
    for sub in subtitles:
        stems = [(0, sub.stem)]
        if "." in sub.stem:
            stems.append((2, sub.stem.rsplit(".", 1)[0]))
        audio = None
        for rank, stem in stems:
            for suffix in AUDIO_SUFFIXES:
                for variant in (suffix, suffix.upper()):
                    path = sub.with_name(stem + variant)
                    if path.is_file():
                        audio = (rank + (sub.suffix.lower() == ".vtt"), path)
                        break
                if audio:
                    break
            if audio:
                break
        if audio is None:
            missing.append(sub)
        else:
            candidates[audio[1]].append((audio[0], sub))
    pairs = []
    duplicates = []
    used_ids = set()
    for audio in sorted(candidates):
        ranked = sorted(candidates[audio])
        duplicates.extend(sub for _, sub in ranked[1:])
        rel = audio.relative_to(media_dir).with_suffix("")
        pairs.append((_unique(_safe_id(rel.as_posix()), used_ids), audio, ranked[0][1]))
    return pairs, missing, duplicates


def _unique(rec_id, used):
    """Returns rec_id, or rec_id with a numeric suffix if it is taken."""
    candidate = rec_id
    n = 2
    while candidate in used:
        candidate = f"{rec_id}_{n}"
        n += 1
    used.add(candidate)
    return candidate


def read_pairs(pairs_csv):
    """Reads a CSV file listing audio and subtitle paths.

    The header must have the columns ``audio`` and ``subtitle`` (an optional
    ``id`` column names the recording; otherwise the audio file stem is
    used). Relative paths are relative to the folder of the CSV file.

    Arguments
    ---------
    pairs_csv : str or os.PathLike
        The CSV file.

    Returns
    -------
    list of tuple
        ``(recording_id, audio_path, subtitle_path)``.

    Raises
    ------
    PreparationError
        If the header lacks a column.
    """
    pairs_csv = Path(pairs_csv)
    folder = pairs_csv.resolve().parent
    pairs = []
    used = set()
    with open(pairs_csv, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
        if "audio" not in fields or "subtitle" not in fields:
            raise PreparationError(f"{pairs_csv}: the header needs the columns audio,subtitle")
        for record in reader:
            audio = Path((record[fields["audio"]] or "").strip()).expanduser()
            sub = Path((record[fields["subtitle"]] or "").strip()).expanduser()
            audio = audio if audio.is_absolute() else folder / audio
            sub = sub if sub.is_absolute() else folder / sub
            name = (record.get(fields["id"]) or "").strip() if "id" in fields else ""
            pairs.append((_unique(_safe_id(name or audio.stem), used), audio, sub))
    return pairs


# --------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------


def prepare_subtitles(
    out,
    media_dir=None,
    pairs=None,
    max_utterance=20.0,
    max_gap=1.0,
    pad=0.2,
    holdout_every=50,
    resampler="auto",
    report_name=REPORT_NAME,
):
    """Writes subtitle-only manifests for subtitled broadcast recordings.

    Arguments
    ---------
    out : str or os.PathLike
        Output folder for the CSV files, the report and converted audio.
    media_dir : str or os.PathLike, optional
        Folder with audio files and same-stem ``.srt``/``.vtt`` files (see
        :func:`find_pairs`).
    pairs : str or os.PathLike, optional
        CSV file listing audio,subtitle paths (see :func:`read_pairs`);
        exactly one of ``media_dir`` and ``pairs`` must be given.
    max_utterance, max_gap, pad : float
        Merging settings (see :func:`merge_cues`).
    holdout_every : int
        Hold-out period (see :func:`holdout_split`); segments are numbered
        across all recordings: recordings sorted by ID, segments by time.
    resampler : str
        How audio that is not 16 kHz mono is converted (see
        :func:`prepare_common.ensure_16k_mono`).
    report_name : str
        File name of the JSON report inside ``out``.

    Returns
    -------
    dict
        The report (also written to ``out/report_name``).

    Raises
    ------
    PreparationError
        If no segment is left, or a requested split would be empty.
    """
    if (media_dir is None) == (pairs is None):
        raise ValueError("give exactly one of media_dir and pairs")
    if max_utterance <= 0 or max_gap < 0 or pad < 0 or holdout_every < 0:
        raise ValueError("max_utterance must be positive; max_gap, pad, holdout_every >= 0")
    if resampler not in RESAMPLERS:
        raise ValueError(f"resampler must be one of {RESAMPLERS}, got {resampler!r}")
    out = Path(out)

    file_drops = Counter()
    cue_drops = Counter()
    stats = Counter()
    encodings = Counter()
    fallbacks = {}
    problem_files = defaultdict(list)

    def file_problem(cause, path, detail=""):
        file_drops[cause] += 1
        if len(problem_files[cause]) < MAX_LISTED_FILES:
            problem_files[cause].append(str(path))
        logger.warning("skipping %s (%s)%s", path, cause, f": {detail}" if detail else "")

    media_dir = None if media_dir is None else Path(media_dir).resolve()
    if media_dir is not None:
        if not media_dir.is_dir():
            raise PreparationError(f"media folder not found: {media_dir}")
        found, missing, duplicates = find_pairs(media_dir)
        for sub in missing:
            file_problem("missing_audio", sub, "no same-stem audio file")
        for sub in duplicates:
            file_problem("duplicate_subtitle", sub, "another subtitle file has the same audio")
    else:
        found = []
        for rec, audio, sub in read_pairs(pairs):
            if not sub.is_file():
                file_problem("missing_subtitle", sub)
            elif not audio.is_file():
                file_problem("missing_audio", sub, f"no {audio}")
            elif sub.suffix.lower() not in SUBTITLE_SUFFIXES:
                file_problem("unknown_subtitle_format", sub)
            else:
                found.append((rec, audio, sub))
    out.mkdir(parents=True, exist_ok=True)

    segments = []
    n_converted = 0
    for rec, audio, sub in sorted(found):
        try:
            source_seconds = audio_info(audio)[2]
        except Exception:  # soundfile raises several types; sox may still read it
            source_seconds = None
        try:
            text, encoding = read_text(sub)
        except NotTextError as err:
            file_problem("not_text_subtitle", sub, str(err))
            continue
        encodings[encoding] += 1
        if encoding not in ("utf-8", "utf-8-sig"):
            fallbacks[str(sub)] = encoding
            logger.info("%s is not UTF-8; decoded as %s", sub, encoding)
        try:
            cues = parse_cues(text, sub.suffix.lower()[1:], stats, source=str(sub), drops=cue_drops)
        except ValueError as err:
            file_problem("unparseable_subtitle", sub, str(err))
            continue
        if not cues:
            file_problem("no_cues", sub)
            continue
        stats["cues_read"] += len(cues)

        def timed(cues, audio_seconds):
            """Cue repairs and merging against one audio duration."""
            local_drops, local_stats = Counter(), Counter()
            limit = float("inf") if audio_seconds is None else audio_seconds
            usable = fix_cue_times(cues, limit, local_drops, local_stats)
            merged = merge_cues(usable, max_utterance, max_gap, pad, audio_seconds, local_drops)
            return merged, local_drops, local_stats

        utterances, local_drops, local_stats = timed(cues, source_seconds)
        if utterances:
            # Convert only audio that has something to use.
            try:
                wav, audio_seconds, converted = ensure_16k_mono(
                    audio, out / "audio", rec, resampler
                )
            except RuntimeError as err:
                file_problem("unreadable_audio", audio, str(err))
                continue
            n_converted += converted
            if source_seconds is None or abs(audio_seconds - source_seconds) > 1e-3:
                utterances, local_drops, local_stats = timed(cues, audio_seconds)
        cue_drops.update(local_drops)
        stats.update(local_stats)
        if not utterances:
            file_problem("no_usable_cue", sub)
            continue
        for start, stop, text in utterances:
            segments.append(
                {
                    "ID": f"{rec}_{milliseconds(start):07d}_{milliseconds(stop):07d}",
                    "wav": wav,
                    "start": start,
                    "stop": stop,
                    "verbatim": "",
                    "subtitle": text,
                    "recording": rec,
                }
            )

    segments.sort(key=lambda seg: (seg["recording"], seg["start"]))
    assignment = holdout_split(len(segments), holdout_every)
    splits = {name: [] for name in SPLIT_FILES}
    for segment, split in zip(segments, assignment):
        splits[split].append(segment)
    requested = {"train": True, "valid": holdout_every > 0, "test": holdout_every > 0}

    report = {
        "script": "prepare_subtitles",
        "settings": {
            "media_dir": str(Path(media_dir).resolve()) if media_dir is not None else None,
            "pairs": str(Path(pairs).resolve()) if pairs is not None else None,
            "max_utterance": max_utterance,
            "max_gap": max_gap,
            "pad": pad,
            "holdout_every": holdout_every,
        },
        "recordings_paired": len(found),
        "recordings_used": len({seg["recording"] for seg in segments}),
        "dropped_files": sorted_counts(file_drops),
        "problem_files": {cause: paths for cause, paths in sorted(problem_files.items())},
        "dropped_cues": sorted_counts(cue_drops),
        "cue_statistics": sorted_counts(stats),
        "encodings": sorted_counts(encodings),
        "encoding_fallbacks": dict(sorted(fallbacks.items())),
        "converted_recordings": n_converted,
        "splits": {
            name: {
                "segments": len(rows),
                "seconds": round(sum(seg["stop"] - seg["start"] for seg in rows), 3),
                "hours": round(sum(seg["stop"] - seg["start"] for seg in rows) / 3600, 4),
                "written": requested[name],
            }
            for name, rows in splits.items()
        },
    }
    log_counts("dropped files", file_drops)
    log_counts("dropped cues", cue_drops)
    if fallbacks:
        logger.info("%d subtitle file(s) were not UTF-8: %s", len(fallbacks), fallbacks)
    write_report(out / report_name, report)

    if not segments:
        raise PreparationError(f"no usable subtitle segment found (see {out / report_name})")
    empty = [name for name in SPLIT_FILES if requested[name] and not splits[name]]
    if empty:
        raise PreparationError(
            f"split(s) {', '.join(empty)} would be empty: only {len(segments)} segment(s) "
            f"for --holdout-every {holdout_every}; lower it (or use 0 for no held-out sets)"
        )
    for name, file_name in SPLIT_FILES.items():
        path = out / file_name
        if requested[name]:
            write_manifest(path, splits[name])
            logger.info("%s: %d segments", path, len(splits[name]))
        elif path.exists():
            path.unlink()
    return report


def main(argv=None):
    """Command line entry point (see ``--help``).

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (0 on success, 1 on a preparation error).
    """
    parser = argparse.ArgumentParser(
        description=(
            "Write subtitle-only manifest CSVs (subtitle_train/valid/test.csv; verbatim empty) "
            "from broadcast audio and same-stem .srt/.vtt subtitle files. Cue texts are "
            "cleaned (tags, music, [annotations], speaker labels and dashes), consecutive "
            "cues are merged into utterances, audio is converted to 16 kHz mono under "
            "OUT/audio. See recipes/CGN_subtitles/README.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--media-dir", help="folder (searched recursively) with audio + same-stem .srt/.vtt"
    )
    source.add_argument(
        "--pairs", help="CSV with columns audio,subtitle[,id] (paths relative to the CSV)"
    )
    parser.add_argument("--out", required=True, help="output folder for CSVs, report, audio")
    parser.add_argument(
        "--max-utterance",
        type=float,
        default=20.0,
        help="longest merged utterance in seconds (first cue start to last cue end)",
    )
    parser.add_argument(
        "--max-gap",
        type=float,
        default=1.0,
        help="start a new utterance after a silence longer than this (s)",
    )
    parser.add_argument("--pad", type=float, default=0.2, help="padding around each utterance (s)")
    parser.add_argument(
        "--holdout-every",
        type=int,
        default=50,
        help="every N-th segment goes to valid/test (alternating); 0: none",
    )
    parser.add_argument(
        "--resampler",
        default="auto",
        choices=RESAMPLERS,
        help="converter for audio that is not 16 kHz mono",
    )
    parser.add_argument("--report-name", default=REPORT_NAME, help="report file name in --out")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    options = parser.parse_args(argv)
    setup_logging(options.verbose)
    try:
        prepare_subtitles(
            options.out,
            media_dir=options.media_dir,
            pairs=options.pairs,
            max_utterance=options.max_utterance,
            max_gap=options.max_gap,
            pad=options.pad,
            holdout_every=options.holdout_every,
            resampler=options.resampler,
            report_name=options.report_name,
        )
    except (PreparationError, ValueError, OSError) as err:
        logger.error("%s", err)
        print(f"prepare_subtitles.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
