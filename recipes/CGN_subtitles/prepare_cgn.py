#!/usr/bin/env python3
"""Manifest preparation for the Flemish part of the Corpus Gesproken Nederlands.

Reads the orthographic transcriptions of a CGN release and writes
``train.csv``, ``valid.csv`` and ``test.csv`` (verbatim transcripts, no
subtitles) plus ``prepare_report.json`` into an output folder.

Expected layout (the one of the CGN 2.0 releases)::

    <cgn_root>/data/audio/wav/comp-<c>/<region>/<recording>.wav
    <cgn_root>/data/annot/text/ort/comp-<c>/<region>/<recording>.ort.gz

Each ``.ort.gz`` file is a gzipped Praat TextGrid ("ooTextFile", long or
short text format) in ISO-8859-1 with one interval tier per speaker. Every
non-empty interval of a speaker tier is one utterance. The cleaning rules,
the handling of unknown speakers and the splits are documented in
:func:`normalize_text`, :func:`classify_tier`, :func:`speaker_split` and in the
recipe's README.md.

Example
-------
::

    python recipes/CGN_subtitles/prepare_cgn.py --cgn-root /corpora/CGN_2.0.3 \\
        --out data/cgn --test-list cgn_vl_test_recordings.txt

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import gzip
import logging
import random
import re
import sys
import zlib
from collections import Counter, defaultdict
from pathlib import Path

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

# Components a-o; 'e' (simulated business negotiations) only exists in the
# Netherlands part, so it is left out of the Flemish default.
DEFAULT_COMPONENTS = tuple("abcdfghijklmno")
SPLITS = ("train", "valid", "test")
NON_SPEAKER_TIERS = frozenset({"BACKGROUND", "COMMENT"})
UNKNOWN_SPEAKER_TIERS = frozenset({"UNKNOWN"})
SPEAKER_CODE = re.compile(r"[A-Za-z]{1,2}\d{3,}")
UNINTELLIGIBLE_POLICIES = ("remove", "keep", "drop-utterance")
REPORT_NAME = "prepare_report.json"
# How many file paths per cause the report lists (the counts are complete).
MAX_LISTED_FILES = 50

UNINTELLIGIBLE = "xxx"
NON_SPEECH = "ggg"
# A CGN code suffix: an asterisk and one letter (or a bare asterisk) at the end of a word.
_CODE_SUFFIX = re.compile(r"^(.*?)\*([a-z]?)$")
# Everything that is neither a word character, whitespace, an apostrophe nor a hyphen.
_PUNCTUATION = re.compile(r"[^\w\s'\-]|_")


# --------------------------------------------------------------------------
# TextGrid reading
# --------------------------------------------------------------------------


class TextGridError(ValueError):
    """Raised for text that is not a complete Praat TextGrid."""


_PRAAT_TOKEN = re.compile(
    r'"((?:[^"]|"")*)"'  # 1: a string ("" escapes a quote)
    r"|(<[^>\s]*>)"  # 2: a flag such as <exists>
    r"|(\[[^\]]*\])"  # 3: an index such as [1] (ignored)
    r'|(")'  # 4: an unterminated string
    r'|([^\s"<\[]+)'  # 5: anything else: a number or a label (ignored)
)
_PRAAT_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _praat_values(text):
    """Yields the values of a Praat text file as ``(kind, value)`` pairs.

    Labels such as ``xmin =`` or ``intervals [3]:`` are skipped, which makes
    the long and the short text format read alike.
    """
    for match in _PRAAT_TOKEN.finditer(text):
        string, flag, _, unterminated, word = match.groups()
        if string is not None:
            yield "string", string.replace('""', '"')
        elif flag is not None:
            yield "flag", flag
        elif unterminated is not None:
            raise TextGridError("unterminated string (truncated file?)")
        elif word is not None and _PRAAT_NUMBER.fullmatch(word):
            yield "number", float(word)


def parse_textgrid(text):
    """Parses a Praat TextGrid in the long or short text format.

    Arguments
    ---------
    text : str
        The decoded content of the file.

    Returns
    -------
    list of tuple
        One ``(tier_class, tier_name, items)`` per tier. For an interval tier
        ``items`` is a list of ``(xmin, xmax, text)``, for a point tier a list
        of ``(time, mark)``.

    Raises
    ------
    TextGridError
        If the text is not a complete TextGrid.

    Example
    -------
    >>> grid = '''File type = "ooTextFile"
    ... Object class = "TextGrid"
    ... xmin = 0
    ... xmax = 2.5
    ... tiers? <exists>
    ... size = 1
    ... item []:
    ...     item [1]:
    ...         class = "IntervalTier"
    ...         name = "V01001"
    ...         xmin = 0
    ...         xmax = 2.5
    ...         intervals: size = 2
    ...         intervals [1]:
    ...             xmin = 0
    ...             xmax = 1.2
    ...             text = "ja ""zo"" ."
    ...         intervals [2]:
    ...             xmin = 1.2
    ...             xmax = 2.5
    ...             text = ""
    ... '''
    >>> parse_textgrid(grid)
    [('IntervalTier', 'V01001', [(0.0, 1.2, 'ja "zo" .'), (1.2, 2.5, '')])]
    >>> parse_textgrid(grid[:200])
    Traceback (most recent call last):
    ...
    prepare_cgn.TextGridError: the TextGrid ends too early
    """
    values = _praat_values(text)

    def take(kind):
        try:
            got_kind, value = next(values)
        except StopIteration:
            raise TextGridError("the TextGrid ends too early") from None
        if got_kind != kind:
            raise TextGridError(f"expected a {kind}, found {got_kind} {value!r}")
        return value

    def take_count():
        value = take("number")
        if value < 0 or value != int(value):
            raise TextGridError(f"bad item count {value}")
        return int(value)

    if not take("string").startswith("ooTextFile"):
        raise TextGridError("not a Praat text file (no 'ooTextFile' header)")
    object_class = take("string")
    if object_class != "TextGrid":
        raise TextGridError(f"object class is {object_class!r}, not 'TextGrid'")
    take("number")
    take("number")
    if take("flag") != "<exists>":
        return []
    tiers = []
    for _ in range(take_count()):
        tier_class = take("string")
        name = take("string")
        take("number")
        take("number")
        items = []
        if tier_class == "IntervalTier":
            for _ in range(take_count()):
                items.append((take("number"), take("number"), take("string")))
        elif tier_class == "TextTier":
            for _ in range(take_count()):
                items.append((take("number"), take("string")))
        else:
            raise TextGridError(f"unknown tier class {tier_class!r}")
        tiers.append((tier_class, name, items))
    return tiers


def decode_annotation(data):
    """Decodes the bytes of a CGN annotation file.

    CGN ships its text annotations in ISO-8859-1 (Latin-1). A UTF-8 or UTF-16
    byte order mark, as written by Praat for re-saved files, is honoured.

    Arguments
    ---------
    data : bytes
        The (decompressed) file content.

    Returns
    -------
    str
        The text.

    Example
    -------
    >>> decode_annotation("één".encode("latin-1"))
    'één'
    >>> decode_annotation(b"\\xef\\xbb\\xbf" + "één".encode("utf-8"))
    'één'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("latin-1")


