"""Synthetic Flemish speech with espeak-ng, and the SyntheticNL corpus builder.

:func:`synthesize` turns one text into a 16 kHz mono 16-bit WAV file
(espeak-ng, resampled with sox, silence trimmed, a random pad, optional
low-level noise). :func:`build_corpus` generates (verbatim, subtitle) pairs
with :mod:`text_pairs`, speaks every verbatim text with one of a set of
synthetic "speakers" (a fixed espeak-ng voice variant, speed and pitch), and
writes manifests in the schema of :func:`speechbrain_subtitle.data.read_manifest`:

``train.csv``
    Verbatim-only rows (the smaller pool, 30 %) and subtitle-only rows (the
    larger pool, 60 %). Subtitle-only rows are still spoken from the verbatim
    text, like broadcast audio whose subtitles are not a verbatim record.
``valid.csv``, ``test.csv``
    Rows with both references (5 % each). Test speakers appear in no other
    split.

Row IDs are ``<speaker>_<index>`` (e.g. ``spk03_00017``), so the speaker of
a row is the part before the underscore. The audio is synthetic: numbers
measured on this corpus say nothing about real speech.

Both tools come from Debian packages: ``apt-get install espeak-ng sox``.
"""

import concurrent.futures
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

try:
    from text_pairs import GENERATOR_VERSION, PhenomenaConfig, generate_pairs
except ImportError:  # imported from outside recipes/SyntheticNL
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from text_pairs import GENERATOR_VERSION, PhenomenaConfig, generate_pairs

SAMPLE_RATE = 16000
MANIFEST_COLUMNS = ("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle")
VOICES = (
    "nl",
    "nl+m1",
    "nl+m2",
    "nl+m3",
    "nl+m4",
    "nl+m5",
    "nl+m6",
    "nl+m7",
    "nl+f1",
    "nl+f2",
    "nl+f3",
    "nl+f4",
)
SPEED_RANGE = (140, 190)  # words per minute
PITCH_RANGE = (30, 70)  # espeak-ng pitch, 0..99
SPLIT_FRACTIONS = {"verbatim": 0.30, "subtitle": 0.60, "valid": 0.05, "test": 0.05}
DEFAULT_NOISE_DB = -40.0
CORPUS_FILES = ("train.csv", "valid.csv", "test.csv", "corpus_info.json", "README.txt")


@dataclass(frozen=True)
class SizeSpec:
    """Number of utterances and speakers of a corpus size.

    Attributes
    ----------
    utterances : int
        Number of utterances.
    speakers : int
        Number of synthetic speakers in total.
    test_speakers : int
        How many of them are held out for the test split.
    """

    utterances: int
    speakers: int
    test_speakers: int


SIZES = {
    "tiny": SizeSpec(40, 6, 2),
    "small": SizeSpec(600, 12, 3),
    "medium": SizeSpec(4000, 20, 4),
    "large": SizeSpec(10000, 24, 4),
}


@dataclass(frozen=True)
class Speaker:
    """A synthetic speaker: one espeak-ng voice at one speed and pitch.

    Attributes
    ----------
    id : str
        Speaker ID (``spk01``, ...).
    voice : str
        espeak-ng voice, e.g. ``nl+m3``.
    speed : int
        Speaking rate in words per minute.
    pitch : int
        espeak-ng pitch (0..99).
    """

    id: str
    voice: str
    speed: int
    pitch: int


class ToolMissingError(RuntimeError):
    """Raised when espeak-ng or sox cannot be found or run."""


def check_tools():
    """Checks that espeak-ng and sox are installed and returns their versions.

    Returns
    -------
    dict
        ``{"espeak-ng": "...", "sox": "..."}`` (first line of ``--version``).

    Raises
    ------
    ToolMissingError
        If a tool is not on the ``PATH``; the message names the Debian
        packages to install.
    """
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise ToolMissingError(
            f"{' and '.join(missing)} not found on the PATH. The SyntheticNL corpus needs "
            "espeak-ng (speech) and sox (resampling). On Debian/Ubuntu install them with: "
            "sudo apt-get install espeak-ng sox"
        )
    versions = {}
    for tool in ("espeak-ng", "sox"):
        result = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
        lines = (result.stdout or result.stderr).strip().splitlines()
        versions[tool] = lines[0].split("  Data at:")[0].strip() if lines else "unknown"
    return versions


