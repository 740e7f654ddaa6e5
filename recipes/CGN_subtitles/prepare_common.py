"""Helpers shared by the data preparation scripts of the CGN_subtitles recipe.

The two preparation scripts (``prepare_cgn.py`` and ``prepare_subtitles.py``)
both write manifest CSV files in the format read by
:func:`speechbrain_subtitle.data.read_manifest`, both make sure that the audio
they reference is 16 kHz mono, and both write a JSON report with the number of
items dropped for each cause. Those parts live here.

Authors
 * speechbrain_subtitle contributors
"""

import csv
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import soundfile as sf

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle")
TARGET_RATE = 16000
RESAMPLERS = ("auto", "sox", "python")


class PreparationError(RuntimeError):
    """Raised when a preparation cannot produce a usable result.

    Example
    -------
    >>> try:
    ...     raise PreparationError("no utterance left")
    ... except RuntimeError as err:
    ...     print(err)
    no utterance left
    """


def seconds(value):
    """Formats a time in seconds for a manifest cell (millisecond precision).

    Arguments
    ---------
    value : float
        The time in seconds.

    Returns
    -------
    str
        The value with exactly three decimals.

    Example
    -------
    >>> seconds(1.23456)
    '1.235'
    >>> seconds(2)
    '2.000'
    """
    return f"{value:.3f}"


def milliseconds(value):
    """Rounds a time in seconds to whole milliseconds.

    Arguments
    ---------
    value : float
        The time in seconds.

    Returns
    -------
    int
        The rounded number of milliseconds.

    Example
    -------
    >>> milliseconds(0.1 + 0.2)
    300
    """
    return int(round(value * 1000))


def write_manifest(path, rows):
    """Writes manifest rows to a CSV file (UTF-8, header first).

    Arguments
    ---------
    path : str or os.PathLike
        The CSV file to (over)write.
    rows : list of dict
        Rows keyed by the names in :data:`MANIFEST_COLUMNS`. ``start`` and
        ``stop`` are floats (seconds); ``duration`` is computed from them.

    Example
    -------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.csv")
    >>> write_manifest(path, [{"ID": "u1", "wav": "/a.wav", "start": 0.5,
    ...                        "stop": 1.25, "verbatim": "ja", "subtitle": ""}])
    >>> print(open(path).read().strip())
    ID,duration,wav,start,stop,verbatim,subtitle
    u1,0.750,/a.wav,0.500,1.250,ja,
    """
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for row in rows:
            start_ms = milliseconds(row["start"])
            stop_ms = milliseconds(row["stop"])
            writer.writerow(
                [
                    row["ID"],
                    seconds((stop_ms - start_ms) / 1000),
                    row["wav"],
                    seconds(start_ms / 1000),
                    seconds(stop_ms / 1000),
                    row.get("verbatim", ""),
                    row.get("subtitle", ""),
                ]
            )


def write_report(path, report):
    """Writes the preparation report as indented, key-sorted JSON.

    Arguments
    ---------
    path : str or os.PathLike
        The JSON file to (over)write.
    report : dict
        The report (JSON-serialisable).
    """
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def log_counts(title, counts):
    """Logs one line per non-zero count, most frequent first.

    Arguments
    ---------
    title : str
        What is counted (e.g. "dropped utterances").
    counts : dict
        Mapping ``cause -> count``.
    """
    items = [(cause, n) for cause, n in counts.items() if n]
    if not items:
        logger.info("%s: none", title)
        return
    for cause, n in sorted(items, key=lambda item: (-item[1], item[0])):
        logger.info("%s: %-28s %d", title, cause, n)


def sorted_counts(counter):
    """Returns a plain dict with the keys of a counter in sorted order.

    Arguments
    ---------
    counter : dict
        Mapping ``key -> int``.

    Returns
    -------
    dict
        The same mapping with sorted keys.

    Example
    -------
    >>> from collections import Counter
    >>> sorted_counts(Counter(["b", "a", "b"]))
    {'a': 1, 'b': 2}
    """
    return {key: int(counter[key]) for key in sorted(counter)}


