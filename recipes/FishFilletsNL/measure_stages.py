#!/usr/bin/env python3
"""Every stage of long-form subtitling measured on real human Dutch speech.

Programmes of test clips with known speech boundaries (``programme.py``: clips
trimmed of their own silence, joined by random 0.3-3 s silences over a low
pink-noise bed) go through the package the way ``speechbrain-subtitle
transcribe`` runs it, and each stage is scored against what is known:

* **VAD / segmentation**: speech recall and precision at 10 ms frame level of
  the speech regions the long-form path finds
  (:func:`speechbrain_subtitle.segmentation.speech_regions` on
  :func:`~speechbrain_subtitle.segmentation.speech_probabilities`), and of the
  decoding segments planned from them
  (:func:`~speechbrain_subtitle.segmentation.plan_segments`), against the clip
  boundaries;
* **long-form subtitling**
  (:func:`speechbrain_subtitle.longform.transcribe_long`, SRT written by
  :func:`~speechbrain_subtitle.longform.write_outputs`): the rules the
  ``check`` command counts as broken
  (:func:`speechbrain_subtitle.subtitle_quality.quality_report` on the SRT
  read back), SubER against the reference SRT
  (:func:`speechbrain_subtitle.metrics.suber`), and the time of the first and
  last recognised verbatim word of each clip against its boundaries (words go
  to the clip they overlap most, else to the nearest one; words of every
  decoded segment count, low-confidence ones too);
* **low-confidence limit**: the mean verbatim CTC entropy of every decoded
  segment, how many segments the model's ``max_ctc_entropy`` leaves out, a
  recommended limit (the speech maximum plus a margin) and, for comparison,
  the entropy of babble of the same clips
  (``recipes/SyntheticNL/ctc_entropy.py``'s ``babble``).

Figures hold for this speech only: real human Dutch speech (Fish Fillets NG
game dialogue, two main actors, studio quality), read from a script; the
references are the script lines, not verbatim transcripts.

Example::

    python recipes/FishFilletsNL/measure_stages.py --data data/fillets_nl \\
        --model models/synthetic-nl-c8-demo --clips 24 --seed 0 --json stages.json

The programmes are GPL-2 material (audio and script text): ``--work`` keeps
them outside the repository; never commit them.

Authors
 * speechbrain_subtitle contributors
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import programme as programmes  # noqa: E402 - after the path set-up above

LABEL = (
    "real human Dutch speech (Fish Fillets NG game dialogue, two main actors, studio quality)"
)
#: Frame of the VAD scores, seconds.
FRAME = 0.01
#: Rules of ``check`` a cue may break when nothing better is possible (a one-word
#: sentence; a sentence too long for one cue): ``one_word_mergeable`` and
#: ``split_sentence_fits`` count the avoidable ones.
UNAVOIDABLE_RULES = ("one_word", "mid_sentence")
#: Default margin of the recommended ``max_ctc_entropy`` above the speech maximum.
MARGIN = 0.05


# ---------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------


def frame_mask(intervals, duration, frame=FRAME):
    """Which frames of ``frame`` seconds have their centre inside an interval.

    Example
    -------
    >>> frame_mask([(0.02, 0.05)], 0.06).astype(int).tolist()
    [0, 0, 1, 1, 1, 0]
    """
    count = int(math.ceil(round(duration / frame, 6)))
    centres = (np.arange(count) + 0.5) * frame
    mask = np.zeros(count, dtype=bool)
    for start, end in intervals:
        mask |= (centres >= start) & (centres < end)
    return mask


def frame_scores(reference, hypothesis, duration, frame=FRAME):
    """Frame counts of detected speech against known speech.

    Arguments
    ---------
    reference, hypothesis : sequence of (float, float)
        Speech intervals in seconds: the truth and what was found.
    duration : float
        Length of the audio, seconds.
    frame : float
        Frame length, seconds.

    Returns
    -------
    dict
        ``speech`` (reference frames), ``detected`` (hypothesis frames),
        ``hit`` (both), and ``recall``, ``precision``, ``f1`` (None when
        undefined).

    Example
    -------
    >>> s = frame_scores([(1.0, 2.0)], [(1.5, 2.5)], 3.0)
    >>> s["hit"], s["recall"], s["precision"]
    (50, 0.5, 0.5)
    """
    ref = frame_mask(reference, duration, frame)
    hyp = frame_mask(hypothesis, duration, frame)
    return _ratios({"speech": int(ref.sum()), "detected": int(hyp.sum()),
                    "hit": int((ref & hyp).sum())})  # fmt: skip


def _ratios(counts):
    """Adds recall, precision and F1 to frame counts (sums of several programmes too)."""
    recall = counts["hit"] / counts["speech"] if counts["speech"] else None
    precision = counts["hit"] / counts["detected"] if counts["detected"] else None
    f1 = None
    if recall is not None and precision is not None and recall + precision > 0:
        f1 = 2 * recall * precision / (recall + precision)
    rounded = {k: None if v is None else round(v, 4) for k, v in
               (("recall", recall), ("precision", precision), ("f1", f1))}  # fmt: skip
    return {**counts, **rounded}


def assign_words(words, clips):
    """The clip each word belongs to: the one it overlaps most, else the nearest.

    Arguments
    ---------
    words : sequence
        Objects with ``start`` and ``end`` (seconds).
    clips : sequence
        Objects with ``start`` and ``end``.

    Returns
    -------
    list of int
        A clip index per word.

    Example
    -------
    >>> from types import SimpleNamespace as T
    >>> clips = [T(start=1.0, end=2.0), T(start=4.0, end=5.0)]
    >>> assign_words([T(start=1.8, end=2.4), T(start=2.9, end=3.1), T(start=3.2, end=3.3)], clips)
    [0, 0, 1]
    """
    owners = []
    for word in words:
        overlaps = [min(word.end, c.end) - max(word.start, c.start) for c in clips]
        best = int(np.argmax(overlaps))
        if overlaps[best] <= 0:
            middle = (word.start + word.end) / 2
            distances = [max(c.start - middle, middle - c.end, 0.0) for c in clips]
            best = int(np.argmin(distances))
        owners.append(best)
    return owners


def boundary_errors(words, clips):
    """First and last recognised word of each clip against its boundaries.

    Returns
    -------
    list of dict
        Per clip: ``id``, ``words`` (count), ``start_error`` (first word's
        start minus the clip's start) and ``end_error`` (last word's end
        minus the clip's end), seconds; the errors are None for a clip
        without words.

    Example
    -------
    >>> from types import SimpleNamespace as T
    >>> clips = [T(id="a", start=1.0, end=2.0), T(id="b", start=4.0, end=5.0)]
    >>> [(e["words"], e["start_error"], e["end_error"])
    ...  for e in boundary_errors([T(start=1.1, end=1.5), T(start=1.6, end=1.9)], clips)]
    [(2, 0.1, -0.1), (0, None, None)]
    """
    owners = assign_words(words, clips)
    out = []
    for index, clip in enumerate(clips):
        mine = [w for w, owner in zip(words, owners) if owner == index]
        entry = {"id": clip.id, "words": len(mine), "start_error": None, "end_error": None}
        if mine:
            entry["start_error"] = round(min(w.start for w in mine) - clip.start, 6)
            entry["end_error"] = round(max(w.end for w in mine) - clip.end, 6)
        out.append(entry)
    return out


def distribution(values, digits=3):
    """``n``, ``min``, ``median``, ``p90``, ``max`` (and ``mean``) of some numbers.

    Example
    -------
    >>> distribution([1, 2, 3, 4])
    {'n': 4, 'min': 1.0, 'median': 2.5, 'p90': 3.7, 'max': 4.0, 'mean': 2.5}
    >>> distribution([])
    {'n': 0}
    """
    values = [float(v) for v in values]
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "p90": round(float(np.percentile(values, 90)), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
    }


def timing_summary(errors):
    """Absolute boundary errors in milliseconds: starts, ends and both together."""
    starts = [abs(e["start_error"]) * 1000 for e in errors if e["start_error"] is not None]
    ends = [abs(e["end_error"]) * 1000 for e in errors if e["end_error"] is not None]
    return {
        "clips": len(errors),
        "clips_without_words": sum(1 for e in errors if not e["words"]),
        "first_word_start_ms": distribution(starts, 0),
        "last_word_end_ms": distribution(ends, 0),
        "boundary_ms": distribution(starts + ends, 0),
        "first_word_start_signed_median_ms": _signed_median(errors, "start_error"),
        "last_word_end_signed_median_ms": _signed_median(errors, "end_error"),
    }


def _signed_median(errors, key):
    values = [e[key] * 1000 for e in errors if e[key] is not None]
    return round(statistics.median(values)) if values else None


def recommended_limit(speech, margin=MARGIN):
    """The speech maximum plus ``margin``, rounded up to 0.01 (None without speech).

    Example
    -------
    >>> recommended_limit([0.31, 0.52, 0.48])
    0.57
    """
    if not speech:
        return None
    return math.ceil(round((max(speech) + margin) * 100, 6)) / 100


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------


def vad_scores(wav, clips, options=None, frame=FRAME):
    """Frame scores of the VAD's speech regions and of the decoding segments.

    The regions and segments are those :func:`speechbrain_subtitle.segmentation.segment_audio`
    computes for the long-form path (one VAD pass, the same options).

    Returns
    -------
    dict
        ``regions`` and ``segments``: :func:`frame_scores` each, plus their
        intervals.
    """
    from speechbrain_subtitle.segmentation import (
        AudioStream,
        SegmentationOptions,
        plan_segments,
        speech_probabilities,
        speech_regions,
    )

    options = options or SegmentationOptions()
    stream = AudioStream(str(wav))
    probs, window, _ = speech_probabilities(stream, options)
    regions = speech_regions(probs, window, options, stream.duration)
    segments = plan_segments(regions, options, stream.duration, probs=probs, window_seconds=window)
    truth = [(c.start, c.end) for c in clips]
    spans = [(s.start, s.end) for s in segments]
    return {
        "regions": {**frame_scores(truth, regions, stream.duration, frame), "intervals": regions},
        "segments": {**frame_scores(truth, spans, stream.duration, frame), "intervals": spans},
    }


def subtitle_programme(asr, paths, out_dir, segmentation=None, constraints=None, **options):
    """Runs the long-form path on a programme and scores its SRT.

    Arguments
    ---------
    asr : speechbrain_subtitle.inference.SubtitleASR
        The model.
    paths : dict
        ``wav``, ``srt``, ``json`` of the programme (:func:`programme.write_programme`).
    out_dir : str or os.PathLike
        Where the hypothesis SRT goes.
    segmentation, constraints : optional
        As ``transcribe`` passes them (default: its defaults).
    **options
        ``batch_size``, ``greedy``, ``beam_size``... for ``transcribe_long``.

    Returns
    -------
    (LongFormResult, dict)
        The result and ``{"hyp_srt", "cues", "rules", "broken", "suber",
        "suber_cased", "boundaries", "segments"}``.
    """
    from speechbrain_subtitle import longform, metrics
    from speechbrain_subtitle.subtitle_quality import quality_report, read_cues
    from speechbrain_subtitle.subtitles import CueConstraints

    constraints = constraints or CueConstraints()
    clips = programmes.read_boundaries(paths["json"])
    result = longform.transcribe_long(
        asr, paths["wav"], segmentation=segmentation, constraints=constraints,
        progress=False, **options,
    )  # fmt: skip
    stem = Path(paths["wav"]).stem + "_hyp"
    (hyp,) = longform.write_outputs(result, out_dir, stem, ["srt"], inputs=[paths["srt"]])
    report = quality_report(read_cues(hyp), constraints, result.duration)
    rules = {rule: entry["count"] for rule, entry in report["rules"].items()}
    words = [w for s in result.segments for w in s.verbatim_words]
    judged = longform.MIN_JUDGED_DURATION
    figures = {
        "hyp_srt": str(hyp),
        "cues": report["cues"],
        "rules": rules,
        "broken": {rule: n for rule, n in rules.items() if n},
        "suber": metrics.suber(paths["srt"], hyp),
        "suber_cased": metrics.suber(paths["srt"], hyp, cased=True),
        "boundaries": boundary_errors(words, clips),
        "segments": [
            {"start": s.segment.start, "end": s.segment.end,
             "duration": round(s.segment.duration, 3), "ctc_entropy": s.ctc_entropy,
             "judged": s.segment.duration >= judged, "low_confidence": s.low_confidence}
            for s in result.segments
        ],  # fmt: skip
    }
    return result, figures


def entropy_summary(segments, limit, margin=MARGIN, babble=None):
    """The low-confidence figures of decoded segments (and babble, if given).

    Arguments
    ---------
    segments : list of dict
        ``ctc_entropy``, ``duration``, ``judged`` (long enough to be judged)
        and ``low_confidence`` per decoded segment.
    limit : float or None
        The model's ``max_ctc_entropy``.
    margin : float
        Margin of the recommended limit above the speech maximum.
    babble : list of float, optional
        Entropies of babble.

    Returns
    -------
    dict
    """
    values = [s["ctc_entropy"] for s in segments if s["ctc_entropy"] is not None]
    judged = [s["ctc_entropy"] for s in segments if s["judged"] and s["ctc_entropy"] is not None]
    dropped = [s for s in segments if s["low_confidence"]]
    above = [s for s in segments if s["judged"] and limit and (s["ctc_entropy"] or 0) > limit]
    recommended = recommended_limit(judged or values, margin)
    out = {
        "limit": limit,
        "segments": distribution(values),
        "judged_segments": distribution(judged),
        "dropped": len(dropped),
        "dropped_seconds": round(sum(s["duration"] for s in dropped), 2),
        "above_limit_judged": len(above),
        "recommended": recommended,
        "margin": margin,
    }
    if babble:
        out["babble"] = distribution(babble)
        out["babble_above_limit"] = sum(1 for b in babble if limit and b > limit)
        out["babble_above_recommended"] = sum(1 for b in babble if b > (recommended or 0))
        speech_max = max(judged or values) if values else None
        out["separable"] = speech_max is not None and speech_max < min(babble)
        # ctc_entropy.py's proposal: halfway between the speech maximum and the babble minimum
        out["halfway"] = round((speech_max + min(babble)) / 2, 2) if out["separable"] else None
    return out


def measure(
    data,
    model,
    split="test",
    clips=24,
    per_programme=12,
    seed=0,
    work=None,
    babble=8,
    margin=MARGIN,
    device="cpu",
    **options,
):
    """Builds programmes from a prepared folder and measures every stage.

    Arguments
    ---------
    data : str or os.PathLike
        Folder written by ``prepare_fillets.py`` (``<split>.csv``).
    model : str or os.PathLike
        Exported model folder.
    split : str
        Manifest to draw from.
    clips : int
        Clips drawn in all (0: all of 1-15 s).
    per_programme : int
        Clips per programme.
    seed : int
        Seed of the draw, the silences and the noise.
    work : str or os.PathLike, optional
        Where programmes and hypotheses are written (default: a temporary
        folder, removed afterwards).
    babble : int
        Babble mixtures of 8 clips for the entropy comparison (0: none).
    margin : float
        Margin of the recommended ``max_ctc_entropy``.
    device : str
        Torch device.
    **options
        Decoding options for ``transcribe_long`` (``batch_size``, ``greedy``,
        ``beam_size``, ``max_ctc_entropy``).

    Returns
    -------
    dict
        The report (see :func:`format_report`).
    """
    from speechbrain_subtitle.inference import SubtitleASR

    began = time.time()
    manifest = Path(data) / f"{split}.csv"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(work) if work else Path(scratch)
        made = programmes.make_programmes(manifest, folder, clips, per_programme, seed)
        asr = SubtitleASR.from_hparams(
            source=str(model), savedir=str(model), run_opts={"device": device}
        )
        limit = options.get("max_ctc_entropy")
        if limit is None:
            limit = getattr(asr.hparams, "max_ctc_entropy", None)
        per, vad_counts, rules, errors, segments = [], {}, {}, [], []
        for programme, paths in made:
            vad = vad_scores(paths["wav"], programme.clips)
            _, figures = subtitle_programme(asr, paths, folder, **options)
            for kind in ("regions", "segments"):
                counts = vad_counts.setdefault(kind, {"speech": 0, "detected": 0, "hit": 0})
                for key in counts:
                    counts[key] += vad[kind][key]
            for rule, n in figures["rules"].items():
                rules[rule] = rules.get(rule, 0) + n
            errors += figures["boundaries"]
            segments += figures["segments"]
            per.append({
                "wav": str(paths["wav"]), "duration": round(programme.duration, 2),
                "clips": len(programme.clips), "seed": programme.seed,
                "vad_recall": vad["regions"]["recall"],
                "vad_precision": vad["regions"]["precision"],
                "cues": figures["cues"], "broken": figures["broken"],
                "suber": _round(figures["suber"]), "suber_cased": _round(figures["suber_cased"]),
            })  # fmt: skip
        babble_values = []
        if babble:
            calibration = _ctc_entropy_script()
            audio = [programmes._load(row["wav"], asr.sample_rate)
                     for row in programmes.choose_clips(programmes.read_rows(manifest),
                                                        clips, seed)]  # fmt: skip
            babble_values = calibration.entropies(asr, calibration.babble(audio, babble, seed))
    subers = [p["suber"] for p in per if p["suber"] is not None]
    cased = [p["suber_cased"] for p in per if p["suber_cased"] is not None]
    broken = {rule: n for rule, n in rules.items() if n}
    return {
        "label": LABEL,
        "model": str(model),
        "data": str(data),
        "split": split,
        "seed": seed,
        "options": {k: v for k, v in options.items() if v is not None},
        "programmes": per,
        "audio_seconds": round(sum(p["duration"] for p in per), 1),
        "vad": {
            "frame": FRAME,
            "regions": _ratios(vad_counts["regions"]),
            "segments": _ratios(vad_counts["segments"]),
        },
        "subtitles": {
            "cues": sum(p["cues"] for p in per),
            "rules": rules,
            "broken": broken,
            "broken_total": sum(broken.values()),
            "broken_avoidable": {r: n for r, n in broken.items() if r not in UNAVOIDABLE_RULES},
            "suber": _round(statistics.fmean(subers)) if subers else None,
            "suber_cased": _round(statistics.fmean(cased)) if cased else None,
        },
        "timing": {**timing_summary(errors), "per_clip": errors},
        "ctc_entropy": {
            **entropy_summary(segments, limit, margin, babble_values),
            "per_segment": segments,
        },
        "seconds": round(time.time() - began, 1),
    }


def _ctc_entropy_script():
    """``recipes/SyntheticNL/ctc_entropy.py`` as a module (its ``babble`` and ``entropies``)."""
    path = HERE.parent / "SyntheticNL" / "ctc_entropy.py"
    spec = importlib.util.spec_from_file_location("synthetic_nl_ctc_entropy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _round(value, digits=2):
    return None if value is None else round(value, digits)


def format_report(report):
    """The report as text (one figure per line)."""
    v, s, t, e = report["vad"], report["subtitles"], report["timing"], report["ctc_entropy"]
    lines = [
        f"== {report['label']}",
        f"model {report['model']}; {report['split']} split of {report['data']}, seed "
        f"{report['seed']}: {len(report['programmes'])} programme(s), "
        f"{sum(p['clips'] for p in report['programmes'])} clips, {report['audio_seconds']} s",
        f"VAD speech regions ({v['frame'] * 1000:g} ms frames): recall {v['regions']['recall']}, "
        f"precision {v['regions']['precision']}, F1 {v['regions']['f1']}",
        f"decoding segments: recall {v['segments']['recall']}, "
        f"precision {v['segments']['precision']}",
        f"cues {s['cues']}; rules broken (check): {s['broken_total']} {s['broken'] or ''}".rstrip(),
        f"  of which avoidable (not one_word/mid_sentence): {sum(s['broken_avoidable'].values())}",
        f"SubER {s['suber']} (cased {s['suber_cased']}) against the script lines",
        f"first/last word vs clip boundaries: median {t['boundary_ms'].get('median')} ms, "
        f"p90 {t['boundary_ms'].get('p90')} ms (starts: median "
        f"{t['first_word_start_ms'].get('median')}, p90 {t['first_word_start_ms'].get('p90')}; "
        f"ends: median {t['last_word_end_ms'].get('median')}, "
        f"p90 {t['last_word_end_ms'].get('p90')}; signed medians "
        f"{t['first_word_start_signed_median_ms']} / {t['last_word_end_signed_median_ms']} ms)",
        f"  {t['clips_without_words']} of {t['clips']} clips had no recognised word",
        f"verbatim CTC entropy per decoded segment: {_dist(e['segments'])}",
        f"  segments of 3 s or more (judged): {_dist(e['judged_segments'])}",
        f"  max_ctc_entropy {e['limit']}: {e['dropped']} segment(s) "
        f"({e['dropped_seconds']} s) dropped",
        f"  recommended limit: {e['recommended']} (speech maximum + {e['margin']})",
    ]
    if "babble" in e:
        lines.append(
            f"  babble (12 s, 8 voices): {_dist(e['babble'])}; above the current limit "
            f"{e['babble_above_limit']}/{e['babble']['n']}, above the recommended "
            f"{e['babble_above_recommended']}/{e['babble']['n']}; "
            + (f"separable, halfway {e['halfway']}" if e["separable"]
               else "speech and babble overlap: no limit separates them")
        )
    lines.append(f"({report['seconds']} s)")
    return "".join(line + "\n" for line in lines)


def _dist(d):
    if not d.get("n"):
        return "none"
    return f"n {d['n']}, min {d['min']}, median {d['median']}, p90 {d['p90']}, max {d['max']}"


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=(
            f"Measure VAD, long-form subtitling and the low-confidence limit of a model on "
            f"{LABEL}: programmes of test clips with known boundaries (programme.py)."
        )
    )
    parser.add_argument("--data", required=True, type=Path, help="prepare_fillets.py --out")
    parser.add_argument("--model", required=True, type=Path, help="exported model folder")
    parser.add_argument("--split", default="test", help="manifest to use (default: test)")
    parser.add_argument(
        "--clips", type=int, default=24, help="clips in all (0: every clip of 1-15 s; default 24)"
    )
    parser.add_argument(
        "--per-programme", type=int, default=12, help="clips per programme (default 12)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--babble", type=int, default=8, help="babble mixtures (0: none)")
    parser.add_argument(
        "--margin", type=float, default=MARGIN, help="recommended limit: speech max + this"
    )
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--batch-size", type=int, default=8, help="segments decoded together")
    parser.add_argument("--beam-size", type=int, help="beam width (default: the model's)")
    parser.add_argument("--greedy", action="store_true", help="greedy search (faster)")
    parser.add_argument(
        "--max-ctc-entropy", type=float, help="low-confidence limit (default: the model's)"
    )
    parser.add_argument("--work", type=Path, help="keep programmes and hypotheses here")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    report = measure(
        args.data, args.model, args.split, args.clips, args.per_programme, args.seed,
        work=args.work, babble=args.babble, margin=args.margin, device=args.device,
        batch_size=args.batch_size, beam_size=args.beam_size, greedy=args.greedy or None,
        max_ctc_entropy=args.max_ctc_entropy,
    )  # fmt: skip
    print(format_report(report), end="")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