def make_speakers(count, seed=0, voices=VOICES):
    """Makes ``count`` distinct synthetic speakers.

    Voices are used in turn (in a seeded order), so that every voice variant
    appears before one is used twice; speed and pitch are drawn from
    :data:`SPEED_RANGE` and :data:`PITCH_RANGE` in steps of 5.

    Arguments
    ---------
    count : int
        Number of speakers.
    seed : int
        Random seed.
    voices : sequence of str
        espeak-ng voices to use.

    Returns
    -------
    list of Speaker
        Speakers ``spk01``, ``spk02``, ...

    Example
    -------
    >>> speakers = make_speakers(3, seed=1)
    >>> [s.id for s in speakers]
    ['spk01', 'spk02', 'spk03']
    >>> len({(s.voice, s.speed, s.pitch) for s in speakers})
    3
    """
    rng = random.Random(f"speakers-{seed}")
    order = list(voices)
    rng.shuffle(order)
    speakers, seen = [], set()
    while len(speakers) < count:
        voice = order[len(speakers) % len(order)]
        speed = rng.randrange(SPEED_RANGE[0], SPEED_RANGE[1] + 1, 5)
        pitch = rng.randrange(PITCH_RANGE[0], PITCH_RANGE[1] + 1, 5)
        if (voice, speed, pitch) in seen:
            continue
        seen.add((voice, speed, pitch))
        speakers.append(Speaker(f"spk{len(speakers) + 1:02d}", voice, speed, pitch))
    return speakers


def _run(command, **kwargs):
    """Runs a command; a failure raises RuntimeError with its stderr."""
    try:
        result = subprocess.run(command, capture_output=True, check=False, timeout=120, **kwargs)
    except FileNotFoundError as err:
        raise ToolMissingError(
            f"cannot run {command[0]}: {err}. Install it with: sudo apt-get install espeak-ng sox"
        ) from err
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{command[0]} failed (exit code {result.returncode}): {stderr}")
    return result


def trim_silence(audio, sample_rate=SAMPLE_RATE, threshold_db=-45.0, margin=0.02):
    """Cuts leading and trailing silence.

    A 10 ms frame counts as sound when its peak is above ``threshold_db``
    relative to the peak of the whole signal; ``margin`` seconds are kept on
    each side of the first and the last sounding frame.

    Arguments
    ---------
    audio : numpy.ndarray
        1-D signal.
    sample_rate : int
        Its sample rate.
    threshold_db : float
        Threshold in dB relative to the signal peak.
    margin : float
        Seconds kept before the first and after the last sounding frame.

    Returns
    -------
    numpy.ndarray
        The trimmed signal (unchanged if it is all silence).

    Example
    -------
    >>> x = np.zeros(16000)
    >>> x[4000:8000] = 0.5
    >>> len(trim_silence(x, margin=0.0))
    4000
    """
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak <= 0:
        return audio
    frame = max(1, sample_rate // 100)
    n_frames = -(-len(audio) // frame)
    padded = np.zeros(n_frames * frame, dtype=audio.dtype)
    padded[: len(audio)] = audio
    frame_peaks = np.max(np.abs(padded.reshape(n_frames, frame)), axis=1)
    loud = np.flatnonzero(frame_peaks > peak * 10 ** (threshold_db / 20))
    keep = int(round(margin * sample_rate))
    begin = max(0, loud[0] * frame - keep)
    end = min(len(audio), (loud[-1] + 1) * frame + keep)
    return audio[begin:end]


def synthesize(
    text,
    out_wav,
    voice="nl",
    speed=160,
    pitch=50,
    noise_db=None,
    pad=(0.03, 0.15),
    seed=0,
):
    """Speaks a text with espeak-ng into a 16 kHz mono 16-bit WAV file.

    espeak-ng writes 22.05 kHz audio; sox resamples it (``-r 16000 -c 1 -b
    16``). Then leading and trailing silence are trimmed, a random pad of
    silence (``pad`` range, seconds) is added on each side, and, if
    ``noise_db`` is given, Gaussian noise with that RMS level in dBFS.

    Arguments
    ---------
    text : str
        What to say.
    out_wav : str or os.PathLike
        The output WAV file (its folder must exist).
    voice : str
        espeak-ng voice (``nl``, ``nl+m3``, ``nl+f2``, ...).
    speed : int
        Words per minute.
    pitch : int
        espeak-ng pitch, 0..99.
    noise_db : float, optional
        Noise level in dB relative to full scale (e.g. -40); None for none.
    pad : tuple of float
        Range (min, max) of the silence added before and after, in seconds.
    seed : int or sequence of int
        Seed of the pad lengths and the noise.

    Returns
    -------
    float
        Duration of the written file in seconds.

    Raises
    ------
    ToolMissingError
        If espeak-ng or sox is missing.
    RuntimeError
        If a tool fails or produces no audio.
    """
    with tempfile.TemporaryDirectory(prefix="synth_nl_") as tmp:
        raw = os.path.join(tmp, "raw.wav")
        resampled = os.path.join(tmp, "16k.wav")
        # The text goes through stdin, so that it can never be read as an option.
        _run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, "--stdin"],
            input=text.encode("utf-8"),
        )
        # -R: repeatable dither, so that a seed always gives the same file.
        _run(["sox", "-R", raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", resampled])
        audio, rate = sf.read(resampled, dtype="float32", always_2d=False)
    if rate != SAMPLE_RATE or audio.ndim != 1 or len(audio) == 0:
        raise RuntimeError(f"espeak-ng/sox gave no usable audio for {text!r} (voice {voice})")
    audio = trim_silence(audio)
    rng = np.random.default_rng(seed)
    lead, trail = (int(rng.uniform(*pad) * SAMPLE_RATE) for _ in range(2))
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(trail, np.float32)]).astype(
        np.float64
    )
    if noise_db is not None:
        audio += rng.normal(0.0, 10 ** (noise_db / 20), size=len(audio))
    audio = np.clip(audio, -1.0, 32767 / 32768)
    sf.write(str(out_wav), audio, SAMPLE_RATE, subtype="PCM_16")
    return len(audio) / SAMPLE_RATE


