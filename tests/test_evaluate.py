"""``speechbrain-subtitle evaluate``: decoding a test manifest with the bundled demo
model, scoring, result files, and re-rendering a model card with the results."""

import csv
import json
import re
import shutil

import jiwer
import pytest
import sacrebleu
import soundfile as sf

from speechbrain_subtitle import cli
from speechbrain_subtitle.cli import DEMO_MODEL
from speechbrain_subtitle.evaluate import evaluate_manifest
from speechbrain_subtitle.inference import SubtitleASR

# The references of the demo model's example.wav (first row of the SyntheticNL
# medium corpus's test split, generator 1; synthetic espeak-ng speech).
VERBATIM = "dat meldt de krant het laatste het laatste euh nieuws"
SUBTITLE = "Dat meldt de krant Het Laatste Nieuws."


# The verbatim normalization metrics.py documents (the paper's scoring), written
# out again for texts without digits or abbreviations (checked): lower case, acute
# accents dropped, hyphens between word characters split, other punctuation
# removed (apostrophes inside a word kept), fillers dropped.
FILLERS = {"euh", "uh", "eh", "ehm", "uhm", "um", "hm", "hmm", "mm", "mmm", "mhm", "ggg", "xxx"}


def _normalized(text):
    assert not re.search(r"\d", text or ""), text
    text = (text or "").lower().translate(str.maketrans("áéíóúý", "aeiouy"))
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)
    text = re.sub(r"(?<=[^\W\d_])'(?=[^\W\d_])", "\x00", text)
    text = "".join(c if c.isalnum() or c.isspace() or c == "\x00" else " " for c in text)
    return " ".join(w for w in text.replace("\x00", "'").split() if w not in FILLERS)


@pytest.fixture(scope="module")
def asr():
    return SubtitleASR.from_hparams(
        source=str(DEMO_MODEL), savedir=str(DEMO_MODEL), run_opts={"device": "cpu"}
    )


@pytest.fixture
def manifest(tmp_path):
    """The example as a whole file, a copy of its first 2 s with only a verbatim
    reference (a truncated text), and a row with only a subtitle reference."""
    example = DEMO_MODEL / "example.wav"
    audio, rate = sf.read(example, dtype="int16")
    short = tmp_path / "short.wav"
    sf.write(short, audio[: 2 * rate], rate, subtype="PCM_16")
    seconds = len(audio) / rate
    path = tmp_path / "mytest.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "duration", "wav", "start", "stop", "verbatim", "subtitle"])
        writer.writerow(["whole", f"{seconds:.4f}", str(example), "", "", VERBATIM, SUBTITLE])
        writer.writerow(["short", "2.0", str(short), "", "", "dat meldt de krant", ""])
        writer.writerow(["subonly", f"{seconds:.4f}", str(example), "", "", "", SUBTITLE])
    return path


def test_outputs_are_the_models_and_scores_match_the_references(asr, manifest):
    rows, summary = evaluate_manifest(asr, manifest, batch_size=3, progress=False)
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["whole", "short", "subonly"]  # manifest order
    alone = asr.transcribe_file(str(DEMO_MODEL / "example.wav"))
    # Batched with a shorter, padded row, the outputs are those of the file alone.
    assert by_id["whole"]["verbatim_hyp"] == alone.verbatim
    assert by_id["whole"]["subtitle_hyp"] == alone.subtitle
    assert by_id["subonly"]["subtitle_hyp"] == alone.subtitle
    assert by_id["short"]["subtitle_ref"] is None and by_id["subonly"]["verbatim_ref"] is None
    # The scores, computed here with jiwer and sacrebleu directly (not with metrics.py).
    verbatim = [(r["verbatim_ref"], r["verbatim_hyp"]) for r in rows if r["verbatim_ref"]]
    subtitle = [(r["subtitle_ref"], r["subtitle_hyp"]) for r in rows if r["subtitle_ref"]]
    assert [r for r, _ in verbatim] == [VERBATIM, "dat meldt de krant"]
    assert [r for r, _ in subtitle] == [SUBTITLE, SUBTITLE]
    refs, hyps = zip(*[(_normalized(r), _normalized(h)) for r, h in verbatim])
    assert refs[0] == "dat meldt de krant het laatste het laatste nieuws"  # the filler is gone
    assert summary["WER_verbatim"] == pytest.approx(100 * jiwer.wer(list(refs), list(hyps)))
    refs, hyps = zip(*subtitle)  # subtitles are scored as written: cased, punctuated
    assert summary["WER_subtitle"] == pytest.approx(100 * jiwer.wer(list(refs), list(hyps)))
    expected_bleu = sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score
    assert summary["BLEU_subtitle"] == pytest.approx(expected_bleu)
    assert summary["scores"]["verbatim_wer"]["sentences"] == 2  # rows with a verbatim reference
    assert summary["scores"]["subtitle_wer"]["sentences"] == 2
    assert summary["search"]["beam_size"] == 10  # the model's yaml
    greedy_rows, greedy = evaluate_manifest(asr, manifest, progress=False, greedy=True)
    assert greedy["search"]["greedy"] is True


def test_cli_writes_results_and_updates_a_copy_of_the_card(manifest, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(DEMO_MODEL, model)
    out = tmp_path / "res"
    argv = ["evaluate", str(manifest), "--model", str(model), "--out", str(out), "--no-progress",
            "--beam-size", "2", "--update-card", "--data-note", "A test note."]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "verbatim WER (normalized)" in printed and "== mytest" in printed
    summary = json.loads((out / "test_mytest" / "metrics.json").read_text())
    assert summary["search"]["beam_size"] == 2 and summary["utterances"] == 3
    with open(out / "test_mytest" / "hyps.csv", encoding="utf-8") as f:
        hyps = list(csv.DictReader(f))
    assert [h["ID"] for h in hyps] == ["whole", "short", "subonly"]
    assert hyps[0]["verbatim_ref"] == VERBATIM and hyps[0]["subtitle_ref"] == SUBTITLE
    card = (model / "README.md").read_text()
    assert f"| mytest | 3 | {summary['WER_verbatim']:.2f} |" in card
    assert "A test note." in card
    assert "synthetic-nl-c8-demo" in card  # the card inputs kept in config.json
    config = json.loads((model / "config.json").read_text())
    # issue #22: the card's other test sets are kept, only "mytest" is added
    before = json.loads((DEMO_MODEL / "config.json").read_text())["test_results"]
    assert before and "mytest" not in before
    assert config["test_results"] == {**before, "mytest": summary}
    for name, result in before.items():
        assert f"| {name} | {result['utterances']} | {result['WER_verbatim']:.2f} |" in card
    assert config["card"]["data_note"] == "A test note."
    assert (DEMO_MODEL / "README.md").read_text() != card  # the bundled card is untouched


def test_bad_input_is_a_clear_error(manifest, tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "missing.csv"), "--no-progress"]) == 2
    assert "missing.csv" in capsys.readouterr().err
    argv = ["evaluate", str(manifest), "--model", "org/model", "--update-card"]
    assert cli.main(argv) == 2
    assert "--update-card needs --model to be a local exported folder" in capsys.readouterr().err
    assert cli.main(["evaluate", str(manifest), "--batch-size", "0", "--no-progress"]) == 2
    assert "batch_size must be at least 1" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(manifest, other / manifest.name)
    assert cli.main(["evaluate", str(manifest), str(other / manifest.name)]) == 2
    assert "distinct file names" in capsys.readouterr().err
