"""Tests for recipes/CGN_subtitles/prepare_cgn.py on the fake CGN tree in tests/fixtures/cgn."""

import csv
import doctest
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechbrain_subtitle.data import read_manifest

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "CGN_subtitles"
CGN = ROOT / "tests" / "fixtures" / "cgn"
sys.path.insert(0, str(RECIPE))

import prepare_cgn  # noqa: E402
import prepare_common  # noqa: E402
from prepare_cgn import (  # noqa: E402
    classify_tier,
    decode_annotation,
    normalize_text,
    parse_textgrid,
    read_test_list,
    speaker_split,
)
from prepare_cgn import prepare_cgn as run_prepare  # noqa: E402
from prepare_common import PreparationError  # noqa: E402

COMPONENTS = "a,k,o"
WAV_A1 = str(CGN / "data/audio/wav/comp-a/vl/fv600001.wav")
WAV_A2 = str(CGN / "data/audio/wav/comp-a/vl/fv600002.wav")
WAV_K1 = str(CGN / "data/audio/wav/comp-k/vl/fv700001.wav")

# Every utterance the fixture yields with the default settings:
# ID -> (duration, wav, start, stop, verbatim).
EXPECTED = {
    "fv600001_V01001_0000100_0000600": ("0.500", WAV_A1, "0.100", "0.600", "ja dat is één café"),
    "fv600001_V01001_0000900_0001400": (
        "0.500",
        WAV_A1,
        "0.900",
        "1.400",
        "de patiënt zei bonjour en",
    ),
    "fv600001_V01002_0000200_0000800": ("0.600", WAV_A1, "0.200", "0.800", "allee kom we gaan"),
    "fv600001_V01002_0001500_0001900": ("0.400", WAV_A1, "1.500", "1.900", "naar gent en brussel"),
    "fv600002_V01002_0000300_0001000": ("0.700", WAV_A2, "0.300", "1.000", "oké dat is goed"),
    "fv600002_V01003_0001000_0001800": ("0.800", WAV_A2, "1.000", "1.800", "ëlla zegt nee"),
    "fv700001_V01004_0000100_0001000": (
        "0.900",
        WAV_K1,
        "0.100",
        "1.000",
        "goeienavond dames en heren",
    ),
    # The interval ends at 2.05 s in a 2.0 s wav: clipped.
    "fv700001_V01004_0001100_0002000": ("0.900", WAV_K1, "1.100", "2.000", "het weer wordt zonnig"),
}
EXPECTED_FILE_DROPS = {
    "bad_textgrid": 1,
    "gzip_error": 1,
    "missing_wav": 1,
    "truncated_gzip": 1,
}
EXPECTED_UTTERANCE_DROPS = {
    "empty_interval": 13,
    "non_speaker_tier": 1,
    "only_xxx_ggg": 2,
    "unknown_speaker": 1,
}
EXPECTED_TEXT_STATS = {
    "clipped_to_audio_end": 1,
    "code_*d": 1,
    "code_*u": 1,
    "code_*v": 1,
    "code_*x": 1,
    "code_*z": 1,
    "ggg_removed": 3,
    "overlapping_other_speaker": 2,
    "xxx_removed": 2,
}


def read_rows(path):
    """The rows of a manifest CSV as a dict ID -> tuple of the other cells."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == list(prepare_common.MANIFEST_COLUMNS)
        return {row[0]: tuple(row[1:]) for row in reader}


def speaker(row_id):
    return row_id.split("_")[1]


def split_speakers(out):
    return {
        name: {speaker(i) for i in read_rows(out / f"{name}.csv")}
        for name in ("train", "valid", "test")
    }


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The speaker-split preparation of the fixture (run once per module)."""
    out = tmp_path_factory.mktemp("cgn_default")
    report = run_prepare(
        CGN, out, components=COMPONENTS, valid_fraction=0.25, test_fraction=0.25, seed=1
    )
    return out, report


@pytest.fixture(scope="module")
def list_run(tmp_path_factory):
    """The preparation with the fixture's test list (run once per module)."""
    out = tmp_path_factory.mktemp("cgn_list")
    report = run_prepare(
        CGN, out, components=COMPONENTS, test_list=CGN / "test_list.txt", valid_fraction=0.3
    )
    return out, report


# --------------------------------------------------------------------------
# Whole runs
# --------------------------------------------------------------------------


def test_rows_are_exact(default_run):
    out, _ = default_run
    rows = {}
    for name in ("train", "valid", "test"):
        split_rows = read_rows(out / f"{name}.csv")
        assert split_rows, f"{name}.csv is empty"
        rows.update(split_rows)
    assert rows == {key: (*value, "") for key, value in EXPECTED.items()}