def size_spec(size="tiny", utterances=None):
    """The :class:`SizeSpec` for a named size, or for a number of utterances.

    With ``utterances``, the speaker counts are those of the smallest named
    size with at least that many utterances (``large`` beyond).

    Arguments
    ---------
    size : str
        ``tiny``, ``small``, ``medium`` or ``large``.
    utterances : int, optional
        Overrides the number of utterances.

    Returns
    -------
    SizeSpec
        The spec.

    Example
    -------
    >>> size_spec("small")
    SizeSpec(utterances=600, speakers=12, test_speakers=3)
    >>> size_spec("tiny", utterances=1000)
    SizeSpec(utterances=1000, speakers=20, test_speakers=4)
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
    if utterances is None:
        return SIZES[size]
    utterances = int(utterances)
    if utterances < 8:
        raise ValueError(f"a corpus needs at least 8 utterances, got {utterances}")
    spec = next((s for s in SIZES.values() if s.utterances >= utterances), SIZES["large"])
    return SizeSpec(utterances, spec.speakers, spec.test_speakers)


def split_counts(n):
    """Rows per split for ``n`` utterances (see :data:`SPLIT_FRACTIONS`).

    Valid and test get at least 2 rows, the two training pools at least 1.

    Arguments
    ---------
    n : int
        Number of utterances.

    Returns
    -------
    dict
        Rows for ``verbatim`` and ``subtitle`` (the two training pools),
        ``valid`` and ``test``.

    Example
    -------
    >>> split_counts(40)
    {'verbatim': 12, 'subtitle': 24, 'valid': 2, 'test': 2}
    >>> split_counts(600)
    {'verbatim': 180, 'subtitle': 360, 'valid': 30, 'test': 30}
    """
    valid = max(2, round(SPLIT_FRACTIONS["valid"] * n))
    test = max(2, round(SPLIT_FRACTIONS["test"] * n))
    verbatim = max(1, round(SPLIT_FRACTIONS["verbatim"] * n))
    subtitle = n - valid - test - verbatim
    if subtitle < 1:
        raise ValueError(f"{n} utterances are too few for four splits")
    return {"verbatim": verbatim, "subtitle": subtitle, "valid": valid, "test": test}


@dataclass
class _Job:
    """One utterance to synthesise."""

    index: int
    row_id: str
    split: str
    speaker: Speaker
    verbatim: str
    subtitle: str
    spoken: str
    wav: Path


def _plan(n_utterances, spec, seed):
    """Pairs, split labels and speakers for every utterance."""
    pairs = generate_pairs(n_utterances, seed=seed)
    counts = split_counts(n_utterances)
    labels = [split for split, count in counts.items() for _ in range(count)]
    rng = random.Random(f"plan-{seed}")
    rng.shuffle(labels)
    speakers = make_speakers(spec.speakers, seed=seed)
    test_speakers = speakers[-spec.test_speakers :]
    train_speakers = speakers[: -spec.test_speakers]
    # Deal speakers out in shuffled rounds so each gets a similar share.
    decks = {"test": [], "train": []}

    def next_speaker(group, pool):
        if not decks[group]:
            decks[group] = list(pool)
            rng.shuffle(decks[group])
        return decks[group].pop()

    plan = []
    for index, (pair, split) in enumerate(zip(pairs, labels)):
        if split == "test":
            speaker = next_speaker("test", test_speakers)
        else:
            speaker = next_speaker("train", train_speakers)
        plan.append((index, pair, split, speaker))
    return plan, speakers, test_speakers


def _synthesize_job(job, noise_db, seed):
    """Synthesises one job; returns (job, duration)."""
    duration = synthesize(
        job.spoken,
        job.wav,
        voice=job.speaker.voice,
        speed=job.speaker.speed,
        pitch=job.speaker.pitch,
        noise_db=noise_db,
        seed=[int(seed), job.index],
    )
    return job, duration


def _write_manifest(path, rows):
    """Writes one manifest CSV."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)