def read_annotation(path):
    """Reads a (gzipped) CGN ``.ort`` TextGrid file.

    Arguments
    ---------
    path : pathlib.Path
        The ``.ort.gz`` (or uncompressed ``.ort``) file.

    Returns
    -------
    list of tuple
        The tiers, as returned by :func:`parse_textgrid`.

    Raises
    ------
    EOFError
        For a truncated gzip stream.
    OSError, zlib.error
        For a file that is not (valid) gzip.
    TextGridError, UnicodeDecodeError
        For content that is not a complete TextGrid.
    """
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            data = f.read()
    else:
        data = path.read_bytes()
    return parse_textgrid(decode_annotation(data))


# --------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------


def normalize_text(text, unintelligible="remove", stats=None):
    """Turns the text of one CGN interval into a verbatim training transcript.

    The rules, applied word by word:

    * everything is lowercased;
    * a CGN code suffix (``*a`` interrupted word, ``*v`` foreign word, ``*d``
      dialect, ``*n`` neologism, ``*u`` mispronounced, ``*x`` uncertain,
      ``*z`` regional pronunciation, any other letter, or a bare ``*``) is
      stripped and the word kept;
    * punctuation is removed (``.``, ``?``, ``!``, ``,``, ``...``, quotes,
      brackets, ...), except apostrophes (``'t``, ``z'n``) and word-internal
      hyphens (``zee-egel``); a hyphen at the start or end of a word (a
      broken-off word such as ``ver-``) is removed and the fragment kept;
    * ``ggg`` (laughter, coughing and other speaker noises) is removed;
    * ``xxx`` (unintelligible speech) depends on ``unintelligible``:
      ``"remove"`` drops the token, ``"keep"`` keeps it as the word ``xxx``,
      ``"drop-utterance"`` makes the whole utterance unusable.

    Arguments
    ---------
    text : str
        The interval text.
    unintelligible : str
        The ``xxx`` policy (see above).
    stats : collections.Counter, optional
        Receives ``ggg_removed``, ``xxx_removed``/``xxx_kept`` and
        ``code_*<letter>`` counts.

    Returns
    -------
    tuple
        ``(words, status)``: the normalised text (``""`` when nothing is
        left) and ``"ok"``, ``"empty"`` (no token at all), ``"only_markers"``
        (nothing but ``xxx``/``ggg``) or ``"unintelligible"`` (an ``xxx``
        under the ``"drop-utterance"`` policy).

    Example
    -------
    >>> normalize_text("Ja ggg dat is een rendez-vous*v in Gent .")
    ('ja dat is een rendez-vous in gent', 'ok')
    >>> normalize_text("'t is ver- verder xxx ...")
    ("'t is ver verder", 'ok')
    >>> normalize_text("'t is ver- verder xxx ...", unintelligible="keep")
    ("'t is ver verder xxx", 'ok')
    >>> normalize_text("xxx ggg .")
    ('', 'only_markers')
    >>> normalize_text(" . ")
    ('', 'empty')
    """
    if unintelligible not in UNINTELLIGIBLE_POLICIES:
        raise ValueError(f"unintelligible must be one of {UNINTELLIGIBLE_POLICIES}")
    stats = Counter() if stats is None else stats
    words = []
    n_markers = 0
    n_words = 0
    n_unintelligible = 0
    for token in text.lower().split():
        match = _CODE_SUFFIX.match(token)
        if match:
            token = match.group(1)
            stats[f"code_*{match.group(2)}"] += 1
        token = _PUNCTUATION.sub("", token).strip("-")
        if not token.strip("'"):
            continue
        if token == NON_SPEECH:
            stats["ggg_removed"] += 1
            n_markers += 1
        elif token == UNINTELLIGIBLE:
            n_markers += 1
            if unintelligible == "drop-utterance":
                n_unintelligible += 1
            elif unintelligible == "keep":
                stats["xxx_kept"] += 1
                words.append(token)
            else:
                stats["xxx_removed"] += 1
        else:
            n_words += 1
            words.append(token)
    if n_markers and not n_words:
        return "", "only_markers"
    if n_unintelligible:
        stats["xxx_in_dropped_utterance"] += n_unintelligible
        return "", "unintelligible"
    if not words:
        return "", "empty"
    return " ".join(words), "ok"


