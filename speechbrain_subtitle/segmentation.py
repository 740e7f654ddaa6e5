"""Cutting long recordings into speech segments of a few seconds for decoding.

A recording of any length (seconds to hours, any sample rate, channel count
or format libsndfile reads) is turned into a list of :class:`Segment` of
about 3 to 15 seconds that a batch of the model can decode. Memory stays
bounded: the audio is never held whole, only one block of it at a time.

Reading (:class:`AudioStream`)
------------------------------
:class:`AudioStream` opens a file with soundfile and reads only the range that
is asked for, downmixed to mono (mean of the channels) and resampled to the
model's rate with :func:`torchaudio.functional.resample`. Each read takes a
few milliseconds of extra audio on both sides and starts at a sample where
the resampling filter is in phase with the one of the whole file, so a range
read on its own equals the same range of the whole file resampled at once
(up to float rounding), and consecutive blocks join without a seam.

Voice activity (:func:`speech_probabilities`, :func:`speech_regions`)
---------------------------------------------------------------------
The silero VAD model gives a speech probability for each window of 512
samples at 16 kHz (32 ms). The windows are fed in order, block by block
(:attr:`SegmentationOptions.block` seconds of audio at a time), and the
model's recurrent state runs on from one block to the next, so the
probabilities are those of one pass over the whole file. Speech starts at a
window at or above ``threshold`` and stops after ``min_silence`` seconds
below ``threshold - 0.15`` (hysteresis); regions shorter than ``min_speech``
are dropped, and ``pad`` seconds are added on both sides (where two regions
are closer than twice the padding they meet in the middle of the pause).

Planning (:func:`plan_segments`)
--------------------------------
A region longer than ``max_duration`` is first cut into near-equal parts;
when the probabilities are known each cut moves to the window with the least
speech near its ideal place (a pause between words rather than the middle of
one). The regions and parts are then grouped into segments: a segment spans
its regions and the pauses between them, is at most ``max_duration`` long and
never spans a pause longer than ``max_merge_gap``. Among the groupings that
keep to this the one chosen has the fewest segments, then the fewest shorter
than ``min_duration``, then cuts at the longest pauses. This is what greedy
merging aims at (a short segment always joins a neighbour when the limits
allow it) without its flaw of leaving a short tail: 16 s of talk with short
pauses becomes two segments of about 8 s cut at the longest pause, not 15 s
and 1 s. A segment that cannot join a neighbour stays short; speech is never
invented, and every speech region lies inside the segments.

Fallback (:func:`segment_audio`)
--------------------------------
When the VAD finds no speech, a file whose peak stays below
:data:`speechbrain_subtitle.inference.SILENCE_PEAK` is silence and gets no
segments (method ``"silence"``). Otherwise the file is cut into overlapping
:func:`fixed_windows` (method ``"fixed"``): the VAD may have missed speech
(music underneath, an odd channel), and the caller decides what to do with
what the model finds there. Each window carries a *keep* range: a word whose
midpoint falls inside it belongs to that window, so words in the overlaps are
counted once.

Example
-------
>>> import torch
>>> probs = torch.tensor([0.0] * 10 + [0.9] * 100 + [0.0] * 50 + [0.8] * 60)
>>> regions = speech_regions(probs, 0.032)
>>> regions
[(0.22, 3.62), (5.02, 7.04)]
>>> for segment in plan_segments(regions):
...     print(segment)
Segment(start=0.22, end=3.62, keep_start=None, keep_end=None)
Segment(start=5.02, end=7.04, keep_start=None, keep_end=None)

Authors
 * speechbrain_subtitle contributors
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import threading
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import soundfile as sf
import torch
import torchaudio
from tqdm import tqdm

from speechbrain_subtitle import audio_checks

__all__ = [
    "SAMPLE_RATE",
    "AudioStream",
    "Segment",
    "SegmentationOptions",
    "speech_probabilities",
    "speech_regions",
    "plan_segments",
    "fixed_windows",
    "segment_audio",
]

#: Sample rate of the VAD model (and the default rate of :class:`AudioStream`).
SAMPLE_RATE = 16000

# Samples per silero window at 16 kHz.
_VAD_WINDOW = 512
# Extra audio read on both sides of a range before resampling, in seconds.
# The resampling filter of torchaudio reaches about 6 / min(rate) s to each
# side (under 1 ms at 8 kHz); this is ten times that.
_RESAMPLE_MARGIN = 0.01
# Costs of a grouping in plan_segments (see _group).
_COST_SEGMENT = 1.0
_COST_SHORT = 1.0
_COST_CUT = 0.5
# Decimals kept in the times of regions and segments.
_DECIMALS = 6
# A fixed window may be this much longer than `window` (in seconds) rather
# than a second window being added for the last millisecond.
_WINDOW_SLACK = 0.001


# ---------------------------------------------------------------------------
# Reading audio
# ---------------------------------------------------------------------------


class AudioStream:
    """Reads parts of an audio file as mono float32 at ``sample_rate``
    without loading it whole.

    Only the header is read when the stream is made; :meth:`read` and
    :meth:`blocks` read the samples they need. Channels are averaged and the
    audio is resampled with :func:`torchaudio.functional.resample` when the
    file's rate differs. A range is read with a little extra audio around it,
    aligned with the phase of the resampling filter, so any range equals the
    same range of the whole file resampled at once, up to float rounding.

    Arguments
    ---------
    path : str or os.PathLike
        Audio file in any format libsndfile reads (wav, flac, ogg, mp3...).
    sample_rate : int
        Rate of the audio that is returned.

    Attributes
    ----------
    path : str
        The file.
    sample_rate : int
        Rate of the audio that is returned.
    source_rate : int
        Rate of the file.
    channels : int
        Channels in the file.
    frames : int
        Samples per channel in the file (at ``source_rate``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a directory.
    ValueError
        If the file is empty (0 bytes), soundfile cannot open it (corrupt or
        an unsupported format), or it holds no samples.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "stereo.wav")
    >>> sf.write(path, np.full((44100 * 2, 2), 0.25, dtype="float32"), 44100)
    >>> stream = AudioStream(path)
    >>> stream.source_rate, stream.channels, stream.frames, stream.duration
    (44100, 2, 88200, 2.0)
    >>> part = stream.read(0.5, 1.0)
    >>> part.shape, part.dtype
    (torch.Size([8000]), torch.float32)
    >>> round(float(part.mean()), 3)
    0.25
    >>> [(start, len(block)) for start, block in stream.blocks(0.75)]
    [(0.0, 12000), (0.75, 12000), (1.5, 8000)]
    >>> tmp.cleanup()
    """

    def __init__(self, path, sample_rate: int = SAMPLE_RATE):
        path = os.fspath(path)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if not os.path.exists(path):
            raise FileNotFoundError(f"Audio file not found: {path}")
        if os.path.isdir(path):
            raise FileNotFoundError(f"Audio file not found: {path} is a directory")
        if os.path.getsize(path) == 0:
            raise ValueError(f"Audio file {path} is empty (0 bytes)")
        try:
            info = sf.info(path)
        except Exception as err:  # soundfile raises several types for bad files
            raise ValueError(
                f"Cannot read {path} as audio: the file is corrupt or its format is not "
                f"supported by libsndfile ({err})"
            ) from None
        if info.frames <= 0 or info.samplerate <= 0 or info.channels <= 0:
            raise ValueError(f"Audio file {path} holds no audio samples")
        self.path = path
        self.sample_rate = sample_rate
        self.source_rate = int(info.samplerate)
        self.channels = int(info.channels)
        self.frames = int(info.frames)
        # The resampling filter repeats every `_src_step` source samples
        # (= `_dst_step` output samples).
        common = math.gcd(self.source_rate, self.sample_rate)
        self._src_step = self.source_rate // common
        self._dst_step = self.sample_rate // common
        self._margin = math.ceil(_RESAMPLE_MARGIN * self.source_rate)
        # Non-finite samples seen so far (see check_finite): frames 0:_checked
        # were counted once each, as reads move forward through the file.
        self._checked = 0
        self._nonfinite = 0
        self._first_nonfinite = None
        self._any_finite = False

    def __repr__(self):
        return (
            f"AudioStream({self.path!r}, sample_rate={self.sample_rate}, "
            f"source_rate={self.source_rate}, channels={self.channels}, frames={self.frames})"
        )

    @property
    def duration(self) -> float:
        """Length of the file in seconds."""
        return self.frames / self.source_rate

    @property
    def num_samples(self) -> int:
        """Length of the whole file at ``sample_rate``, in samples (as
        :func:`torchaudio.functional.resample` gives it)."""
        return -(-self.frames * self.sample_rate // self.source_rate)

    def read(self, start: float, end: float) -> torch.Tensor:
        """The audio from ``start`` to ``end`` seconds.

        Arguments
        ---------
        start, end : float
            The range in seconds; it is clipped to ``[0, duration]``.

        Returns
        -------
        torch.Tensor
            1-D float32 mono audio at ``sample_rate``: ``round(end *
            sample_rate) - round(start * sample_rate)`` samples (all of them
            up to the end of the file when ``end >= duration``), empty when
            ``end <= start``.

        Raises
        ------
        ValueError
            If the file cannot be decoded in that range (corrupt data).
        """
        total = self.num_samples
        first = min(total, max(0, round(start * self.sample_rate)))
        last = total if end >= self.duration else min(total, max(0, round(end * self.sample_rate)))
        if last <= first:
            return torch.zeros(0)
        with self._open() as handle:
            return self._read_samples(handle, first, last)

    def blocks(self, seconds: float = 60.0) -> Iterator[tuple[float, torch.Tensor]]:
        """Reads the whole file, a block at a time.

        The blocks follow each other without gap or overlap and together give
        exactly :attr:`num_samples` samples, equal to the whole file read and
        resampled at once (up to float rounding).

        Arguments
        ---------
        seconds : float
            Length of each block (the last one is shorter).

        Yields
        ------
        start : float
            Where the block starts, in seconds.
        block : torch.Tensor
            1-D float32 mono audio at ``sample_rate``, ``round(seconds *
            sample_rate)`` samples (at least 1).

        Raises
        ------
        ValueError
            If ``seconds`` is not positive, or the file cannot be decoded.
        """
        if not seconds > 0:
            raise ValueError(f"Block length must be positive, got {seconds!r}")
        size = max(1, round(seconds * self.sample_rate))
        total = self.num_samples
        with self._open() as handle:
            for first in range(0, total, size):
                last = min(total, first + size)
                yield first / self.sample_rate, self._read_samples(handle, first, last)

    def check_finite(self) -> tuple[int, float | None]:
        """Counts the NaN and infinite samples of the whole file.

        Every read sets such samples to 0 (before resampling, which would
        spread them) and counts those it sees first; after one pass over the
        file (:meth:`blocks`, as the VAD does) nothing is read again, else
        the rest of the file is read now.

        Returns
        -------
        count : int
            Frames holding a non-finite value (set to 0 when read).
        first : float or None
            Time in seconds of the first of them (None when there is none).

        Raises
        ------
        ValueError
            If the file holds no finite sample at all.
        """
        if self._checked < self.frames:
            size = max(1, round(60.0 * self.source_rate))
            with self._open() as handle:
                for first in range(self._checked, self.frames, size):
                    self._read_source(handle, first, min(self.frames, first + size))
        if not self._any_finite:
            raise audio_checks.no_finite_error(self.path, self.frames)
        first = self._first_nonfinite
        return self._nonfinite, None if first is None else first / self.source_rate

    def _count_nonfinite(self, data, first: int):
        """Sets the non-finite values of frames ``first:`` (``data``) to 0 and
        counts those of the frames that extend the counted part of the file."""
        # Frames of `data` not counted yet start at `new`; a read past a gap
        # is only repaired (check_finite reads the gap in order later).
        new = max(0, self._checked - first) if first <= self._checked else len(data)
        if new < len(data):
            self._any_finite = self._any_finite or bool(np.isfinite(data[new:]).any())
        count, where = audio_checks.repair_nonfinite(data[new:])
        audio_checks.repair_nonfinite(data[:new])
        if count:
            self._nonfinite += count
            if self._first_nonfinite is None:
                self._first_nonfinite = first + new + where
        if first <= self._checked:
            self._checked = max(self._checked, first + len(data))

    def _open(self):
        try:
            return sf.SoundFile(self.path)
        except Exception as err:
            raise ValueError(f"Cannot open {self.path} as audio ({err})") from None

    def _read_source(self, handle, first: int, last: int) -> torch.Tensor:
        """Source frames ``first:last``, downmixed; missing frames are zeros."""
        try:
            handle.seek(first)
            data = handle.read(last - first, dtype="float32", always_2d=True)
        except Exception as err:  # a decoder error in a corrupt file
            raise ValueError(
                f"Cannot decode {self.path} near {first / self.source_rate:.2f} s: the file "
                f"is corrupt or truncated ({err})"
            ) from None
        self._count_nonfinite(data, first)
        mono = torch.from_numpy(data).mean(dim=1)
        if len(mono) < last - first:  # the header promised more than the file holds
            mono = torch.nn.functional.pad(mono, (0, last - first - len(mono)))
        return mono

    def _read_samples(self, handle, first: int, last: int) -> torch.Tensor:
        """Output samples ``first:last`` (at ``sample_rate``)."""
        if self.source_rate == self.sample_rate:
            return self._read_source(handle, first, last)
        # Source range with a margin on both sides, starting in phase with
        # the filter of the whole file (a multiple of _src_step).
        lo = max(0, first * self.source_rate // self.sample_rate - self._margin)
        lo -= lo % self._src_step
        hi = min(self.frames, -(-last * self.source_rate // self.sample_rate) + self._margin)
        wav = torchaudio.functional.resample(
            self._read_source(handle, lo, hi), self.source_rate, self.sample_rate
        )
        offset = lo // self._src_step * self._dst_step  # output index of wav[0]
        return wav[first - offset : last - offset].contiguous()


# ---------------------------------------------------------------------------
# Segments and options
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of a recording to decode.

    Arguments
    ---------
    start, end : float
        The audio to decode, in seconds.
    keep_start, keep_end : float, optional
        Words whose midpoint lies in ``[keep_start, keep_end)`` belong to this
        segment; ``None`` means ``start`` / ``end``. Overlapping fixed windows
        use it so that the words of an overlap are kept once.

    Raises
    ------
    ValueError
        If ``end`` is before ``start``.

    Example
    -------
    >>> segment = Segment(13.0, 28.0, keep_start=14.0)
    >>> segment.duration, segment.kept
    (15.0, (14.0, 28.0))
    """

    start: float
    end: float
    keep_start: float | None = None
    keep_end: float | None = None

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"Segment end ({self.end}) is before its start ({self.start})")

    @property
    def duration(self) -> float:
        """Length of the audio to decode, in seconds."""
        return self.end - self.start

    @property
    def kept(self) -> tuple[float, float]:
        """``(keep_start, keep_end)`` with ``None`` replaced by ``start`` / ``end``."""
        keep_start = self.start if self.keep_start is None else self.keep_start
        keep_end = self.end if self.keep_end is None else self.keep_end
        return keep_start, keep_end