README_TEXT = """\
SyntheticNL: a synthetic Flemish Dutch corpus for joint verbatim + subtitle ASR
==============================================================================

THIS IS SYNTHETIC SPEECH. Every utterance was generated with the espeak-ng
formant synthesiser ({espeak}) from a template-generated sentence. It exists
so that anyone can test the speechbrain_subtitle recipes on any machine.
Error rates measured on this corpus say nothing about real speech.

Each utterance has a verbatim transcript (what the synthesiser says:
fillers, repetitions, false starts, Flemish colloquial forms, spelled-out
numbers) and a subtitle (standard written Dutch: cased, punctuated, digits,
condensed). The audio is always spoken from the verbatim text.

Files
  wavs/*.wav      16 kHz mono 16-bit PCM
  train.csv       {n_verbatim} verbatim-only rows + {n_subtitle} subtitle-only rows
  valid.csv       {n_valid} rows with both texts
  test.csv        {n_test} rows with both texts, speakers not used elsewhere
  corpus_info.json  seed, sizes, durations, speakers (voice/speed/pitch)

Manifest columns: ID,duration,wav,start,stop,verbatim,subtitle. An empty
verbatim or subtitle cell means that text is not available for that row.
Row IDs are <speaker>_<index>.

Size: {size}, {n} utterances, {hours:.2f} hours, seed {seed}, generator
version {version}. Rebuild with:
  python recipes/SyntheticNL/make_corpus.py --out DIR --size {size} --seed {seed}{extra}
"""