# --------------------------------------------------------------------------
# Speakers and splits
# --------------------------------------------------------------------------


def classify_tier(name):
    """Tells what a tier of a CGN ``.ort`` file holds.

    * ``BACKGROUND`` and ``COMMENT`` tiers hold descriptions of background
      sounds and transcriber comments, not speech: ``"non_speaker"``;
    * ``UNKNOWN`` holds speech of a speaker the corpus does not identify:
      ``"unknown"``;
    * a CGN speaker code (one or two letters and at least three digits, such
      as ``V40021`` or ``N01011``) is a known speaker: ``"speaker"``;
    * any other name cannot be attributed to a speaker, so it is treated as
      an unknown speaker too: ``"unknown"``.

    Names are compared case-insensitively.

    Arguments
    ---------
    name : str
        The tier name.

    Returns
    -------
    str
        ``"speaker"``, ``"unknown"`` or ``"non_speaker"``.

    Example
    -------
    >>> [classify_tier(n) for n in ("V40021", "UNKNOWN", "BACKGROUND", "spreker?")]
    ['speaker', 'unknown', 'non_speaker', 'unknown']
    """
    upper = name.strip().upper()
    if upper in NON_SPEAKER_TIERS:
        return "non_speaker"
    if upper in UNKNOWN_SPEAKER_TIERS:
        return "unknown"
    if SPEAKER_CODE.fullmatch(upper):
        return "speaker"
    return "unknown"