def audio_info(path):
    """Returns the header information of an audio file.

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.

    Returns
    -------
    tuple
        ``(sample_rate, channels, duration_seconds, format)``.

    Raises
    ------
    RuntimeError
        If soundfile cannot read the file.
    """
    info = sf.info(str(path))
    if info.samplerate <= 0 or info.frames <= 0:
        raise RuntimeError(f"{path}: no audio frames")
    return info.samplerate, info.channels, info.frames / info.samplerate, info.format


def is_ready(path):
    """Whether a file can be used for training as it is (16 kHz mono WAV/FLAC).

    Arguments
    ---------
    path : str or os.PathLike
        The audio file.

    Returns
    -------
    bool
        True for a readable 16 kHz mono WAV or FLAC file.
    """
    try:
        rate, channels, _, fmt = audio_info(path)
    except Exception:
        return False
    return rate == TARGET_RATE and channels == 1 and fmt in ("WAV", "WAVEX", "FLAC")


def _convert_with_sox(source, target):
    """Resamples/downmixes with the sox command line tool."""
    command = [
        "sox",
        "-V1",
        str(source),
        "-r",
        str(TARGET_RATE),
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed-integer",
        str(target),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"sox failed on {source}: {result.stderr.strip()}")


def _convert_with_python(source, target):
    """Resamples/downmixes with soundfile and torchaudio (whole file in memory)."""
    import torch
    import torchaudio.functional

    audio, rate = sf.read(str(source), dtype="float32", always_2d=True)
    mono = torch.from_numpy(audio.mean(axis=1))
    if rate != TARGET_RATE:
        mono = torchaudio.functional.resample(mono, rate, TARGET_RATE)
    sf.write(str(target), mono.clamp(-1.0, 1.0).numpy(), TARGET_RATE, subtype="PCM_16")


def ensure_16k_mono(source, audio_dir, name, resampler="auto"):
    """Returns a 16 kHz mono version of an audio file, converting when needed.

    A readable 16 kHz mono WAV or FLAC file is used where it is. Anything else
    is converted to ``<audio_dir>/<name>.wav`` (16-bit PCM), with ``sox``
    (streaming, low memory) or with soundfile + ``torchaudio.functional.resample``
    (the whole file in memory). A converted file that is newer than its
    source and already 16 kHz mono is reused, so that a re-run is cheap.

    Arguments
    ---------
    source : str or os.PathLike
        The audio file.
    audio_dir : str or os.PathLike
        Folder for converted files (created when needed).
    name : str
        File name (without extension) of the converted file.
    resampler : str
        ``"sox"``, ``"python"`` or ``"auto"`` (sox when it is installed,
        with the Python route as a fallback when sox fails).

    Returns
    -------
    tuple
        ``(path, duration_seconds, converted)``: the absolute path of the
        16 kHz mono file, its duration, and whether a conversion happened
        (or a previous conversion was reused).

    Raises
    ------
    RuntimeError
        If the file cannot be read or converted.
    """
    if resampler not in RESAMPLERS:
        raise ValueError(f"resampler must be one of {RESAMPLERS}, got {resampler!r}")
    source = Path(source)
    if is_ready(source):
        return os.path.abspath(source), audio_info(source)[2], False

    audio_dir = Path(audio_dir)
    audio_dir.mkdir(parents=True, exist_ok=True)
    target = audio_dir / f"{name}.wav"
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime and is_ready(target):
        return os.path.abspath(target), audio_info(target)[2], True

    partial = audio_dir / f".{name}.partial.wav"
    use_sox = resampler == "sox" or (resampler == "auto" and shutil.which("sox"))
    try:
        if use_sox:
            try:
                _convert_with_sox(source, partial)
            except (RuntimeError, OSError) as err:
                if resampler == "sox":
                    raise RuntimeError(str(err)) from err
                logger.info("%s; trying soundfile + torchaudio instead", err)
                _convert_with_python(source, partial)
        else:
            _convert_with_python(source, partial)
        os.replace(partial, target)
    except Exception as err:
        if partial.exists():
            partial.unlink()
        raise RuntimeError(f"cannot convert {source} to 16 kHz mono: {err}") from err
    return os.path.abspath(target), audio_info(target)[2], True


def setup_logging(verbose=False):
    """Configures console logging for the command line entry points.

    Arguments
    ---------
    verbose : bool
        Log at DEBUG level instead of INFO.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
