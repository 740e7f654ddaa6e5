#!/usr/bin/env python3
"""A synthetic "programme" of real speech with known speech boundaries.

Chosen clips of a manifest (the real Dutch test split of
``prepare_fillets.py``) are put one after the other with silences drawn
uniformly from 0.3-3 s (also before the first clip and after the last one).
Each clip's own leading and trailing silence is trimmed first by a simple
energy rule (:func:`trim_silence`: 10 ms frames, from the first to the last
frame within 30 dB of the clip's loudest frame), so that a clip's start and
end in the programme are where its speech starts and ends. The game's clips
end in a reverberant decay of about 1 s (some 35 dB/s from the last syllable
down to the noise floor near -70 dBFS). On 40 test clips a -30 dB rule ends
a clip a median 0.13 s after the point where Silero VAD hears its speech end
(-40 dB: 0.49 s, most of it reverberation); starts agree within 0.03 s. A
clip's internal pauses count as speech. A noise
bed (pink or white, ``snr_db`` below the mean power of the speech) runs under
the whole programme, so the pauses are quiet rather than digitally silent.

:func:`write_programme` writes three files:

* ``<stem>.wav``: the programme, 16 kHz mono 16-bit PCM;
* ``<stem>.srt``: the reference subtitle, one cue per clip from its start to
  its end holding the clip's script line (broken into lines of at most 42
  characters with the package's line breaker), written with ``srt``;
* ``<stem>.json``: the clip boundaries (``id``, ``start``, ``end``,
  ``text``, ``verbatim``, where the speech was cut from the source clip) and
  how the programme was made (seed, silences, noise).

Everything is drawn from ``numpy.random.default_rng`` seeded by ``seed``: the
same manifest, clips and seed give the same files, sample for sample.

The Fish Fillets NG audio and script text are GPL-2: never commit a programme,
its SRT or its JSON to this repository.

Example::

    python recipes/FishFilletsNL/programme.py --manifest data/fillets_nl/test.csv \\
        --out programmes --clips 10 --seed 3

Authors
 * speechbrain_subtitle contributors
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np

#: Sample rate of the programme (the models' rate).
RATE = 16000
#: Shortest and longest silence between clips (and before/after them), seconds.
GAP = (0.3, 3.0)
#: A frame of the trimming rule, seconds.
TRIM_FRAME = 0.01
#: Frames quieter than this (dB below the clip's loudest frame) are silence.
TRIM_THRESHOLD_DB = -30.0
#: Default noise bed: this many dB below the mean power of the speech.
SNR_DB = 30.0
#: Noise colours :func:`noise_bed` makes.
NOISES = ("pink", "white", "none")


@dataclasses.dataclass
class PlacedClip:
    """A clip in a programme.

    Attributes
    ----------
    id : str
        The manifest ID.
    start, end : float
        Where its (trimmed) speech starts and ends in the programme, seconds.
    text : str
        Its script line as written (the manifest's ``subtitle``).
    verbatim : str
        The manifest's ``verbatim`` text.
    source_start, source_end : float
        The trimmed part of the source clip, seconds from its start.
    source_duration : float
        Length of the source clip, seconds.
    """

    id: str
    start: float
    end: float
    text: str
    verbatim: str = ""
    source_start: float = 0.0
    source_end: float = 0.0
    source_duration: float = 0.0


@dataclasses.dataclass
class Programme:
    """A built programme: audio, clip boundaries and how it was made.

    Attributes
    ----------
    audio : numpy.ndarray
        float32 mono samples at ``rate``.
    rate : int
        Sample rate.
    clips : list of PlacedClip
        In time order.
    gaps : list of float
        The silences, seconds: before the first clip, between clips, after
        the last one (``len(clips) + 1`` values).
    seed : int
        The seed it was drawn with.
    noise : dict
        ``{"colour", "snr_db", "rms"}`` of the noise bed (``rms`` of the
        noise in full scale; 0 without noise).
    trim_threshold_db : float
        The trimming rule's threshold.
    """

    audio: np.ndarray
    rate: int
    clips: list
    gaps: list
    seed: int
    noise: dict
    trim_threshold_db: float = TRIM_THRESHOLD_DB

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.audio) / self.rate

    def boundaries(self) -> dict:
        """The JSON document :func:`write_programme` writes (see the module doc)."""
        return {
            "duration": round(self.duration, 6),
            "rate": self.rate,
            "seed": self.seed,
            "gaps": [round(g, 6) for g in self.gaps],
            "noise": self.noise,
            "trim": {"frame": TRIM_FRAME, "threshold_db": self.trim_threshold_db},
            "clips": [
                {
                    "id": c.id,
                    "start": round(c.start, 6),
                    "end": round(c.end, 6),
                    "text": c.text,
                    "verbatim": c.verbatim,
                    "source_start": round(c.source_start, 6),
                    "source_end": round(c.source_end, 6),
                    "source_duration": round(c.source_duration, 6),
                }
                for c in self.clips
            ],
        }


def trim_silence(wav, rate=RATE, threshold_db=TRIM_THRESHOLD_DB, frame=TRIM_FRAME):
    """Where the sound of a clip starts and ends, by frame energy.

    The clip is cut into frames of ``frame`` seconds; a frame is sound when
    its mean power is within ``-threshold_db`` dB of the loudest frame's.
    The result runs from the start of the first sound frame to the end of the
    last one.

    Arguments
    ---------
    wav : numpy.ndarray
        Mono samples.
    rate : int
        Sample rate.
    threshold_db : float
        Negative: how far below the loudest frame a frame still counts as sound.
    frame : float
        Frame length, seconds.

    Returns
    -------
    (int, int)
        First sample and end sample (exclusive) of the sound; ``(0, 0)`` for
        a clip without any sound (all zeros or empty).

    Example
    -------
    >>> tone = np.sin(np.arange(8000) / 5.0).astype("float32")
    >>> wav = np.concatenate([np.zeros(1600), 1e-4 * tone[:1600], tone, np.zeros(4000)])
    >>> trim_silence(wav)
    (3200, 11200)
    """
    wav = np.asarray(wav, dtype=np.float64)
    size = max(1, int(round(frame * rate)))
    count = -(-len(wav) // size)
    if count == 0:
        return 0, 0
    padded = np.zeros(count * size)
    padded[: len(wav)] = wav
    power = (padded.reshape(count, size) ** 2).mean(axis=1)
    if power.max() <= 0:
        return 0, 0
    loud = np.nonzero(power >= power.max() * 10 ** (threshold_db / 10))[0]
    return int(loud[0] * size), int(min(len(wav), (loud[-1] + 1) * size))


def noise_bed(samples, rng, colour="pink"):
    """Noise of unit RMS: white, or pink (power falling as 1/f).

    Arguments
    ---------
    samples : int
        Length.
    rng : numpy.random.Generator
        The random source.
    colour : str
        ``"pink"``, ``"white"`` or ``"none"`` (zeros).

    Returns
    -------
    numpy.ndarray
        float64 samples.

    Example
    -------
    >>> noise = noise_bed(16000, np.random.default_rng(0))
    >>> round(float(np.sqrt((noise ** 2).mean())), 6)
    1.0
    >>> float(np.abs(noise_bed(5, np.random.default_rng(0), "none")).max())
    0.0
    """
    if colour not in NOISES:
        raise ValueError(f"unknown noise colour {colour!r}; choose from {', '.join(NOISES)}")
    if colour == "none" or samples == 0:
        return np.zeros(samples)
    white = rng.standard_normal(samples)
    if colour == "pink":
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        white = np.fft.irfft(spectrum / np.sqrt(freqs), n=samples)
        white -= white.mean()
    return white / max(np.sqrt((white**2).mean()), 1e-12)


def read_rows(manifest):
    """The rows of a manifest as a list (``id`` added), in file order.

    Reads with :func:`speechbrain_subtitle.data.read_manifest` (``wav``
    becomes an absolute path).
    """
    from speechbrain_subtitle.data import read_manifest

    rows = read_manifest(manifest, check_audio=False)
    return [{"id": key, **row} for key, row in rows.items()]


def choose_clips(rows, count, seed=0, min_duration=1.0, max_duration=15.0):
    """``count`` rows drawn without replacement, kept in manifest order.

    Arguments
    ---------
    rows : sequence of dict
        Manifest rows (``duration`` in seconds).
    count : int
        How many (0 or more than there are: all that qualify).
    seed : int
        Seed of the draw.
    min_duration, max_duration : float
        Only rows of this length (seconds) are drawn.

    Returns
    -------
    list of dict

    Example
    -------
    >>> rows = [{"id": str(k), "duration": 1.0 + k} for k in range(10)]
    >>> [r["id"] for r in choose_clips(rows, 3, seed=1)]
    ['2', '3', '4']
    >>> len(choose_clips(rows, 0, max_duration=5.0))
    5
    """
    usable = [r for r in rows if min_duration <= float(r["duration"]) <= max_duration]
    if count <= 0 or count >= len(usable):
        return list(usable)
    rng = np.random.default_rng([seed, 1])
    picked = sorted(rng.choice(len(usable), size=count, replace=False).tolist())
    return [usable[k] for k in picked]


def _load(path, rate):
    """A clip as float32 mono at ``rate`` (read and resampled by the package's reader)."""
    from speechbrain_subtitle.segmentation import AudioStream

    stream = AudioStream(str(path), rate)
    return stream.read(0.0, stream.duration).numpy().astype(np.float32)


def build_programme(
    rows,
    seed=0,
    gap=GAP,
    snr_db=SNR_DB,
    noise="pink",
    threshold_db=TRIM_THRESHOLD_DB,
    rate=RATE,
    audio=None,
):
    """Puts the clips of ``rows`` one after the other with random silences.

    Arguments
    ---------
    rows : sequence of dict
        Clips in the order they are played: ``id``, ``wav`` (a file),
        ``subtitle`` (the text of the reference cue) and optionally
        ``verbatim``.
    seed : int
        Seed of the silences and the noise.
    gap : (float, float)
        Silences are drawn uniformly from this range (seconds): one before
        each clip and one after the last.
    snr_db : float
        The noise bed is this many dB below the mean power of the trimmed
        speech.
    noise : str
        ``"pink"``, ``"white"`` or ``"none"``.
    threshold_db : float
        The trimming rule (:func:`trim_silence`).
    rate : int
        Sample rate of the programme.
    audio : sequence of numpy.ndarray, optional
        The clips' samples at ``rate`` (default: read from ``wav``).

    Returns
    -------
    Programme

    Raises
    ------
    ValueError
        For no rows, a bad gap range, or a clip without sound.

    Example
    -------
    >>> tone = np.sin(np.arange(16000) / 5.0).astype("float32")
    >>> rows = [{"id": "a", "wav": "", "subtitle": "Een."},
    ...         {"id": "b", "wav": "", "subtitle": "Twee."}]
    >>> clips = [np.concatenate([np.zeros(800), 0.5 * tone]), 0.5 * tone[:8000]]
    >>> p = build_programme(rows, seed=0, audio=clips)
    >>> [(c.id, round(c.end - c.start, 2), c.source_start) for c in p.clips]
    [('a', 1.0, 0.05), ('b', 0.5, 0.0)]
    >>> all(0.3 <= g <= 3.0 for g in p.gaps), len(p.gaps)
    (True, 3)
    >>> bool(np.array_equal(p.audio, build_programme(rows, seed=0, audio=clips).audio))
    True
    """
    rows = list(rows)
    if not rows:
        raise ValueError("a programme needs at least one clip")
    low, high = float(gap[0]), float(gap[1])
    if not 0 <= low <= high:
        raise ValueError(f"gap range must be 0 <= low <= high, got {gap!r}")
    if noise not in NOISES:
        raise ValueError(f"unknown noise colour {noise!r}; choose from {', '.join(NOISES)}")
    rng_gaps = np.random.default_rng([seed, 2])
    rng_noise = np.random.default_rng([seed, 3])
    gaps = [int(round(rng_gaps.uniform(low, high) * rate)) for _ in range(len(rows) + 1)]

    pieces, placed, position = [], [], gaps[0]
    for k, row in enumerate(rows):
        wav = np.asarray(audio[k] if audio is not None else _load(row["wav"], rate), np.float32)
        first, last = trim_silence(wav, rate, threshold_db)
        if last <= first:
            raise ValueError(f"clip {row['id']}: no sound to place")
        speech = wav[first:last]
        pieces.append((position, speech))
        placed.append(
            PlacedClip(
                id=str(row["id"]),
                start=position / rate,
                end=(position + len(speech)) / rate,
                text=str(row.get("subtitle", "")),
                verbatim=str(row.get("verbatim", "")),
                source_start=first / rate,
                source_end=last / rate,
                source_duration=len(wav) / rate,
            )
        )
        position += len(speech) + gaps[k + 1]

    out = np.zeros(position, dtype=np.float64)
    for begin, speech in pieces:
        out[begin : begin + len(speech)] += speech
    power = np.mean(np.concatenate([s for _, s in pieces]).astype(np.float64) ** 2)
    noise_rms = 0.0 if noise == "none" else float(np.sqrt(power) * 10 ** (-snr_db / 20))
    out += noise_rms * noise_bed(len(out), rng_noise, noise)
    peak = float(np.abs(out).max())
    if peak > 0.99:  # never clip: scale the whole programme down
        out *= 0.99 / peak
        noise_rms *= 0.99 / peak
    return Programme(
        audio=out.astype(np.float32),
        rate=rate,
        clips=placed,
        gaps=[g / rate for g in gaps],
        seed=seed,
        noise={
            "colour": noise,
            "snr_db": None if noise == "none" else snr_db,
            "rms": round(noise_rms, 8),
        },
        trim_threshold_db=threshold_db,
    )


def reference_srt(clips, max_chars=42, max_lines=2):
    """The reference subtitle: one cue per clip, from its start to its end.

    The text is the clip's script line broken into lines by
    :func:`speechbrain_subtitle.subtitles.break_lines` (a long line may get
    more than ``max_lines`` lines; ``max_chars=0``: one line per cue).

    Example
    -------
    >>> print(reference_srt([PlacedClip("a", 1.5, 2.25, "Wat is dit?")]), end="")
    1
    00:00:01,500 --> 00:00:02,250
    Wat is dit?
    <BLANKLINE>
    """
    import srt

    from speechbrain_subtitle.subtitles import break_lines

    subtitles = []
    for number, clip in enumerate(clips, start=1):
        words = clip.text.split()
        lines = break_lines(words, max_chars, max_lines) if max_chars else [" ".join(words)]
        subtitles.append(
            srt.Subtitle(
                index=number,
                start=timedelta(milliseconds=round(clip.start * 1000)),
                end=timedelta(milliseconds=round(clip.end * 1000)),
                content="\n".join(lines),
            )
        )
    return srt.compose(subtitles, reindex=False)


def write_programme(programme, out_dir, stem="programme"):
    """Writes ``<stem>.wav``, ``<stem>.srt`` and ``<stem>.json`` into ``out_dir``.

    Returns
    -------
    dict
        ``{"wav": path, "srt": path, "json": path}`` (``pathlib.Path``).
    """
    import soundfile as sf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("wav", "srt", "json")}
    sf.write(paths["wav"], programme.audio, programme.rate, subtype="PCM_16")
    paths["srt"].write_text(reference_srt(programme.clips), encoding="utf-8")
    doc = json.dumps(programme.boundaries(), ensure_ascii=False, indent=2) + "\n"
    paths["json"].write_text(doc, encoding="utf-8")
    return paths


def read_boundaries(path):
    """The clips of a programme's JSON file as :class:`PlacedClip` objects."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return [PlacedClip(**clip) for clip in doc["clips"]]


def make_programmes(manifest, out_dir, clips=8, per_programme=0, seed=0, **options):
    """Draws clips from a manifest and writes one or more programmes.

    Arguments
    ---------
    manifest : str or os.PathLike
        The manifest CSV (e.g. ``test.csv`` of ``prepare_fillets.py``).
    out_dir : str or os.PathLike
        Where ``programme_<k>.{wav,srt,json}`` go.
    clips : int
        Clips drawn in all (0: every clip of 1-15 s).
    per_programme : int
        Clips per programme (0: all in one). Programme ``k`` is built with
        seed ``seed + k``.
    seed : int
        Seed of the draw and of the programmes.
    **options
        Passed to :func:`build_programme` (``gap``, ``snr_db``, ``noise``,
        ``threshold_db``).

    Returns
    -------
    list of (Programme, dict)
        Each programme with the paths :func:`write_programme` wrote.
    """
    chosen = choose_clips(read_rows(manifest), clips, seed)
    if not chosen:
        raise ValueError(f"{manifest}: no clip of 1-15 s to build a programme from")
    size = per_programme if per_programme > 0 else len(chosen)
    made = []
    for k, first in enumerate(range(0, len(chosen), size)):
        programme = build_programme(chosen[first : first + size], seed=seed + k, **options)
        made.append((programme, write_programme(programme, out_dir, f"programme_{k}")))
    return made


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=(
            "Build programmes of real speech with known speech boundaries: clips of a manifest "
            "(trimmed of their own silence by an energy rule) joined by random 0.3-3 s "
            "silences over a low noise bed. Writes programme_<k>.wav (16 kHz mono), .srt (one "
            "reference cue per clip) and .json (clip boundaries). The same seed gives the "
            "same files. Fish Fillets NG audio and text are GPL-2: never commit the output."
        )
    )
    parser.add_argument("--manifest", required=True, type=Path, help="manifest CSV (test.csv)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--clips", type=int, default=8, help="clips in all (0: every clip of 1-15 s; default 8)"
    )
    parser.add_argument(
        "--per-programme", type=int, default=0, help="clips per programme (0: one programme)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--min-gap", type=float, default=GAP[0], help="shortest silence, s")
    parser.add_argument("--max-gap", type=float, default=GAP[1], help="longest silence, s")
    parser.add_argument(
        "--noise", choices=NOISES, default="pink", help="noise bed colour (default pink)"
    )
    parser.add_argument(
        "--snr",
        type=float,
        default=SNR_DB,
        help=f"speech-to-noise ratio in dB (default {SNR_DB:g})",
    )
    parser.add_argument(
        "--trim-db",
        type=float,
        default=TRIM_THRESHOLD_DB,
        help="trimming threshold below the loudest 10 ms frame, dB (default -30)",
    )
    args = parser.parse_args(argv)
    made = make_programmes(
        args.manifest, args.out, args.clips, args.per_programme, args.seed,
        gap=(args.min_gap, args.max_gap), snr_db=args.snr, noise=args.noise,
        threshold_db=args.trim_db,
    )  # fmt: skip
    for programme, paths in made:
        print(f"{paths['wav']}: {len(programme.clips)} clips, {programme.duration:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
