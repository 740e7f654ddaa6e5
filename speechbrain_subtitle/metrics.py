"""Scoring of verbatim transcripts and subtitles.

The paper this package implements (Poncelet & Van hamme, 2025) reports:

* **verbatim WER**, computed after lowercasing, filler removal,
  number/abbreviation normalisation and hyphen stripping
  (:func:`normalize_text` with :class:`NormalizationOptions`);
* **subtitle WER** and **subtitle BLEU**, computed on the subtitle text as
  it is (cased, with punctuation); a normalised subtitle WER is reported
  next to it because it separates recognition errors from differences in
  casing and punctuation;
* **SubER** (subtitle edit rate, Wilken et al. 2022), which also takes the
  timing and the line/block breaks of SRT files into account. It comes from
  the optional ``subtitle-edit-rate`` package
  (``pip install speechbrain-subtitle[suber]``).

Typical use::

    results = score_manifest("test.csv", "hyp.csv")
    print(format_table(results))
    write_results(results, "scores.json")

or, from the command line, ``python -m speechbrain_subtitle.metrics --ref
test.csv --hyp hyp.csv`` (see :func:`build_argparser`).

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import csv
import dataclasses
import functools
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import jiwer

# ---------------------------------------------------------------------------
# Dutch normalisation
# ---------------------------------------------------------------------------

#: Filled pauses and non-speech tokens dropped before scoring verbatim text.
#: Hesitations (``euh``, ``uh``, ``eh``, ``ehm``, ``uhm``, ``um``), humming and
#: back-channels (``hm``, ``hmm``, ``mm``, ``mmm``, ``mhm``) and the two CGN
#: placeholders ``ggg`` (a sound made by the speaker: laughing, coughing) and
#: ``xxx`` (unintelligible speech). Interjections that carry meaning, such as
#: ``ah``, ``oh``, ``ja``, ``nee`` or ``hè``, are words and are kept.
DUTCH_FILLERS = frozenset(
    {"euh", "uh", "eh", "ehm", "uhm", "um", "hm", "hmm", "mm", "mmm", "mhm", "ggg", "xxx"}
)

#: Abbreviations expanded to the words a speaker says. Keys match as written
#: or with an upper-case first letter (at the start of a sentence); matching
#: is otherwise case-sensitive, so ``BV`` (a company) is not ``bv.``.
DUTCH_ABBREVIATIONS = {
    "dhr.": "meneer",
    "mevr.": "mevrouw",
    "mw.": "mevrouw",
    "bv.": "bijvoorbeeld",
    "bijv.": "bijvoorbeeld",
    "b.v.": "bijvoorbeeld",
    "nr.": "nummer",
    "blz.": "bladzijde",
    "enz.": "enzovoort",
    "o.a.": "onder andere",
    "m.a.w.": "met andere woorden",
    "d.w.z.": "dat wil zeggen",
    "ca.": "circa",
    "km/u": "kilometer per uur",
    "km": "kilometer",
    "cm": "centimeter",
    "kg": "kilo",
}


@dataclass
class NormalizationOptions:
    """What :func:`normalize_text` does to a transcript before scoring.

    The defaults reproduce the verbatim scoring of the paper: lower case, no
    punctuation, no fillers, numbers and abbreviations written out as words,
    hyphenated compounds split.

    Arguments
    ---------
    lowercase : bool
        Convert to lower case.
    remove_punctuation : bool
        Replace punctuation by spaces. Apostrophes inside a word or starting
        a clitic (``auto's``, ``z'n``, ``'s avonds``, ``'t``) are kept, and so
        are hyphens inside a word when ``strip_hyphens`` is False.
    fillers : frozenset of str
        Lower-case tokens that are removed (default :data:`DUTCH_FILLERS`).
        An empty set keeps every token.
    strip_hyphens : bool
        Replace a hyphen between two word characters by a space
        (``Oost-Vlaanderen`` -> ``oost vlaanderen``).
    numbers_to_words : bool
        Write numbers in Dutch words: integers (``21`` -> ``eenentwintig``),
        ordinals (``3de`` -> ``derde``), decimals with a comma (``2,5`` ->
        ``twee komma vijf``), thousands separators (``1.500`` ->
        ``duizend vijfhonderd``) and percentages (``20%`` ->
        ``twintig procent``). See :func:`spell_number_nl`.
    year_style : bool
        Read four-digit numbers from 1100 to 1999 as a year, in hundreds
        (``1996`` -> ``negentienhonderdzesennegentig``) rather than as
        ``duizend negenhonderdzesennegentig``.
    strip_acute_accents : bool
        Remove acute accents (``één`` -> ``een``, ``dát`` -> ``dat``). Dutch
        uses them only for emphasis, which transcribers mark inconsistently.
        The trema (``tweeëntwintig``, ``ruïne``) is spelling and is kept.
    abbreviations : dict
        Abbreviation -> expansion (default :data:`DUTCH_ABBREVIATIONS`).
    strip_cgn_markers : bool
        Remove CGN annotation markers: a ``*`` with a one-letter code glued
        to a word (``goe*v``, ``da*x`` -> ``goe``, ``da``) and a lone ``*``.

    Example
    -------
    >>> NormalizationOptions().lowercase
    True
    >>> sorted(NormalizationOptions(fillers=frozenset({"euh"})).fillers)
    ['euh']
    """

    lowercase: bool = True
    remove_punctuation: bool = True
    fillers: frozenset = DUTCH_FILLERS
    strip_hyphens: bool = True
    numbers_to_words: bool = True
    year_style: bool = True
    strip_acute_accents: bool = True
    abbreviations: dict = field(default_factory=lambda: dict(DUTCH_ABBREVIATIONS))
    strip_cgn_markers: bool = True

    def to_dict(self):
        """The options as a JSON-friendly dict (fillers as a sorted list).

        Returns
        -------
        dict
            One key per option.

        Example
        -------
        >>> NormalizationOptions(fillers=frozenset({"uh", "euh"})).to_dict()["fillers"]
        ['euh', 'uh']
        """
        out = dataclasses.asdict(self)
        out["fillers"] = sorted(self.fillers)
        return out


_UNITS = (
    "nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien "
    "vijftien zestien zeventien achttien negentien"
).split()
_TENS = {
    2: "twintig",
    3: "dertig",
    4: "veertig",
    5: "vijftig",
    6: "zestig",
    7: "zeventig",
    8: "tachtig",
    9: "negentig",
}
#: Largest integer :func:`spell_number_nl` writes out (longer numbers are
#: read digit by digit by :func:`normalize_text`).
MAX_SPELLED_NUMBER = 999_999_999


def _below_hundred(n):
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _TENS[tens]
    unit_word = _UNITS[unit]
    # "twee" + "en" + "twintig" needs a trema: tweeëntwintig, drieëntwintig.
    link = "ën" if unit_word.endswith("e") else "en"
    return unit_word + link + _TENS[tens]


def _below_thousand(n):
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _below_hundred(rest)
    head = "honderd" if hundreds == 1 else _UNITS[hundreds] + "honderd"
    return head if rest == 0 else head + _below_hundred(rest)


def _below_million(n, year_style):
    if year_style and 1100 <= n <= 1999:
        hundreds, rest = divmod(n, 100)
        return _UNITS[hundreds] + "honderd" + (_below_hundred(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        return _below_thousand(rest)
    head = "duizend" if thousands == 1 else _below_thousand(thousands) + "duizend"
    # Spelling rule: written as one word up to "duizend", a space after it.
    return head if rest == 0 else head + " " + _below_thousand(rest)


def spell_number_nl(n, year_style=False):
    """Writes a non-negative integer as Dutch cardinal number words.

    Follows the usual spelling rules: units before tens joined with ``en``
    (``eenentwintig``) or ``ën`` after a vowel ``e`` (``tweeëntwintig``,
    ``drieëntwintig``); one word up to and including ``duizend``, a space
    after ``duizend`` (``tweeduizend vierentwintig``); ``miljoen`` is a
    separate word (``een miljoen``, ``twee miljoen vijfhonderdduizend``).
    ``1`` is written ``een`` (without the emphasis accents of ``één``).

    Arguments
    ---------
    n : int
        The number, from 0 to :data:`MAX_SPELLED_NUMBER` (999 999 999).
    year_style : bool
        Read 1100 to 1999 in hundreds, as years are read
        (``1996`` -> ``negentienhonderdzesennegentig``).

    Returns
    -------
    str
        The number in words.

    Raises
    ------
    ValueError
        For negative numbers or numbers above :data:`MAX_SPELLED_NUMBER`.

    Example
    -------
    >>> spell_number_nl(22)
    'tweeëntwintig'
    >>> spell_number_nl(2024)
    'tweeduizend vierentwintig'
    >>> spell_number_nl(1996), spell_number_nl(1996, year_style=True)
    ('duizend negenhonderdzesennegentig', 'negentienhonderdzesennegentig')
    >>> spell_number_nl(1_000_000)
    'een miljoen'
    """
    n = int(n)
    if n < 0 or n > MAX_SPELLED_NUMBER:
        raise ValueError(f"can only spell numbers from 0 to {MAX_SPELLED_NUMBER}, got {n}")
    millions, rest = divmod(n, 1_000_000)
    if millions == 0:
        return _below_million(rest, year_style)
    head = _below_thousand(millions) + " miljoen"
    return head if rest == 0 else head + " " + _below_million(rest, year_style=False)


def spell_ordinal_nl(n):
    """Writes a non-negative integer as a Dutch ordinal (``eerste``, ``derde``, ...).

    Arguments
    ---------
    n : int
        The number, from 0 to :data:`MAX_SPELLED_NUMBER`.

    Returns
    -------
    str
        The ordinal in words.

    Example
    -------
    >>> [spell_ordinal_nl(k) for k in (1, 2, 3, 8, 20)]
    ['eerste', 'tweede', 'derde', 'achtste', 'twintigste']
    >>> spell_ordinal_nl(21), spell_ordinal_nl(101)
    ('eenentwintigste', 'honderdeerste')
    """
    words = spell_number_nl(n)
    if words.endswith("een"):
        return words[: -len("een")] + "eerste"
    if words.endswith("drie"):
        return words[: -len("drie")] + "derde"
    if words.endswith(("acht", "ig", "honderd", "duizend", "miljoen")):
        return words + "ste"
    return words + "de"


def _digits_one_by_one(digits):
    return " ".join(_UNITS[int(d)] for d in digits)


def _spell_digit_string(digits, year_style):
    """Spells a run of digits; leading zeros and huge numbers digit by digit."""
    if (len(digits) > 1 and digits[0] == "0") or int(digits) > MAX_SPELLED_NUMBER:
        return _digits_one_by_one(digits)
    return spell_number_nl(int(digits), year_style=year_style)


def _spell_fraction(digits):
    """The part after the decimal comma: ``5`` -> vijf, ``05`` -> nul vijf."""
    if len(digits) > 2:
        return _digits_one_by_one(digits)
    stripped = digits.lstrip("0")
    words = ["nul"] * (len(digits) - len(stripped))
    if stripped:
        words.append(spell_number_nl(int(stripped)))
    return " ".join(words)


_ORDINAL_RE = re.compile(r"(?<![\w.,])(\d+)(?:ste|de|e)(?!\w)")
_LETTER_DIGIT_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
# An integer, with dots as thousands separators or not, and an optional
# decimal comma; not part of a longer run of digits, dots and commas.
_NUMBER_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?!\d|[.,]\d)")
_DIGITS_RE = re.compile(r"\d+")
_CGN_CODE_RE = re.compile(r"(?<=\w)\*[a-zA-Z](?!\w)")
_LONE_STAR_RE = re.compile(r"(?<!\S)\*+(?!\S)")
_INNER_HYPHEN_RE = re.compile(r"(?<=\w)-(?=\w)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_ACUTE = str.maketrans("áéíóúýÁÉÍÓÚÝ", "aeiouyAEIOUY")
# An apostrophe is part of a word between two letters (auto's, z'n) or when
# it starts a clitic ('s avonds, 't, 'k, 'n, 'm, 'r).
_KEPT_APOSTROPHE_RE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])|(?<!\w)'(?=[stknmr](?!\w))")


def _numbers_to_words(text, year_style):
    text = text.replace("%", " procent ")

    def spell(match):
        integer, fraction = match.group(1), match.group(2)
        grouped = "." in integer
        words = _spell_digit_string(
            integer.replace(".", ""), year_style=year_style and not grouped and not fraction
        )
        if fraction is not None:
            words += " komma " + _spell_fraction(fraction)
        return words

    text = _NUMBER_RE.sub(spell, text)
    # What is left: digits in runs such as "14.30" or "1,2,3", read one number at a time.
    return _DIGITS_RE.sub(lambda m: _spell_digit_string(m.group(0), year_style), text)


@functools.lru_cache(maxsize=8)
def _abbreviation_pattern(items):
    variants = {}
    for key, value in items:
        variants.setdefault(key, value)
        variants.setdefault(key[:1].upper() + key[1:], value)
    keys = sorted(variants, key=len, reverse=True)
    alternation = "|".join(re.escape(k) for k in keys)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)"), variants


def _remove_punctuation(text, keep_hyphens):
    kept = "\x00"  # placeholder for apostrophes that belong to a word
    text = _KEPT_APOSTROPHE_RE.sub(kept, text)
    if keep_hyphens:
        text = _INNER_HYPHEN_RE.sub("\x01", text)
    text = "".join(ch if (ch.isalnum() or ch.isspace() or ch in "\x00\x01") else " " for ch in text)
    return text.replace("\x00", "'").replace("\x01", "-")


def normalize_text(text, options=None):
    """Normalises a Dutch transcript for scoring.

    The steps, each switched by a field of :class:`NormalizationOptions`, run
    in this order: CGN markers, ordinals, abbreviations, numbers (with
    percentages and decimal commas), lower case, acute accents, hyphens,
    punctuation, fillers, and finally whitespace is collapsed.

    Arguments
    ---------
    text : str
        The transcript (``None`` counts as empty).
    options : NormalizationOptions, optional
        What to do; default ``NormalizationOptions()``.

    Returns
    -------
    str
        The normalised text: words separated by single spaces.

    Example
    -------
    >>> normalize_text("Euh, in Oost-Vlaanderen steeg het met 2,5%.")
    'in oost vlaanderen steeg het met twee komma vijf procent'
    >>> normalize_text("Dhr. Peeters kwam in 1996 als 3de binnen, ggg")
    'meneer peeters kwam in negentienhonderdzesennegentig als derde binnen'
    >>> normalize_text("da*x was goe*v *")
    'da was goe'
    >>> normalize_text("Euh, Oost-Vlaanderen!", NormalizationOptions(fillers=frozenset(),
    ...     strip_hyphens=False))
    'euh oost-vlaanderen'
    """
    if options is None:
        options = NormalizationOptions()
    text = unicodedata.normalize("NFC", text or "").translate(_APOSTROPHES)
    if options.strip_cgn_markers:
        text = _CGN_CODE_RE.sub("", text)
        text = _LONE_STAR_RE.sub(" ", text)
    if options.numbers_to_words:
        text = _ORDINAL_RE.sub(lambda m: _ordinal_or_digits(m.group(1)), text)
        text = _LETTER_DIGIT_RE.sub(" ", text)
    if options.abbreviations:
        pattern, variants = _abbreviation_pattern(tuple(options.abbreviations.items()))
        text = pattern.sub(lambda m: variants[m.group(0)], text)
    if options.numbers_to_words:
        text = _numbers_to_words(text, options.year_style)
    if options.lowercase:
        text = text.lower()
    if options.strip_acute_accents:
        text = text.translate(_ACUTE)
    if options.strip_hyphens:
        text = _INNER_HYPHEN_RE.sub(" ", text)
    if options.remove_punctuation:
        text = _remove_punctuation(text, keep_hyphens=not options.strip_hyphens)
    words = text.split()
    if options.fillers:
        fillers = {f.lower() for f in options.fillers}
        words = [w for w in words if _strip_edge_punctuation(w).lower() not in fillers]
    return " ".join(words)


def _ordinal_or_digits(digits):
    if int(digits) > MAX_SPELLED_NUMBER:
        return _digits_one_by_one(digits)
    return spell_ordinal_nl(int(digits))


def _strip_edge_punctuation(word):
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def _resolve_options(normalize):
    if normalize is None or normalize is False:
        return None
    if normalize is True:
        return NormalizationOptions()
    if isinstance(normalize, NormalizationOptions):
        return normalize
    raise TypeError(f"normalize must be None, a bool or NormalizationOptions, got {normalize!r}")


def word_error_rate(refs, hyps, normalize=None):
    """Corpus word error rate (computed with ``jiwer``).

    Without normalisation the texts are only split on whitespace: case and
    punctuation count. A reference that is empty (after normalisation) cannot
    be aligned by ``jiwer``; its hypothesis words are all counted as
    insertions and the pair still counts as a sentence. The WER is the total
    number of edits over the total number of reference words, so it is
    ``None`` when there are no reference words at all.

    Arguments
    ---------
    refs : list of str
        Reference texts (``None`` counts as empty).
    hyps : list of str
        Hypotheses, one per reference (``None`` counts as empty).
    normalize : None, bool or NormalizationOptions
        ``None``/``False``: whitespace only; ``True``: the default
        :class:`NormalizationOptions`; or the options to apply to both sides.

    Returns
    -------
    dict
        ``wer`` (percent, or ``None``), ``substitutions``, ``deletions``,
        ``insertions``, ``hits``, ``reference_words`` and ``sentences``.

    Raises
    ------
    ValueError
        When ``refs`` and ``hyps`` differ in length.

    Example
    -------
    >>> word_error_rate(["de kat zit hier"], ["de hond zit hier"])["wer"]
    25.0
    >>> word_error_rate(["Euh, 20 euro."], ["twintig euro"], normalize=True)["wer"]
    0.0
    >>> result = word_error_rate([""], ["toch iets"])
    >>> result["wer"], result["insertions"]
    (None, 2)
    """
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    options = _resolve_options(normalize)

    def prepare(text):
        if options is not None:
            return normalize_text(text, options)
        return " ".join((text or "").split())

    aligned_refs, aligned_hyps = [], []
    counts = {"substitutions": 0, "deletions": 0, "insertions": 0, "hits": 0}
    for ref, hyp in zip(refs, hyps):
        ref, hyp = prepare(ref), prepare(hyp)
        if ref:
            aligned_refs.append(ref)
            aligned_hyps.append(hyp)
        else:
            counts["insertions"] += len(hyp.split())
    if aligned_refs:
        out = jiwer.process_words(aligned_refs, aligned_hyps)
        for key in counts:
            counts[key] += getattr(out, key)
    reference_words = counts["hits"] + counts["substitutions"] + counts["deletions"]
    errors = counts["substitutions"] + counts["deletions"] + counts["insertions"]
    wer = 100.0 * errors / reference_words if reference_words else None
    return {"wer": wer, **counts, "reference_words": reference_words, "sentences": len(refs)}


def bleu(refs, hyps):
    """Corpus BLEU with ``sacrebleu`` defaults (cased, ``13a`` tokeniser).

    Subtitles are scored as they are, with case and punctuation.

    Arguments
    ---------
    refs : list of str
        One reference per sentence (``None`` counts as empty).
    hyps : list of str
        Hypotheses, one per reference (``None`` counts as empty).

    Returns
    -------
    dict
        ``bleu`` (0-100), ``signature`` (the sacrebleu signature, to report
        with the score) and ``sentences``; for empty lists ``bleu`` and
        ``signature`` are ``None``.

    Example
    -------
    >>> result = bleu(["Dat is waar."], ["Dat is waar."])
    >>> round(result["bleu"], 2), result["signature"].startswith("nrefs:1|case:mixed")
    (100.0, True)
    """
    from sacrebleu.metrics import BLEU

    refs = [r or "" for r in refs]
    hyps = [h or "" for h in hyps]
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        return {"bleu": None, "signature": None, "sentences": 0}
    metric = BLEU()
    score = metric.corpus_score(hyps, [refs]).score
    return {"bleu": score, "signature": str(metric.get_signature()), "sentences": len(refs)}


def _text(row, key):
    value = row.get(key)
    return "" if value is None else str(value).strip()


def score_pairs(rows, normalize=True):
    """Scores verbatim and subtitle hypotheses against their references.

    A row takes part in a metric only when it has the reference for it: the
    verbatim WER uses the rows with a verbatim reference, the subtitle
    metrics the rows with a subtitle reference. A missing or empty hypothesis
    is scored as an empty output (all reference words deleted).

    Arguments
    ---------
    rows : iterable of dict
        Keys ``id``, ``verbatim_ref``, ``verbatim_hyp``, ``subtitle_ref`` and
        ``subtitle_hyp``; any may be missing, ``None`` or ``""`` (not
        available).
    normalize : bool or NormalizationOptions
        Normalisation for the verbatim WER and ``subtitle_wer_normalized``
        (``True``: default options). With ``False`` the verbatim WER is
        computed on whitespace-split text and ``subtitle_wer_normalized`` is
        ``None``.

    Returns
    -------
    dict
        ``utterances`` (rows seen), ``verbatim_wer``, ``subtitle_wer``
        (cased, with punctuation), ``subtitle_wer_normalized`` (dicts as
        returned by :func:`word_error_rate`), ``subtitle_bleu`` (as returned
        by :func:`bleu`) and ``normalization`` (the options used, or
        ``None``).

    Example
    -------
    >>> rows = [
    ...     {"id": "a", "verbatim_ref": "euh ja dat is waar", "verbatim_hyp": "ja dat is waar",
    ...      "subtitle_ref": "Dat is waar.", "subtitle_hyp": "dat is waar"},
    ...     {"id": "b", "verbatim_ref": "twintig procent", "verbatim_hyp": "20%"},
    ... ]
    >>> result = score_pairs(rows)
    >>> result["verbatim_wer"]["wer"], result["verbatim_wer"]["sentences"]
    (0.0, 2)
    >>> result["subtitle_wer"]["wer"], result["subtitle_wer_normalized"]["wer"]
    (66.66666666666667, 0.0)
    """
    options = _resolve_options(normalize)
    verbatim_refs, verbatim_hyps, subtitle_refs, subtitle_hyps = [], [], [], []
    utterances = 0
    for row in rows:
        utterances += 1
        if _text(row, "verbatim_ref"):
            verbatim_refs.append(_text(row, "verbatim_ref"))
            verbatim_hyps.append(_text(row, "verbatim_hyp"))
        if _text(row, "subtitle_ref"):
            subtitle_refs.append(_text(row, "subtitle_ref"))
            subtitle_hyps.append(_text(row, "subtitle_hyp"))
    return {
        "utterances": utterances,
        "verbatim_wer": word_error_rate(verbatim_refs, verbatim_hyps, normalize=options),
        "subtitle_wer": word_error_rate(subtitle_refs, subtitle_hyps, normalize=None),
        "subtitle_wer_normalized": (
            word_error_rate(subtitle_refs, subtitle_hyps, normalize=options)
            if options is not None
            else None
        ),
        "subtitle_bleu": bleu(subtitle_refs, subtitle_hyps),
        "normalization": options.to_dict() if options is not None else None,
    }


def suber(ref_srt_path, hyp_srt_path, cased=False):
    """SubER (subtitle edit rate) between two SRT files.

    SubER counts word edits, shifts and line/block break edits, and only
    lets words match when their subtitles overlap in time. It needs the
    optional ``subtitle-edit-rate`` package, imported on first use.

    Arguments
    ---------
    ref_srt_path : str or path-like
        The reference SRT file.
    hyp_srt_path : str or path-like
        The hypothesis SRT file.
    cased : bool
        ``False``: SubER on lower-cased text without punctuation (the
        metric's default); ``True``: "SubER-cased".

    Returns
    -------
    float or None
        SubER in percent, ``None`` when the reference holds no subtitle text.

    Raises
    ------
    ImportError
        When ``subtitle-edit-rate`` is not installed.
    FileNotFoundError
        When a file does not exist.
    ValueError
        When a file is not valid SRT.
    """
    try:
        from suber.file_readers import read_input_file
        from suber.metrics.suber import calculate_SubER
    except ImportError as err:
        raise ImportError(
            "SubER needs the optional 'subtitle-edit-rate' package: "
            "pip install speechbrain-subtitle[suber]"
        ) from err

    def read(path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"SRT file not found: {path}")
        try:
            return read_input_file(os.fspath(path), file_format="SRT")
        except Exception as err:  # suber raises a bare Exception for bad files
            cause = f": {err.__cause__}" if err.__cause__ else ""
            raise ValueError(f"{path}: not a valid SRT file{cause}") from err

    reference, hypothesis = read(ref_srt_path), read(hyp_srt_path)
    if not any(segment.word_list for segment in reference):
        return None
    metric = "SubER-cased" if cased else "SubER"
    return float(calculate_SubER(hypothesis=hypothesis, reference=reference, metric=metric))


# ---------------------------------------------------------------------------
# Manifests and output
# ---------------------------------------------------------------------------


def _read_text_csv(path, what):
    """Reads ``ID -> {"verbatim", "subtitle"}`` from a CSV file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if "ID" not in columns:
            raise ValueError(f"{path}: no 'ID' column (header: {','.join(columns)})")
        if "verbatim" not in columns and "subtitle" not in columns:
            raise ValueError(f"{path}: needs a 'verbatim' and/or a 'subtitle' column")
        rows = {}
        for line, record in enumerate(reader, start=2):
            utt_id = (record.get("ID") or "").strip()
            if not utt_id:
                raise ValueError(f"{path}, line {line}: empty ID")
            if utt_id in rows:
                raise ValueError(f"{path}, line {line}: duplicate ID {utt_id!r}")
            rows[utt_id] = {
                "verbatim": (record.get("verbatim") or "").strip(),
                "subtitle": (record.get("subtitle") or "").strip(),
            }
    return rows


def score_manifest(ref_csv, hyp_csv, normalize=True):
    """Scores a hypothesis CSV against a reference manifest.

    The reference is a manifest as used for training (``ID``, ...,
    ``verbatim``, ``subtitle``; other columns are ignored, an empty cell
    means "not available"). The hypothesis file has the columns ``ID``,
    ``verbatim`` and ``subtitle``. A reference ID without a hypothesis row
    is scored as an empty hypothesis and reported in ``missing_hypotheses``;
    hypothesis IDs absent from the reference are ignored and counted in
    ``extra_hypotheses``.

    Arguments
    ---------
    ref_csv : str or path-like
        The reference manifest.
    hyp_csv : str or path-like
        The hypotheses.
    normalize : bool or NormalizationOptions
        As in :func:`score_pairs`.

    Returns
    -------
    dict
        The :func:`score_pairs` result plus ``missing_hypotheses`` (count),
        ``missing_hypothesis_ids`` (list) and ``extra_hypotheses`` (count).

    Raises
    ------
    FileNotFoundError
        When a file does not exist.
    ValueError
        For a file without an ``ID`` column or text columns, or with empty
        or duplicate IDs.
    """
    references = _read_text_csv(ref_csv, "reference")
    hypotheses = _read_text_csv(hyp_csv, "hypothesis")
    missing = [utt_id for utt_id in references if utt_id not in hypotheses]
    empty = {"verbatim": "", "subtitle": ""}
    rows = []
    for utt_id, ref in references.items():
        hyp = hypotheses.get(utt_id, empty)
        rows.append(
            {
                "id": utt_id,
                "verbatim_ref": ref["verbatim"],
                "verbatim_hyp": hyp["verbatim"],
                "subtitle_ref": ref["subtitle"],
                "subtitle_hyp": hyp["subtitle"],
            }
        )
    results = score_pairs(rows, normalize=normalize)
    results["missing_hypotheses"] = len(missing)
    results["missing_hypothesis_ids"] = missing
    results["extra_hypotheses"] = sum(1 for utt_id in hypotheses if utt_id not in references)
    return results


_TABLE_ROWS = (
    ("verbatim_wer", "verbatim WER (normalized)"),
    ("subtitle_wer", "subtitle WER (cased+punct)"),
    ("subtitle_wer_normalized", "subtitle WER (normalized)"),
)


def _fmt_score(value):
    return "n/a" if value is None else f"{value:.2f}"


def format_table(results):
    """Formats scores as a fixed-width text table.

    Arguments
    ---------
    results : dict
        As returned by :func:`score_pairs` or :func:`score_manifest`,
        optionally with a ``suber`` entry (a float or ``None``).

    Returns
    -------
    str
        The table, one metric per line, then the counts.

    Example
    -------
    >>> rows = [{"id": "a", "verbatim_ref": "de kat zit hier", "verbatim_hyp": "de hond zit hier"}]
    >>> print(format_table(score_pairs(rows)))  # doctest: +NORMALIZE_WHITESPACE
    metric                       score  sents  ref words  sub  del  ins
    verbatim WER (normalized)    25.00      1          4    1    0    0
    subtitle WER (cased+punct)     n/a      0          0    0    0    0
    subtitle WER (normalized)      n/a      0          0    0    0    0
    subtitle BLEU                  n/a      0
    utterances: 1
    """
    header = (
        f"{'metric':<27}{'score':>7}{'sents':>7}{'ref words':>11}{'sub':>5}{'del':>5}{'ins':>5}"
    )
    lines = [header]
    for key, label in _TABLE_ROWS:
        wer = results.get(key)
        if not wer:
            continue
        lines.append(
            f"{label:<27}{_fmt_score(wer['wer']):>7}{wer['sentences']:>7}"
            f"{wer['reference_words']:>11}{wer['substitutions']:>5}{wer['deletions']:>5}"
            f"{wer['insertions']:>5}"
        )
    if results.get("subtitle_bleu"):
        score = results["subtitle_bleu"]
        lines.append(f"{'subtitle BLEU':<27}{_fmt_score(score['bleu']):>7}{score['sentences']:>7}")
    if "suber" in results:
        lines.append(f"{'SubER':<27}{_fmt_score(results['suber']):>7}")
    counts = []
    if "utterances" in results:
        counts.append(f"utterances: {results['utterances']}")
    if "missing_hypotheses" in results:
        counts.append(f"missing hypotheses: {results['missing_hypotheses']}")
    if results.get("extra_hypotheses"):
        counts.append(f"extra hypotheses (ignored): {results['extra_hypotheses']}")
    if counts:
        lines.append(", ".join(counts))
    if results.get("subtitle_bleu") and results["subtitle_bleu"]["sentences"]:
        lines.append(f"BLEU signature: {results['subtitle_bleu']['signature']}")
    return "\n".join(lines)


def write_results(results, path_json):
    """Writes results as JSON (UTF-8, indented by 2, parent folders created).

    Arguments
    ---------
    results : dict
        Any JSON-serialisable dict, e.g. from :func:`score_manifest`.
    path_json : str or path-like
        The output file.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path_json)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return path


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def build_argparser(parser=None):
    """The arguments of the ``score`` command.

    Arguments
    ---------
    parser : argparse.ArgumentParser, optional
        A parser (e.g. a sub-command parser) to add the arguments to; a new
        one is made when omitted.

    Returns
    -------
    argparse.ArgumentParser
        The parser.

    Example
    -------
    >>> args = build_argparser().parse_args(["--ref", "r.csv", "--hyp", "h.csv"])
    >>> args.ref, args.hyp, args.normalize
    ('r.csv', 'h.csv', True)
    """
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="speechbrain-subtitle score",
            description=(
                "Score verbatim transcripts (WER after Dutch normalisation) and subtitles "
                "(WER, BLEU, optionally SubER) against a reference manifest."
            ),
        )
    parser.add_argument(
        "--ref",
        metavar="CSV",
        help="reference manifest with columns ID,...,verbatim,subtitle "
        "(an empty cell: that text is not available for the row)",
    )
    parser.add_argument(
        "--hyp",
        metavar="CSV",
        help="hypotheses with columns ID,verbatim,subtitle; reference IDs missing here are "
        "scored as empty outputs and counted",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        help="score the verbatim text as it is (whitespace-split) instead of after lowercasing, "
        "filler removal, number/abbreviation expansion and hyphen stripping; also drops the "
        "normalized subtitle WER",
    )
    parser.add_argument(
        "--ref-srt", metavar="SRT", help="reference SRT file for SubER (needs --hyp-srt)"
    )
    parser.add_argument(
        "--hyp-srt",
        metavar="SRT",
        help="hypothesis SRT file for SubER (needs --ref-srt and the optional "
        "subtitle-edit-rate package)",
    )
    return parser


def run_score(args):
    """Runs the ``score`` command on parsed arguments.

    Prints the table of :func:`format_table` and, with ``--json``, writes the
    results. Meant as the ``func`` of a ``score`` sub-command built with
    :func:`build_argparser`.

    Arguments
    ---------
    args : argparse.Namespace
        From :func:`build_argparser`.

    Returns
    -------
    int
        0 (errors are raised: FileNotFoundError, ImportError, ValueError).
    """
    if (args.ref is None) != (args.hyp is None):
        raise ValueError("--ref and --hyp go together")
    if (args.ref_srt is None) != (args.hyp_srt is None):
        raise ValueError("--ref-srt and --hyp-srt go together")
    if args.ref is None and args.ref_srt is None:
        raise ValueError("nothing to score: give --ref/--hyp and/or --ref-srt/--hyp-srt")
    results = {}
    if args.ref is not None:
        results = score_manifest(args.ref, args.hyp, normalize=args.normalize)
    if args.ref_srt is not None:
        results["suber"] = suber(args.ref_srt, args.hyp_srt)
    print(format_table(results))
    if args.json:
        write_results(results, args.json)
    return 0


def main(argv=None):
    """Entry point of the ``score`` command.

    Arguments
    ---------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on an error (the message goes to stderr).
    """
    args = build_argparser().parse_args(argv)
    try:
        return run_score(args)
    except (FileNotFoundError, ImportError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
