"""Data loading for joint verbatim-transcript + subtitle ASR.

This module covers three things:

* reading and validating the manifest CSV files (:func:`read_manifest`),
* reading one utterance (or one segment of a longer file) from disk
  (:func:`read_audio`),
* building batches that mix rows with a verbatim transcript and rows with
  a subtitle only in a fixed ratio (:class:`MixedRatioBatchSampler`).

Manifest format
---------------
A manifest is a SpeechBrain-style CSV file whose header contains at least the
columns of :data:`REQUIRED_COLUMNS` (further columns are allowed and ignored)::

    ID,duration,wav,start,stop,verbatim,subtitle
    utt1,3.2,audio/a.wav,,,hello there,
    utt2,1.5,audio/b.wav,10.0,11.5,,good morning
    utt3,2.0,audio/b.wav,12.0,14.0,well uh yes,yes

``start`` and ``stop`` are in seconds; empty cells mean "from the start of
the file" and "until the end of the file". An empty ``verbatim`` or
``subtitle`` cell means that this kind of text is not available for the row.
Relative ``wav`` paths are resolved against the folder holding the manifest.

Authors
 * speechbrain_subtitle contributors
"""

import csv
import logging
import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle")

# How far (in seconds) a segment's stop may reach past the end of its file.
STOP_TOLERANCE = 0.05

SOX_HINT = "sox in.wav -r {rate} -c 1 out.wav"


class ManifestError(ValueError):
    """Raised for any problem with the data given to this module.

    The message names the manifest (or audio file) and, where relevant,
    the line number and the ID of the offending row.

    Example
    -------
    >>> try:
    ...     raise ManifestError("train.csv, line 3 (ID 'utt2'): bad duration")
    ... except ValueError as err:
    ...     print(err)
    train.csv, line 3 (ID 'utt2'): bad duration
    """


def _where(path, line, row_id=None):
    """Returns a location prefix for error messages."""
    if row_id is None:
        return f"{path}, line {line}"
    return f"{path}, line {line} (ID {row_id!r})"


def _parse_seconds(text, column, where, allow_empty):
    """Parses one time cell of the manifest.

    Arguments
    ---------
    text : str
        The raw cell content.
    column : str
        Name of the column, for error messages.
    where : str
        Location prefix for error messages.
    allow_empty : bool
        Whether an empty cell is allowed (it is returned as None).

    Returns
    -------
    float or None
        The parsed, finite, non-negative value.
    """
    text = (text or "").strip()
    if not text:
        if allow_empty:
            return None
        raise ManifestError(f"{where}: the '{column}' cell is empty")
    try:
        value = float(text)
    except ValueError:
        raise ManifestError(
            f"{where}: cannot parse {column} {text!r} as a number of seconds"
        ) from None
    if not math.isfinite(value):
        raise ManifestError(f"{where}: {column} must be finite, got {text!r}")
    if value < 0:
        raise ManifestError(f"{where}: {column} must not be negative, got {value}")
    return value


def count_text_availability(rows):
    """Counts how many rows have a verbatim transcript, a subtitle, or both.

    Arguments
    ---------
    rows : dict
        Mapping ``ID -> row dict`` as returned by :func:`read_manifest`.

    Returns
    -------
    dict
        Keys ``"verbatim_only"``, ``"subtitle_only"``, ``"both"`` and
        ``"neither"`` with integer counts.

    Example
    -------
    >>> rows = {
    ...     "a": {"verbatim": "uh hi", "subtitle": ""},
    ...     "b": {"verbatim": "", "subtitle": "Hi."},
    ...     "c": {"verbatim": "so yes", "subtitle": "Yes."},
    ... }
    >>> count_text_availability(rows)
    {'verbatim_only': 1, 'subtitle_only': 1, 'both': 1, 'neither': 0}
    """
    counts = {"verbatim_only": 0, "subtitle_only": 0, "both": 0, "neither": 0}
    for row in rows.values():
        has_verbatim = bool(row["verbatim"])
        has_subtitle = bool(row["subtitle"])
        if has_verbatim and has_subtitle:
            counts["both"] += 1
        elif has_verbatim:
            counts["verbatim_only"] += 1
        elif has_subtitle:
            counts["subtitle_only"] += 1
        else:
            counts["neither"] += 1
    return counts


