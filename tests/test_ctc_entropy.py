"""recipes/SyntheticNL/ctc_entropy.py: calibrating ``max_ctc_entropy`` on the demo model."""

import csv
import importlib.util
import json

import numpy as np
from conftest import ROOT

from speechbrain_subtitle.cli import DEMO_MODEL

SCRIPT = ROOT / "recipes" / "SyntheticNL" / "ctc_entropy.py"


def _load():
    spec = importlib.util.spec_from_file_location("synthetic_nl_ctc_entropy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ctc_entropy = _load()


def test_stretches_and_babble_have_the_lengths_asked_for():
    clips = [np.full(16000, k + 1, "float32") for k in range(3)]  # 1 s each
    speech = ctc_entropy.speech_stretches(clips, 5, seed=3)
    assert len(speech) == 5
    assert all(8 * 16000 <= len(s) <= 15 * 16000 for s in speech)
    assert all(set(np.unique(s)) <= {0.0, 1.0, 2.0, 3.0} for s in speech)  # clips and pauses
    again = ctc_entropy.speech_stretches(clips, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(speech, again))
    noise = ctc_entropy.babble(clips, 2, seed=3, seconds=4.0, voices=3)
    assert [len(b) for b in noise] == [4 * 16000] * 2
    assert all(np.abs(b).max() == np.float32(0.5) for b in noise)


def test_demo_model_real_speech_is_below_its_limit_and_babble_above(tmp_path, capsys, fillets_nl):
    """The demo's limit is calibrated on real Dutch speech (recipes/FishFilletsNL dev split);
    here 24 clips of the test split, 2 stretches of speech and 2 of babble."""
    rows = list(csv.DictReader(open(fillets_nl[0] / "test.csv", newline="", encoding="utf-8")))
    manifest = tmp_path / "test.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "duration", "wav", "start", "stop", "verbatim", "subtitle"])
        for row in rows[:24]:
            wav = fillets_nl[0] / row["wav"]
            writer.writerow([row["ID"], row["duration"], str(wav), "", "", row["verbatim"], ""])
    out = tmp_path / "entropy.json"
    argv = ["--model", str(DEMO_MODEL), "--manifest", str(manifest), "--stretches", "2",
            "--json", str(out)]  # fmt: skip
    assert ctc_entropy.main(argv) == 0
    found = json.loads(out.read_text())
    limit = found["current"]
    assert limit == 1.48  # the demo's hyperparams.yaml
    assert found["speech"]["n"] == found["babble"]["n"] == 2
    assert found["speech"]["max"] < limit < found["babble"]["min"]
    assert found["proposed"] == round((found["speech"]["max"] + found["babble"]["min"]) / 2, 2)
    assert "proposed max_ctc_entropy" in capsys.readouterr().out
