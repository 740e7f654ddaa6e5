"""Test-set evaluation of an exported or published model.

:func:`evaluate_manifest` decodes every row of a manifest CSV (the recipes'
``ID,duration,wav,start,stop,verbatim,subtitle`` schema) with a
:class:`~speechbrain_subtitle.inference.SubtitleASR` and scores the outputs with
:func:`speechbrain_subtitle.metrics.score_pairs`: verbatim WER after Dutch
normalization on the rows with a verbatim reference, subtitle WER and BLEU on
the rows with a subtitle reference. :func:`write_test_results` writes the
same ``metrics.json`` and ``hyps.csv`` that a training run writes for its test
sets, so model cards (:func:`speechbrain_subtitle.hub.refresh_model_card`) read
either. The command line is ``speechbrain-subtitle evaluate``.
"""

import csv
import json
import logging
import os

import torch
from tqdm.auto import tqdm

from speechbrain_subtitle import metrics
from speechbrain_subtitle.data import read_audio, read_manifest
from speechbrain_subtitle.decoding import TASKS
from speechbrain_subtitle.inference import pad_waveforms

logger = logging.getLogger(__name__)


def test_summary(scores, search):
    """The ``metrics.json`` content: headline numbers, the search used, all scores.

    Arguments
    ---------
    scores : dict
        From :func:`speechbrain_subtitle.metrics.score_pairs`.
    search : dict
        The decoding options used (beam size, CTC weight, ...).

    Returns
    -------
    dict
        ``utterances``, ``WER_verbatim``, ``WER_subtitle`` and ``BLEU_subtitle``
        (where scored), ``search`` and ``scores``.

    >>> rows = [{"id": "a", "verbatim_ref": "de kat", "verbatim_hyp": "de hond"}]
    >>> s = test_summary(metrics.score_pairs(rows), {"beam_size": 1})
    >>> s["WER_verbatim"], "WER_subtitle" in s, s["utterances"]
    (50.0, False, 1)
    """
    summary = {"utterances": scores.get("utterances"), "search": dict(search)}
    for key, name in (("verbatim_wer", "WER_verbatim"), ("subtitle_wer", "WER_subtitle")):
        if scores.get(key) and scores[key].get("wer") is not None:
            summary[name] = scores[key]["wer"]
    if scores.get("subtitle_bleu") and scores["subtitle_bleu"].get("bleu") is not None:
        summary["BLEU_subtitle"] = scores["subtitle_bleu"]["bleu"]
    summary["scores"] = scores
    return summary


def write_test_results(folder, summary, rows):
    """Writes ``metrics.json`` (``summary``) and ``hyps.csv`` (one line per row) into ``folder``.

    ``rows`` are dicts with ``id``, ``verbatim_hyp``, ``subtitle_hyp``,
    ``verbatim_ref`` and ``subtitle_ref`` (references may be ``None``).
    """
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(folder, "hyps.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "verbatim", "subtitle", "verbatim_ref", "subtitle_ref"])
        for row in rows:
            writer.writerow(
                [row["id"], row.get("verbatim_hyp") or "", row.get("subtitle_hyp") or "",
                 row.get("verbatim_ref") or "", row.get("subtitle_ref") or ""]
            )  # fmt: skip


def evaluate_manifest(asr, manifest, batch_size=8, progress=True, **options):
    """Decodes every row of ``manifest`` with ``asr`` and scores both texts.

    Rows are decoded longest first in batches of ``batch_size`` (little
    padding); only the tasks that some row has a reference for are decoded.
    Audio must have the model's sample rate and one channel, as in training
    manifests (:func:`speechbrain_subtitle.data.read_manifest` checks it).

    Arguments
    ---------
    asr : speechbrain_subtitle.inference.SubtitleASR
        The model.
    manifest : str or os.PathLike
        Manifest CSV with at least one reference text per row.
    batch_size : int
        Rows decoded together.
    progress : bool
        Show a progress bar (seconds of audio decoded).
    **options
        Decoding options (``beam_size``, ``ctc_weight``, ``greedy``, ...;
        default: the model's own, from its ``hyperparams.yaml``).

    Returns
    -------
    (list of dict, dict)
        Per-row ``id``/``*_hyp``/``*_ref`` dicts in manifest order, and the
        :func:`test_summary` of their scores.

    Raises
    ------
    ValueError
        If ``batch_size`` is not positive or the manifest has no rows.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    table = read_manifest(manifest, check_audio=True, sample_rate=asr.sample_rate)
    if not table:
        raise ValueError(f"{manifest} has no rows with a reference text")
    ids = list(table)
    tasks = tuple(t for t in TASKS if any(table[i][t] for i in ids))
    order = sorted(ids, key=lambda i: -table[i]["duration"])
    search = asr.decoding_options(**options)
    found = {}
    bar = tqdm(
        total=round(sum(r["duration"] for r in table.values()), 1),
        unit="s",
        desc=f"decoding {os.path.basename(str(manifest))}",
        disable=not progress,
    )
    with bar, torch.no_grad():
        for k in range(0, len(order), batch_size):
            chunk = order[k : k + batch_size]
            wavs = [
                read_audio(table[i]["wav"], table[i]["start"], table[i]["stop"], asr.sample_rate)
                for i in chunk
            ]
            padded, lens = pad_waveforms(wavs)
            results = asr.transcribe_batch(padded, lens, tasks=tasks, **options)
            found.update(zip(chunk, results))
            bar.update(round(sum(table[i]["duration"] for i in chunk), 1))
    rows = [
        {
            "id": i,
            "verbatim_ref": table[i]["verbatim"] or None,
            "verbatim_hyp": found[i].verbatim if "verbatim" in tasks else None,
            "subtitle_ref": table[i]["subtitle"] or None,
            "subtitle_hyp": found[i].subtitle if "subtitle" in tasks else None,
        }
        for i in ids
    ]
    return rows, test_summary(metrics.score_pairs(rows), vars(search))