def read_manifest(path, max_duration=None, check_audio=True, sample_rate=16000):
    """Reads and validates a manifest CSV file.

    Rows where both texts are empty, and rows longer than ``max_duration``,
    are skipped (one warning with the count is logged for each reason).
    Everything else that looks wrong raises :class:`ManifestError`.

    Arguments
    ---------
    path : str or os.PathLike
        The manifest CSV file.
    max_duration : float, optional
        Rows whose ``duration`` is larger than this are skipped.
    check_audio : bool
        If True, open the header of every referenced audio file once and
        check its sample rate, its channel count, and that every segment
        ends inside the file. The existence of the files is always checked.
    sample_rate : int
        The sample rate all audio must have (only checked with
        ``check_audio``).

    Returns
    -------
    dict
        Insertion-ordered mapping ``ID -> row``, where each row is a dict
        with keys ``wav`` (absolute path, str), ``start`` and ``stop``
        (float seconds or None), ``duration`` (float), ``verbatim`` and
        ``subtitle`` (stripped str, ``""`` when not available).

    Raises
    ------
    ManifestError
        On a missing or malformed manifest, a missing or unsuitable audio
        file, or when no usable row is left.

    Example
    -------
    >>> import csv, os, shutil, tempfile
    >>> import numpy as np
    >>> import soundfile as sf
    >>> folder = tempfile.mkdtemp()
    >>> sf.write(os.path.join(folder, "a.wav"), np.zeros(8000), 16000)
    >>> manifest = os.path.join(folder, "train.csv")
    >>> with open(manifest, "w", newline="") as f:
    ...     writer = csv.writer(f)
    ...     _ = writer.writerow(REQUIRED_COLUMNS)
    ...     _ = writer.writerow(["u1", "0.5", "a.wav", "", "", "uh hello", ""])
    ...     _ = writer.writerow(["u2", "0.2", "a.wav", "0.1", "0.3", "", "Hi."])
    >>> rows = read_manifest(manifest)
    >>> list(rows)
    ['u1', 'u2']
    >>> rows["u2"]["start"], rows["u2"]["stop"], rows["u2"]["subtitle"]
    (0.1, 0.3, 'Hi.')
    >>> rows["u1"]["wav"] == os.path.join(folder, "a.wav")
    True
    >>> shutil.rmtree(folder)
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"Manifest file not found: {path}")
    folder = path.resolve().parent

    rows = {}
    lines = {}  # ID -> line number, for later error messages
    seen_ids = {}  # every ID of the file, skipped rows included
    n_no_text = 0
    n_too_long = 0

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        if header is None:
            raise ManifestError(f"{path}: the manifest is empty (no header line)")
        header = [(name or "").strip() for name in header]
        reader.fieldnames = header
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise ManifestError(
                f"{path}: the header lacks the column(s) {', '.join(missing)} "
                f"(required: {','.join(REQUIRED_COLUMNS)}; found: "
                f"{','.join(header)})"
            )

        for record in reader:
            line = reader.line_num
            row_id = (record["ID"] or "").strip()
            if not row_id:
                raise ManifestError(f"{_where(path, line)}: empty ID")
            where = _where(path, line, row_id)
            if row_id in seen_ids:
                raise ManifestError(f"{where}: duplicate ID, first used on line {seen_ids[row_id]}")
            seen_ids[row_id] = line

            duration = _parse_seconds(record["duration"], "duration", where, False)
            if duration <= 0:
                raise ManifestError(f"{where}: duration must be positive")
            start = _parse_seconds(record["start"], "start", where, True)
            stop = _parse_seconds(record["stop"], "stop", where, True)
            if stop is not None and stop <= (start or 0.0):
                raise ManifestError(
                    f"{where}: stop ({stop}) must be greater than start ({start or 0.0})"
                )
            wav = (record["wav"] or "").strip()
            if not wav:
                raise ManifestError(f"{where}: the 'wav' cell is empty")
            wav = Path(wav).expanduser()
            if not wav.is_absolute():
                wav = folder / wav
            verbatim = (record["verbatim"] or "").strip()
            subtitle = (record["subtitle"] or "").strip()

            if not verbatim and not subtitle:
                n_no_text += 1
                continue
            if max_duration is not None and duration > max_duration:
                n_too_long += 1
                continue
            rows[row_id] = {
                "wav": os.path.abspath(wav),
                "start": start,
                "stop": stop,
                "duration": duration,
                "verbatim": verbatim,
                "subtitle": subtitle,
            }
            lines[row_id] = line

    if n_no_text:
        logger.warning(
            "%s: skipped %d row(s) with neither a verbatim transcript nor a subtitle",
            path,
            n_no_text,
        )
    if n_too_long:
        logger.warning(
            "%s: skipped %d row(s) longer than max_duration=%s s",
            path,
            n_too_long,
            max_duration,
        )
    if not rows:
        raise ManifestError(
            f"{path}: no usable rows ({len(seen_ids)} row(s) read, "
            f"{n_no_text} skipped for having no text, {n_too_long} skipped "
            f"for exceeding max_duration={max_duration})"
        )

    _check_audio_files(path, rows, lines, check_audio, sample_rate)

    counts = count_text_availability(rows)
    logger.info(
        "%s: %d usable row(s): %d with verbatim only, %d with subtitle only, %d with both",
        path,
        len(rows),
        counts["verbatim_only"],
        counts["subtitle_only"],
        counts["both"],
    )
    return rows


def _check_audio_files(path, rows, lines, check_audio, sample_rate):
    """Checks the audio files referenced by the kept rows of a manifest.

    Arguments
    ---------
    path : Path
        The manifest, for error messages.
    rows : dict
        The kept rows.
    lines : dict
        ``ID -> line number`` for the kept rows.
    check_audio : bool
        Whether to read the audio headers (otherwise only existence).
    sample_rate : int
        The expected sample rate.
    """
    infos = {}
    for row_id, row in rows.items():
        wav = row["wav"]
        if wav not in infos:
            if not os.path.isfile(wav):
                raise ManifestError(
                    f"{_where(path, lines[row_id], row_id)}: audio file not found: {wav}"
                )
            if not check_audio:
                infos[wav] = None
                continue
            try:
                info = sf.info(wav)
            except Exception as err:  # soundfile raises several types
                raise ManifestError(
                    f"Cannot read audio file {wav} (used by ID {row_id!r} in {path}): {err}"
                ) from err
            if info.samplerate != sample_rate or info.channels != 1:
                raise ManifestError(
                    f"Audio file {wav} (used by ID {row_id!r} in {path}) has "
                    f"{info.samplerate} Hz and {info.channels} channel(s), but "
                    f"{sample_rate} Hz mono is required. Resample/downmix it "
                    f"first, e.g. with: {SOX_HINT.format(rate=sample_rate)}"
                )
            infos[wav] = info
        info = infos[wav]
        if info is None:
            continue
        file_seconds = info.frames / info.samplerate
        where = _where(path, lines[row_id], row_id)
        if row["stop"] is not None and row["stop"] > file_seconds + STOP_TOLERANCE:
            raise ManifestError(
                f"{where}: stop {row['stop']} s is beyond the end of {wav} ({file_seconds:.3f} s)"
            )
        if row["start"] is not None and row["start"] >= file_seconds:
            raise ManifestError(
                f"{where}: start {row['start']} s is not inside {wav} ({file_seconds:.3f} s)"
            )


def read_audio(path, start=None, stop=None, sample_rate=16000):
    """Reads a whole audio file or one segment of it.

    Only the frames of the segment are read from disk. No resampling or
    downmixing is done: a file with another sample rate or with more than
    one channel is an error.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.
    start : float, optional
        Segment start in seconds (default: beginning of the file).
    stop : float, optional
        Segment end in seconds (default: end of the file). A stop slightly
        past the end of the file is clipped to the end.
    sample_rate : int
        The sample rate the file must have.

    Returns
    -------
    torch.Tensor
        1-D float32 tensor with the samples.

    Raises
    ------
    ManifestError
        If the file cannot be read, has the wrong format, or the segment is
        empty or invalid.

    Example
    -------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import soundfile as sf
    >>> wav = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(wav, np.linspace(-0.5, 0.5, 16000), 16000)
    >>> read_audio(wav, start=0.25, stop=0.5).shape
    torch.Size([4000])
    >>> read_audio(wav).dtype
    torch.float32
    >>> os.remove(wav)
    """
    start = None if start is None else float(start)
    stop = None if stop is None else float(stop)
    segment = f"segment start={start}, stop={stop}"
    if start is not None and start < 0:
        raise ManifestError(f"{path}: negative start in {segment}")
    if stop is not None and stop <= (start or 0.0):
        raise ManifestError(f"{path}: stop must be greater than start in {segment}")
    try:
        audio_file = sf.SoundFile(str(path))
    except Exception as err:  # soundfile raises several types
        raise ManifestError(f"Cannot read audio file {path}: {err}") from err
    with audio_file:
        if audio_file.samplerate != sample_rate or audio_file.channels != 1:
            raise ManifestError(
                f"Audio file {path} has {audio_file.samplerate} Hz and "
                f"{audio_file.channels} channel(s), but {sample_rate} Hz mono is "
                "required (no resampling is done during training). "
                "Resample/downmix it first, e.g. with: "
                f"{SOX_HINT.format(rate=sample_rate)}"
            )
        first = 0 if start is None else round(start * sample_rate)
        last = audio_file.frames if stop is None else round(stop * sample_rate)
        last = min(last, audio_file.frames)
        if last <= first:
            raise ManifestError(
                f"Empty audio segment in {path} ({segment}; the file has "
                f"{audio_file.frames} frames)"
            )
        audio_file.seek(first)
        data = audio_file.read(frames=last - first, dtype="float32", always_2d=True)
    if data.shape[0] == 0:
        raise ManifestError(f"Empty audio segment in {path} ({segment})")
    return torch.from_numpy(np.ascontiguousarray(data[:, 0]))


class MixedRatioBatchSampler(Sampler):
    """Batch sampler mixing two pools of rows in a fixed ratio.

    Every batch holds ``n_v = round(batch_size * verbatim_fraction)``
    indices from ``verbatim_pool`` and ``n_s = batch_size - n_v`` from
    ``subtitle_pool`` (verbatim indices first). One epoch goes once through
    the pool that needs more batches (the "leading" pool); the other pool
    is cycled, drawing a fresh permutation each time it runs out, so all of
    its indices are used before any of them repeats. The last batch may be
    smaller; its two shares then keep roughly the same ratio.

    To limit padding, each pool is cut (after shuffling) into windows of
    ``bucket_batches`` shares, each window is sorted by length and cut into
    shares, the i-th verbatim share is paired with the i-th subtitle share,
    and the order of the resulting batches is shuffled (a smaller final
    batch stays last).

    All randomness comes from a ``torch.Generator`` seeded with
    ``seed + epoch``, so the batch order is a deterministic function of
    ``(seed, epoch)``, which lets a resumed run fast-forward an epoch.

    If one pool is empty, plain length-bucketed batches of ``batch_size``
    are built from the other one (and a warning is logged).

    Arguments
    ---------
    verbatim_pool : sequence of int
        Dataset indices of rows trained on the verbatim transcript.
    subtitle_pool : sequence of int
        Dataset indices of rows trained on the subtitle only.
    lengths : sequence or mapping
        ``lengths[i]`` is the length (e.g. duration) of dataset index ``i``.
    batch_size : int
        Number of indices per batch.
    verbatim_fraction : float
        Fraction of each batch taken from the verbatim pool, in (0, 1).
    shuffle : bool
        If False, the pools are used in the given order, with no length
        sorting and no shuffling of batches.
    bucket_batches : int
        Number of batches per sorting window; 0 disables length sorting.
    seed : int
        Base seed of the random generator.

    Example
    -------
    >>> sampler = MixedRatioBatchSampler(
    ...     verbatim_pool=[0, 1, 2, 3, 4, 5],
    ...     subtitle_pool=[6, 7, 8],
    ...     lengths=[1.0] * 9,
    ...     batch_size=3,
    ...     verbatim_fraction=2 / 3,
    ...     shuffle=False,
    ... )
    >>> len(sampler)
    3
    >>> list(sampler)
    [[0, 1, 6], [2, 3, 7], [4, 5, 8]]
    """

    def __init__(
        self,
        verbatim_pool,
        subtitle_pool,
        lengths,
        batch_size,
        verbatim_fraction=0.5,
        shuffle=True,
        bucket_batches=20,
        seed=0,
    ):
        super().__init__()
        self.verbatim_pool = [int(i) for i in verbatim_pool]
        self.subtitle_pool = [int(i) for i in subtitle_pool]
        if not self.verbatim_pool and not self.subtitle_pool:
            raise ValueError(
                "MixedRatioBatchSampler: both the verbatim and the subtitle pool are empty"
            )
        if isinstance(batch_size, bool) or int(batch_size) != batch_size:
            raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0.0 < verbatim_fraction < 1.0:
            raise ValueError(
                f"verbatim_fraction must be strictly between 0 and 1, got {verbatim_fraction}"
            )
        if int(bucket_batches) != bucket_batches or bucket_batches < 0:
            raise ValueError(
                f"bucket_batches must be a non-negative integer, got {bucket_batches!r}"
            )
        self.batch_size = batch_size
        self.verbatim_fraction = float(verbatim_fraction)
        self.shuffle = bool(shuffle)
        self.bucket_batches = int(bucket_batches)
        self.seed = int(seed)
        self.epoch = 0

        self._lengths = {}
        for index in self.verbatim_pool + self.subtitle_pool:
            try:
                self._lengths[index] = float(lengths[index])
            except (IndexError, KeyError, TypeError) as err:
                raise ValueError(f"No length given for dataset index {index}") from err

        self.single_pool = None
        if not self.verbatim_pool or not self.subtitle_pool:
            self.single_pool = self.verbatim_pool or self.subtitle_pool
            self.verbatim_share = batch_size if self.verbatim_pool else 0
            self.subtitle_share = batch_size - self.verbatim_share
            logger.warning(
                "MixedRatioBatchSampler: the %s pool is empty; building plain "
                "batches of %d from the %s pool (%d rows) only",
                "subtitle" if self.verbatim_pool else "verbatim",
                batch_size,
                "verbatim" if self.verbatim_pool else "subtitle",
                len(self.single_pool),
            )
            self._num_batches = math.ceil(len(self.single_pool) / batch_size)
            return

        n_v = round(batch_size * verbatim_fraction)
        n_s = batch_size - n_v
        if batch_size < 2 or n_v < 1 or n_s < 1:
            raise ValueError(
                f"batch_size={batch_size} with verbatim_fraction="
                f"{verbatim_fraction} gives {n_v} verbatim and {n_s} subtitle "
                "row(s) per batch; each batch needs at least one of each, so "
                "use batch_size >= 2 and a fraction that keeps both shares >= 1"
            )
        self.verbatim_share = n_v
        self.subtitle_share = n_s
        # The leading pool is the one that needs more batches to be used once.
        self._verbatim_leads = len(self.verbatim_pool) * n_s >= (len(self.subtitle_pool) * n_v)
        lead_pool, lead_share = self._lead()
        self._num_batches = math.ceil(len(lead_pool) / lead_share)

    def _lead(self):
        """Returns the leading pool and its share."""
        if self._verbatim_leads:
            return self.verbatim_pool, self.verbatim_share
        return self.subtitle_pool, self.subtitle_share

    def _follow(self):
        """Returns the cycled pool and its share."""
        if self._verbatim_leads:
            return self.subtitle_pool, self.subtitle_share
        return self.verbatim_pool, self.verbatim_share

    def set_epoch(self, epoch):
        """Sets the epoch, which (with the seed) fixes the batch order.

        Arguments
        ---------
        epoch : int
            The epoch number.
        """
        self.epoch = int(epoch)

    def __len__(self):
        return self._num_batches

    def _permuted(self, pool, generator):
        """Returns a copy of pool, shuffled if shuffling is enabled."""
        if not self.shuffle:
            return list(pool)
        order = torch.randperm(len(pool), generator=generator).tolist()
        return [pool[i] for i in order]

    def _cut(self, stream, sizes):
        """Length-sorts windows of stream and cuts it into shares.

        Arguments
        ---------
        stream : list of int
            Dataset indices, already in (shuffled) order.
        sizes : list of int
            The size of each share; they sum to ``len(stream)`` and all but
            the last are equal.

        Returns
        -------
        list of list of int
            The shares.
        """
        if self.shuffle and self.bucket_batches > 0:
            window = self.bucket_batches * sizes[0]
            ordered = []
            for begin in range(0, len(stream), window):
                ordered.extend(
                    sorted(
                        stream[begin : begin + window],
                        key=self._lengths.__getitem__,
                    )
                )
            stream = ordered
        shares = []
        position = 0
        for size in sizes:
            shares.append(stream[position : position + size])
            position += size
        return shares

    def _cycled(self, pool, count, generator):
        """Returns ``count`` indices from pool, cycling fresh permutations."""
        stream = []
        while len(stream) < count:
            stream.extend(self._permuted(pool, generator))
        return stream[:count]

    def _batches(self):
        """Builds the list of batches of the current epoch."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)

        if self.single_pool is not None:
            pool = self._permuted(self.single_pool, generator)
            sizes = [self.batch_size] * (self._num_batches - 1)
            sizes.append(len(pool) - sum(sizes))
            batches = self._cut(pool, sizes)
        else:
            lead_pool, lead_share = self._lead()
            follow_pool, follow_share = self._follow()
            lead_sizes = [lead_share] * (self._num_batches - 1)
            last_lead = len(lead_pool) - sum(lead_sizes)
            lead_sizes.append(last_lead)
            follow_sizes = [follow_share] * (self._num_batches - 1)
            follow_sizes.append(max(1, round(follow_share * last_lead / lead_share)))

            lead_shares = self._cut(self._permuted(lead_pool, generator), lead_sizes)
            follow_stream = self._cycled(follow_pool, sum(follow_sizes), generator)
            follow_shares = self._cut(follow_stream, follow_sizes)
            _spread_repeats(follow_shares)
            if self._verbatim_leads:
                pairs = zip(lead_shares, follow_shares)
            else:
                pairs = zip(follow_shares, lead_shares)
            batches = [verbatim + subtitle for verbatim, subtitle in pairs]

        if self.shuffle:
            # A smaller final batch stays last, so that only the last batch
            # of an epoch can differ from the nominal composition.
            n_full = len(batches)
            if len(batches[-1]) < self.batch_size:
                n_full -= 1
            order = torch.randperm(n_full, generator=generator).tolist()
            batches = [batches[i] for i in order] + batches[n_full:]
        return batches

    def __iter__(self):
        return iter(self._batches())

    @classmethod
    def from_rows(cls, rows, batch_size, verbatim_fraction=0.5, **kwargs):
        """Builds a sampler from the rows returned by :func:`read_manifest`.

        The dataset index of a row is its position in ``rows``. Rows with a
        verbatim transcript (whether or not they also have a subtitle) go to
        the verbatim pool, rows with a subtitle only to the subtitle pool.
        Lengths are the row durations.

        Arguments
        ---------
        rows : dict
            Ordered mapping ``ID -> row`` (see :func:`read_manifest`).
        batch_size : int
            Number of indices per batch.
        verbatim_fraction : float
            Fraction of each batch from the verbatim pool.
        **kwargs
            Passed on to the constructor (``shuffle``, ``bucket_batches``,
            ``seed``).

        Returns
        -------
        MixedRatioBatchSampler
            The sampler.

        Example
        -------
        >>> rows = {
        ...     "a": {"duration": 1.0, "verbatim": "uh hi", "subtitle": ""},
        ...     "b": {"duration": 2.0, "verbatim": "", "subtitle": "Hi."},
        ...     "c": {"duration": 3.0, "verbatim": "so", "subtitle": "So."},
        ... }
        >>> sampler = MixedRatioBatchSampler.from_rows(rows, 2, shuffle=False)
        >>> sampler.verbatim_pool, sampler.subtitle_pool
        ([0, 2], [1])
        >>> list(sampler)
        [[0, 1], [2, 1]]
        """
        verbatim_pool = []
        subtitle_pool = []
        lengths = []
        n_without_text = 0
        for index, row in enumerate(rows.values()):
            lengths.append(float(row["duration"]))
            if row["verbatim"]:
                verbatim_pool.append(index)
            elif row["subtitle"]:
                subtitle_pool.append(index)
            else:
                n_without_text += 1
        if n_without_text:
            logger.warning(
                "MixedRatioBatchSampler.from_rows: %d row(s) without any text are left out",
                n_without_text,
            )
        return cls(
            verbatim_pool,
            subtitle_pool,
            lengths,
            batch_size,
            verbatim_fraction=verbatim_fraction,
            **kwargs,
        )


