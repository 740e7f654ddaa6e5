#!/usr/bin/env python3
"""How precise are the word times? Measured on speech whose word boundaries are known.

Real recordings come without exact word times, so this builds its own: each
word of a generated Dutch verbatim sentence is spoken **on its own** by
espeak-ng, its leading and trailing silence is cut (a word starts at its
first and ends after its last 10 ms frame above -45 dB of its peak), and the
words are joined with random pauses. The true start and end of every word
are then known to 10 ms. The model force-aligns the true verbatim text
(``SubtitleASR.align_text``: the verbatim CTC head's Viterbi path), so the
measurement is of timing alone, not of recognition errors.

Reported: the absolute error of word starts and of word ends, median and
90th percentile, over all words. Synthetic espeak-ng speech: words spoken in
isolation are clearer than running speech, and the numbers say nothing about
real recordings.

Example::

    python recipes/SyntheticNL/word_timing.py --model models/synthetic-nl-c8-demo --sentences 20
"""

import argparse
import json
import pathlib
import random
import re
import statistics
import sys
import tempfile

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from synthesize import SAMPLE_RATE, synthesize, trim_silence  # noqa: E402
from text_pairs import generate_pairs, to_spoken  # noqa: E402


def build_utterance(words, out_wav, voice="nl", speed=160, pitch=50, gaps=(0.1, 0.4),
                    lead=0.3, noise_db=-40.0, seed=0):  # fmt: skip
    """Speaks ``words`` one by one and joins them with pauses.

    Arguments
    ---------
    words : list of str
        Verbatim words (as the model writes them).
    out_wav : str or pathlib.Path
        The 16 kHz WAV to write.
    voice, speed, pitch
        espeak-ng settings.
    gaps : tuple of float
        Range of the random pause between two words, in seconds.
    lead : float
        Silence before the first and after the last word, in seconds.
    noise_db : float or None
        Gaussian noise over the whole utterance (dBFS), as in the corpus.
    seed : int
        Seeds the pauses and the noise.

    Returns
    -------
    list of tuple
        ``(word, start, end)`` in seconds: the true boundaries.
    """
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(lead * SAMPLE_RATE), dtype="float32")]
    times = []
    position = len(parts[0])
    with tempfile.TemporaryDirectory() as tmp:
        for k, word in enumerate(words):
            path = pathlib.Path(tmp) / f"w{k}.wav"
            synthesize(to_spoken(word), path, voice=voice, speed=speed, pitch=pitch,
                       noise_db=None, pad=(0.0, 0.0), seed=seed + k)  # fmt: skip
            audio = trim_silence(sf.read(path, dtype="float32")[0], margin=0.0)
            times.append((word, position / SAMPLE_RATE, (position + len(audio)) / SAMPLE_RATE))
            gap = lead if k == len(words) - 1 else rng.uniform(*gaps)
            parts += [audio, np.zeros(int(gap * SAMPLE_RATE), dtype="float32")]
            position += len(audio) + len(parts[-1])
    signal = np.concatenate(parts)
    if noise_db is not None:
        signal = signal + rng.standard_normal(len(signal)).astype("float32") * 10 ** (noise_db / 20)
    sf.write(out_wav, signal, SAMPLE_RATE, subtype="PCM_16")
    return times


