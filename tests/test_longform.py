"""Subtitle files from long recordings: the pipeline (VAD segments, batched
decoding, word times, cues) and the ``transcribe`` command's files and errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import srt
import torch
import webvtt
from conftest import FIXTURES, ROOT

from speechbrain_subtitle import longform
from speechbrain_subtitle.cli import DEMO_MODEL
from speechbrain_subtitle.cli import main as cli_main
from speechbrain_subtitle.inference import SubtitleASR, SubtitleResult
from speechbrain_subtitle.segmentation import SegmentationOptions, fixed_windows
from speechbrain_subtitle.subtitles import CueConstraints, Word, check_cues

RATE = 16000


@pytest.fixture(scope="module")
def demo():
    return SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL))


def _concat(paths, silence, out):
    """Writes the files one after the other with ``silence`` seconds between them."""
    parts, starts, t = [], [], 0.0
    for p in paths:
        wav, rate = sf.read(p, dtype="float32")
        assert rate == RATE
        starts.append(t)
        parts += [wav, np.zeros(int(silence * RATE), dtype="float32")]
        t += len(wav) / RATE + silence
    sf.write(out, np.concatenate(parts), RATE)
    return starts


class ScriptedASR:
    """Stands in for SubtitleASR: every row gets one word per second of its audio
    (at 0.5 s, 1.5 s... from the row's start) named after the row's length."""

    sample_rate = RATE

    def __init__(self):
        self.batches = []

    def transcribe_batch(self, wavs, wav_lens, tasks, word_times, subtitle_timing, **options):
        assert word_times
        self.batches.append(wavs.shape)
        results = []
        for k in range(wavs.shape[0]):
            seconds = float(wav_lens[k]) * wavs.shape[1] / RATE
            words = [Word(f"w{j}", j + 0.45, j + 0.55) for j in range(int(seconds))]
            results.append(
                SubtitleResult(
                    verbatim=" ".join(w.text for w in words),
                    subtitle=" ".join(w.text.upper() for w in words),
                    verbatim_words=words,
                    subtitle_words=[Word(w.text.upper(), w.start, w.end) for w in words],
                    ctc_speech_frames=len(words),
                )
            )
        return results


def test_overlapping_windows_keep_every_word_once(tmp_path, monkeypatch):
    wav = tmp_path / "noise.wav"
    sf.write(wav, 0.01 * np.random.default_rng(0).standard_normal(40 * RATE), RATE)
    options = SegmentationOptions()
    monkeypatch.setattr(
        longform,
        "segment_audio",
        lambda stream, opts, progress: (fixed_windows(40.0, opts), "fixed"),
    )
    asr = ScriptedASR()
    result = longform.transcribe_long(asr, wav, batch_size=2, segmentation=options, progress=False)
    starts = [w.start for w in result.verbatim_words]
    assert starts == sorted(starts)
    assert all(b - a > 0.5 for a, b in zip(starts, starts[1:]))  # no word twice
    assert starts[0] < 1.0 and starts[-1] > 38.0  # the whole recording
    assert len(asr.batches) == 2  # three windows, two per batch
    assert result.method == "fixed"
    assert result.cues


def test_audio_is_read_per_segment_not_whole(tmp_path, monkeypatch):
    wav = tmp_path / "long.wav"
    _concat([FIXTURES / "wavs" / f"utt{i}.wav" for i in (1, 2, 3)] * 4, 2.0, wav)
    reads = []
    original = longform.AudioStream.read

    def spy(self, start, end):
        reads.append(end - start)
        return original(self, start, end)

    monkeypatch.setattr(longform.AudioStream, "read", spy)
    asr = ScriptedASR()
    result = longform.transcribe_long(asr, wav, batch_size=3, progress=False)
    duration = sf.info(wav).duration
    assert result.method == "vad" and len(result.segments) >= 2
    assert max(reads) <= SegmentationOptions().max_duration + 1e-6 < duration
    assert all(shape[0] <= 3 for shape in asr.batches)


def test_demo_model_writes_valid_srt_vtt_txt_json(demo, tmp_path):
    wav = tmp_path / "programme.wav"
    starts = _concat([FIXTURES / "wavs" / f"utt{i}.wav" for i in (1, 2, 3)], 1.5, wav)
    result = longform.transcribe_long(demo, wav, batch_size=2, greedy=True, progress=False)
    assert result.method == "vad" and result.cues
    written = longform.write_outputs(
        result, tmp_path / "out", "programme", ["srt", "vtt", "txt", "json"]
    )
    assert [p.suffix for p in written] == [".srt", ".vtt", ".txt", ".json"]
    constraints = CueConstraints()
    assert not [p for p in check_cues(result.cues, constraints) if "cps" not in p]
    parsed = list(srt.parse(written[0].read_text()))
    assert [c.content.splitlines() for c in parsed] == [c.lines for c in result.cues]
    vtt = webvtt.read(str(written[1]))
    assert [c.text.splitlines() for c in vtt] == [c.lines for c in result.cues]
    suber_reader = pytest.importorskip("suber.file_readers")
    segments = suber_reader.read_input_file(str(written[0]), file_format="SRT")
    assert [" ".join(w.string for w in s.word_list) for s in segments] == [
        c.text for c in result.cues
    ]
    doc = json.loads(written[3].read_text())
    words = [w for s in doc["segments"] for w in s["verbatim_words"]]
    assert words and all(0 <= w["start"] <= w["end"] <= doc["duration"] for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    # the segments sit on the speech: every segment starts near one of the utterances
    assert all(min(abs(s["start"] - t) for t in starts) < 0.5 for s in doc["segments"])
    lines = written[2].read_text().splitlines()
    assert len(lines) == len(doc["segments"]) and lines[0].startswith("[00:00:")


def test_demo_model_cues_on_real_clips_pass_the_quality_rules(demo, tmp_path):
    """The fixture recordings through the demo model (greedy): the cues keep every
    limit, sit on the 25 fps grid two frames apart, and no sentence that fits one
    cue is cut; the JSON carries the same report. Every format reads back."""
    wav = tmp_path / "programme.wav"
    _concat([FIXTURES / "wavs" / f"utt{i}.wav" for i in (1, 2, 3, 4, 5, 6)], 1.5, wav)
    result = longform.transcribe_long(demo, wav, batch_size=3, greedy=True, progress=False)
    assert len(result.cues) >= 2
    found = {k: v["count"] for k, v in result.quality["rules"].items() if v["count"]}
    assert found == {}, result.quality["rules"]
    written = longform.write_outputs(result, tmp_path / "out", "p", ["json", "ass", "ttml"])
    doc = json.loads(written[0].read_text())
    assert doc["quality"]["rules"]["off_frame"]["count"] == 0
    # the JSON keeps the exact word times, the cues are on frames
    times = [w["start"] for s in doc["segments"] for w in s["subtitle_words"]]
    assert any(round(t * 25, 6) % 1 for t in times)
    from speechbrain_subtitle.subtitle_quality import read_cues

    for path in written[1:]:
        back = read_cues(path)
        assert [c.lines for c in back] == [c.lines for c in result.cues]
        assert [(c.start, c.end) for c in back] == [(c.start, c.end) for c in result.cues]


def test_cli_many_files_one_failure_does_not_stop_the_rest(tmp_path, capsys):
    good = str(FIXTURES / "wavs" / "utt1.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(3 * RATE, dtype="float32"), RATE)
    inputs = [good, str(tmp_path / "missing.wav"), str(empty), str(corrupt), str(text), str(silent)]
    out = tmp_path / "subs"
    code = cli_main(["transcribe", *inputs, "--out", str(out), "--format", "srt,vtt",
                     "--greedy", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "missing.wav" in err and "empty.wav" in err and "corrupt.wav" in err
    assert "notes.mp3" in err and "4 of 6 file(s) failed" in err
    assert (out / "utt1.srt").stat().st_size > 0 and (out / "utt1.vtt").exists()
    # silence: a note, and empty but valid files
    assert "silent.wav" in err and "no cues" in err
    assert (out / "silent.srt").read_text() == ""
    assert list(webvtt.read(str(out / "silent.vtt"))) == []


def test_cli_unwritable_output_folder_is_reported(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = cli_main(["transcribe", str(FIXTURES / "wavs" / "utt1.wav"), "--out", str(blocker),
                     "--greedy", "--no-progress"])  # fmt: skip
    assert code == 1
    assert "utt1.wav" in capsys.readouterr().err


def test_cli_rejects_unknown_format_and_bad_limits(capsys):
    assert cli_main(["transcribe", "x.wav", "--format", "srt,doc"]) == 2
    assert "doc" in capsys.readouterr().err
    assert cli_main(["transcribe", "x.wav", "--max-lines", "0"]) == 2
    assert "max_lines" in capsys.readouterr().err
    # issue #22: nan was accepted (and acted as 0); a bad --tasks was a per-input error, rc 1
    for value in ("nan", "inf"):
        assert cli_main(["transcribe", "x.wav", "--max-ctc-entropy", value]) == 2
        assert "must be a finite number" in capsys.readouterr().err
    for tasks in ("bogus", "verbatim,bogus", ","):
        assert cli_main(["transcribe", "x.wav", "--tasks", tasks]) == 2
        err = capsys.readouterr().err
        assert "argument --tasks" in err and err.count("\n") == 1


def test_cli_cue_limits_are_applied(demo, tmp_path):
    wav = tmp_path / "talk.wav"
    _concat([FIXTURES / "wavs" / f"utt{i}.wav" for i in (1, 2, 3, 4)], 0.3, wav)
    out = tmp_path / "o"
    code = cli_main(["transcribe", str(wav), "--out", str(out), "--format", "json,srt",
                     "--max-chars", "20", "--max-lines", "1", "--greedy",
                     "--no-progress"])  # fmt: skip
    assert code == 0
    doc = json.loads((out / "talk.json").read_text())
    assert doc["cues"]
    for cue in doc["cues"]:
        assert len(cue["lines"]) == 1
        assert len(cue["lines"][0]) <= 20 or " " not in cue["lines"][0]


def test_transcribe_help_explains_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "speechbrain_subtitle.cli", "transcribe", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )  # fmt: skip
    assert result.returncode == 0
    for option in ("--out", "--format", "--device", "--batch-size", "--beam-size", "--max-chars",
                   "--max-lines", "--max-cps", "--model", "--max-ctc-entropy"):  # fmt: skip
        assert option in result.stdout
    assert "srt" in result.stdout and "exit code" in result.stdout


def test_word_times_of_one_utterance_are_inside_it(demo):
    wav = torch.from_numpy(sf.read(FIXTURES / "wavs" / "utt2.wav", dtype="float32")[0])
    result = demo.transcribe_batch(wav[None], torch.ones(1), word_times=True, greedy=True)[0]
    duration = len(wav) / RATE
    assert result.verbatim_words
    assert [w.text for w in result.verbatim_words] == result.verbatim.split()
    assert [w.text for w in result.subtitle_words] == result.subtitle.split()
    for w in result.verbatim_words + result.subtitle_words:
        assert 0 <= w.start <= w.end <= duration + 1e-6


def test_cli_subtitle_ctc_timing_needs_a_subtitle_ctc_head(capsys):
    code = cli_main(["transcribe", str(FIXTURES / "wavs" / "utt1.wav"), "--subtitle-timing", "ctc",
                     "--no-progress"])  # fmt: skip
    assert code == 2
    assert "subtitle CTC head" in capsys.readouterr().err


class DeafASR(ScriptedASR):
    """Writes words but its CTC head hears only blanks (as on music)."""

    def transcribe_batch(self, *args, **kwargs):
        results = super().transcribe_batch(*args, **kwargs)
        for r in results:
            r.ctc_speech_frames = 0
        return results


def test_music_only_gives_no_cues_and_a_message(tmp_path):
    tone = tmp_path / "tone.wav"
    t = np.arange(20 * RATE) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * 0.1
    sf.write(tone, chord.astype("float32"), RATE)
    # The VAD hears no speech in the chord (the file is not silent): nothing is
    # decoded, even by a model that would write words.
    asr = ScriptedASR()
    result = longform.transcribe_long(asr, tone, progress=False)
    assert result.method == "nonspeech" and asr.batches == []
    assert result.cues == [] and result.segments == []
    assert "no speech found" in result.message
    # Forcing the fixed-window fallback: windows the CTC head hears only
    # blanks in are dropped; a model whose CTC head hears something gives text.
    forced = SegmentationOptions(fallback_threshold=0.0)
    deaf = longform.transcribe_long(DeafASR(), tone, segmentation=forced, progress=False)
    assert deaf.method == "fixed" and deaf.cues == []
    assert longform.transcribe_long(ScriptedASR(), tone, segmentation=forced, progress=False).cues
    written = longform.write_outputs(result, tmp_path / "out", "tone", ["srt", "vtt", "json"])
    assert written[0].read_text() == ""
    assert json.loads(written[2].read_text())["message"] == result.message


def _non_speech(kind, seconds=20.0, rate=RATE):
    """Generated non-speech: white/pink noise, a two-tone chord, a plucked melody."""
    rng = np.random.default_rng(3)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
        x = np.fft.irfft(spectrum, n)
    elif kind == "tones":
        x = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)
    else:  # melody: plucked notes with harmonics, four per second
        x = np.zeros(n)
        step = rate // 4
        for start in range(0, n - step + 1, step):
            f = rng.choice([262, 294, 330, 349, 392, 440, 494, 523])
            env = np.exp(-np.arange(step) / (0.08 * rate))
            span = t[start : start + step]
            x[start : start + step] = sum(
                env * np.sin(2 * np.pi * f * h * span) / h for h in range(1, 5)
            )
    return (0.3 * x / np.abs(x).max()).astype("float32")


@pytest.mark.parametrize("kind", ["white", "pink", "tones", "melody"])
def test_noise_and_music_give_no_cues_without_decoding(tmp_path, kind, demo, monkeypatch):
    """Before, the VAD's fixed-window fallback sent them to the model, which
    invented sentences (2 min of white noise: 4 min 40 s of CPU time)."""
    path = tmp_path / f"{kind}.wav"
    sf.write(path, _non_speech(kind), RATE)
    calls = []
    original = demo.transcribe_batch
    monkeypatch.setattr(
        demo, "transcribe_batch", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    result = longform.transcribe_long(demo, path, progress=False)
    assert result.method == "nonspeech" and calls == []
    assert result.cues == [] and "no speech found" in result.message


def _babble(clips):
    """12 s of 8 overlapping voices, like a crowd (the calibration script's babble)."""
    import importlib.util

    path = ROOT / "recipes" / "SyntheticNL" / "ctc_entropy.py"
    spec = importlib.util.spec_from_file_location("synthetic_nl_ctc_entropy", path)
    ctc_entropy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ctc_entropy)
    return ctc_entropy.babble(clips, 1, seed=3, seconds=12.0, voices=8)[0]


def _real_test_clips(fillets_nl, count=24):
    """The first ``count`` clips of the real-Dutch test split (Fish Fillets NG voices)."""
    from speechbrain_subtitle.data import read_manifest

    rows = list(read_manifest(fillets_nl[0] / "test.csv").values())[:count]
    return [sf.read(row["wav"])[0] for row in rows]


def test_babble_is_low_confidence_and_gives_no_cues(tmp_path, demo, fillets_nl):
    """The VAD rightly hears speech in babble; the model's CTC entropy marks it
    low-confidence: its text stays in the JSON, out of the cues and the transcript.
    The demo's limit (1.48) is calibrated on real Dutch speech (dev split of
    recipes/FishFilletsNL: VAD segments of 3 s or more at most 1.45, babble of 8 real
    voices at least 1.52), so the babble here is made of real test voices. Babble of
    synthetic espeak-ng voices (0.76-1.02) is below that limit: the demo hears real speech
    less confidently than synthetic babble, and no single limit separates both."""
    path = tmp_path / "babble.wav"
    sf.write(path, _babble(_real_test_clips(fillets_nl)), RATE)
    result = longform.transcribe_long(demo, path, progress=False, greedy=True)
    assert result.method == "vad" and result.segments
    limit = demo.hparams.max_ctc_entropy
    assert all(s.low_confidence and s.ctc_entropy > limit for s in result.segments)
    assert result.cues == [] and longform.to_transcript(result) == ""
    assert "not confident" in result.message
    doc = json.loads(longform.to_json(result))
    assert all(s["low_confidence"] for s in doc["segments"])
    # turned off, the same babble gives (invented) cues
    loose = longform.transcribe_long(demo, path, progress=False, greedy=True, max_ctc_entropy=0)
    assert loose.cues and not any(s.low_confidence for s in loose.segments)
    # the CLI's --max-ctc-entropy reaches transcribe_long (0 keeps every segment)
    out = tmp_path / "cli"
    argv = ["transcribe", str(path), "--out", str(out), "--format", "json", "--greedy",
            "--no-progress"]  # fmt: skip
    assert cli_main(argv + ["--max-ctc-entropy", "0"]) == 0
    doc = json.loads((out / "babble.json").read_text())
    assert doc["cues"] and not any(s["low_confidence"] for s in doc["segments"])
    assert cli_main(argv + ["--max-ctc-entropy", "-1"]) == 2


def test_speech_is_not_low_confidence(demo):
    result = longform.transcribe_long(demo, DEMO_MODEL / "example.wav", progress=False, greedy=True)
    assert result.cues and result.message == ""
    assert not any(s.low_confidence for s in result.segments)
    assert all(s.ctc_entropy < demo.hparams.max_ctc_entropy for s in result.segments)