def speaker_split(durations, fractions, seed, train_only=()):
    """Assigns speakers to splits so that no speaker is in two splits.

    The speakers are sorted, shuffled with ``random.Random(seed)`` and
    visited in that order. A speaker goes to the first held-out split (in the
    order of ``fractions``) whose audio so far is below its target (its
    fraction of the total duration of all speakers), otherwise to
    ``"train"``. Each held-out split thus overshoots its target by less than
    one speaker. Speakers in ``train_only`` always go to ``"train"``.

    Arguments
    ---------
    durations : dict
        Mapping ``speaker -> seconds of audio``.
    fractions : dict
        Ordered mapping ``split name -> fraction of the total duration``,
        held-out splits only.
    seed : int
        Seed of the shuffle.
    train_only : collection of str
        Speakers that must stay in training.

    Returns
    -------
    dict
        Mapping ``speaker -> split name``.

    Example
    -------
    >>> durations = {"a": 10.0, "b": 10.0, "c": 10.0, "d": 10.0}
    >>> split = speaker_split(durations, {"valid": 0.25, "test": 0.25}, seed=1)
    >>> sorted(Counter(split.values()).items())
    [('test', 1), ('train', 2), ('valid', 1)]
    >>> split == speaker_split(durations, {"valid": 0.25, "test": 0.25}, seed=1)
    True
    """
    total = sum(durations.values())
    order = sorted(durations)
    random.Random(seed).shuffle(order)
    filled = dict.fromkeys(fractions, 0.0)
    assignment = {}
    for speaker in order:
        split = "train"
        if speaker not in train_only:
            for name, fraction in fractions.items():
                if fraction > 0 and filled[name] < fraction * total:
                    split = name
                    filled[name] += durations[speaker]
                    break
        assignment[speaker] = split
    return assignment


def read_test_list(path):
    """Reads a list of test recordings, one per line.

    Blank lines and ``#`` comments are ignored. Only the first field of a
    line counts, and folders and the extensions ``.wav``, ``.ort``,
    ``.ort.gz`` are stripped, so ``comp-k/vl/fv700001.wav`` means
    ``fv700001``.

    Arguments
    ---------
    path : str or os.PathLike
        The list file.

    Returns
    -------
    list of str
        The recording IDs, in file order, without duplicates.
    """
    ids = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name = line.split()[0].replace("\\", "/").rsplit("/", 1)[-1]
            for suffix in (".ort.gz", ".ort", ".wav"):
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
            if name not in ids:
                ids.append(name)
    return ids


# --------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------


