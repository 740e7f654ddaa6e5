#!/usr/bin/env python3
"""Calibrates a model's ``max_ctc_entropy``: its CTC entropy on speech and on babble.

``transcribe_long`` leaves a segment out of the cues when the mean entropy of
the verbatim CTC posteriors over it is above the model's ``max_ctc_entropy``
(hyperparams.yaml): the model is not sure what it hears (babble, a language it
does not know). The limit belongs to the model, so it is measured per model:

* **speech**: stretches of 8-15 s (the length of a long-form segment) made of
  consecutive rows of a test manifest joined with 0.2-0.6 s pauses;
* **babble**: the same number of 12 s mixtures of 8 overlapping test rows.

It prints the median and maximum of both and a limit halfway between the
speech maximum and the babble minimum (``--json`` writes the figures). When the
two overlap there is no safe limit, and it says so.

Synthetic espeak-ng speech: the figures hold for this corpus only.

Example::

    python recipes/SyntheticNL/ctc_entropy.py --model models/synthetic-nl-c8-demo \\
        --manifest data/SyntheticNL_medium/test.csv --stretches 40
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

RATE = 16000


def speech_stretches(clips, count, seed=0, low=8.0, high=15.0):
    """``count`` stretches of ``low``-``high`` s of consecutive clips with short pauses."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        target = rng.uniform(low, high) * RATE
        k = int(rng.integers(len(clips)))
        parts, n = [], 0
        while n < target:
            clip = clips[k % len(clips)]
            parts += [clip, np.zeros(int(rng.uniform(0.2, 0.6) * RATE), "float32")]
            n += len(clip) + len(parts[-1])
            k += 1
        out.append(np.concatenate(parts)[: int(high * RATE)])
    return out


def babble(clips, count, seed=0, seconds=12.0, voices=8):
    """``count`` mixtures of ``voices`` overlapping clip sequences, ``seconds`` long."""
    rng = np.random.default_rng(seed + 1)
    n = int(seconds * RATE)
    out = []
    for _ in range(count):
        mix = np.zeros(n)
        for _ in range(voices):
            pos = int(rng.integers(0, RATE))
            while pos < n:
                clip = clips[int(rng.integers(len(clips)))]
                m = min(len(clip), n - pos)
                mix[pos : pos + m] += clip[:m]
                pos += m + int(rng.integers(0, RATE // 4))
        out.append((0.5 * mix / np.abs(mix).max()).astype("float32"))
    return out


def entropies(asr, wavs):
    """Mean verbatim CTC entropy (nats) of each waveform."""
    found = []
    for wav in wavs:
        result = asr.transcribe_batch(torch.from_numpy(wav)[None], torch.ones(1),
                                      word_times=True, greedy=True)[0]  # fmt: skip
        found.append(result.ctc_entropy)
    return found


def summary(values):
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Measure a model's mean verbatim CTC entropy on 8-15 s stretches of test speech "
            "and on babble of 8 overlapping test utterances, and propose max_ctc_entropy "
            "(halfway between the speech maximum and the babble minimum)."
        )
    )
    parser.add_argument("--model", required=True, help="exported model folder")
    parser.add_argument("--manifest", required=True, type=Path, help="test manifest CSV")
    parser.add_argument("--stretches", type=int, default=40, help="speech and babble count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    from speechbrain_subtitle.data import read_manifest
    from speechbrain_subtitle.inference import SubtitleASR, load_audio_file

    asr = SubtitleASR.from_hparams(source=args.model, savedir=args.model)
    rows = read_manifest(args.manifest)
    clips = [load_audio_file(row["wav"], RATE).numpy() for row in rows.values()]
    if not clips:
        parser.error(f"{args.manifest} has no rows")
    speech = entropies(asr, speech_stretches(clips, args.stretches, args.seed))
    noise = entropies(asr, babble(clips, args.stretches, args.seed))
    result = {"model": str(args.model), "manifest": str(args.manifest),
              "speech": summary(speech), "babble": summary(noise),
              "current": getattr(asr.hparams, "max_ctc_entropy", None)}  # fmt: skip
    if max(speech) < min(noise):
        result["proposed"] = round((max(speech) + min(noise)) / 2, 2)
    else:
        result["proposed"] = None
    print(f"speech 8-15 s: median {result['speech']['median']}, max {result['speech']['max']} "
          f"({len(speech)} stretches)")  # fmt: skip
    print(f"babble 12 s:   median {result['babble']['median']}, min {result['babble']['min']}, "
          f"max {result['babble']['max']}")  # fmt: skip
    if result["proposed"] is None:
        print("speech and babble overlap: no limit separates them")
    else:
        print(f"proposed max_ctc_entropy: {result['proposed']} (now: {result['current']})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