@dataclasses.dataclass(frozen=True)
class SegmentationOptions:
    """Settings of the voice activity detection and of the segment plan.

    All times are in seconds.

    Arguments
    ---------
    min_duration : float
        Neighbouring speech regions are merged until a segment is at least
        this long (and further, up to ``max_duration``) where the pauses
        allow it.
    max_duration : float
        No segment is longer than this.
    threshold : float
        Speech probability at which speech starts; it stops below
        ``threshold - 0.15`` (hysteresis).
    min_speech : float
        Speech regions shorter than this are dropped.
    min_silence : float
        A pause shorter than this does not end a speech region.
    pad : float
        Padding around each speech region (clipped to the file, and never
        making two regions overlap).
    max_merge_gap : float
        No segment spans a pause longer than this: a long pause always ends
        a segment.
    window : float
        Length of the fixed windows used when the VAD finds no speech region.
    fallback_threshold : float
        In that case, only the fixed windows where the speech probability
        reaches this value somewhere are decoded (the VAD may miss speech
        under music, but it still rates it above noise). Measured with the
        Silero VAD: white, pink noise, tones and a synthetic melody peak at
        0.01-0.16; Dutch synthetic speech under that melody at -10 dB SNR at
        0.65. 0 decodes every window.
    overlap : float
        Overlap between consecutive fixed windows.
    block : float
        Audio read at a time while running the VAD.

    Raises
    ------
    ValueError
        If a value is not a finite number or out of range: lengths must be
        positive (``min_speech``, ``min_silence``, ``pad``,
        ``max_merge_gap`` may be 0), ``min_duration <= max_duration``,
        ``0 <= overlap < window``, ``0 < threshold < 1`` and
        ``0 <= fallback_threshold < 1``.

    Example
    -------
    >>> SegmentationOptions(max_duration=20.0).max_duration
    20.0
    >>> SegmentationOptions(min_duration=20.0)
    Traceback (most recent call last):
    ...
    ValueError: min_duration (20.0) must not exceed max_duration (15.0)
    """

    min_duration: float = 3.0
    max_duration: float = 15.0
    threshold: float = 0.5
    min_speech: float = 0.25
    min_silence: float = 0.1
    pad: float = 0.1
    max_merge_gap: float = 1.0
    window: float = 15.0
    fallback_threshold: float = 0.25
    overlap: float = 2.0
    block: float = 60.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise ValueError(f"{field.name} must be a finite number, got {value!r}")
        for name in ("min_duration", "max_duration", "window", "block"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("min_speech", "min_silence", "pad", "max_merge_gap", "overlap"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        if self.min_duration > self.max_duration:
            raise ValueError(
                f"min_duration ({self.min_duration}) must not exceed "
                f"max_duration ({self.max_duration})"
            )
        if self.overlap >= self.window:
            raise ValueError(
                f"overlap ({self.overlap}) must be shorter than window ({self.window})"
            )
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must lie between 0 and 1, got {self.threshold!r}")
        if not 0 <= self.fallback_threshold < 1:
            raise ValueError(
                f"fallback_threshold must lie in [0, 1), got {self.fallback_threshold!r}"
            )


# ---------------------------------------------------------------------------
# Voice activity detection
# ---------------------------------------------------------------------------

_MODEL_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _silero_model():
    """The silero VAD model on the CPU, loaded once per process.

    Its ONNX export through onnxruntime (a dependency) when that imports: on
    the 2-core development CPU it takes 188 us per 32 ms window against 344 us
    for the TorchScript model, with probabilities equal to 1e-7. Without
    onnxruntime, the TorchScript model.
    """
    # Importing silero_vad calls torch.set_num_threads(1) for the whole
    # process; undo that so decoding keeps its threads.
    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():  # silero uses a deprecated importlib call
            warnings.simplefilter("ignore", DeprecationWarning)
            from silero_vad import load_silero_vad

            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                return load_silero_vad()
            return load_silero_vad(onnx=True)
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _torch_threads(count):
    """Runs a block with ``count`` torch intra-op threads, then restores them."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def speech_probabilities(
    stream: AudioStream,
    options: SegmentationOptions = SegmentationOptions(),  # noqa: B008 (frozen)
    progress: bool = False,
) -> tuple[torch.Tensor, float, float]:
    """Speech probability of every 32 ms window of a file (silero VAD).

    The file is read ``options.block`` seconds at a time and its 512-sample
    windows at 16 kHz are fed to the model in order; the model's state runs
    on across blocks, as in one pass over the whole file, and the last window
    is padded with zeros. Memory stays bounded by the block length.

    The silero model is loaded once per process and shared. It keeps its
    state between calls and is not thread-safe: calls from several threads
    take turns (a lock is held for the whole file). While it runs, torch
    uses one intra-op thread (``torch.set_num_threads(1)``, restored
    afterwards; this setting is process-wide): the model works on tiny
    inputs and gets many times slower with several threads on a busy CPU.

    Arguments
    ---------
    stream : AudioStream or str
        The recording (a path is opened with :class:`AudioStream`). A stream
        at another rate than 16 kHz is read again at 16 kHz.
    options : SegmentationOptions
        Only ``block`` is used here.
    progress : bool
        Show a tqdm progress bar, in seconds of audio.

    Returns
    -------
    probs : torch.Tensor
        1-D float32, one probability per window (``ceil(samples / 512)``).
    window_seconds : float
        Length of a window: 512 / 16000 = 0.032 s.
    peak : float
        Peak absolute amplitude of the whole file (mono, at 16 kHz).
    """
    if not isinstance(stream, AudioStream):
        stream = AudioStream(stream, SAMPLE_RATE)
    elif stream.sample_rate != SAMPLE_RATE:
        stream = AudioStream(stream.path, SAMPLE_RATE)
    model = _silero_model()
    probs = []
    peak = 0.0
    rest = torch.zeros(0)
    bar = tqdm(total=round(stream.duration, 2), unit="s", desc="VAD", disable=not progress)
    with _MODEL_LOCK, _torch_threads(1), torch.inference_mode(), bar:
        model.reset_states()
        for _, block in stream.blocks(options.block):
            if len(block):
                peak = max(peak, float(block.abs().max()))
            audio = torch.cat([rest, block]) if len(rest) else block
            usable = len(audio) - len(audio) % _VAD_WINDOW
            for first in range(0, usable, _VAD_WINDOW):
                probs.append(float(model(audio[first : first + _VAD_WINDOW], SAMPLE_RATE)))
            rest = audio[usable:]
            bar.update(round(len(block) / SAMPLE_RATE, 2))
        if len(rest):
            last = torch.nn.functional.pad(rest, (0, _VAD_WINDOW - len(rest)))
            probs.append(float(model(last, SAMPLE_RATE)))
        model.reset_states()
    return torch.tensor(probs, dtype=torch.float32), _VAD_WINDOW / SAMPLE_RATE, peak


def speech_regions(
    probs,
    window_seconds: float,
    options: SegmentationOptions = SegmentationOptions(),  # noqa: B008 (frozen)
    duration: float | None = None,
) -> list[tuple[float, float]]:
    """Speech regions from per-window speech probabilities.

    Speech starts at a window whose probability is at least
    ``options.threshold`` and ends where the probability stays below
    ``threshold - 0.15`` (at least 0.01) for ``min_silence`` seconds;
    probabilities in between continue what went before. Regions shorter than
    ``min_speech`` are dropped and the others padded by ``pad`` on both
    sides; where two padded regions would overlap they meet halfway.

    Arguments
    ---------
    probs : torch.Tensor or sequence of float
        One probability per window, in order.
    window_seconds : float
        Length of a window (0.032 for silero at 16 kHz).
    options : SegmentationOptions
        ``threshold``, ``min_speech``, ``min_silence`` and ``pad`` are used.
    duration : float, optional
        Length of the audio; regions end there at the latest. Default: the
        number of windows times ``window_seconds``.

    Returns
    -------
    list of (float, float)
        ``(start, end)`` in seconds, sorted, within ``[0, duration]``, not
        overlapping (padded regions may touch).

    Example
    -------
    >>> speech_regions([0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.2, 0.1], 0.1)
    [(0.0, 1.0)]
    >>> speech_regions([0.9, 0.9, 0.1, 0.1], 0.1)  # shorter than min_speech
    []
    """
    if not window_seconds > 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
    values = torch.as_tensor(probs, dtype=torch.float32).flatten().tolist()
    total = len(values) * window_seconds if duration is None else max(0.0, float(duration))
    high = options.threshold
    low = max(high - 0.15, 0.01)
    quiet_windows = max(1, math.ceil(options.min_silence / window_seconds - 1e-9))

    # Hysteresis over the windows: (first, last + 1) window indices of speech.
    spans = []
    start = pause = None  # first window of the current speech / pause
    for index, prob in enumerate(values):
        if start is None:
            if prob >= high:
                start = index
            continue
        if prob >= high:
            pause = None
        elif prob < low and pause is None:
            pause = index
        if pause is not None and index + 1 - pause >= quiet_windows:
            spans.append((start, pause))
            start = pause = None
    if start is not None:
        spans.append((start, len(values) if pause is None else pause))

    raw = []
    for first, stop in spans:
        begin, end = first * window_seconds, min(stop * window_seconds, total)
        if end - begin >= options.min_speech and end > begin:
            raw.append((begin, end))

    regions = []
    for index, (begin, end) in enumerate(raw):
        if index == 0:
            begin = max(0.0, begin - options.pad)
        else:
            before = raw[index - 1][1]
            begin = max(before + (begin - before) / 2, begin - options.pad)
            # the previous region ends where this one starts when they meet
            previous = regions[-1]
            regions[-1] = (previous[0], min(previous[1], begin))
        end = min(total, end + options.pad)
        regions.append((begin, end))
    return [(round(begin, _DECIMALS), round(end, _DECIMALS)) for begin, end in regions]


# ---------------------------------------------------------------------------
# Planning segments
# ---------------------------------------------------------------------------


def _normalize(regions, duration):
    """Sorted, clipped, non-empty regions with overlapping or touching ones merged."""
    spans = []
    for begin, end in regions:
        begin, end = float(begin), float(end)
        if duration is not None:
            begin, end = max(0.0, begin), min(float(duration), end)
        if end > begin:
            spans.append((begin, end))
    spans.sort()
    merged = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _split(begin, end, options, probs, window_seconds):
    """Cuts a region into parts of at most ``max_duration``."""
    longest = options.max_duration
    parts = []
    while end - begin > longest:
        count = max(2, math.ceil((end - begin) / longest))
        ideal = begin + (end - begin) / count
        # Where the cut may go: the current part at most `longest`, the rest
        # still fits in count - 1 parts.
        lo = max(begin, end - (count - 1) * longest)
        hi = min(end, begin + longest)
        cut = ideal
        if probs is not None:
            slack = max(0.0, min(longest / 4, (end - begin) / count - options.min_duration))
            lo, hi = max(lo, ideal - slack), min(hi, ideal + slack)
            first = max(0, math.ceil(lo / window_seconds - 0.5))
            last = min(len(probs) - 1, math.floor(hi / window_seconds - 0.5))
            if first <= last:
                best = min(
                    range(first, last + 1),
                    key=lambda k: (probs[k], abs((k + 0.5) * window_seconds - ideal)),
                )
                cut = (best + 0.5) * window_seconds
        cut = min(max(cut, lo), hi)
        parts.append((begin, cut))
        begin = cut
    parts.append((begin, end))
    return parts


def _group(items, options):
    """Best grouping of consecutive items into segments (dynamic programming).

    A group is allowed when it spans at most ``max_duration`` (a single item
    always is) and no pause inside it is longer than ``max_merge_gap``. Each
    segment costs ``_COST_SEGMENT``, one shorter than ``min_duration`` costs
    ``_COST_SHORT`` more, and a cut at a pause that could have been merged
    costs up to ``_COST_CUT``, less for longer pauses. Merging a short
    segment into a neighbour, when allowed, always lowers the cost, so no such
    segment is left.
    """
    count = len(items)
    best = [0.0] + [math.inf] * count
    back = [0] * (count + 1)
    for stop in range(1, count + 1):
        end = items[stop - 1][1]
        first = stop - 1
        while first >= 0:
            span = end - items[first][0]
            if first < stop - 1 and span > options.max_duration:
                break
            cost = best[first] + _COST_SEGMENT
            if span < options.min_duration:
                cost += _COST_SHORT
            if first > 0:
                gap = items[first][0] - items[first - 1][1]
                if gap <= options.max_merge_gap:
                    share = gap / options.max_merge_gap if options.max_merge_gap > 0 else 1.0
                    cost += _COST_CUT * (1.0 - share)
            if cost < best[stop]:
                best[stop], back[stop] = cost, first
            if first > 0 and items[first][0] - items[first - 1][1] > options.max_merge_gap:
                break
            first -= 1
    groups = []
    stop = count
    while stop > 0:
        groups.append((back[stop], stop))
        stop = back[stop]
    return groups[::-1]


def plan_segments(
    regions: Sequence[tuple[float, float]],
    options: SegmentationOptions = SegmentationOptions(),  # noqa: B008 (frozen)
    duration: float | None = None,
    probs=None,
    window_seconds: float | None = None,
) -> list[Segment]:
    """Groups speech regions into segments to decode.

    Regions longer than ``max_duration`` are cut into near-equal parts (with
    ``probs``, each cut goes to the window with the least speech within a
    quarter of ``max_duration`` of its ideal place, keeping parts of at least
    ``min_duration`` where possible). Then consecutive regions are grouped:
    each segment spans at most ``max_duration`` and no pause longer than
    ``max_merge_gap``. Of the groupings that keep to this, the one with the
    fewest segments, then the fewest shorter than ``min_duration``, then the
    longest pauses at the cuts, is chosen (over the whole file, not greedily).
    A short segment thus joins a neighbour whenever the limits allow; one
    isolated by long pauses stays short.

    Arguments
    ---------
    regions : sequence of (float, float)
        Speech regions in seconds, in any order; overlapping ones are merged.
    options : SegmentationOptions
        ``min_duration``, ``max_duration`` and ``max_merge_gap`` are used.
    duration : float, optional
        Length of the audio; regions are clipped to ``[0, duration]``.
    probs : torch.Tensor or sequence of float, optional
        Speech probability per window (from :func:`speech_probabilities`),
        to cut long regions at a pause.
    window_seconds : float, optional
        Window length of ``probs``; needed with ``probs``.

    Returns
    -------
    list of Segment
        Sorted, not overlapping, each at most ``max_duration`` long (up to
        float rounding); together they cover every region.

    Raises
    ------
    ValueError
        If ``probs`` is given without a positive ``window_seconds``.

    Example
    -------
    >>> for segment in plan_segments([(0.0, 1.0), (1.5, 2.5), (10.0, 11.0)]):
    ...     print(segment)
    Segment(start=0.0, end=2.5, keep_start=None, keep_end=None)
    Segment(start=10.0, end=11.0, keep_start=None, keep_end=None)
    >>> [s.duration for s in plan_segments([(0.0, 40.0)])]
    [13.333333, 13.333334, 13.333333]
    """
    if probs is not None:
        if window_seconds is None or not window_seconds > 0:
            raise ValueError("plan_segments needs a positive window_seconds with probs")
        probs = torch.as_tensor(probs, dtype=torch.float32).flatten().tolist()
    items = []
    for begin, end in _normalize(regions, duration):
        items.extend(_split(begin, end, options, probs, window_seconds))
    segments = []
    for first, stop in _group(items, options):
        begin = round(items[first][0], _DECIMALS)
        end = round(items[stop - 1][1], _DECIMALS)
        segments.append(Segment(begin, end))
    return segments


def fixed_windows(
    duration: float,
    options: SegmentationOptions = SegmentationOptions(),  # noqa: B008 (frozen)
) -> list[Segment]:
    """Overlapping windows of fixed length over the whole file.

    Windows of ``options.window`` seconds start every ``window - overlap``
    seconds; the last one is moved back to end with the file (so it overlaps
    its neighbour by at least ``overlap``). The keep ranges cut each overlap
    in the middle and together tile ``[0, duration)`` without gap or overlap.
    A file no longer than one window gives a single window. Rather than add a
    window for the last millisecond, the window before is stretched by up to
    a millisecond.

    Arguments
    ---------
    duration : float
        Length of the audio in seconds.
    options : SegmentationOptions
        ``window`` and ``overlap`` are used.

    Returns
    -------
    list of Segment
        With ``keep_start`` / ``keep_end`` set (empty for ``duration <= 0``).

    Example
    -------
    >>> for window in fixed_windows(30.0):
    ...     print(window.start, window.end, window.kept)
    0.0 15.0 (0.0, 14.0)
    13.0 28.0 (14.0, 21.5)
    15.0 30.0 (21.5, 30.0)
    """
    duration = float(duration)
    if not duration > 0:
        return []
    length, step = options.window, options.window - options.overlap
    if duration <= length + _WINDOW_SLACK:
        return [Segment(0.0, duration, 0.0, duration)]
    count = math.ceil((duration - length) / step - 1e-9) + 1
    starts = [round(index * step, _DECIMALS) for index in range(count - 1)]
    if duration - length - starts[-1] < _WINDOW_SLACK:
        # The last regular window stops short of the end by less than
        # _WINDOW_SLACK: it is stretched to the end rather than followed by a
        # near copy of itself.
        count -= 1
    else:
        starts.append(round(duration - length, _DECIMALS))
    ends = [min(duration, round(start + length, _DECIMALS)) for start in starts]
    ends[-1] = duration
    bounds = [0.0]
    for index in range(count - 1):
        bounds.append(round((starts[index + 1] + ends[index]) / 2, _DECIMALS))
    bounds.append(duration)
    return [Segment(starts[i], ends[i], bounds[i], bounds[i + 1]) for i in range(count)]


def segment_audio(
    stream: AudioStream,
    options: SegmentationOptions = SegmentationOptions(),  # noqa: B008 (frozen)
    progress: bool = False,
) -> tuple[list[Segment], str]:
    """Segments to decode for a whole recording.

    Runs the VAD (:func:`speech_probabilities`), finds the speech regions
    (:func:`speech_regions`) and groups them (:func:`plan_segments`); the
    method is then ``"vad"``. When the VAD finds no speech at all:

    * a file whose peak is below
      :data:`speechbrain_subtitle.inference.SILENCE_PEAK` (about -80 dBFS)
      is silence: no segments, method ``"silence"``;
    * otherwise the file is covered by :func:`fixed_windows` and the windows
      in which the speech probability reaches ``options.fallback_threshold``
      are kept, method ``"fixed"``: the VAD may have missed speech (under
      music, say); the caller decides what to do with what the model finds
      in them (for instance, drop windows without speech frames);
    * when no window reaches it, the sound is not speech (noise, tones,
      music): no segments, method ``"nonspeech"``.

    Arguments
    ---------
    stream : AudioStream or str
        The recording (a path is opened with :class:`AudioStream`).
    options : SegmentationOptions
        Settings of the VAD and the plan.
    progress : bool
        Show a progress bar while the VAD runs.

    Returns
    -------
    segments : list of Segment
        Sorted, each at most ``options.max_duration`` long (fixed windows:
        ``options.window``).
    method : str
        ``"vad"``, ``"silence"``, ``"fixed"`` or ``"nonspeech"``.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing, empty or unreadable file (see :class:`AudioStream`).

    Example
    -------
    >>> import tempfile, numpy as np, soundfile as sf
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "quiet.wav")
    >>> sf.write(path, np.zeros(16000 * 3, dtype="float32"), 16000)
    >>> segment_audio(AudioStream(path))
    ([], 'silence')
    >>> tmp.cleanup()
    """
    # Imported here: the inference module may import this one.
    from speechbrain_subtitle.inference import SILENCE_PEAK

    if not isinstance(stream, AudioStream):
        stream = AudioStream(stream)
    probs, window_seconds, peak = speech_probabilities(stream, options, progress)
    regions = speech_regions(probs, window_seconds, options, stream.duration)
    if regions:
        segments = plan_segments(
            regions, options, stream.duration, probs=probs, window_seconds=window_seconds
        )
        return segments, "vad"
    if peak < SILENCE_PEAK:
        return [], "silence"
    windows = [
        window
        for window in fixed_windows(stream.duration, options)
        if _peak_probability(probs, window_seconds, window) >= options.fallback_threshold
    ]
    return (windows, "fixed") if windows else ([], "nonspeech")


def _peak_probability(probs, window_seconds, segment):
    """Highest speech probability of the VAD windows that overlap ``segment``."""
    first = int(segment.start // window_seconds)
    last = max(first + 1, math.ceil(segment.end / window_seconds))
    inside = probs[first:last]
    return float(inside.max()) if len(inside) else 0.0