def _parse_components(value):
    """Parses ``"a,b,k"`` (or ``"all"``) into a tuple of component letters."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return DEFAULT_COMPONENTS
        value = [part for part in re.split(r"[,\s]+", value) if part]
    components = []
    for part in value:
        part = part.strip().lower()
        if part.startswith("comp-"):
            part = part[len("comp-") :]
        if not re.fullmatch(r"[a-o]", part):
            raise ValueError(f"unknown CGN component {part!r} (expected letters a-o)")
        if part not in components:
            components.append(part)
    if not components:
        raise ValueError("no CGN component given")
    return tuple(components)


def _annotation_files(folder):
    """Lists the ``.ort.gz`` (or plain ``.ort``) files of a folder, by recording."""
    files = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.endswith(".ort.gz"):
            files[name[: -len(".ort.gz")]] = path
        elif name.endswith(".ort"):
            files.setdefault(name[: -len(".ort")], path)
    return files


def _file_error_cause(error):
    """Maps an exception raised while reading an annotation to a report cause."""
    if isinstance(error, EOFError):
        return "truncated_gzip"
    if isinstance(error, (gzip.BadGzipFile, zlib.error)):
        return "gzip_error"
    if isinstance(error, (TextGridError, UnicodeDecodeError)):
        return "bad_textgrid"
    return "unreadable_annotation"


def _mark_overlaps(utterances):
    """Flags utterances that overlap an utterance of another speaker in time.

    Arguments
    ---------
    utterances : list of dict
        The utterances of one recording (keys ``speaker``, ``start``,
        ``stop``); each gets a boolean ``overlaps``.
    """
    ordered = sorted(utterances, key=lambda utt: (utt["start"], utt["stop"]))
    for utt in ordered:
        utt["overlaps"] = False
    for i, utt in enumerate(ordered):
        for other in ordered[i + 1 :]:
            if other["start"] >= utt["stop"]:
                break
            if other["speaker"] != utt["speaker"]:
                utt["overlaps"] = other["overlaps"] = True


def _recording_utterances(rec, tiers, wav_seconds, args, drops, stats, unknown_tiers):
    """Extracts the usable utterances of one recording.

    Arguments
    ---------
    rec : str
        The recording ID.
    tiers : list of tuple
        The parsed TextGrid.
    wav_seconds : float
        Duration of the audio file.
    args : dict
        ``unintelligible`` and ``max_duration``.
    drops : collections.Counter
        Receives the utterance drop causes.
    stats : collections.Counter
        Receives the marker statistics.
    unknown_tiers : collections.Counter
        Receives the names of tiers treated as unknown speakers.

    Returns
    -------
    list of dict
        Utterances with keys ``recording``, ``speaker``, ``start``, ``stop``
        and ``verbatim``.
    """
    utterances = []
    for tier_class, name, items in tiers:
        if tier_class != "IntervalTier":
            continue
        kind = classify_tier(name)
        speaker = name.strip().upper()
        for xmin, xmax, text in items:
            if not text.strip():
                drops["empty_interval"] += 1
                continue
            if kind == "non_speaker":
                drops["non_speaker_tier"] += 1
                continue
            if kind == "unknown":
                drops["unknown_speaker"] += 1
                unknown_tiers[name] += 1
                continue
            words, status = normalize_text(text, args["unintelligible"], stats)
            if status == "only_markers":
                drops["only_xxx_ggg"] += 1
                continue
            if status == "unintelligible":
                drops["unintelligible"] += 1
                continue
            if status == "empty":
                drops["empty_after_normalization"] += 1
                continue
            start = milliseconds(xmin) / 1000
            stop = milliseconds(min(xmax, wav_seconds)) / 1000
            if xmax <= xmin:
                drops["bad_times"] += 1
                continue
            if start >= wav_seconds or stop <= start:
                drops["outside_audio"] += 1
                continue
            if xmax > wav_seconds + 1e-3:
                stats["clipped_to_audio_end"] += 1
            if args["max_duration"] and (
                milliseconds(stop) - milliseconds(start) > milliseconds(args["max_duration"])
            ):
                drops["too_long"] += 1
                continue
            utterances.append(
                {
                    "recording": rec,
                    "speaker": speaker,
                    "start": start,
                    "stop": stop,
                    "verbatim": words,
                }
            )
    return utterances


def prepare_cgn(
    cgn_root,
    out,
    components=DEFAULT_COMPONENTS,
    region="vl",
    test_list=None,
    valid_fraction=0.05,
    test_fraction=0.05,
    max_duration=30.0,
    seed=1234,
    unintelligible="remove",
    drop_overlapping=False,
    test_speakers="keep",
    resampler="auto",
    report_name=REPORT_NAME,
):
    """Writes train/valid/test manifests (verbatim only) for a CGN region.

    Arguments
    ---------
    cgn_root : str or os.PathLike
        Root of the CGN release (holds ``data/``).
    out : str or os.PathLike
        Output folder for the CSV files, the report and converted audio.
    components : str or sequence of str
        CGN components (``"a,b,k"``, ``["a", "k"]`` or ``"all"``); default a-o
        without e.
    region : str
        ``"vl"`` (Flanders) or ``"nl"`` (the Netherlands).
    test_list : str or os.PathLike, optional
        File with the test recordings (see :func:`read_test_list`). Without
        it the test set is a speaker-disjoint share of ``test_fraction``.
    valid_fraction, test_fraction : float
        Shares of the audio (by duration) for the speaker-disjoint held-out
        sets; ``test_fraction`` is unused with ``test_list``. A split with
        fraction 0 is not written.
    max_duration : float or None
        Utterances longer than this (seconds) are dropped.
    seed : int
        Seed of the speaker split.
    unintelligible : str
        ``xxx`` policy of :func:`normalize_text`.
    drop_overlapping : bool
        Drop utterances that overlap in time with an utterance of another
        speaker (cross-talk); they are only counted otherwise.
    test_speakers : str
        With ``test_list``: what happens to the utterances, in other
        recordings, of speakers heard in the test recordings. ``"keep"``
        keeps them in training (never in validation); ``"drop"`` drops them,
        which makes the test set speaker-disjoint from the rest.
    resampler : str
        How non-16 kHz-mono wavs are converted (see
        :func:`prepare_common.ensure_16k_mono`).
    report_name : str
        File name of the JSON report inside ``out``.

    Returns
    -------
    dict
        The report (also written to ``out/report_name``): dropped files and
        utterances per cause, marker statistics, and per split the numbers
        of utterances, speakers, recordings and hours.

    Raises
    ------
    PreparationError
        If the root does not exist, if no utterance is left, or if a
        requested split ends up empty.
    """
    cgn_root = Path(cgn_root).resolve()
    out = Path(out)
    components = _parse_components(components)
    if region not in ("vl", "nl"):
        raise ValueError(f"region must be 'vl' or 'nl', got {region!r}")
    if test_speakers not in ("keep", "drop"):
        raise ValueError(f"test_speakers must be 'keep' or 'drop', got {test_speakers!r}")
    if resampler not in RESAMPLERS:
        raise ValueError(f"resampler must be one of {RESAMPLERS}, got {resampler!r}")
    for name, fraction in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0 <= fraction < 1:
            raise ValueError(f"{name} must be in [0, 1), got {fraction}")
    if valid_fraction + (0 if test_list else test_fraction) >= 1:
        raise ValueError("the held-out fractions must leave something for training")
    annot_root = cgn_root / "data" / "annot" / "text" / "ort"
    wav_root = cgn_root / "data" / "audio" / "wav"
    if not annot_root.is_dir():
        raise PreparationError(
            f"{annot_root} not found: --cgn-root must be the CGN folder that holds data/annot "
            "and data/audio"
        )
    out.mkdir(parents=True, exist_ok=True)
    args = {"unintelligible": unintelligible, "max_duration": max_duration}

    file_drops = Counter()
    utt_drops = Counter()
    stats = Counter()
    unknown_tiers = Counter()
    problem_files = defaultdict(list)
    missing_components = []
    converted = []
    utterances = []
    seen = {}

    def file_problem(cause, path, detail=""):
        file_drops[cause] += 1
        if len(problem_files[cause]) < MAX_LISTED_FILES:
            problem_files[cause].append(str(path))
        logger.warning("skipping %s (%s)%s", path, cause, f": {detail}" if detail else "")

    for component in components:
        folder = annot_root / f"comp-{component}" / region
        if not folder.is_dir():
            missing_components.append(component)
            logger.warning("no annotation folder %s; component %s skipped", folder, component)
            continue
        for rec, path in _annotation_files(folder).items():
            if rec in seen:
                file_problem("duplicate_recording", path, f"already read from {seen[rec]}")
                continue
            seen[rec] = path
            try:
                tiers = read_annotation(path)
            except (OSError, EOFError, zlib.error, TextGridError, UnicodeDecodeError) as err:
                file_problem(_file_error_cause(err), path, str(err))
                continue
            wav = wav_root / f"comp-{component}" / region / f"{rec}.wav"
            if not wav.is_file():
                file_problem("missing_wav", path, f"no {wav}")
                continue
            try:
                wav_seconds = audio_info(wav)[2]
            except Exception as err:  # soundfile raises several types
                file_problem("unreadable_wav", wav, str(err))
                continue
            found = _recording_utterances(
                rec, tiers, wav_seconds, args, utt_drops, stats, unknown_tiers
            )
            if not found:
                file_problem("no_usable_utterance", path)
                continue
            try:
                wav_path, _, was_converted = ensure_16k_mono(wav, out / "audio", rec, resampler)
            except RuntimeError as err:
                file_problem("unconvertible_wav", wav, str(err))
                continue
            if was_converted:
                converted.append(rec)
            _mark_overlaps(found)
            for utt in found:
                utt["wav"] = wav_path
                utt["component"] = component
                if utt["overlaps"]:
                    stats["overlapping_other_speaker"] += 1
            utterances.extend(found)

    if drop_overlapping:
        utt_drops["overlapping_speech"] = sum(utt["overlaps"] for utt in utterances)
        utterances = [utt for utt in utterances if not utt["overlaps"]]

    # Splits.
    test_ids = read_test_list(test_list) if test_list else None
    missing_test = []
    if test_ids is not None:
        recordings = {utt["recording"] for utt in utterances}
        missing_test = [rec for rec in test_ids if rec not in recordings]
        if missing_test:
            logger.warning(
                "%d recording(s) of the test list have no usable utterance or were not "
                "found (first: %s)",
                len(missing_test),
                ", ".join(missing_test[:5]),
            )
        test_set = set(test_ids)
        test_spk = {utt["speaker"] for utt in utterances if utt["recording"] in test_set}
        rest = [utt for utt in utterances if utt["recording"] not in test_set]
        shared = [utt for utt in rest if utt["speaker"] in test_spk]
        if test_speakers == "drop":
            utt_drops["test_speaker_elsewhere"] = len(shared)
            rest = [utt for utt in rest if utt["speaker"] not in test_spk]
        else:
            stats["train_utterances_of_test_speakers"] = len(shared)
        durations = Counter()
        for utt in rest:
            durations[utt["speaker"]] += utt["stop"] - utt["start"]
        assignment = speaker_split(durations, {"valid": valid_fraction}, seed, test_spk)
        for utt in utterances:
            if utt["recording"] in test_set:
                utt["split"] = "test"
        for utt in rest:
            utt["split"] = assignment[utt["speaker"]]
        utterances = [utt for utt in utterances if "split" in utt]
        requested = {"train": True, "valid": valid_fraction > 0, "test": True}
    else:
        durations = Counter()
        for utt in utterances:
            durations[utt["speaker"]] += utt["stop"] - utt["start"]
        fractions = {"valid": valid_fraction, "test": test_fraction}
        assignment = speaker_split(durations, fractions, seed)
        for utt in utterances:
            utt["split"] = assignment[utt["speaker"]]
        requested = {"train": True, "valid": valid_fraction > 0, "test": test_fraction > 0}

    splits = {name: [] for name in SPLITS}
    for utt in sorted(utterances, key=lambda u: (u["recording"], u["start"], u["speaker"])):
        utt["ID"] = (
            f"{utt['recording']}_{utt['speaker']}_"
            f"{milliseconds(utt['start']):07d}_{milliseconds(utt['stop']):07d}"
        )
        splits[utt["split"]].append(utt)

    report = {
        "script": "prepare_cgn",
        "settings": {
            "cgn_root": str(cgn_root),
            "components": list(components),
            "region": region,
            "test_list": str(test_list) if test_list else None,
            "valid_fraction": valid_fraction,
            "test_fraction": None if test_list else test_fraction,
            "max_duration": max_duration,
            "seed": seed,
            "unintelligible": unintelligible,
            "drop_overlapping": drop_overlapping,
            "test_speakers": test_speakers if test_list else None,
        },
        "recordings_read": len(seen),
        "recordings_used": len({utt["recording"] for utt in utterances}),
        "missing_components": missing_components,
        "dropped_files": sorted_counts(file_drops),
        "problem_files": {cause: paths for cause, paths in sorted(problem_files.items())},
        "dropped_utterances": sorted_counts(+utt_drops),
        "text_statistics": sorted_counts(stats),
        "unknown_speaker_tiers": sorted_counts(unknown_tiers),
        "converted_recordings": len(converted),
        "test_list_missing": missing_test,
        "splits": {},
    }
    for name in SPLITS:
        rows = splits[name]
        report["splits"][name] = {
            "utterances": len(rows),
            "speakers": len({utt["speaker"] for utt in rows}),
            "recordings": len({utt["recording"] for utt in rows}),
            "seconds": round(sum(utt["stop"] - utt["start"] for utt in rows), 3),
            "hours": round(sum(utt["stop"] - utt["start"] for utt in rows) / 3600, 4),
            "written": bool(requested[name]),
        }

    log_counts("dropped files", file_drops)
    log_counts("dropped utterances", utt_drops)
    if converted:
        logger.info("converted %d recording(s) to 16 kHz mono in %s", len(converted), out / "audio")
    write_report(out / report_name, report)

    if not utterances:
        raise PreparationError(
            f"no usable utterance found under {annot_root} for components "
            f"{','.join(components)} / region {region} (see {out / report_name})"
        )
    empty = [name for name in SPLITS if requested[name] and not splits[name]]
    if empty:
        raise PreparationError(
            f"split(s) {', '.join(empty)} would be empty ({len(durations)} speaker(s) to "
            f"distribute); use other fractions, another seed or more data "
            f"(see {out / report_name})"
        )
    for name in SPLITS:
        path = out / f"{name}.csv"
        if requested[name]:
            write_manifest(path, splits[name])
            logger.info("%s: %d utterances", path, len(splits[name]))
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
            "Write train/valid/test manifest CSVs (ID,duration,wav,start,stop,verbatim,subtitle; "
            "verbatim filled, subtitle empty) for the Flemish (or Dutch) part of the Corpus "
            "Gesproken Nederlands, one row per non-empty speaker interval of the orthographic "
            "transcription (.ort.gz TextGrids). Text is lowercased, punctuation removed, "
            "ggg removed, *-codes stripped; see recipes/CGN_subtitles/README.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--cgn-root", required=True, help="CGN release folder (holds data/audio and data/annot)"
    )
    parser.add_argument("--out", required=True, help="output folder for CSVs, report, audio")
    parser.add_argument(
        "--components",
        default=",".join(DEFAULT_COMPONENTS),
        help="comma-separated CGN components, or 'all' (a-o without e)",
    )
    parser.add_argument("--region", default="vl", choices=("vl", "nl"), help="CGN region")
    parser.add_argument(
        "--test-list",
        help="file with one test recording ID per line (e.g. fv600123); the test set is "
        "these recordings, train/valid a speaker-disjoint split of the rest",
    )
    parser.add_argument(
        "--valid-fraction", type=float, default=0.05, help="share of audio for valid (0: none)"
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.05,
        help="share of audio for test when no --test-list is given (0: none)",
    )
    parser.add_argument(
        "--max-duration", type=float, default=30.0, help="drop utterances longer than this (s)"
    )
    parser.add_argument("--seed", type=int, default=1234, help="seed of the speaker split")
    parser.add_argument(
        "--unintelligible",
        default="remove",
        choices=UNINTELLIGIBLE_POLICIES,
        help="what to do with 'xxx' inside an utterance",
    )
    parser.add_argument(
        "--drop-overlapping",
        action="store_true",
        help="drop utterances overlapping another speaker's utterance (cross-talk)",
    )
    parser.add_argument(
        "--test-speakers",
        default="keep",
        choices=("keep", "drop"),
        help="with --test-list: keep (in train) or drop the other utterances of test speakers",
    )
    parser.add_argument(
        "--resampler",
        default="auto",
        choices=RESAMPLERS,
        help="converter for wavs that are not 16 kHz mono",
    )
    parser.add_argument("--report-name", default=REPORT_NAME, help="report file name in --out")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    options = parser.parse_args(argv)
    setup_logging(options.verbose)
    try:
        prepare_cgn(
            options.cgn_root,
            options.out,
            components=options.components,
            region=options.region,
            test_list=options.test_list,
            valid_fraction=options.valid_fraction,
            test_fraction=options.test_fraction,
            max_duration=options.max_duration,
            seed=options.seed,
            unintelligible=options.unintelligible,
            drop_overlapping=options.drop_overlapping,
            test_speakers=options.test_speakers,
            resampler=options.resampler,
            report_name=options.report_name,
        )
    except (PreparationError, ValueError, OSError) as err:
        logger.error("%s", err)
        print(f"prepare_cgn.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
