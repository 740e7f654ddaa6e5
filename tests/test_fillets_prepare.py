"""The real-Dutch recipe's preparation (recipes/FishFilletsNL/prepare_fillets.py).

Runs on the Debian packages ``fillets-ng-data-nl`` + ``fillets-ng-data``
(installed by scripts/setup.sh; GPL-2, read in place, never committed).
"""

import csv
import hashlib
import subprocess
import sys

import pytest
import soundfile as sf
from conftest import FILLETS_RECIPE, ROOT

sys.path.insert(0, str(FILLETS_RECIPE))
sys.path.insert(0, str(ROOT / "recipes" / "CGN_subtitles"))

from prepare_fillets import (  # noqa: E402
    PreparationError,
    clip_speaker,
    level_split,
    parse_dialogs,
    prepare,
    split_hash,
)

from speechbrain_subtitle.data import read_manifest  # noqa: E402

#: SHA-256 of the split (one "<level> <split>" line per level, sorted) of the 80
#: levels of fillets-ng-data-nl 1.0.1: a changed rule or level list changes it.
SPLIT_SHA256 = "82deac9250e115a2c7edc5b0d1a279c6f2a105fbbbb0f1f60fd004c5d809a08d"


def _rows(folder, split):
    with open(folder / f"{split}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_split_rule_is_the_first_hex_digit_of_sha256():
    for level in ("airplane", "bathroom", "cancan", "wreck", "ending"):
        digit = hashlib.sha256(level.encode()).hexdigest()[0]
        expected = "test" if digit in "01" else "dev" if digit == "2" else "train"
        assert level_split(level) == expected
    assert split_hash(["b", "a"]) == split_hash(["a", "b"]) != split_hash(["a", "c"])


def test_split_sizes_hash_and_voices(fillets_nl):
    folder, report = fillets_nl
    assert report["levels"] == 80 and report["clips_found"] == 1529
    assert report["split_sha256"] == SPLIT_SHA256
    splits = report["splits"]
    assert (splits["train"]["clips"], splits["dev"]["clips"], splits["test"]["clips"]) == (
        1110,
        205,
        211,
    )
    # about 65 / 12 / 14 minutes
    assert 60 < splits["train"]["minutes"] < 70
    assert 10 < splits["dev"]["minutes"] < 14
    assert 12 < splits["test"]["minutes"] < 16
    levels = [set(splits[s]["levels"]) for s in ("train", "dev", "test")]
    assert not (levels[0] & levels[1] or levels[0] & levels[2] or levels[1] & levels[2])
    for split in ("train", "dev", "test"):
        rows = _rows(folder, split)
        assert len(rows) == splits[split]["clips"]
        assert {r["level"] for r in rows} == set(splits[split]["levels"])
        assert all(level_split(r["level"]) == split for r in rows)
        # both main voices in every split, with minutes of speech each
        for speaker in ("m", "v"):
            assert splits[split]["minutes_per_speaker"][speaker] > 4
    # every clip is either in a split or counted as skipped, with its reason
    written = sum(splits[s]["clips"] for s in splits)
    assert written + sum(report["skipped"].values()) == report["clips_found"]
    assert report["skipped"] == {
        "empty_text": 0,
        "no_script_line": 1,
        "too_long": 0,
        "unreadable": 2,
    }
    assert sorted(report["skipped_clips"]["unreadable"]) == [
        "elevator1/zd1-m-cesta",
        "gems/zav-v-sto",
    ]
    assert report["clips_outside_levels"] == 87


def test_manifests_load_and_texts_follow_the_script(fillets_nl):
    folder, _ = fillets_nl
    rows = read_manifest(folder / "test.csv")
    assert len(rows) == 211
    row = (
        rows["bathroom__br-v-komfort"]
        if "bathroom__br-v-komfort" in rows
        else next(iter(rows.values()))
    )
    info = sf.info(row["wav"])
    assert (info.samplerate, info.channels) == (16000, 1)
    assert abs(info.frames / 16000 - row["duration"]) < 0.002
    raw = {r["ID"]: r for r in _rows(folder, "test")}
    for row_id, row in rows.items():
        assert row["subtitle"] and row["verbatim"]
        assert row["verbatim"] == row["verbatim"].lower()
        assert not any(ch in row["verbatim"] for ch in '.,!?"')
        level, clip = row_id.split("__")
        assert raw[row_id]["source"].endswith(f"/sound/{level}/nl/{clip}.ogg")
    # no empty wav is left behind for an unreadable clip
    assert not (folder / "wavs" / "gems" / "zav-v-sto.wav").exists()


def test_parse_dialogs_handles_lua_escapes_and_missing_lines():
    script = (
        'dialogId("a-m-x", "font_small", "One")\n'
        'dialogStr("Naar \\/etc, zei \\"hij\\".\\nKlaar")\n'
        'dialogId("a-v-y", "font_big", "No Dutch")\n'
        'dialogId("help1", "font_big", "Three")\n'
        'dialogStr("  Drie   spaties ")\n'
    )
    lines = parse_dialogs(script)
    assert lines == {
        "a-m-x": ("font_small", 'Naar /etc, zei "hij". Klaar'),
        "help1": ("font_big", "Drie spaties"),
    }
    assert clip_speaker("a-m-x") == "m" and clip_speaker("help1", "font_big") == "v"
    assert clip_speaker("kor-0-kuk") == "0" and clip_speaker("help2", "font_x") == "unknown"


def test_missing_packages_are_a_clear_error_with_the_apt_command(tmp_path):
    with pytest.raises(
        PreparationError, match="apt-get install fillets-ng-data-nl fillets-ng-data"
    ):
        prepare(tmp_path / "out", root=tmp_path / "nothing", progress=False)
    result = subprocess.run(
        [
            sys.executable,
            str(FILLETS_RECIPE / "prepare_fillets.py"),
            "--out",
            str(tmp_path / "o"),
            "--root",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "apt-get install" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_level_without_script_counts_its_clips_as_skipped(tmp_path):
    import numpy as np

    root = tmp_path / "game"
    (root / "sound" / "lvl" / "nl").mkdir(parents=True)
    (root / "sound" / "lvl2" / "nl").mkdir(parents=True)
    (root / "script" / "lvl2").mkdir(parents=True)
    tone = 0.1 * np.sin(np.linspace(0, 800, 22050 * 2))
    sf.write(root / "sound" / "lvl" / "nl" / "a-m-x.ogg", tone, 22050)
    sf.write(root / "sound" / "lvl2" / "nl" / "b-v-y.ogg", tone, 22050)
    sf.write(root / "sound" / "lvl2" / "nl" / "b-v-long.ogg", np.tile(tone, 20), 22050)
    (root / "script" / "lvl2" / "dialogs_nl.lua").write_text(
        'dialogId("b-v-y", "font_big", "x")\ndialogStr("Ja, 2 vissen!")\n'
        'dialogId("b-v-long", "font_big", "x")\ndialogStr("Lang.")\n',
        encoding="utf-8",
    )
    report = prepare(tmp_path / "out", root=root, progress=False, max_duration=30)
    assert report["skipped"]["no_script_line"] == 1
    assert report["skipped"]["too_long"] == 1
    rows = [r for s in ("train", "dev", "test") for r in _rows(tmp_path / "out", s)]
    assert [(r["ID"], r["verbatim"], r["subtitle"], r["speaker"]) for r in rows] == [
        ("lvl2__b-v-y", "ja twee vissen", "Ja, 2 vissen!", "v")
    ]


def test_doctests():
    import doctest

    import prepare_fillets

    result = doctest.testmod(prepare_fillets)
    assert result.attempted > 0 and result.failed == 0
