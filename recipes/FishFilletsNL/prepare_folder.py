#!/usr/bin/env python3
"""Manifests from a folder of your own clips, for fine-tuning an exported model.

The folder holds audio files (any format and rate soundfile reads: WAV, FLAC,
OGG, ...) each with a text file of the same name (``clip01.wav`` +
``clip01.txt``, UTF-8) holding what a subtitle of the clip would say: written
text, cased and punctuated. Subfolders are searched too. The script writes,
into ``--out``:

* ``wavs/...``: 16 kHz mono copies of clips that are not already 16 kHz mono
  WAV/FLAC (the originals are never changed);
* ``train.csv`` and ``dev.csv`` in this package's manifest format; a clip goes
  to dev when the first hex digit of the SHA-256 of its relative path is below
  ``--dev-digits`` (default 2 of 16: about 12 %), so adding clips never moves
  the old ones between splits;
* ``report.json``: rows per split and every skipped clip with its reason
  (``no_text``, ``empty_text``, ``unreadable``, ``too_long``).

``--texts`` says what the text is: ``subtitle`` (the default) fills both
columns, the subtitle as written and the verbatim column with its normalised
form (lower case, no punctuation, numbers as words), so both branches and the
CTC head are trained; ``subtitle-only`` fills the subtitle column only (the
verbatim branch is then not trained on these clips); ``verbatim`` fills only
the verbatim column, normalised.

Usage::

    python recipes/FishFilletsNL/prepare_folder.py --clips my_clips --out data/mine
    python recipes/FishFilletsNL/train.py recipes/FishFilletsNL/hparams/finetune_demo.yaml \\
        --data_folder=data/mine --pretrained_path=models/synthetic-nl-c8-demo \\
        --output_folder=work/mine "--test_csvs=[]"

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import csv
import hashlib
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "CGN_subtitles"))
sys.path.insert(0, str(HERE))

from prepare_common import (  # noqa: E402 - after the path set-up above
    PreparationError,
    setup_logging,
    write_report,
)
from prepare_fillets import convert_clip, verbatim_text  # noqa: E402

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")
TEXT_MODES = ("subtitle", "subtitle-only", "verbatim")
SKIP_REASONS = ("no_text", "empty_text", "unreadable", "too_long")
COLUMNS = ("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle", "source")


def clip_split(relative, dev_digits=2):
    """``"dev"`` when the first hex digit of SHA-256(relative path) is below ``dev_digits``.

    Example
    -------
    >>> clip_split("a/clip01.wav", dev_digits=0), clip_split("a/clip01.wav", dev_digits=16)
    ('train', 'dev')
    """
    digit = int(hashlib.sha256(relative.encode("utf-8")).hexdigest()[0], 16)
    return "dev" if digit < dev_digits else "train"


def _row_id(relative):
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", str(Path(relative).with_suffix("")))


def prepare_folder(clips, out, texts="subtitle", dev_digits=2, max_duration=30.0):
    """Writes ``train.csv``, ``dev.csv`` and ``report.json`` for a folder of clips.

    Arguments
    ---------
    clips : str or os.PathLike
        The folder of audio files with same-named ``.txt`` files.
    out : str or os.PathLike
        Output folder (created; must not be inside ``clips``).
    texts : str
        One of :data:`TEXT_MODES` (see the module docstring).
    dev_digits : int
        0-16: how many of the 16 hash digits send a clip to dev.
    max_duration : float
        Longer clips are skipped as ``too_long``.

    Returns
    -------
    dict
        The report.
    """
    clips, out = Path(clips).resolve(), Path(out).resolve()
    if texts not in TEXT_MODES:
        raise PreparationError(f"--texts must be one of {', '.join(TEXT_MODES)}, got {texts!r}")
    if not 0 <= dev_digits <= 16:
        raise PreparationError(f"--dev-digits must be between 0 and 16, got {dev_digits}")
    if not clips.is_dir():
        raise PreparationError(f"{clips}: no such folder")
    if out == clips or clips in out.parents:
        raise PreparationError(f"{out}: the output folder must not be inside the clips folder")
    audio = sorted(
        p for p in clips.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )
    if not audio:
        raise PreparationError(f"{clips}: no audio file ({', '.join(AUDIO_SUFFIXES)})")
    rows = {"train": [], "dev": []}
    skipped, skipped_clips = Counter(), defaultdict(list)
    seen = {}
    for path in audio:
        relative = str(path.relative_to(clips))
        text_file = path.with_suffix(".txt")
        reason = None
        if not text_file.is_file():
            reason = "no_text"
        else:
            try:
                line = " ".join(text_file.read_text(encoding="utf-8-sig").split())
            except (OSError, UnicodeDecodeError):
                reason = "unreadable"
            else:
                reason = None if line and verbatim_text(line) else "empty_text"
        if reason is None:
            row_id = _row_id(relative)
            if row_id in seen:
                raise PreparationError(
                    f"{relative} and {seen[row_id]} give the same row ID {row_id}; rename one"
                )
            seen[row_id] = relative
            folder = out / "wavs" / Path(relative).parent
            wav, duration, reason = convert_clip(path, folder, path.stem, max_duration)
        if reason is not None:
            skipped[reason] += 1
            skipped_clips[reason].append(relative)
            continue
        row = {
            "ID": row_id,
            "duration": f"{duration:.3f}",
            "wav": wav,
            "start": "",
            "stop": "",
            "verbatim": verbatim_text(line) if texts != "subtitle-only" else "",
            "subtitle": line if texts != "verbatim" else "",
            "source": relative,
        }
        rows[clip_split(relative, dev_digits)].append(row)
    if not rows["train"]:
        raise PreparationError(f"{clips}: no usable clip for training (skipped: {dict(skipped)})")
    out.mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(items)
    report = {
        "clips": str(clips),
        "texts": texts,
        "splits": {
            s: {
                "clips": len(items),
                "minutes": round(sum(float(r["duration"]) for r in items) / 60, 2),
            }
            for s, items in rows.items()
        },
        "skipped": {k: int(skipped[k]) for k in SKIP_REASONS},
        "skipped_clips": dict(sorted(skipped_clips.items())),
    }
    write_report(out / "report.json", report)
    return report


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description="Write train/dev manifests from a folder of clips with same-named .txt "
        "files (subtitle-style text), for fine-tuning an exported model."
    )
    parser.add_argument("--clips", required=True, help="folder of audio files + .txt files")
    parser.add_argument("--out", required=True, help="output folder (manifests, converted audio)")
    parser.add_argument(
        "--texts",
        choices=TEXT_MODES,
        default="subtitle",
        help="subtitle: both columns (verbatim = normalised text); subtitle-only; verbatim",
    )
    parser.add_argument(
        "--dev-digits",
        type=int,
        default=2,
        help="clips whose SHA-256 hex digit is below this go to dev (0-16, default 2)",
    )
    parser.add_argument("--max-duration", type=float, default=30.0, help="seconds (default 30)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        report = prepare_folder(
            args.clips, args.out, args.texts, args.dev_digits, args.max_duration
        )
    except PreparationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for split, info in report["splits"].items():
        print(f"{split}: {info['clips']} clips, {info['minutes']} min")
    print("skipped:", ", ".join(f"{k} {v}" for k, v in report["skipped"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