def test_drop_counts_in_report(default_run):
    out, report = default_run
    assert report == json.loads((out / "prepare_report.json").read_text(encoding="utf-8"))
    assert report["dropped_files"] == EXPECTED_FILE_DROPS
    assert report["dropped_utterances"] == EXPECTED_UTTERANCE_DROPS
    assert report["text_statistics"] == EXPECTED_TEXT_STATS
    assert report["unknown_speaker_tiers"] == {"UNKNOWN": 1}
    assert report["recordings_read"] == 7
    assert report["recordings_used"] == 3
    assert report["converted_recordings"] == 0
    problems = report["problem_files"]
    assert Path(problems["truncated_gzip"][0]).name == "fv700002.ort.gz"
    assert Path(problems["bad_textgrid"][0]).name == "fv700003.ort.gz"
    assert Path(problems["gzip_error"][0]).name == "fv700004.ort.gz"
    assert Path(problems["missing_wav"][0]).name == "fv800001.ort.gz"
    assert sum(split["utterances"] for split in report["splits"].values()) == len(EXPECTED)


def test_speaker_split_is_disjoint(default_run):
    out, report = default_run
    speakers = split_speakers(out)
    assert speakers["train"] and speakers["valid"] and speakers["test"]
    assert not speakers["train"] & speakers["valid"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["valid"] & speakers["test"]
    assert set().union(*speakers.values()) == {"V01001", "V01002", "V01003", "V01004"}
    for name in speakers:
        assert report["splits"][name]["speakers"] == len(speakers[name])


def test_speaker_split_is_seeded(tmp_path, default_run):
    out, _ = default_run
    run_prepare(
        CGN, tmp_path, components=COMPONENTS, valid_fraction=0.25, test_fraction=0.25, seed=1
    )
    for name in ("train", "valid", "test"):
        assert (tmp_path / f"{name}.csv").read_text() == (out / f"{name}.csv").read_text()


def test_manifests_pass_read_manifest(default_run, list_run):
    for out, _ in (default_run, list_run):
        for name in ("train", "valid", "test"):
            rows = read_manifest(out / f"{name}.csv", check_audio=True)
            assert all(row["verbatim"] and not row["subtitle"] for row in rows.values())


def test_latin1_annotations():
    raw = gzip.decompress((CGN / "data/annot/text/ort/comp-a/vl/fv600001.ort.gz").read_bytes())
    assert "één café".encode("latin-1") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "één café" in decode_annotation(raw)
    assert decode_annotation("Ëlla".encode("utf-16")) == "Ëlla"


def test_test_list(list_run):
    out, report = list_run
    assert read_rows(out / "test.csv") == {
        key: (*value, "") for key, value in EXPECTED.items() if key.startswith("fv700001")
    }
    assert report["test_list_missing"] == ["fv999999"]
    speakers = split_speakers(out)
    assert speakers["test"] == {"V01004"}
    assert speakers["valid"] and not speakers["valid"] & speakers["train"]
    assert speakers["train"] | speakers["valid"] == {"V01001", "V01002", "V01003"}
    assert report["settings"]["test_fraction"] is None


@pytest.mark.parametrize("policy", ["keep", "drop"])
def test_test_speakers_elsewhere(tmp_path, policy):
    test_list = tmp_path / "list.txt"
    test_list.write_text("fv600002.ort.gz  # V01002 is also in fv600001\n")
    out = tmp_path / "out"
    report = run_prepare(
        CGN,
        out,
        components=COMPONENTS,
        test_list=test_list,
        valid_fraction=0.2,
        test_speakers=policy,
    )
    assert set(read_rows(out / "test.csv")) == {
        "fv600002_V01002_0000300_0001000",
        "fv600002_V01003_0001000_0001800",
    }
    speakers = split_speakers(out)
    assert not speakers["valid"] & {"V01002", "V01003"}
    if policy == "keep":
        assert "V01002" in speakers["train"]
        assert report["text_statistics"]["train_utterances_of_test_speakers"] == 2
    else:
        assert not (speakers["train"] | speakers["valid"]) & {"V01002", "V01003"}
        assert report["dropped_utterances"]["test_speaker_elsewhere"] == 2


def test_max_duration_and_zero_fractions(tmp_path):
    report = run_prepare(
        CGN,
        tmp_path,
        components=COMPONENTS,
        valid_fraction=0,
        test_fraction=0,
        max_duration=0.55,
    )
    assert report["dropped_utterances"]["too_long"] == 5
    assert set(read_rows(tmp_path / "train.csv")) == {
        "fv600001_V01001_0000100_0000600",
        "fv600001_V01001_0000900_0001400",
        "fv600001_V01002_0001500_0001900",
    }
    assert not (tmp_path / "valid.csv").exists()
    assert not (tmp_path / "test.csv").exists()
    assert report["splits"]["valid"]["written"] is False


def test_drop_overlapping_and_unintelligible(tmp_path):
    report = run_prepare(
        CGN,
        tmp_path,
        components=COMPONENTS,
        valid_fraction=0,
        test_fraction=0,
        drop_overlapping=True,
        unintelligible="drop-utterance",
    )
    dropped = report["dropped_utterances"]
    assert dropped["overlapping_speech"] == 2
    assert dropped["unintelligible"] == 1
    assert set(read_rows(tmp_path / "train.csv")) == set(EXPECTED) - {
        "fv600001_V01001_0000100_0000600",  # overlaps V01002 0.2-0.8
        "fv600001_V01002_0000200_0000800",
        "fv600001_V01001_0000900_0001400",  # holds an xxx
    }


def test_non_16k_wav_is_converted(tmp_path):
    root = tmp_path / "cgn"
    shutil.copytree(CGN, root)
    wav = root / "data/audio/wav/comp-k/vl/fv700001.wav"
    sf.write(str(wav), np.zeros((16000, 2)), 8000)  # 2 s, 8 kHz stereo
    out = tmp_path / "out"
    report = run_prepare(
        root, out, components="k", valid_fraction=0, test_fraction=0, resampler="python"
    )
    assert report["converted_recordings"] == 1
    rows = read_manifest(out / "train.csv", check_audio=True)
    assert {row["wav"] for row in rows.values()} == {str(out / "audio" / "fv700001.wav")}
    assert sf.info(str(out / "audio" / "fv700001.wav")).frames == 32000


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_empty_result_is_an_error(tmp_path, capsys):
    with pytest.raises(PreparationError, match="no usable utterance"):
        run_prepare(CGN, tmp_path, components="o")
    report = json.loads((tmp_path / "prepare_report.json").read_text())
    assert report["dropped_files"] == {"missing_wav": 1}
    assert not (tmp_path / "train.csv").exists()
    status = prepare_cgn.main(
        ["--cgn-root", str(CGN), "--out", str(tmp_path / "cli"), "--components", "o,e"]
    )
    assert status == 1
    assert "no usable utterance" in capsys.readouterr().err


def test_empty_split_is_an_error(tmp_path):
    # Component k has a single speaker: it cannot fill train and valid.
    with pytest.raises(PreparationError, match=r"split\(s\) train would be empty"):
        run_prepare(CGN, tmp_path, components="k", valid_fraction=0.1, test_fraction=0)


def test_bad_arguments(tmp_path):
    with pytest.raises(PreparationError, match="data/annot"):
        run_prepare(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(ValueError, match="component"):
        run_prepare(CGN, tmp_path, components="a,z")
    with pytest.raises(ValueError, match="training"):
        run_prepare(CGN, tmp_path, valid_fraction=0.5, test_fraction=0.5)


def test_cli_runs_as_a_script(tmp_path):
    script = RECIPE / "prepare_cgn.py"
    result = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=True
    )
    assert "--test-list" in result.stdout and "--max-duration" in result.stdout
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--cgn-root",
            str(CGN),
            "--out",
            str(tmp_path),
            "--components",
            COMPONENTS,
            "--test-list",
            str(CGN / "test_list.txt"),
            "--valid-fraction",
            "0.3",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "truncated_gzip" in result.stderr  # the drop counts are logged
    assert len(read_rows(tmp_path / "test.csv")) == 2


# --------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, policy, expected",
    [
        ("Ja ggg dat*n is goed .", "remove", ("ja dat is goed", "ok")),
        ("da's z'n zee-egel ver- ?", "remove", ("da's z'n zee-egel ver", "ok")),
        ("xxx hij komt *", "remove", ("hij komt", "ok")),
        ("xxx hij komt", "keep", ("xxx hij komt", "ok")),
        ("xxx hij komt", "drop-utterance", ("", "unintelligible")),
        ("xxx xxx", "keep", ("", "only_markers")),
        ("ggg", "remove", ("", "only_markers")),
        ("... ?", "remove", ("", "empty")),
        ("Één*v KEER", "remove", ("één keer", "ok")),
    ],
)
def test_normalize_text(text, policy, expected):
    assert normalize_text(text, policy) == expected