def boundary_errors(predicted, reference):
    """Absolute start and end errors (seconds) of words aligned one to one.

    Arguments
    ---------
    predicted : list of speechbrain_subtitle.subtitles.Word
        The aligned words.
    reference : list of tuple
        ``(word, start, end)``.

    Returns
    -------
    tuple of list
        ``(start_errors, end_errors)``.

    Example
    -------
    >>> from speechbrain_subtitle.subtitles import Word
    >>> boundary_errors([Word("ja", 0.30, 0.52)], [("ja", 0.32, 0.50)])
    ([0.02...], [0.02...])
    """
    if [w.text for w in predicted] != [r[0] for r in reference]:
        raise ValueError("the aligned words differ from the reference words")
    starts = [abs(w.start - r[1]) for w, r in zip(predicted, reference)]
    ends = [abs(w.end - r[2]) for w, r in zip(predicted, reference)]
    return starts, ends


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def make_utterances(folder, sentences=10, seed=7, voices=("nl", "nl+m3", "nl+f2")):
    """Speaks generated verbatim sentences word by word into ``folder``.

    Arguments
    ---------
    folder : str or pathlib.Path
        Where the WAV files go (must exist).
    sentences : int
        How many generated verbatim sentences to speak.
    seed : int
        Seeds the sentences, voices and pauses.
    voices : tuple of str
        espeak-ng voices to take turns.

    Returns
    -------
    list of dict
        One per utterance: ``id``, ``wav`` (path), ``verbatim``, ``subtitle``
        and ``words`` (the true ``(word, start, end)``).
    """
    rng = random.Random(seed)
    utterances = []
    for k, pair in enumerate(generate_pairs(sentences, seed=seed)):
        wav_path = pathlib.Path(folder) / f"words{k:03d}.wav"
        voice, speed = rng.choice(voices), rng.randint(150, 175)
        words = build_utterance(pair.verbatim.split(), wav_path, voice=voice, speed=speed,
                                seed=seed * 1000 + k)  # fmt: skip
        utterances.append({"id": f"words{k:03d}", "wav": wav_path, "verbatim": pair.verbatim,
                           "subtitle": pair.subtitle, "words": words})  # fmt: skip
    return utterances


def measure_utterances(asr, utterances):
    """Aligns each utterance's true text; returns the error statistics.

    Arguments
    ---------
    asr : speechbrain_subtitle.inference.SubtitleASR
        The model.
    utterances : list of dict
        From :func:`make_utterances`.

    Returns
    -------
    dict
        ``words``, ``start_median``, ``start_p90``, ``end_median``, ``end_p90``
        (seconds) and ``all_median``, ``all_p90`` over starts and ends together.
    """
    starts, ends = [], []
    for utt in utterances:
        wav = torch.from_numpy(sf.read(utt["wav"], dtype="float32")[0])
        s, e = boundary_errors(asr.align_text(wav, utt["verbatim"]), utt["words"])
        starts += s
        ends += e
    return {"words": len(starts), **_stats(starts, ends)}


def _norm(word):
    return re.sub(r"[^\w]", "", word.lower())


def subtitle_references(utterance):
    """True times of the subtitle words that can be told without an aligner.

    A subtitle word has a known time when its form (lower case, no
    punctuation) occurs exactly once among the verbatim words and exactly
    once among the subtitle words: it is then the same spoken word. Numbers
    in digits, rewritten and added words have no reference.

    Returns
    -------
    list of tuple
        ``(index in subtitle.split(), word, start, end)``.

    >>> utt = {"subtitle": "Het is 5 graden in Gent.", "words": [("het", 0.1, 0.2),
    ...        ("is", 0.3, 0.4), ("vijf", 0.5, 0.7), ("graden", 0.8, 1.1), ("in", 1.2, 1.3),
    ...        ("gent", 1.4, 1.8)]}
    >>> [(k, w) for k, w, _, _ in subtitle_references(utt)]  # "5" has no reference
    [(0, 'Het'), (1, 'is'), (3, 'graden'), (4, 'in'), (5, 'Gent.')]
    >>> subtitle_references(utt)[-1]
    (5, 'Gent.', 1.4, 1.8)
    """
    spoken = [_norm(w) for w, _, _ in utterance["words"]]
    written = utterance["subtitle"].split()
    forms = [_norm(w) for w in written]
    refs = []
    for k, (word, form) in enumerate(zip(written, forms)):
        if form and forms.count(form) == 1 and spoken.count(form) == 1:
            _, start, end = utterance["words"][spoken.index(form)]
            refs.append((k, word, start, end))
    return refs


def _stats(starts, ends):
    both = starts + ends
    return {
        "start_median": round(statistics.median(starts), 3),
        "start_p90": round(_percentile(starts, 90), 3),
        "end_median": round(statistics.median(ends), 3),
        "end_p90": round(_percentile(ends, 90), 3),
        "all_median": round(statistics.median(both), 3),
        "all_p90": round(_percentile(both, 90), 3),
    }


