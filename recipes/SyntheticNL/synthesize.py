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
``test_unseen.csv`` (generator version 2 only)
    As many rows as ``test.csv``, with both references, generated in
    addition to the corpus size: sentences from held-out templates filled
    with held-out vocabulary (:func:`text_pairs.generate_pairs` with
    ``pool="unseen"``), spoken by held-out speakers (espeak-ng variants that
    no other split uses, speed and pitch partly outside the training ranges)
    with noise and reverberation.

Generator version 2 (the default) also widens the training speed and pitch
ranges and augments about half of the training rows with noise at a random
signal-to-noise ratio and/or sox reverberation. ``generator=1`` rebuilds the
version 1 corpus exactly (same texts, splits, speakers and audio).

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
    from text_pairs import GENERATOR_VERSIONS, PhenomenaConfig, generate_pairs, template_pool
except ImportError:  # imported from outside recipes/SyntheticNL
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from text_pairs import GENERATOR_VERSIONS, PhenomenaConfig, generate_pairs, template_pool

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
DEFAULT_GENERATOR = 2
CORPUS_FILES = (
    "train.csv",
    "valid.csv",
    "test.csv",
    "test_unseen.csv",
    "test_unseen_new.csv",
    "corpus_info.json",
    "README.txt",
)

# Generator version 2: train, valid and test speakers use these voices and
# wider ranges; test_unseen speakers use voices no other split uses, with speed
# and pitch partly outside the training ranges.
VOICES_V2 = VOICES + (
    "nl+m8",
    "nl+f5",
    "nl+klatt",
    "nl+klatt2",
    "nl+klatt3",
    "nl+iven",
    "nl+max",
    "nl+paul",
    "nl+steph",
    "nl+linda",
    "nl+anika",
)
SPEED_RANGE_V2 = (130, 200)
PITCH_RANGE_V2 = (20, 80)
UNSEEN_VOICES = (
    "nl+edward",
    "nl+belinda",
    "nl+benjamin",
    "nl+klatt4",
    "nl+norbert",
    "nl+quincy",
    "nl+Andrea",
    "nl+aunty",
)
UNSEEN_SPEED_RANGE = (115, 215)
UNSEEN_PITCH_RANGE = (10, 90)

# Augmentation of generator version 2 (valid and test stay clean, apart from
# the noise floor ``noise_db``, so that their figures compare with version 1).
AUGMENTATION = {
    "train": {
        "fraction": 0.5,
        "kinds": ["noise", "reverb", "noise+reverb"],
        "snr_db": [10.0, 30.0],
    },
    "test_unseen": {"fraction": 1.0, "kinds": ["noise", "noise+reverb"], "snr_db": [15.0, 30.0]},
    "reverb": {"reverberance": [20, 80], "hf_damping": [20, 80], "room_scale": [30, 100]},
    "noise_colors": ["white", "pink", "brown"],
}


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


