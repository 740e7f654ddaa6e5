"""Tests for recipes/CGN_subtitles/prepare_subtitles.py on tests/fixtures/broadcast."""

import csv
import doctest
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from speechbrain_subtitle.data import read_manifest

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "CGN_subtitles"
BROADCAST = ROOT / "tests" / "fixtures" / "broadcast"
sys.path.insert(0, str(RECIPE))

import prepare_subtitles  # noqa: E402
from prepare_common import MANIFEST_COLUMNS, PreparationError  # noqa: E402
from prepare_subtitles import (  # noqa: E402
    clean_cue_text,
    fix_cue_times,
    holdout_split,
    merge_cues,
    parse_cues,
    read_text,
)
from prepare_subtitles import prepare_subtitles as run_prepare  # noqa: E402

TEXT_A = "Goeienavond, welkom bij het journaal. Wat is er gebeurd? Niemand weet het."
TEXT_B = "Dat is één café in Brussel. Het kost 5 € per persoon."
TEXT_C = "Ze zegt: ’t is goed. Dag iedereen…"
TEXT_D = "Tot morgen."
TEXT_W = "Morgen wordt het zonnig & warm. Tot 25 graden. In Brugge?"

# (ID, start, stop, subtitle) with the default merging settings, in order.
EXPECTED = [
    ("journaal_0000300_0004000", "0.300", "4.000", TEXT_A),
    ("journaal_0005000_0007800", "5.000", "7.800", TEXT_B),
    ("journaal_0011000_0014200", "11.000", "14.200", TEXT_C),
    ("journaal_0015300_0016000", "15.300", "16.000", TEXT_D),  # clipped at the audio end
    ("weerbericht_0000000_0003200", "0.000", "3.200", TEXT_W),
]
EXPECTED_CUE_DROPS = {
    "beyond_audio_end": 1,
    "empty_after_cleaning": 3,  # [MUZIEK], # La la la #, ♪ Zonneschijn ♪
    "empty_cue": 1,
    "reversed_timestamps": 1,
}
EXPECTED_CUE_STATS = {"clipped_at_audio_end": 1, "cues_read": 15, "overlap_clipped": 1}