def build_corpus(
    out_dir,
    size="tiny",
    seed=1234,
    jobs=2,
    utterances=None,
    noise_db=DEFAULT_NOISE_DB,
    progress=True,
    overwrite=False,
):
    """Builds the SyntheticNL corpus.

    Arguments
    ---------
    out_dir : str or os.PathLike
        Output folder (created). It gets ``wavs/``, ``train.csv``,
        ``valid.csv``, ``test.csv``, ``corpus_info.json`` and ``README.txt``.
    size : str
        ``tiny`` (40 utterances), ``small`` (600), ``medium`` (4000) or
        ``large`` (10000).
    seed : int
        Seed of the texts, the split, the speakers, the pads and the noise.
    jobs : int
        Number of parallel synthesis workers.
    utterances : int, optional
        Number of utterances instead of the one of ``size``.
    noise_db : float, optional
        Level of the added Gaussian noise in dBFS; None for clean audio.
    progress : bool
        Show a tqdm progress bar.
    overwrite : bool
        Allow a folder that already holds a corpus; its ``wavs/`` folder and
        corpus files are replaced.

    Returns
    -------
    dict
        The content of ``corpus_info.json``.

    Raises
    ------
    ToolMissingError
        If espeak-ng or sox is not installed.
    FileExistsError
        If ``out_dir`` already holds corpus files and ``overwrite`` is False.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    versions = check_tools()
    spec = size_spec(size, utterances)
    out_dir = Path(out_dir)
    existing = [name for name in CORPUS_FILES + ("wavs",) if (out_dir / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds {', '.join(existing)}; pass overwrite=True "
            "(--overwrite) to replace them"
        )
    if (out_dir / "wavs").exists():
        shutil.rmtree(out_dir / "wavs")
    wav_dir = out_dir / "wavs"
    wav_dir.mkdir(parents=True)

    plan, speakers, test_speakers = _plan(spec.utterances, spec, seed)
    work = []
    for index, pair, split, speaker in plan:
        row_id = f"{speaker.id}_{index:05d}"
        work.append(
            _Job(
                index,
                row_id,
                split,
                speaker,
                pair.verbatim,
                pair.subtitle,
                pair.spoken,
                wav_dir / f"{row_id}.wav",
            )
        )

    durations = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        futures = [pool.submit(_synthesize_job, job, noise_db, seed) for job in work]
        try:
            with tqdm(
                total=len(futures), desc="espeak-ng", unit="utt", disable=not progress
            ) as bar:
                for future in concurrent.futures.as_completed(futures):
                    job, duration = future.result()
                    durations[job.index] = duration
                    bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    manifests = {"train": [], "valid": [], "test": []}
    split_info = {
        name: {"rows": 0, "seconds": 0.0, "speakers": set()}
        for name in ("train_verbatim", "train_subtitle", "valid", "test")
    }
    for job in work:
        duration = durations[job.index]
        verbatim = job.verbatim if job.split != "subtitle" else ""
        subtitle = job.subtitle if job.split != "verbatim" else ""
        manifest = "train" if job.split in ("verbatim", "subtitle") else job.split
        wav = f"wavs/{job.wav.name}"
        manifests[manifest].append([job.row_id, f"{duration:.4f}", wav, "", "", verbatim, subtitle])
        key = f"train_{job.split}" if manifest == "train" else manifest
        split_info[key]["rows"] += 1
        split_info[key]["seconds"] += duration
        split_info[key]["speakers"].add(job.speaker.id)
    for name, rows in manifests.items():
        _write_manifest(out_dir / f"{name}.csv", rows)

    by_id = {speaker.id: speaker for speaker in speakers}
    total_seconds = sum(durations.values())
    info = {
        "corpus": "SyntheticNL",
        "synthetic": True,
        "generator_version": GENERATOR_VERSION,
        "size": size,
        "seed": seed,
        "utterances": spec.utterances,
        "total_hours": round(total_seconds / 3600, 4),
        "sample_rate": SAMPLE_RATE,
        "noise_db": noise_db,
        "splits": {
            name: {
                "rows": value["rows"],
                "hours": round(value["seconds"] / 3600, 4),
                "speakers": [asdict(by_id[s]) for s in sorted(value["speakers"])],
            }
            for name, value in split_info.items()
        },
        "test_speakers": [s.id for s in test_speakers],
        "split_fractions": SPLIT_FRACTIONS,
        "phenomena": PhenomenaConfig().to_dict(),
        "tools": versions,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    with open(out_dir / "corpus_info.json", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    extra = "" if utterances is None else f" --utterances {spec.utterances}"
    if noise_db != DEFAULT_NOISE_DB:
        extra += " --no-noise" if noise_db is None else f" --noise-db {noise_db}"
    readme = README_TEXT.format(
        espeak=versions["espeak-ng"],
        n_verbatim=split_info["train_verbatim"]["rows"],
        n_subtitle=split_info["train_subtitle"]["rows"],
        n_valid=split_info["valid"]["rows"],
        n_test=split_info["test"]["rows"],
        size=size,
        n=spec.utterances,
        hours=total_seconds / 3600,
        seed=seed,
        version=GENERATOR_VERSION,
        extra=extra,
    )
    (out_dir / "README.txt").write_text(readme, encoding="utf-8")
    return info
