"""Subtitle files from recordings of any length.

:func:`transcribe_long` runs the whole job for one file:

1. **Segmentation** (:mod:`speechbrain_subtitle.segmentation`): silero VAD
   streams over the file and the speech regions become segments of 3 to
   15 s. When VAD finds nothing in a file that is not silent, fixed
   overlapping windows are decoded instead; in that case a window whose
   verbatim CTC head hears no speech (all frames blank) is treated as
   non-speech (music, noise) and gives no text.
2. **Decoding** in batches of segments sorted by length (least padding),
   each batch read from the file when it is decoded, so memory is bounded by
   the batch, never by the recording. A ``tqdm`` bar counts the audio.
3. **Timing** (:mod:`speechbrain_subtitle.alignment`): verbatim words are
   force-aligned to the CTC head, subtitle words take the times of the
   verbatim words they correspond to. Words of overlapping windows are kept
   only by the window whose central part holds their midpoint.
4. **Cues** (:mod:`speechbrain_subtitle.subtitles`): the timed subtitle
   words are split into cues under the broadcast constraints.

:func:`write_outputs` then writes SRT, WebVTT, ASS, TTML, a timed verbatim
transcript (text) and a JSON file with everything (segments, exact word
times, cues on the frame grid, and the cues' quality report).

A file without speech (silence, music) gives a result without cues; the
writers still write every requested file (an empty SRT, a WebVTT file with
only its header, an empty transcript, JSON with empty lists) so that a batch
job finds one output per input, and :attr:`LongFormResult.message` says why.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from tqdm.auto import tqdm

from speechbrain_subtitle.audio_checks import check_length, warn_nonfinite
from speechbrain_subtitle.decoding import TASKS
from speechbrain_subtitle.inference import pad_waveforms
from speechbrain_subtitle.segmentation import (
    AudioStream,
    Segment,
    SegmentationOptions,
    segment_audio,
)
from speechbrain_subtitle.subtitle_quality import quality_report
from speechbrain_subtitle.subtitles import (
    Cue,
    CueConstraints,
    Word,
    _timestamp,
    _write_atomically,
    check_cues,
    split_into_cues,
    to_ass,
    to_srt,
    to_ttml,
    to_vtt,
)

logger = logging.getLogger(__name__)

#: Output formats :func:`write_outputs` knows, and their file suffixes.
FORMATS = {
    "srt": ".srt",
    "vtt": ".vtt",
    "txt": ".txt",
    "json": ".json",
    "ass": ".ass",
    "ttml": ".ttml",
}
#: What ``transcribe --out`` writes when no ``--format`` is given.
DEFAULT_FORMATS = ("srt", "vtt", "txt", "json")


@dataclasses.dataclass
class SegmentText:
    """What one decoded segment says.

    Attributes
    ----------
    segment : speechbrain_subtitle.segmentation.Segment
        Where it is in the recording.
    verbatim, subtitle : str
        Both texts of the whole segment (the words of an overlapping window
        kept by a neighbour are still in these texts).
    verbatim_words, subtitle_words : list of Word
        The segment's words kept for the recording, with times in seconds
        from the start of the recording.
    ctc_entropy : float or None
        Mean entropy of the verbatim CTC posteriors (see ``SubtitleResult``).
    low_confidence : bool
        The entropy is above the model's ``max_ctc_entropy``: the segment's
        words are kept here (and in the JSON) but left out of the cues and
        the transcript.
    """

    segment: Segment
    verbatim: str = ""
    subtitle: str = ""
    verbatim_words: list = dataclasses.field(default_factory=list)
    subtitle_words: list = dataclasses.field(default_factory=list)
    ctc_entropy: float = None
    low_confidence: bool = False


@dataclasses.dataclass
class LongFormResult:
    """Everything :func:`transcribe_long` found in one recording.

    Attributes
    ----------
    path : str
        The input file.
    duration : float
        Its length in seconds.
    method : str
        How it was segmented: ``"vad"``, ``"fixed"`` (VAD found no speech
        region in a non-silent file but rates some windows above its
        fallback threshold), ``"nonspeech"`` (noise, tones, music: nothing
        decoded) or ``"silence"``.
    segments : list of SegmentText
        Decoded segments in time order (only those with text).
    cues : list of Cue
        The subtitle cues.
    problems : list of str
        Where cues break the constraints (from :func:`~speechbrain_subtitle.subtitles.check_cues`;
        fast speech can leave a cue above the reading speed).
    message : str
        A sentence for the user when there is nothing to show or when
        low-confidence segments were left out of the cues, else ``""``.
    constraints : CueConstraints or None
        The limits the cues were made for (``None``: the defaults).
    """

    path: str
    duration: float
    method: str
    segments: list = dataclasses.field(default_factory=list)
    cues: list = dataclasses.field(default_factory=list)
    problems: list = dataclasses.field(default_factory=list)
    message: str = ""
    constraints: CueConstraints = None

    @property
    def quality(self) -> dict:
        """The cues measured by :func:`~speechbrain_subtitle.subtitle_quality.quality_report`."""
        return quality_report(self.cues, self.constraints, self.duration)

    @property
    def verbatim_words(self) -> list:
        """All timed verbatim words of the recording, in order (confident segments)."""
        return [w for s in self.segments if not s.low_confidence for w in s.verbatim_words]

    @property
    def subtitle_words(self) -> list:
        """All timed subtitle words of the recording, in order (confident segments)."""
        return [w for s in self.segments if not s.low_confidence for w in s.subtitle_words]

    @property
    def verbatim(self) -> str:
        """The verbatim transcript as one line."""
        return " ".join(w.text for w in self.verbatim_words)

    @property
    def subtitle(self) -> str:
        """The subtitle text as one line."""
        return " ".join(w.text for w in self.subtitle_words)


def _batches(segments, batch_size):
    """Index lists of segments grouped longest first (little padding per batch)."""
    order = sorted(range(len(segments)), key=lambda i: -segments[i].duration)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _kept(words, segment):
    """Words moved to recording time, keeping those centred in the segment's kept part."""
    keep_start, keep_end = segment.kept
    out = []
    for w in words:
        start = min(segment.start + w.start, segment.end)
        end = min(max(segment.start + w.end, start), segment.end)
        middle = (start + end) / 2
        if keep_start <= middle < keep_end or (middle == keep_end == segment.end):
            out.append(Word(w.text, start, end))
    return out