def read_rows(path):
    """The rows of a manifest CSV as a list of tuples (header checked)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == list(MANIFEST_COLUMNS)
        return [tuple(row) for row in reader]


def short(rows):
    """(ID, start, stop, subtitle) of rows, checking the other cells."""
    result = []
    for row_id, duration, wav, start, stop, verbatim, subtitle in rows:
        assert verbatim == ""
        assert Path(wav).is_absolute()
        assert float(duration) == pytest.approx(float(stop) - float(start))
        result.append((row_id, start, stop, subtitle))
    return result


def all_rows(out):
    rows = []
    for name in ("train", "valid", "test"):
        path = out / f"subtitle_{name}.csv"
        if path.exists():
            rows += short(read_rows(path))
    return sorted(rows)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """Preparation of the fixture folder with every 2nd segment held out."""
    out = tmp_path_factory.mktemp("broadcast")
    report = run_prepare(out, media_dir=BROADCAST, holdout_every=2)
    return out, report


# --------------------------------------------------------------------------
# Whole runs
# --------------------------------------------------------------------------


def test_rows_are_exact(default_run):
    out, _ = default_run
    assert all_rows(out) == EXPECTED
    wavs = {
        row[2]
        for name in ("train", "valid", "test")
        for row in read_rows(out / f"subtitle_{name}.csv")
    }
    assert wavs == {str(out / "audio" / "journaal.wav"), str(out / "audio" / "weerbericht.wav")}


def test_holdout_alternates_valid_and_test(default_run):
    out, report = default_run
    # Segments 2 and 4 (in recording/time order) are held out: valid, then test.
    assert [row[0] for row in short(read_rows(out / "subtitle_valid.csv"))] == [EXPECTED[1][0]]
    assert [row[0] for row in short(read_rows(out / "subtitle_test.csv"))] == [EXPECTED[3][0]]
    assert [row[0] for row in short(read_rows(out / "subtitle_train.csv"))] == [
        EXPECTED[0][0],
        EXPECTED[2][0],
        EXPECTED[4][0],
    ]
    assert {name: split["segments"] for name, split in report["splits"].items()} == {
        "train": 3,
        "valid": 1,
        "test": 1,
    }


def test_report_counts(default_run):
    out, report = default_run
    assert report == json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["dropped_files"] == {"missing_audio": 1}
    assert Path(report["problem_files"]["missing_audio"][0]).name == "ontbrekend.srt"
    assert report["dropped_cues"] == EXPECTED_CUE_DROPS
    assert report["cue_statistics"] == EXPECTED_CUE_STATS
    assert report["encodings"] == {"cp1252": 1, "utf-8-sig": 1}
    assert list(report["encoding_fallbacks"].values()) == ["cp1252"]
    assert Path(next(iter(report["encoding_fallbacks"]))).name == "journaal.srt"
    assert report["converted_recordings"] == 2
    assert report["recordings_paired"] == report["recordings_used"] == 2


def test_audio_is_16k_mono(default_run):
    out, _ = default_run
    for name, frames in (("journaal", 16 * 16000), ("weerbericht", 4 * 16000)):
        info = sf.info(str(out / "audio" / f"{name}.wav"))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, frames)


def test_manifests_pass_read_manifest(default_run):
    out, _ = default_run
    for name in ("train", "valid", "test"):
        rows = read_manifest(out / f"subtitle_{name}.csv", check_audio=True)
        assert all(row["subtitle"] and not row["verbatim"] for row in rows.values())


def test_cp1252_subtitles():
    raw = (BROADCAST / "journaal.srt").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text, encoding = read_text(BROADCAST / "journaal.srt")
    assert encoding == "cp1252"
    assert "één café" in text and "5 €" in text and "’t is" in text and "iedereen…" in text


def test_encoding_fallback_order(tmp_path):
    path = tmp_path / "a.srt"
    path.write_bytes("Één".encode())
    assert read_text(path) == ("Één", "utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + "Één".encode())
    assert read_text(path) == ("Één", "utf-8-sig")
    path.write_bytes("Één – ‘x’".encode("cp1252"))
    assert read_text(path) == ("Één – ‘x’", "cp1252")
    path.write_bytes(b"caf\xe9 \x81")  # 0x81 is undefined in CP1252
    assert read_text(path) == ("café \x81", "latin-1")


def test_merge_at_max_length(tmp_path):
    run_prepare(tmp_path, media_dir=BROADCAST, max_utterance=3.0, holdout_every=0)
    assert all_rows(tmp_path) == [
        # 0.5-3.8 would span 3.3 s: split; the padding stops at the midpoint 2.15.
        ("journaal_0000300_0002150", "0.300", "2.150", "Goeienavond, welkom bij het journaal."),
        ("journaal_0002150_0004000", "2.150", "4.000", "Wat is er gebeurd? Niemand weet het."),
        EXPECTED[1],
        EXPECTED[2],
        EXPECTED[3],
        EXPECTED[4],
    ]
    assert not (tmp_path / "subtitle_valid.csv").exists()
    assert not (tmp_path / "subtitle_test.csv").exists()


def test_merge_at_gaps(tmp_path):
    # Gaps: 1.4 s (A-B), 3.6 s (B-C), 1.5 s (C-D); max_gap 2 joins A+B and C+D.
    run_prepare(tmp_path, media_dir=BROADCAST, max_gap=2.0, pad=0.0, holdout_every=0)
    assert all_rows(tmp_path) == [
        ("journaal_0000500_0007600", "0.500", "7.600", f"{TEXT_A} {TEXT_B}"),
        ("journaal_0011200_0016000", "11.200", "16.000", f"{TEXT_C} {TEXT_D}"),
        ("weerbericht_0000200_0003000", "0.200", "3.000", TEXT_W),
    ]


def test_cue_longer_than_max_utterance_is_dropped(tmp_path):
    report = run_prepare(tmp_path, media_dir=BROADCAST, max_utterance=1.4, holdout_every=0)
    # Cues longer than 1.4 s: 0.5-2.0, 2.3-3.8 (journaal) and none else.
    assert report["dropped_cues"]["cue_too_long"] == 2
    assert [row[0] for row in all_rows(tmp_path)][:2] == [
        "journaal_0005000_0006500",
        "journaal_0006500_0007800",
    ]


def test_pairs_csv(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "audio,subtitle,id\n"
        f"{BROADCAST / 'journaal.flac'},{BROADCAST / 'journaal.srt'},nieuws\n"
        f"{BROADCAST / 'weg.wav'},{BROADCAST / 'ontbrekend.srt'},\n"
        f"{BROADCAST / 'weerbericht.wav'},{BROADCAST / 'weg.vtt'},\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    report = run_prepare(out, pairs=pairs, holdout_every=0)
    assert report["dropped_files"] == {"missing_audio": 1, "missing_subtitle": 1}
    assert [row[0] for row in all_rows(out)] == [
        "nieuws_0000300_0004000",
        "nieuws_0005000_0007800",
        "nieuws_0011000_0014200",
        "nieuws_0015300_0016000",
    ]


def test_pairs_csv_relative_paths(tmp_path):
    shutil.copy(BROADCAST / "weerbericht.wav", tmp_path / "w.wav")
    shutil.copy(BROADCAST / "weerbericht.vtt", tmp_path / "w.vtt")
    (tmp_path / "pairs.csv").write_text("Audio,Subtitle\nw.wav,w.vtt\n")
    run_prepare(tmp_path / "out", pairs=tmp_path / "pairs.csv", holdout_every=0)
    assert all_rows(tmp_path / "out") == [("w_0000000_0003200", "0.000", "3.200", TEXT_W)]


def test_duplicate_and_unparseable_subtitles(tmp_path):
    shutil.copy(BROADCAST / "weerbericht.wav", tmp_path / "weer.wav")
    shutil.copy(BROADCAST / "weerbericht.vtt", tmp_path / "weer.vtt")
    (tmp_path / "weer.nl.srt").write_text("1\n00:00:00,500 --> 00:00:01,000\nAndere.\n")
    (tmp_path / "weer.srt").write_text("1\n00:00:00,500 --> 00:00:01,000\nSRT wint.\n")
    shutil.copy(BROADCAST / "weerbericht.wav", tmp_path / "kapot.wav")
    (tmp_path / "kapot.vtt").write_text("geen webvtt\n\n00:01.000 --> 00:02.000\nx\n")
    report = run_prepare(tmp_path / "out", media_dir=tmp_path, holdout_every=0)
    assert report["dropped_files"] == {"duplicate_subtitle": 2, "unparseable_subtitle": 1}
    assert all_rows(tmp_path / "out") == [("weer_0000300_0001200", "0.300", "1.200", "SRT wint.")]


def test_python_resampler(tmp_path):
    shutil.copy(BROADCAST / "weerbericht.wav", tmp_path / "w.wav")
    shutil.copy(BROADCAST / "weerbericht.vtt", tmp_path / "w.vtt")
    out = tmp_path / "out"
    report = run_prepare(out, media_dir=tmp_path, holdout_every=0, resampler="python")
    assert report["converted_recordings"] == 1
    info = sf.info(str(out / "audio" / "w.wav"))
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 64000)
    read_manifest(out / "subtitle_train.csv", check_audio=True)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_missing_audio_only_is_an_error(tmp_path, capsys):
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(BROADCAST / "ontbrekend.srt", media)
    with pytest.raises(PreparationError, match="no usable subtitle segment"):
        run_prepare(tmp_path / "out", media_dir=media)
    report = json.loads((tmp_path / "out" / "prepare_report.json").read_text())
    assert report["dropped_files"] == {"missing_audio": 1}
    status = prepare_subtitles.main(["--media-dir", str(media), "--out", str(tmp_path / "cli")])
    assert status == 1
    assert "no usable subtitle segment" in capsys.readouterr().err


def test_too_few_segments_for_holdout_is_an_error(tmp_path):
    with pytest.raises(PreparationError, match="holdout-every 50"):
        run_prepare(tmp_path, media_dir=BROADCAST)  # 5 segments, default period 50


def test_cli_runs_as_a_script(tmp_path):
    script = RECIPE / "prepare_subtitles.py"
    result = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=True
    )
    assert "--holdout-every" in result.stdout and "--max-gap" in result.stdout
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--media-dir",
            str(BROADCAST),
            "--out",
            str(tmp_path),
            "--holdout-every",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "missing_audio" in result.stderr
    assert len(read_rows(tmp_path / "subtitle_train.csv")) == 3


# --------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("<i>Hallo</i> <b>daar</b>.", "Hallo daar."),
        ('<font color="#00ff00">Groen</font>', "Groen"),
        ("{\\an8}{\\i1}Boven{\\i0}", "Boven"),
        ("- Ja.\n- Nee.", "Ja. Nee."),
        ("- Ja. - Nee.", "Ja. Nee."),
        ("Hij zei - en dat klopt - niets.", "Hij zei - en dat klopt - niets."),
        ("[MUZIEK]", ""),
        ("[deur gaat open]\nWie is daar?", "Wie is daar?"),
        ("Ja (lacht) zeker.", "Ja zeker."),
        ("♪ Lalala ♪", ""),
        ("♪ Een lied dat\nverder gaat", "verder gaat"),
        ("#", ""),
        ("# Refrein #\nEinde.", "Einde."),
        ("JAN: Dag.\nDE VROUW: Dag Jan.", "Dag. Dag Jan."),
        ("- PIET: Kom.", "Kom."),
        ("Om 12:30 uur.", "Om 12:30 uur."),
        ("Tom &amp; Jerry&nbsp;!", "Tom & Jerry!"),
        (">> Goeiemorgen.", "Goeiemorgen."),
        ("  veel    ruimte \n hier  ", "veel ruimte hier"),
        ("<v Jan>Ik ben Jan.</v>", "Ik ben Jan."),
        ("...", ""),
    ],
)
def test_clean_cue_text(raw, expected):
    assert clean_cue_text(raw) == expected


def test_fix_cue_times_counts():
    drops, stats = Counter(), Counter()
    cues = [
        (3.0, 4.0, "Later."),
        (0.0, 2.0, "Eerst."),
        (1.0, 1.0, "Nul."),
        (2.5, 2.0, "Omgekeerd."),
        (5.0, 6.0, ""),
        (6.0, 7.0, "(geluid)"),
    ]
    assert fix_cue_times(cues, 10.0, drops, stats) == [[0.0, 2.0, "Eerst."], [3.0, 4.0, "Later."]]
    assert drops == {
        "zero_duration": 1,
        "reversed_timestamps": 1,
        "empty_cue": 1,
        "empty_after_cleaning": 1,
    }
    assert stats == {"files_with_unordered_cues": 1}


def test_merge_cues_padding_stays_in_bounds():
    cues = [[0.1, 1.0, "A."], [1.05, 1.5, "B."]]
    assert merge_cues(cues, max_utterance=1.0, max_gap=1.0, pad=0.5, audio_seconds=1.6) == [
        (0.0, 1.025, "A."),
        (1.025, 1.6, "B."),
    ]


@pytest.mark.parametrize("every, n, expected", [(50, 149, 2), (50, 150, 3), (3, 10, 3), (0, 9, 0)])
def test_holdout_split_counts(every, n, expected):
    splits = holdout_split(n, every)
    held = [i + 1 for i, split in enumerate(splits) if split != "train"]
    assert len(held) == expected
    assert all(position % every == 0 for position in held)
    assert [splits[p - 1] for p in held] == ["valid", "test", "valid"][:expected]


def test_parse_vtt_hours_and_srt_tolerance():
    vtt = "WEBVTT\n\n01:00:01.250 --> 01:00:02.000\nLaat.\n"
    assert parse_cues(vtt, "vtt") == [(3601.25, 3602.0, "Laat.")]
    srt_text = "1\n00:00:01,000 --> 00:00:02,000\nGoed.\n\nrommel\n\n2\nook rommel\n"
    stats = Counter()
    assert parse_cues(srt_text, "srt", stats) == [(1.0, 2.0, "Goed.")]
    assert stats == {"malformed_srt_blocks": 1}
    with pytest.raises(ValueError):
        parse_cues("geen header\n", "vtt")


def test_docstring_examples():
    result = doctest.testmod(prepare_subtitles)
    assert result.failed == 0 and result.attempted > 0