def test_classify_tier():
    assert classify_tier("N01011") == "speaker"
    assert classify_tier("v40021") == "speaker"
    assert classify_tier("unknown") == "unknown"
    assert classify_tier("Comment") == "non_speaker"
    assert classify_tier("BACKGROUND") == "non_speaker"
    assert classify_tier("") == "unknown"


def test_short_format_textgrid():
    grid = '"ooTextFile short"\n"TextGrid"\n0\n2\n<exists>\n1\n"IntervalTier"\n"V1234"\n0\n2\n2\n'
    grid += '0\n1.5\n"ja"\n1.5\n2\n""\n'
    assert parse_textgrid(grid) == [("IntervalTier", "V1234", [(0.0, 1.5, "ja"), (1.5, 2.0, "")])]


def test_speaker_split_respects_train_only():
    durations = {f"s{i}": 1.0 for i in range(10)}
    split = speaker_split(durations, {"valid": 0.5}, seed=3, train_only={"s0", "s1"})
    assert split["s0"] == split["s1"] == "train"
    assert sum(value == "valid" for value in split.values()) == 5


def test_read_test_list(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# comment\n\nfv1.wav\ncomp-a/vl/fv2.ort.gz extra\nfv1\n fv3 \n")
    assert read_test_list(path) == ["fv1", "fv2", "fv3"]


def test_docstring_examples():
    for module in (prepare_cgn, prepare_common):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