def make_speakers(
    count,
    seed=0,
    voices=VOICES,
    speed_range=SPEED_RANGE,
    pitch_range=PITCH_RANGE,
    first_number=1,
    outside=None,
):
    """Makes ``count`` distinct synthetic speakers.

    Voices are used in turn (in a seeded order), so that every voice variant
    appears before one is used twice; speed and pitch are drawn from
    ``speed_range`` and ``pitch_range`` (default :data:`SPEED_RANGE` and
    :data:`PITCH_RANGE`) in steps of 5.

    Arguments
    ---------
    count : int
        Number of speakers.
    seed : int
        Random seed.
    voices : sequence of str
        espeak-ng voices to use.
    speed_range : tuple of int
        Lowest and highest speed (words per minute).
    pitch_range : tuple of int
        Lowest and highest pitch.
    first_number : int
        Number of the first speaker ID.
    outside : tuple of tuple, optional
        ``(speed_range, pitch_range)`` of another group: every other speaker
        (the first, the third, ...) then gets a speed and a pitch outside
        those ranges (there must be room for them in ``speed_range`` and
        ``pitch_range``).

    Returns
    -------
    list of Speaker
        Speakers ``spk01``, ``spk02``, ... (from ``first_number`` on).

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

    def values(own, other, force_outside):
        step_values = range(own[0], own[1] + 1, 5)
        if force_outside:
            return [v for v in step_values if not other[0] <= v <= other[1]]
        return step_values

    speakers, seen = [], set()
    while len(speakers) < count:
        voice = order[len(speakers) % len(order)]
        if outside is None:
            speed = rng.randrange(speed_range[0], speed_range[1] + 1, 5)
            pitch = rng.randrange(pitch_range[0], pitch_range[1] + 1, 5)
        else:
            force = len(speakers) % 2 == 0
            speed = rng.choice(list(values(speed_range, outside[0], force)))
            pitch = rng.choice(list(values(pitch_range, outside[1], force)))
        if (voice, speed, pitch) in seen:
            continue
        seen.add((voice, speed, pitch))
        number = first_number + len(speakers)
        speakers.append(Speaker(f"spk{number:02d}", voice, speed, pitch))
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


def _frames(audio, frame, pad):
    """``audio`` as rows of ``frame`` samples: a last partial frame is zero-padded
    (``pad``) or left out."""
    n_frames = -(-len(audio) // frame) if pad else len(audio) // frame
    if pad and n_frames * frame != len(audio):
        audio = np.concatenate([audio, np.zeros(n_frames * frame - len(audio), audio.dtype)])
    return audio[: n_frames * frame].reshape(n_frames, frame)


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
    frame_peaks = np.max(np.abs(_frames(audio, frame, pad=True)), axis=1)
    loud = np.flatnonzero(frame_peaks > peak * 10 ** (threshold_db / 20))
    keep = int(round(margin * sample_rate))
    begin = max(0, loud[0] * frame - keep)
    end = min(len(audio), (loud[-1] + 1) * frame + keep)
    return audio[begin:end]


def speech_level(audio, sample_rate=SAMPLE_RATE, range_db=30.0):
    """RMS level of the speech in a signal, pauses left out.

    The RMS over the 10 ms frames whose energy is within ``range_db`` of the
    loudest frame.

    Arguments
    ---------
    audio : numpy.ndarray
        1-D signal.
    sample_rate : int
        Its sample rate.
    range_db : float
        Frames this far below the loudest one count as pauses.

    Returns
    -------
    float
        The RMS (0.0 for silence).

    Example
    -------
    >>> x = np.zeros(16000)
    >>> x[:8000] = 0.5
    >>> round(speech_level(x), 3)
    0.5
    """
    frames = _frames(audio, max(1, sample_rate // 100), pad=False)
    if len(frames) == 0:
        return float(np.sqrt(np.mean(np.square(audio)))) if len(audio) else 0.0
    energy = np.mean(np.square(frames), axis=1)
    if energy.max() <= 0:
        return 0.0
    active = energy[energy >= energy.max() * 10 ** (-range_db / 10)]
    return float(np.sqrt(np.mean(active)))


def colored_noise(length, color, rng):
    """Gaussian noise with unit RMS: ``white``, ``pink`` (1/f) or ``brown`` (1/f²).

    Example
    -------
    >>> noise = colored_noise(16000, "pink", np.random.default_rng(0))
    >>> round(float(np.sqrt(np.mean(noise**2))), 6)
    1.0
    """
    white = rng.normal(0.0, 1.0, size=length)
    if color != "white" and length > 1:
        exponent = {"pink": 0.5, "brown": 1.0}[color]
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        white = np.fft.irfft(spectrum / freqs**exponent, n=length)
    rms = float(np.sqrt(np.mean(np.square(white)))) if length else 0.0
    return white / rms if rms > 0 else white


def synthesize(
    text,
    out_wav,
    voice="nl",
    speed=160,
    pitch=50,
    noise_db=None,
    pad=(0.03, 0.15),
    seed=0,
    snr_db=None,
    noise_color="white",
    reverb=None,
):
    """Speaks a text with espeak-ng into a 16 kHz mono 16-bit WAV file.

    espeak-ng writes 22.05 kHz audio; sox resamples it (``-r 16000 -c 1 -b
    16``), adding reverberation if ``reverb`` is given. Then leading and
    trailing silence are trimmed, a random pad of silence (``pad`` range,
    seconds) is added on each side, if ``snr_db`` is given noise at that
    signal-to-noise ratio relative to the speech level
    (:func:`speech_level`), and, if ``noise_db`` is given, Gaussian noise with
    that RMS level in dBFS (a noise floor). Without ``snr_db`` and
    ``reverb`` the output is that of generator version 1.

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
    snr_db : float, optional
        Add noise this many dB below the speech level; None for none.
    noise_color : str
        ``white``, ``pink`` or ``brown`` noise for ``snr_db``.
    reverb : sequence of float, optional
        sox ``reverb`` parameters (reverberance %, HF damping %, room scale
        %); None for none.

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
        command = ["sox", "-R", raw, "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", resampled]
        if reverb is not None:
            # -G guards against clipping; the pad leaves room for the reverb tail.
            command[1:1] = ["-G"]
            command += ["pad", "0", "0.3", "reverb", *(f"{float(v):g}" for v in reverb)]
        _run(command)
        audio, rate = sf.read(resampled, dtype="float32", always_2d=False)
    if rate != SAMPLE_RATE or audio.ndim != 1 or len(audio) == 0:
        raise RuntimeError(f"espeak-ng/sox gave no usable audio for {text!r} (voice {voice})")
    audio = trim_silence(audio)
    rng = np.random.default_rng(seed)
    lead, trail = (int(rng.uniform(*pad) * SAMPLE_RATE) for _ in range(2))
    level = speech_level(audio)
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(trail, np.float32)]).astype(
        np.float64
    )
    if snr_db is not None:
        # A separate generator, so that the pads and the noise floor stay those
        # of the same utterance without augmentation.
        noise_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        noise = colored_noise(len(audio), noise_color, noise_rng)
        audio += noise * level * 10 ** (-float(snr_db) / 20)
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
    augmentation: dict = None