def measure_subtitles(asr, utterances, methods=("transfer", "ctc")):
    """Subtitle word times two ways, against :func:`subtitle_references`.

    ``transfer``: the true verbatim text is aligned with the verbatim CTC head
    and the times are carried over to the subtitle words
    (:func:`speechbrain_subtitle.alignment.transfer_times`, what
    ``--subtitle-timing transfer`` does). ``ctc``: the true subtitle is
    aligned with the model's subtitle CTC head (``--subtitle-timing ctc``).
    ``methods`` picks among the two (``ctc`` needs a model with that head).

    Returns
    -------
    dict
        ``words`` (subtitle words with a reference), ``skipped`` (utterances
        whose subtitle the CTC aligner split into other words), and
        ``transfer`` and ``ctc`` statistics as in :func:`measure_utterances`
        (``None`` for a method not measured).
    """
    from speechbrain_subtitle.alignment import transfer_times

    errors = {"transfer": ([], []), "ctc": ([], [])}
    words = skipped = 0
    for utt in utterances:
        wav = torch.from_numpy(sf.read(utt["wav"], dtype="float32")[0])
        written = utt["subtitle"].split()
        timed = {}
        if "transfer" in methods:
            verbatim = asr.align_text(wav, utt["verbatim"])
            end = len(wav) / SAMPLE_RATE
            timed["transfer"] = transfer_times(written, verbatim, start=0.0, end=end)
        if "ctc" in methods:
            timed["ctc"] = asr.align_text(wav, utt["subtitle"], task="subtitle")
            if [w.text for w in timed["ctc"]] != written:
                skipped += 1
                continue
        for k, _, start, end in subtitle_references(utt):
            words += 1
            for method, found in timed.items():
                errors[method][0].append(abs(found[k].start - start))
                errors[method][1].append(abs(found[k].end - end))
    result = {"words": words, "skipped": skipped}
    for method, (starts, ends) in errors.items():
        result[method] = _stats(starts, ends) if starts else None
    return result


def measure(asr, sentences=10, seed=7):
    """:func:`make_utterances` in a temporary folder, then :func:`measure_utterances`."""
    with tempfile.TemporaryDirectory() as tmp:
        return measure_utterances(asr, make_utterances(tmp, sentences, seed))


def _print_stats(title, stats):
    print(f"{title} (synthetic espeak-ng speech, words spoken one by one)")
    for side in ("start", "end", "all"):
        print(f"{side:>5}: median {stats[f'{side}_median'] * 1000:.0f} ms, "
              f"90th percentile {stats[f'{side}_p90'] * 1000:.0f} ms")  # fmt: skip


def main(argv=None):
    """Prints the word-boundary errors of a model (synthetic speech)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="exported model folder")
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also save the figures here")
    parser.add_argument(
        "--subtitles",
        action="store_true",
        help="also time the subtitle words: carried over from the verbatim words, and with the "
        "subtitle CTC head when the model has one",
    )
    args = parser.parse_args(argv)
    from speechbrain_subtitle.inference import SubtitleASR

    asr = SubtitleASR.from_hparams(source=args.model, savedir=args.model)
    with tempfile.TemporaryDirectory() as tmp:
        utterances = make_utterances(tmp, args.sentences, args.seed)
        stats = measure_utterances(asr, utterances)
        _print_stats(f"{stats['words']} verbatim words", stats)
        if args.subtitles:
            methods = ("transfer", "ctc") if asr.model.subtitle_ctc_head is not None else ()
            found = measure_subtitles(asr, utterances, methods or ("transfer",))
            for method in ("transfer", "ctc"):
                if found[method]:
                    _print_stats(f"{found['words']} subtitle words, {method}", found[method])
            if found["skipped"]:
                print(f"({found['skipped']} utterances skipped: CTC split the subtitle otherwise)")
            stats["subtitles"] = found
    print(json.dumps(stats))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(stats) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