def transcribe_long(
    asr,
    path,
    *,
    batch_size=8,
    tasks=TASKS,
    segmentation=None,
    constraints=None,
    subtitle_timing="transfer",
    progress=None,
    max_ctc_entropy=None,
    **options,
):
    """Verbatim transcript, subtitle and cues of a recording of any length.

    Arguments
    ---------
    asr : speechbrain_subtitle.inference.SubtitleASR
        The loaded model.
    path : str or os.PathLike
        Audio file (any rate, channels and format soundfile reads).
    batch_size : int
        Segments decoded together.
    tasks : tuple of str
        ``("verbatim", "subtitle")`` or ``("verbatim",)``; with a
        verbatim-only task or model the cues are made from the verbatim words.
    segmentation : SegmentationOptions, optional
        VAD and segment length settings.
    constraints : CueConstraints, optional
        Cue limits (default: 42 characters x 2 lines, 17 cps...).
    subtitle_timing : str
        ``"transfer"`` or ``"ctc"`` (see ``SubtitleASR.transcribe_batch``).
    progress : bool or None
        Show progress bars (``None``: only on a terminal).
    max_ctc_entropy : float or None
        Segments of at least ``MIN_JUDGED_DURATION`` (3 s) whose mean
        verbatim CTC entropy is above this are marked ``low_confidence`` and
        left out of the cues (babble, a language the model does not know).
        Default: the model's ``max_ctc_entropy`` (yaml), none if it has none;
        0 or a negative value turns it off.
    **options
        Decoding overrides (``beam_size``, ``ctc_weight``, ``greedy``...).

    Returns
    -------
    LongFormResult

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing, empty or unreadable file (see ``AudioStream``), one
        too short to decode, or one without any finite sample. NaN and
        infinite samples among finite ones are set to 0 with a warning
        (see :mod:`speechbrain_subtitle.audio_checks`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    segmentation = segmentation or SegmentationOptions()
    constraints = constraints or CueConstraints()
    if isinstance(tasks, str):
        tasks = (tasks,)
    stream = AudioStream(str(path), asr.sample_rate)
    check_length(str(path), stream.num_samples, asr.sample_rate)
    if progress is None:
        progress = sys.stderr.isatty()
    disable = not progress
    segments, method = segment_audio(stream, segmentation, progress=progress)
    nonfinite, first = stream.check_finite()  # after the VAD's pass: no second read
    if nonfinite:
        warn_nonfinite(str(path), nonfinite, first)
    result = LongFormResult(str(path), stream.duration, method, constraints=constraints)
    if method == "nonspeech":
        result.message = f"no speech found in {path} (the VAD hears only non-speech): no cues"
        return result
    if not segments:
        result.message = f"no sound in {path} (silence): no cues"
        return result
    texts = [SegmentText(seg) for seg in segments]
    bar = tqdm(
        total=round(sum(s.duration for s in segments), 1),
        unit="s",
        desc=f"decoding {Path(path).name}",
        disable=disable,
        leave=False,
    )
    with bar:
        for batch in _batches(segments, batch_size):
            wavs = [stream.read(segments[i].start, segments[i].end) for i in batch]
            padded, lens = pad_waveforms(wavs)
            decoded = asr.transcribe_batch(
                padded,
                lens,
                tasks=tasks,
                word_times=True,
                subtitle_timing=subtitle_timing,
                **options,
            )
            for i, found in zip(batch, decoded):
                if method == "fixed" and not found.ctc_speech_frames:
                    continue  # a window the CTC head hears no speech in (music, noise)
                seg = texts[i]
                seg.verbatim, seg.subtitle = found.verbatim, found.subtitle
                seg.verbatim_words = _kept(found.verbatim_words, seg.segment)
                seg.subtitle_words = _kept(found.subtitle_words, seg.segment)
                seg.ctc_entropy = found.ctc_entropy
            bar.update(round(sum(segments[i].duration for i in batch), 1))
    result.segments = [t for t in texts if t.verbatim_words or t.subtitle_words]
    unsure = _mark_low_confidence(result.segments, _entropy_limit(asr, max_ctc_entropy))
    stream_words = result.subtitle_words or result.verbatim_words
    if unsure:
        result.message = (
            f"{len(unsure)} segment(s) ({sum(s.segment.duration for s in unsure):.1f} s) "
            f"left out of the cues: the model is not confident there (CTC entropy above "
            f"{_entropy_limit(asr, max_ctc_entropy):g}); their text is in the JSON output"
        )
    if not stream_words:
        result.message = f"no speech found in {path}: no cues" + (
            f" ({result.message})" if unsure else ""
        )
        return result
    result.cues = split_into_cues(stream_words, constraints)
    result.problems = check_cues(result.cues, constraints)
    return result


def _entropy_limit(asr, value):
    """The CTC entropy above which a segment is low-confidence (None: no limit)."""
    if value is None:
        value = getattr(getattr(asr, "hparams", None), "max_ctc_entropy", None)
    return value if value is not None and value > 0 else None


#: Segments shorter than this (seconds) are never judged low-confidence: on a
#: second or two of audio the mean CTC entropy varies too much to mean anything.
MIN_JUDGED_DURATION = 3.0


def _mark_low_confidence(segments, limit):
    """Marks (and returns) the segments whose CTC entropy is above ``limit``."""
    if limit is None:
        return []
    unsure = [
        s
        for s in segments
        if s.ctc_entropy is not None
        and s.ctc_entropy > limit
        and s.segment.duration >= MIN_JUDGED_DURATION
    ]
    for s in unsure:
        s.low_confidence = True
    return unsure


def to_transcript(result: LongFormResult) -> str:
    """The verbatim transcript, one timed line per segment.

    Example
    -------
    >>> seg = SegmentText(Segment(1.0, 3.0), "ja euh goeiemorgen", "Goedemorgen.",
    ...                   [Word("ja", 1.1, 1.3), Word("goeiemorgen", 1.9, 2.6)])
    >>> print(to_transcript(LongFormResult("a.wav", 3.0, "vad", [seg])), end="")
    [00:00:01.100 --> 00:00:02.600] ja goeiemorgen
    """
    lines = []
    for seg in result.segments:
        if not seg.verbatim_words or seg.low_confidence:
            continue
        words = seg.verbatim_words
        text = " ".join(w.text for w in words)
        lines.append(f"[{_timestamp(words[0].start)} --> {_timestamp(words[-1].end)}] {text}")
    return "".join(line + "\n" for line in lines)


def _words_json(words):
    return [{"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3)} for w in words]


def to_json(result: LongFormResult) -> str:
    """Everything about one recording as a JSON document."""
    doc = {
        "file": result.path,
        "duration": round(result.duration, 3),
        "segmentation": result.method,
        "message": result.message,
        "verbatim": result.verbatim,
        "subtitle": result.subtitle,
        "segments": [
            {
                "start": round(s.segment.start, 3),
                "end": round(s.segment.end, 3),
                "verbatim": s.verbatim,
                "subtitle": s.subtitle,
                "verbatim_words": _words_json(s.verbatim_words),
                "subtitle_words": _words_json(s.subtitle_words),
                "ctc_entropy": None if s.ctc_entropy is None else round(s.ctc_entropy, 3),
                "low_confidence": s.low_confidence,
            }
            for s in result.segments
        ],
        "cues": [
            {"start": round(c.start, 3), "end": round(c.end, 3), "lines": list(c.lines)}
            for c in result.cues
        ],
        "constraint_problems": list(result.problems),
        "quality": result.quality,
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def parse_formats(text):
    """``"srt,vtt"`` -> ``["srt", "vtt"]``, with a clear error for unknown names.

    ``dfxp`` is accepted as another name of ``ttml``.

    Example
    -------
    >>> parse_formats("srt, VTT,txt")
    ['srt', 'vtt', 'txt']
    >>> parse_formats("doc")
    Traceback (most recent call last):
    ...
    ValueError: unknown output format(s) doc; choose from srt, vtt, txt, json, ass, ttml
    """
    names = [f.strip().lower() for f in text.split(",") if f.strip()]
    names = ["ttml" if f == "dfxp" else f for f in names]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ValueError(
            f"unknown output format(s) {', '.join(unknown) or repr(text)}; "
            f"choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(names))


def output_paths(out_dir, stem, formats) -> list:
    """The files :func:`write_outputs` writes: ``out_dir/stem.<suffix>`` per format.

    >>> [str(p) for p in output_paths("subs", "talk", ["srt", "txt"])]
    ['subs/talk.srt', 'subs/talk.txt']
    """
    return [Path(out_dir) / f"{stem}{FORMATS[fmt]}" for fmt in formats]


def _same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one file: equal once symlinks are
    resolved, or (both existing) the same inode, e.g. hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_outputs(paths, inputs) -> None:
    """Raises ValueError when an output path is one of the input files.

    Arguments
    ---------
    paths : list of str or os.PathLike
        Files about to be written.
    inputs : list of str or os.PathLike
        Files that must not be written over (the inputs of the call).

    Example
    -------
    >>> check_outputs(["out/a.srt"], ["out/a.srt"])
    Traceback (most recent call last):
    ...
    ValueError: the output out/a.srt would overwrite the input out/a.srt; choose another --out
    """
    for path in paths:
        for source in inputs:
            if _same_file(path, source):
                raise ValueError(
                    f"the output {path} would overwrite the input {source}; choose another --out"
                )


def write_outputs(result: LongFormResult, out_dir, stem, formats, inputs=()) -> list:
    """Writes the requested files ``out_dir/stem.<format>`` (atomically).

    Each file is written to a temporary file in ``out_dir`` and moved over
    the target only when complete, so a crash never leaves half a file or
    destroys an earlier good one. No file is written when one of them would
    be ``result.path`` or one of ``inputs`` (:func:`check_outputs`).

    Arguments
    ---------
    result : LongFormResult
        What :func:`transcribe_long` returned.
    out_dir : str or os.PathLike
        Folder (created if missing).
    stem : str
        File name without suffix.
    formats : list of str
        Among ``srt``, ``vtt``, ``txt``, ``json``, ``ass`` (written with
        ``pysubs2``) and ``ttml`` (TTML/DFXP, written with ``pycaption``).
    inputs : list of str or os.PathLike
        Other files never to write over (e.g. all inputs of a batch).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If an output would overwrite an input.
    """
    out_dir = Path(out_dir)
    check_outputs(output_paths(out_dir, stem, formats), [result.path, *inputs])
    os.makedirs(out_dir, exist_ok=True)
    writers = {
        "srt": lambda: to_srt(result.cues),
        "vtt": lambda: to_vtt(result.cues),
        "txt": lambda: to_transcript(result),
        "json": lambda: to_json(result),
        "ass": lambda: to_ass(result.cues),
        "ttml": lambda: to_ttml(result.cues),
    }
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}{FORMATS[fmt]}"
        _write_atomically(path, writers[fmt]())
        written.append(path)
    return written


def output_stems(paths) -> list:
    """Output file names (without suffix) for inputs, unique within one call.

    Inputs with the same name in different folders get ``-2``, ``-3``...

    Example
    -------
    >>> output_stems(["a/talk.wav", "b/talk.mp3", "c/news.flac"])
    ['talk', 'talk-2', 'news']
    """
    used = set()
    stems = []
    for p in paths:
        stem = Path(p).stem or "output"
        candidate, count = stem, 1
        while candidate in used:
            count += 1
            candidate = f"{stem}-{count}"
        used.add(candidate)
        stems.append(candidate)
    return stems


__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "Cue",
    "LongFormResult",
    "SegmentText",
    "check_outputs",
    "output_paths",
    "output_stems",
    "parse_formats",
    "to_json",
    "to_transcript",
    "transcribe_long",
    "write_outputs",
]