def _plan(n_utterances, spec, seed, generator=1):
    """Pairs, split labels and speakers for every utterance (not test_unseen)."""
    pairs = generate_pairs(n_utterances, seed=seed, generator=generator)
    counts = split_counts(n_utterances)
    labels = [split for split, count in counts.items() for _ in range(count)]
    rng = random.Random(f"plan-{seed}")
    rng.shuffle(labels)
    if generator == 1:
        speakers = make_speakers(spec.speakers, seed=seed)
    else:
        speakers = make_speakers(spec.speakers, seed, VOICES_V2, SPEED_RANGE_V2, PITCH_RANGE_V2)
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


def _plan_unseen(first_index, count, spec, seed):
    """Pairs and held-out speakers of the test_unseen split (generator 2).

    Returns the plan entries ``(index, pair, "test_unseen", speaker)`` and
    the speakers; speaker numbers follow those of the other splits.
    """
    pairs = generate_pairs(count, seed=seed, generator=2, pool="unseen")
    speakers = make_speakers(
        spec.test_speakers,
        seed=f"unseen-{seed}",
        voices=UNSEEN_VOICES,
        speed_range=UNSEEN_SPEED_RANGE,
        pitch_range=UNSEEN_PITCH_RANGE,
        first_number=spec.speakers + 1,
        outside=(SPEED_RANGE_V2, PITCH_RANGE_V2),
    )
    plan = [
        (first_index + k, pair, "test_unseen", speakers[k % len(speakers)])
        for k, pair in enumerate(pairs)
    ]
    return plan, speakers


def _draw_augmentation(rng, policy):
    """One row's augmentation under a policy of :data:`AUGMENTATION`, or None."""
    if rng.random() >= policy["fraction"]:
        return None
    kind = rng.choice(policy["kinds"])
    augmentation = {"kind": kind}
    if "noise" in kind:
        augmentation["snr_db"] = round(rng.uniform(*policy["snr_db"]), 1)
        augmentation["noise_color"] = rng.choice(AUGMENTATION["noise_colors"])
    if "reverb" in kind:
        ranges = AUGMENTATION["reverb"]
        augmentation["reverb"] = [
            rng.randint(*ranges["reverberance"]),
            rng.randint(*ranges["hf_damping"]),
            rng.randint(*ranges["room_scale"]),
        ]
    return augmentation


def plan_augmentation(jobs, seed):
    """Draws the augmentation of every row (generator version 2).

    About half of the training rows (seeded) get noise at 10-30 dB SNR,
    reverberation, or both; every test_unseen row gets noise at 15-30 dB SNR
    and half of them (alternately, in row order) also reverberation; valid
    and test rows stay clean. See :data:`AUGMENTATION`.

    Arguments
    ---------
    jobs : list
        The rows, in index order, each with ``index`` and ``split``.
    seed : int
        Corpus seed.

    Returns
    -------
    dict
        ``{index: augmentation dict}`` for the augmented rows.
    """
    rng = random.Random(f"augment-{seed}")
    unseen_policy = dict(AUGMENTATION["test_unseen"])
    chosen, unseen_count = {}, 0
    for job in jobs:
        if job.split in ("verbatim", "subtitle"):
            augmentation = _draw_augmentation(rng, AUGMENTATION["train"])
        elif job.split == "test_unseen":
            kind = unseen_policy["kinds"][unseen_count % 2]
            unseen_count += 1
            augmentation = _draw_augmentation(rng, dict(unseen_policy, kinds=[kind]))
        else:
            augmentation = None
        if augmentation is not None:
            chosen[job.index] = augmentation
    return chosen


