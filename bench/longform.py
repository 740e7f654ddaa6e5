#!/usr/bin/env python3
"""Real-time factor and peak memory of subtitling long recordings.

Builds recordings of several lengths (default 1 and 60 minutes) by repeating
speech fixtures of the repository with pauses and stretches of silence in
between: the synthetic Dutch utterances (``tests/fixtures/wavs``), the
LibriVox and pyannote English clips (``tests/fixtures/real_speech``) and the
bundled demo model's example. Each length is subtitled in a fresh subprocess
(a process's peak RSS never goes down) with ``longform.transcribe_long``, the
same path as ``speechbrain-subtitle transcribe``, and the script prints per
length:

- wall time of the whole job (VAD, decoding, alignment, cues) and its
  real-time factor (RTF = processing time / audio duration), with the VAD
  pass timed on its own;
- peak resident memory (``ru_maxrss``), the memory right after loading the
  model, and their ratio to the shortest recording's: memory bounded by the
  batch shows as a ratio near 1.0 however long the file is.

Examples::

    python bench/longform.py                         # 1 and 60 minutes, greedy search
    python bench/longform.py --minutes 1 10 --beam-size 4 --batch-size 16
    python bench/longform.py --model path/to/exported --device cuda:0 --json /tmp/long.json
    python bench/longform.py --minutes 10 --beam-size 10 --compare-greedy

With ``--compare-greedy`` each recording is also subtitled with greedy search
(first, in its own subprocess) and the table gets a ``x greedy`` column: the
beam search's wall time over the greedy one's, measured side by side in one
run (issue #12's long-form target: at most 2x).
"""

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf

REPO = pathlib.Path(__file__).resolve().parents[1]
RATE = 16000


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def speech_pieces():
    """Mono 16 kHz speech clips from the repository's fixtures."""
    import torch
    import torchaudio

    folders = [REPO / "tests" / "fixtures" / "wavs", REPO / "tests" / "fixtures" / "real_speech"]
    files = sorted(p for f in folders for p in f.rglob("*.wav"))
    files.append(REPO / "models" / "synthetic-nl-c8-demo" / "example.wav")
    pieces = []
    for path in files:
        if not path.is_file():
            continue
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        wav = torch.from_numpy(data.mean(axis=1))
        if rate != RATE:
            wav = torchaudio.functional.resample(wav, rate, RATE)
        pieces.append(wav.numpy())
    if not pieces:
        raise SystemExit("no speech fixtures found")
    return pieces


def build_recording(path, minutes, seed=0):
    """Writes about ``minutes`` of speech and silence, block by block; returns seconds."""
    pieces = speech_pieces()
    rng = np.random.default_rng(seed)
    target = int(minutes * 60 * RATE)
    written = 0
    with sf.SoundFile(path, "w", samplerate=RATE, channels=1, subtype="PCM_16") as out:
        while written < target:
            piece = pieces[rng.integers(len(pieces))]
            pause = np.zeros(int(rng.uniform(0.2, 1.5) * RATE), dtype="float32")
            if rng.random() < 0.05:  # now and then a long stretch without speech
                pause = np.zeros(int(rng.uniform(5, 20) * RATE), dtype="float32")
            block = np.concatenate([piece, pause])[: target - written]
            out.write(block)
            written += len(block)
    return written / RATE


def run_one(args):
    """Child process: subtitle one file and print one JSON line."""
    import torch

    from speechbrain_subtitle import longform, segmentation
    from speechbrain_subtitle.inference import SubtitleASR

    torch.set_num_threads(args.threads)
    start_rss = _rss_mb()
    asr = SubtitleASR.from_hparams(
        source=args.model, savedir=args.model, run_opts={"device": args.device}
    )
    loaded_rss = _rss_mb()
    duration = sf.info(args.only).duration
    t0 = time.perf_counter()
    stream = segmentation.AudioStream(args.only)
    segments, method = segmentation.segment_audio(stream)
    vad_seconds = time.perf_counter() - t0
    options = {"greedy": True} if args.beam_size is None else {"beam_size": args.beam_size}
    t0 = time.perf_counter()
    result = longform.transcribe_long(
        asr, args.only, batch_size=args.batch_size, progress=False, **options
    )
    seconds = time.perf_counter() - t0
    record = {
        "audio_minutes": round(duration / 60, 2),
        "segments": len(segments),
        "segmentation": method,
        "cues": len(result.cues),
        "wall_s": round(seconds, 1),
        "rtf": round(seconds / duration, 4),
        "vad_s": round(vad_seconds, 1),
        "vad_rtf": round(vad_seconds / duration, 4),
        "rss_after_import_mb": round(start_rss),
        "rss_model_loaded_mb": round(loaded_rss),
        "peak_rss_mb": round(_rss_mb()),
    }
    print(json.dumps(record))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 60])
    parser.add_argument(
        "--model", default=str(REPO / "models" / "synthetic-nl-c8-demo"), help="exported model"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--beam-size", type=int, help="beam search width (default: greedy)")
    parser.add_argument(
        "--compare-greedy",
        action="store_true",
        help="with --beam-size: also time greedy search on each recording and print the "
        "beam / greedy wall-time ratio",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--json", help="also save the results here")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: the file to subtitle
    args = parser.parse_args(argv)
    if args.compare_greedy and args.beam_size is None:
        parser.error("--compare-greedy needs --beam-size")
    if args.only:
        return run_one(args)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = pathlib.Path(tmp) / f"recording_{minutes:g}min.wav"
            build_recording(path, minutes)
            cmd = [sys.executable, __file__, "--only", str(path), "--model", args.model,
                   "--device", args.device, "--batch-size", str(args.batch_size),
                   "--threads", str(args.threads)]  # fmt: skip
            greedy = None
            if args.compare_greedy:
                out = subprocess.run(cmd, check=True, capture_output=True, text=True)
                greedy = json.loads(out.stdout.strip().splitlines()[-1])
            if args.beam_size is not None:
                cmd += ["--beam-size", str(args.beam_size)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            if greedy is not None:
                row["greedy_wall_s"] = greedy["wall_s"]
                row["x_greedy"] = round(row["wall_s"] / greedy["wall_s"], 2)
            rows.append(row)
            path.unlink()
    base = rows[0]
    search = "greedy" if args.beam_size is None else f"beam {args.beam_size}"
    print(f"model {args.model}, {args.device}, {search}, batch {args.batch_size}, "
          f"{args.threads} threads")  # fmt: skip
    header = ("minutes", "segments", "cues", "wall s", "RTF", "VAD RTF", "model MB",
              "peak MB", "peak x")  # fmt: skip
    keys = ("audio_minutes", "segments", "cues", "wall_s", "rtf", "vad_rtf",
            "rss_model_loaded_mb", "peak_rss_mb", "peak_ratio")  # fmt: skip
    if args.compare_greedy:
        header += ("greedy s", "x greedy")
        keys += ("greedy_wall_s", "x_greedy")
    print(" | ".join(f"{h:>9}" for h in header))
    for r in rows:
        r["peak_ratio"] = round(r["peak_rss_mb"] / base["peak_rss_mb"], 3)
        values = [r[k] for k in keys]
        print(" | ".join(f"{v:>9}" for v in values))
    line = json.dumps({"bench": "longform", "search": search, "rows": rows})
    print(line)
    if args.json:
        pathlib.Path(args.json).write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