def _spread_repeats(shares):
    """Moves repeated indices out of a share, in place, where possible.

    A cycled pool may put the end of one permutation and the start of the
    next into the same share, and length sorting makes the two copies of an
    index neighbours. Each extra copy is swapped with an index of the
    nearest other share that can take it without creating a repeat there.
    The multiset of indices is unchanged.

    Arguments
    ---------
    shares : list of list of int
        The shares to fix.

    Example
    -------
    >>> shares = [[1, 1], [2, 3]]
    >>> _spread_repeats(shares)
    >>> shares
    [[1, 2], [1, 3]]
    """
    for i, share in enumerate(shares):
        seen = set()
        for position, index in enumerate(share):
            if index not in seen:
                seen.add(index)
                continue
            for j in _by_distance(i, len(shares)):
                other = shares[j]
                if index in other:
                    continue
                swap = next((k for k, c in enumerate(other) if c not in share), None)
                if swap is not None:
                    share[position], other[swap] = other[swap], index
                    seen.add(share[position])
                    break


def _by_distance(center, count):
    """Yields the positions ``0..count-1`` except center, nearest first."""
    for step in range(1, count):
        if center + step < count:
            yield center + step
        if center - step >= 0:
            yield center - step


def make_dataset(
    rows, tokenizer, sample_rate=16000, verbatim_bos_index=3, subtitle_bos_index=4, eos_index=2
):
    """A SpeechBrain ``DynamicItemDataset`` with audio and token pipelines.

    Arguments
    ---------
    rows : dict
        Output of :func:`read_manifest` (dataset index = position in it).
    tokenizer : sentencepiece.SentencePieceProcessor
        The joint tokenizer.
    sample_rate : int
        Expected audio rate.
    verbatim_bos_index, subtitle_bos_index, eos_index : int
        Task tokens and end-of-sequence token.

    Returns
    -------
    speechbrain.dataio.dataset.DynamicItemDataset
        Items: ``id``, ``sig``, ``has_verbatim``/``has_subtitle`` (bool), and
        per text ``<text>_bos`` (task token + tokens, decoder input),
        ``<text>_eos`` (tokens + eos, attention and CTC target) and
        ``<text>_words`` (the reference string). An unavailable text gives
        ``[task]``/``[eos]``, which the loss masks out.
    """
    from speechbrain.dataio.dataset import DynamicItemDataset
    from speechbrain.utils.data_pipeline import provides, takes

    dataset = DynamicItemDataset({key: dict(value) for key, value in rows.items()})

    @takes("wav", "start", "stop")
    @provides("sig")
    def audio_pipeline(wav, start, stop):
        return read_audio(wav, start, stop, sample_rate)

    def text_pipeline(column, bos_index):
        @takes(column)
        @provides(f"has_{column}", f"{column}_bos", f"{column}_eos", f"{column}_words")
        def pipeline(text):
            ids = tokenizer.encode(text) if text else []
            yield bool(text)
            yield torch.tensor([bos_index] + ids, dtype=torch.long)
            yield torch.tensor(ids + [eos_index], dtype=torch.long)
            yield text

        return pipeline

    dataset.add_dynamic_item(audio_pipeline)
    dataset.add_dynamic_item(text_pipeline("verbatim", verbatim_bos_index))
    dataset.add_dynamic_item(text_pipeline("subtitle", subtitle_bos_index))
    keys = ["id", "sig"]
    for column in ("verbatim", "subtitle"):
        keys += [f"has_{column}", f"{column}_bos", f"{column}_eos", f"{column}_words"]
    dataset.set_output_keys(keys)
    return dataset