def _synthesize_job(job, noise_db, seed):
    """Synthesises one job; returns (job, duration)."""
    augmentation = job.augmentation or {}
    duration = synthesize(
        job.spoken,
        job.wav,
        voice=job.speaker.voice,
        speed=job.speaker.speed,
        pitch=job.speaker.pitch,
        noise_db=noise_db,
        seed=[int(seed), job.index],
        snr_db=augmentation.get("snr_db"),
        noise_color=augmentation.get("noise_color", "white"),
        reverb=augmentation.get("reverb"),
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
{unseen_line}  corpus_info.json  seed, sizes, durations, speakers (voice/speed/pitch){aug_note}

Manifest columns: ID,duration,wav,start,stop,verbatim,subtitle. An empty
verbatim or subtitle cell means that text is not available for that row.
Row IDs are <speaker>_<index>.
{generator_text}
Size: {size}, {n} utterances, {hours:.2f} hours, seed {seed}, generator
version {version}. Rebuild with:
  python recipes/SyntheticNL/make_corpus.py --out DIR --size {size} --seed {seed}{extra}
"""

GENERATOR_TEXT = {
    1: """
Generator version 1: the original templates and vocabulary, no held-out
split, no augmentation (only the noise floor). Build the current version
without --generator 1.
""",
    2: """
Generator version 2: train, valid and test use only the "seen" templates
(about 80 % of each domain) and "seen" vocabulary (about 75 % of each list of
places, names, clubs, ...). test_unseen.csv is built in addition, from the
held-out templates filled with held-out vocabulary (numbers, weekdays and
months are shared), spoken by held-out espeak-ng voices with speeds and
pitches partly outside the training ranges, and with noise (15-30 dB SNR)
on every row and reverberation on half of them. About half of the training
rows have noise (10-30 dB SNR) and/or reverberation; valid and test are clean
apart from the noise floor, as in version 1. corpus_info.json lists the
augmentation of every row. Use --generator 1 for the version 1 corpus.
""",
}


def build_corpus(
    out_dir,
    size="tiny",
    seed=1234,
    jobs=2,
    utterances=None,
    noise_db=DEFAULT_NOISE_DB,
    progress=True,
    overwrite=False,
    generator=DEFAULT_GENERATOR,
    augment=True,
):
    """Builds the SyntheticNL corpus.

    Arguments
    ---------
    out_dir : str or os.PathLike
        Output folder (created). It gets ``wavs/``, ``train.csv``,
        ``valid.csv``, ``test.csv``, ``test_unseen.csv`` (generator 2),
        ``corpus_info.json`` and ``README.txt``.
    size : str
        ``tiny`` (40 utterances), ``small`` (600), ``medium`` (4000) or
        ``large`` (10000); generator 2 adds as many test_unseen rows as
        test rows.
    seed : int
        Seed of the texts, the split, the speakers, the pads and the noise.
    jobs : int
        Number of parallel synthesis workers.
    utterances : int, optional
        Number of utterances instead of the one of ``size``.
    noise_db : float, optional
        Level of the added Gaussian noise floor in dBFS; None for none.
    progress : bool
        Show a tqdm progress bar.
    overwrite : bool
        Allow a folder that already holds a corpus; its ``wavs/`` folder and
        corpus files are replaced.
    generator : int
        Generator version: 2 (default: held-out test_unseen split, more
        voices, augmentation) or 1 (exactly the version 1 corpus).
    augment : bool
        Generator 2: add noise and reverberation (see
        :func:`plan_augmentation`); False leaves every row clean apart from
        the noise floor.

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
    ValueError
        For an unknown size or generator.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    if generator not in GENERATOR_VERSIONS:
        raise ValueError(f"unknown generator {generator!r}; choose 1 or 2")
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
    for name in ("test_unseen.csv", "test_unseen_new.csv"):
        if (out_dir / name).exists():
            (out_dir / name).unlink()
    wav_dir = out_dir / "wavs"
    wav_dir.mkdir(parents=True)

    plan, speakers, test_speakers = _plan(spec.utterances, spec, seed, generator)
    unseen_speakers = []
    if generator >= 2:
        n_unseen = split_counts(spec.utterances)["test"]
        unseen_plan, unseen_speakers = _plan_unseen(spec.utterances, n_unseen, spec, seed)
        plan += unseen_plan
    work = []
    unseen_templates = {}  # row ID -> template IDs, test_unseen rows
    for index, pair, split, speaker in plan:
        row_id = f"{speaker.id}_{index:05d}"
        if split == "test_unseen":
            unseen_templates[row_id] = list(pair.templates)
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
    augmentations = plan_augmentation(work, seed) if generator >= 2 and augment else {}
    for job in work:
        job.augmentation = augmentations.get(job.index)

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

    split_names = ["train_verbatim", "train_subtitle", "valid", "test"]
    manifests = {"train": [], "valid": [], "test": []}
    if generator >= 2:
        split_names.append("test_unseen")
        manifests["test_unseen"] = []
    split_info = {
        name: {"rows": 0, "seconds": 0.0, "speakers": set(), "augmented": 0} for name in split_names
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
        split_info[key]["augmented"] += job.augmentation is not None
    for name, rows in manifests.items():
        _write_manifest(out_dir / f"{name}.csv", rows)
    if generator >= 2:
        # test_unseen rows built only from templates generator 1 does not have:
        # a model trained on a generator-1 corpus never saw those either.
        old = set(template_pool("seen", generator=1))
        new_rows = [
            row
            for row in manifests["test_unseen"]
            if not old.intersection(unseen_templates[row[0]])
        ]
        _write_manifest(out_dir / "test_unseen_new.csv", new_rows)

    by_id = {speaker.id: speaker for speaker in speakers + unseen_speakers}
    total_seconds = sum(durations.values())
    splits = {}
    for name, value in split_info.items():
        splits[name] = {
            "rows": value["rows"],
            "hours": round(value["seconds"] / 3600, 4),
            "speakers": [asdict(by_id[s]) for s in sorted(value["speakers"])],
        }
        if generator >= 2:
            splits[name]["augmented_rows"] = value["augmented"]
    info = {
        "corpus": "SyntheticNL",
        "synthetic": True,
        "generator": generator,
        "generator_version": GENERATOR_VERSIONS[generator],
        "size": size,
        "seed": seed,
        "utterances": spec.utterances,
        "total_hours": round(total_seconds / 3600, 4),
        "sample_rate": SAMPLE_RATE,
        "noise_db": noise_db,
        "splits": splits,
        "test_speakers": [s.id for s in test_speakers],
        "split_fractions": SPLIT_FRACTIONS,
        "phenomena": PhenomenaConfig().to_dict(),
        "tools": versions,
        "build_seconds": None,
    }
    if generator >= 2:
        info["test_unseen_speakers"] = [s.id for s in unseen_speakers]
        info["speaker_ranges"] = {
            "train": {"speed": list(SPEED_RANGE_V2), "pitch": list(PITCH_RANGE_V2)},
            "test_unseen": {"speed": list(UNSEEN_SPEED_RANGE), "pitch": list(UNSEEN_PITCH_RANGE)},
        }
        info["test_unseen_templates"] = unseen_templates
        info["test_unseen_new_rows"] = len(new_rows)
        info["augmentation"] = {
            "enabled": bool(augment),
            "policy": AUGMENTATION,
            "rows": {job.row_id: job.augmentation for job in work if job.augmentation},
        }
    info["build_seconds"] = round(time.perf_counter() - started, 2)
    with open(out_dir / "corpus_info.json", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
        f.write("\n")
    extra = "" if utterances is None else f" --utterances {spec.utterances}"
    if noise_db != DEFAULT_NOISE_DB:
        extra += " --no-noise" if noise_db is None else f" --noise-db {noise_db}"
    if generator != DEFAULT_GENERATOR:
        extra += f" --generator {generator}"
    if generator >= 2 and not augment:
        extra += " --no-augment"
    unseen_line = ""
    if generator >= 2:
        unseen_line = (
            f"  test_unseen.csv {split_info['test_unseen']['rows']} rows with both texts: held-out "
            "templates, vocabulary and speakers,\n                  noise and reverberation\n"
            f"  test_unseen_new.csv  the {len(new_rows)} test_unseen rows whose templates are all "
            "new in generator 2\n                  (never seen by a model trained on a "
            "generator-1 corpus)\n"
        )
    aug_note = ", augmentation per row" if generator >= 2 else ""
    readme = README_TEXT.format(
        espeak=versions["espeak-ng"],
        n_verbatim=split_info["train_verbatim"]["rows"],
        n_subtitle=split_info["train_subtitle"]["rows"],
        n_valid=split_info["valid"]["rows"],
        n_test=split_info["test"]["rows"],
        unseen_line=unseen_line,
        aug_note=aug_note,
        generator_text=GENERATOR_TEXT[generator],
        size=size,
        n=spec.utterances,
        hours=total_seconds / 3600,
        seed=seed,
        version=GENERATOR_VERSIONS[generator],
        extra=extra,
    )
    (out_dir / "README.txt").write_text(readme, encoding="utf-8")
    return info
