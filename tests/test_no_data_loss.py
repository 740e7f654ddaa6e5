"""Inputs and folders that must never be lost or silently damaged (issue #11):
``export --force`` replaces only earlier exports, ``transcribe`` never writes over
its inputs, non-finite and too-short audio, and subtitle preparation edge cases."""

import json
import logging
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import FIXTURES, ROOT

from speechbrain_subtitle import audio_checks, longform
from speechbrain_subtitle.cli import DEMO_MODEL
from speechbrain_subtitle.cli import main as cli_main
from speechbrain_subtitle.hub import (
    ExportError,
    _replace_folder,
    check_export_target,
    export_model,
    is_export_folder,
)
from speechbrain_subtitle.inference import SubtitleASR, load_audio_file
from speechbrain_subtitle.segmentation import AudioStream

sys.path.insert(0, str(ROOT / "recipes" / "CGN_subtitles"))
import prepare_subtitles  # noqa: E402

RATE = 16000
SPEECH = FIXTURES / "real_speech" / "librivox" / "sense_and_sensibility_01_austen_64kb-0880.wav"
LONG_SPEECH = FIXTURES / "real_speech" / "pyannote_sample.wav"


@pytest.fixture(scope="module")
def demo():
    return SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL))


def _tree(folder):
    """{relative path: bytes} of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------
# 3. export --force replaces only an earlier export
# --------------------------------------------------------------------------


@pytest.fixture
def experiment(tmp_path):
    """A training output folder: hyperparams, checkpoints and logs (no usable model)."""
    exp = tmp_path / "work" / "exp"
    (exp / "save" / "CKPT+2024").mkdir(parents=True)
    (exp / "hyperparams.yaml").write_text("output_folder: exp\n")
    (exp / "save" / "CKPT+2024" / "model.ckpt").write_bytes(b"weights")
    (exp / "train_log.txt").write_text("epoch: 1\n")
    return exp


@pytest.mark.parametrize(
    "where, message",
    [
        ("experiment", "is, contains or lies inside the experiment folder"),
        ("experiment/save", "is, contains or lies inside the experiment folder"),
        ("experiment/new_export", "is, contains or lies inside the experiment folder"),
        ("work", "is, contains or lies inside the experiment folder"),
        ("cwd", "is or contains the current folder"),
        ("cwd_parent", "is or contains the current folder"),
        ("file", "is an existing file"),
        ("user_folder", "only replaces an earlier export"),
    ],
)
def test_export_force_never_deletes_user_data(experiment, tmp_path, monkeypatch, where, message):
    cwd = tmp_path / "home" / "me"
    cwd.mkdir(parents=True)
    (cwd / "notes.txt").write_text("mine")
    monkeypatch.chdir(cwd)
    user = tmp_path / "user"
    user.mkdir()
    (user / "thesis.tex").write_text("mine")
    (tmp_path / "file.bin").write_bytes(b"data")
    out = {
        "experiment": experiment,
        "experiment/save": experiment / "save",
        "experiment/new_export": experiment / "new_export",
        "work": experiment.parent,
        "cwd": Path("."),
        "cwd_parent": Path(".."),
        "file": tmp_path / "file.bin",
        "user_folder": user,
    }[where]
    before = _tree(tmp_path)
    with pytest.raises((ExportError, FileExistsError), match=message) as err:
        export_model(experiment, out, force=True)
    assert str(out) in str(err.value) and "\n" not in str(err.value)
    assert _tree(tmp_path) == before
    # the command line reports it in one line, exit status 2
    assert cli_main(["export", "--experiment", str(experiment), "--out", str(out), "--force"]) == 2
    assert _tree(tmp_path) == before


def test_exports_are_recognized_and_replaced_only_when_complete(experiment, tmp_path):
    assert is_export_folder(DEMO_MODEL)  # folders exported before this rule count too
    assert not is_export_folder(experiment)
    earlier = tmp_path / "exported"
    shutil.copytree(DEMO_MODEL, earlier)
    check_export_target(experiment, earlier, force=True)  # allowed
    with pytest.raises(FileExistsError, match="pass force=True"):
        check_export_target(experiment, earlier, force=False)
    before = _tree(earlier)
    with pytest.raises(ExportError):  # fails later (no tokenizer): the old export stays
        export_model(experiment, earlier, force=True)
    assert _tree(earlier) == before
    assert sorted(os.listdir(tmp_path)) == ["exported", "work"]
    new = tmp_path / "new"
    new.mkdir()
    (new / "config.json").write_text("{}")
    _replace_folder(new, earlier)
    assert _tree(earlier) == {"config.json": b"{}"}
    assert sorted(os.listdir(tmp_path)) == ["exported", "work"]  # nothing left aside


# --------------------------------------------------------------------------
# 4. transcribe never writes over its inputs; writes are atomic
# --------------------------------------------------------------------------


def _audio_named(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    data, rate = sf.read(SPEECH, dtype="float32")
    sf.write(path, data, rate, format="WAV")
    return path


@pytest.mark.parametrize("link", ["same_path", "symlink_folder", "symlink_file", "hardlink"])
def test_transcribe_never_overwrites_its_input(tmp_path, capsys, link):
    folder = tmp_path / "clips"
    audio = _audio_named(folder / "clip.txt")  # audio whose transcript would be clip.txt
    inputs, out = [str(audio)], folder
    if link == "symlink_folder":
        (tmp_path / "alias").symlink_to(folder)
        inputs = [str(tmp_path / "alias" / "clip.txt")]
    elif link in ("symlink_file", "hardlink"):
        source = _audio_named(tmp_path / "src" / "clip.wav")
        out = tmp_path / "subs"
        out.mkdir()
        if link == "symlink_file":
            (out / "clip.txt").symlink_to(source)
        else:
            os.link(source, out / "clip.txt")
        audio, inputs = source, [str(source)]
    original = audio.read_bytes()
    code = cli_main(["transcribe", *inputs, "--format", "txt", "--out", str(out),
                     "--greedy", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "would overwrite the input" in err and inputs[0] in err
    assert audio.read_bytes() == original
    assert (out / "clip.txt").read_bytes() == original


def test_one_refused_input_does_not_stop_the_others(tmp_path, capsys):
    folder = tmp_path / "clips"
    clash = _audio_named(folder / "a.txt")
    fine = _audio_named(tmp_path / "b.wav")
    code = cli_main(["transcribe", str(clash), str(fine), "--format", "txt", "--out",
                     str(folder), "--greedy", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "1 of 2 file(s) failed" in err
    assert (folder / "b.txt").is_file()


def test_write_outputs_refuses_its_input_and_keeps_old_files_on_a_crash(tmp_path, monkeypatch):
    result = longform.LongFormResult(str(tmp_path / "talk.srt"), 1.0, "silence")
    with pytest.raises(ValueError, match="would overwrite the input"):
        longform.write_outputs(result, tmp_path, "talk", ["srt"])
    good = tmp_path / "out" / "talk.json"
    good.parent.mkdir()
    good.write_text("good")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        longform.write_outputs(result, tmp_path / "out", "talk", ["json"])
    assert good.read_text() == "good"
    assert os.listdir(good.parent) == ["talk.json"]  # no temporary file left


# --------------------------------------------------------------------------
# 5. non-finite samples
# --------------------------------------------------------------------------


def _with_samples(tmp_path, name, values, at, rate=RATE, channels=1, source=SPEECH):
    """Copy of ``source`` (float WAV) with ``values`` written from ``at`` seconds,
    and a reference copy with zeros there instead."""
    data, _ = sf.read(source, dtype="float32", always_2d=True)
    if rate != RATE:
        import torchaudio

        data = torchaudio.functional.resample(torch.from_numpy(data.T), RATE, rate).numpy().T
    data = np.repeat(data[:, :1], channels, axis=1)
    start = round(at * rate)
    bad, zero = data.copy(), data.copy()
    bad[start : start + len(values), 0] = values
    zero[start : start + len(values), 0] = 0.0
    paths = tmp_path / f"{name}.wav", tmp_path / f"{name}_zero.wav"
    sf.write(paths[0], bad, rate, subtype="FLOAT")
    sf.write(paths[1], zero, rate, subtype="FLOAT")
    return paths


NONFINITE = {
    "one_nan": [np.nan],
    "1000_nan": [np.nan] * 1000,
    "plus_inf": [np.inf],
    "minus_inf": [-np.inf] * 3,
}


@pytest.mark.parametrize("rate, channels", [(RATE, 1), (44100, 2)])
@pytest.mark.parametrize("kind", sorted(NONFINITE))
def test_loader_sets_nonfinite_samples_to_zero_and_warns(tmp_path, caplog, kind, rate, channels):
    bad, zero = _with_samples(tmp_path, kind, NONFINITE[kind], 1.0, rate, channels)
    with caplog.at_level(logging.WARNING):
        wav = load_audio_file(str(bad))
    assert torch.isfinite(wav).all()  # repaired before resampling, nothing spread
    assert torch.equal(wav, load_audio_file(str(zero)))
    count = len(NONFINITE[kind])
    assert f"{count} non-finite sample(s)" in caplog.text and "at 1.000 s" in caplog.text


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_audio_without_finite_samples_is_an_error_not_silence(tmp_path, value, demo):
    path = tmp_path / "broken.wav"
    sf.write(path, np.full(RATE, value, dtype="float32"), RATE, subtype="FLOAT")
    with pytest.raises(ValueError, match="no finite audio sample"):
        load_audio_file(str(path))
    with pytest.raises(ValueError, match="no finite audio sample"):
        longform.transcribe_long(demo, path, progress=False)


@pytest.mark.parametrize("rate", [RATE, 22050])
def test_stream_repairs_reads_and_counts_each_sample_once(tmp_path, rate):
    bad, zero = _with_samples(tmp_path, "s", [np.nan] * 5, 1.0, rate, 1)
    stream, reference = AudioStream(bad, RATE), AudioStream(zero, RATE)
    part = stream.read(0.5, 1.5)  # a read out of order: repaired, not counted yet
    assert torch.equal(part, reference.read(0.5, 1.5))
    blocks = list(stream.blocks(0.3))  # overlapping reads around each block
    assert all(torch.isfinite(b).all() for _, b in blocks)
    assert stream.check_finite() == (5, pytest.approx(1.0, abs=1 / rate))
    fresh = AudioStream(bad, RATE)  # nothing read yet: check_finite reads the file
    assert fresh.check_finite() == (5, pytest.approx(1.0, abs=1 / rate))


def test_file_api_decodes_around_nonfinite_samples(demo, tmp_path, caplog):
    bad, zero = _with_samples(tmp_path, "many", NONFINITE["1000_nan"], 1.0)
    expected = demo.transcribe_file(str(zero), greedy=True)
    assert expected.verbatim  # speech, not silence
    with caplog.at_level(logging.WARNING):
        assert demo.transcribe_file(str(bad), greedy=True) == expected
    assert "1000 non-finite sample(s)" in caplog.text


@pytest.fixture(scope="module")
def long_reference(demo, tmp_path_factory):
    """The long recording with a zero at 1 s, decoded: what a repaired file must give.
    (English speech: the demo model is rightly unsure of it, so every segment is kept.)"""
    folder = tmp_path_factory.mktemp("long")
    _, zero = _with_samples(folder, "ref", [0.0], 1.0, source=LONG_SPEECH)
    return longform.transcribe_long(demo, zero, greedy=True, progress=False, max_ctc_entropy=0)


@pytest.mark.parametrize("kind", ["one_nan", "plus_inf"])
def test_long_form_keeps_speech_around_a_nonfinite_sample(
    demo, long_reference, tmp_path, caplog, kind
):
    bad, _ = _with_samples(tmp_path, kind, NONFINITE[kind], 1.0, source=LONG_SPEECH)
    with caplog.at_level(logging.WARNING):
        result = longform.transcribe_long(demo, bad, greedy=True, progress=False, max_ctc_entropy=0)
    assert long_reference.cues and long_reference.method == "vad"
    assert result.method == long_reference.method
    assert result.cues == long_reference.cues  # the first seconds included
    assert "1 non-finite sample(s)" in caplog.text and "at 1.000 s" in caplog.text


def test_batch_rows_with_nonfinite_samples(demo, caplog):
    wav = load_audio_file(str(SPEECH))
    broken, empty = wav.clone(), torch.full_like(wav, float("nan"))
    broken[RATE] = float("nan")
    repaired = wav.clone()
    repaired[RATE] = 0.0
    batch = torch.stack([broken, empty])
    with caplog.at_level(logging.WARNING):
        results = demo.transcribe_batch(batch, torch.ones(2), greedy=True)
    assert torch.isnan(batch).any()  # the caller's tensor is not changed
    assert results[0] == demo.transcribe_batch(repaired[None], greedy=True)[0]
    assert results[1].verbatim == results[1].subtitle == ""
    assert "batch row 0: 1 non-finite sample(s)" in caplog.text
    assert "batch row 1: no finite audio sample" in caplog.text


# --------------------------------------------------------------------------
# 10. too-short audio
# --------------------------------------------------------------------------


def test_min_samples_is_what_features_and_encoder_accept(demo):
    needed = audio_checks.min_samples(demo.sample_rate)
    demo.encode_batch(0.1 * torch.randn(1, needed))
    with pytest.raises(RuntimeError, match="[Pp]adding"):
        demo.encode_batch(0.1 * torch.randn(1, needed - 1))


@pytest.mark.parametrize("samples", [1, 50, 200, 319])
def test_too_short_file_is_a_clear_error(demo, tmp_path, samples):
    path = tmp_path / "tiny.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(samples), RATE)
    message = rf"tiny.wav: audio too short \({samples} samples, at least 320 needed\)"
    with pytest.raises(ValueError, match=message):
        demo.transcribe_file(str(path))
    with pytest.raises(ValueError, match=message):
        longform.transcribe_long(demo, path, progress=False)


def test_shortest_accepted_file_decodes(demo, tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(320), RATE)
    demo.transcribe_file(str(path), greedy=True)  # no error


@pytest.mark.parametrize("samples", [1, 200, 319])
def test_short_batch_row_gets_empty_texts_and_a_warning(demo, caplog, samples):
    speech = load_audio_file(str(SPEECH))
    short = 0.1 * torch.randn(samples)
    batch = torch.zeros(2, len(speech))
    batch[0], batch[1, :samples] = speech, short
    lens = torch.tensor([1.0, samples / len(speech)])
    with caplog.at_level(logging.WARNING):
        results = demo.transcribe_batch(batch, lens, greedy=True, word_times=True)
    assert results[0] == demo.transcribe_batch(speech[None], greedy=True, word_times=True)[0]
    assert results[1].verbatim == results[1].subtitle == ""
    assert f"batch row 1: audio too short ({samples} samples, at least 320 needed)" in caplog.text
    alone = demo.transcribe_batch(short[None], greedy=True)  # a whole batch of one short row
    assert alone[0].verbatim == ""


# --------------------------------------------------------------------------
# 9. subtitle preparation
# --------------------------------------------------------------------------

GOOD_CUE = "2\n00:00:03,000 --> 00:00:04,000\nGoed.\n"


@pytest.mark.parametrize(
    "timing",
    [
        "-00:00:01,000 --> 00:00:02,000",
        "00:00:01,000 --> -00:00:02,000",
        "00:00:-01,000 --> 00:00:02,000",
        "00:-1:01,000 --> 00:00:02,000",
        "-00:00:01.000 --> 00:00:02.000",
    ],
)
def test_negative_timestamp_cue_is_skipped_with_a_warning(caplog, timing):
    text = f"1\n{timing}\nWeg.\n\n{GOOD_CUE}"
    drops = Counter()
    with caplog.at_level(logging.WARNING):
        cues = prepare_subtitles.parse_cues(text, "srt", Counter(), source="a.srt", drops=drops)
    assert cues == [(3.0, 4.0, "Goed.")]
    assert drops == {"negative_timestamp": 1}
    assert "a.srt: skipping cue 1 (line 2): negative timestamp" in caplog.text


def test_negative_timestamp_vtt_cue_is_named_too(caplog):
    text = "WEBVTT\n\nintro\n-00:01.000 --> 00:02.000\nWeg.\n\n00:03.000 --> 00:04.000\nGoed.\n"
    with caplog.at_level(logging.WARNING):
        cues = prepare_subtitles.parse_cues(text, "vtt", source="b.vtt")
    assert cues == [(3.0, 4.0, "Goed.")]
    assert "b.vtt: skipping cue intro (line 4)" in caplog.text


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("&lt;i&gt;Hallo&lt;/i&gt; daar.", "Hallo daar."),
        ("&lt;font color=&quot;red&quot;&gt;Rood&lt;/font&gt;.", "Rood."),
        ("&lt;b&gt;Ja&lt;/b&gt;, &lt;u&gt;nee&lt;/u&gt;.", "Ja, nee."),
        ("3 &lt; 4 &amp; 5 &gt; 2.", "3 < 4 & 5 > 2."),
    ],
)
def test_escaped_tags_are_removed_from_training_text(raw, clean):
    assert prepare_subtitles.clean_cue_text(raw) == clean


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_decoded(tmp_path, encoding):
    text = "1\n00:00:01,000 --> 00:00:02,000\nDag café.\n"
    path = tmp_path / "a.srt"
    path.write_bytes(text.encode(encoding))
    assert prepare_subtitles.read_text(path) == (text, encoding)


def _media(folder, subtitles):
    """A media folder: a 5 s recording and its subtitle bytes per name."""
    folder.mkdir()
    for name, data in subtitles.items():
        sf.write(folder / f"{name}.wav", np.zeros(5 * RATE, dtype="float32"), RATE)
        (folder / f"{name}.srt").write_bytes(data)
    return folder


def test_preparation_reads_utf16_and_reports_binary_files_briefly(tmp_path, caplog):
    cue = "1\n00:00:01,000 --> 00:00:02,000\nDag café.\n\n"
    binary = bytes(range(256)) * 40 + b"00:00:01,000 --> 00:00:02,000\n" * 20
    media = _media(
        tmp_path / "media",
        {"utf16": cue.encode("utf-16-le"), "binary": binary, "plain": cue.encode("utf-8")},
    )
    with caplog.at_level(logging.INFO):
        report = prepare_subtitles.prepare_subtitles(tmp_path / "out", media, holdout_every=0)
    assert report["recordings_used"] == 2
    assert report["dropped_files"] == {"not_text_subtitle": 1}
    assert report["encodings"] == {"utf-16-le": 1, "utf-8": 1}
    [message] = [r.getMessage() for r in caplog.records if "binary.srt" in r.getMessage()]
    assert "not a text subtitle file" in message and len(message) < 300
    assert all(len(r.getMessage()) < 2000 for r in caplog.records)
    manifest = (tmp_path / "out" / "subtitle_train.csv").read_text(encoding="utf-8")
    assert manifest.count("Dag café.") == 2
    assert json.loads((tmp_path / "out" / "prepare_report.json").read_text())["dropped_files"]
