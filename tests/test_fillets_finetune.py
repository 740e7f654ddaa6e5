"""Fine-tuning an exported model on a folder of one's own clips (recipes/FishFilletsNL).

The clips are copied from the installed Fish Fillets NG data (GPL-2, never
committed) into a temporary folder, as a user's own folder would be laid out.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import FILLETS_RECIPE, ROOT

sys.path.insert(0, str(FILLETS_RECIPE))
sys.path.insert(0, str(ROOT / "recipes" / "CGN_subtitles"))

from prepare_folder import PreparationError, clip_split, prepare_folder  # noqa: E402

DEMO = ROOT / "models" / "synthetic-nl-c8-demo"


def _user_folder(fillets_nl, tmp_path, count=8):
    """A folder of ``count`` real clips (original OGG files) with .txt files, in subfolders."""
    folder, _ = fillets_nl
    with open(folder / "train.csv", newline="", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["duration"]))[100 : 100 + count]
    clips = tmp_path / "my_clips"
    for k, row in enumerate(rows):
        target = clips / f"episode{k % 2}" / f"clip{k:02d}.ogg"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["source"], target)
        target.with_suffix(".txt").write_text(row["subtitle"] + "\n", encoding="utf-8")
    return clips, rows


def test_prepare_folder_splits_texts_and_skips(fillets_nl, tmp_path):
    clips, rows = _user_folder(fillets_nl, tmp_path)
    sf.write(clips / "no_text.wav", np.zeros(16000), 16000)
    sf.write(clips / "empty.wav", np.zeros(16000), 16000)
    (clips / "empty.txt").write_text(" ...\n", encoding="utf-8")
    (clips / "broken.wav").write_bytes(b"not audio at all")
    (clips / "broken.txt").write_text("Hallo.", encoding="utf-8")
    before = sorted(p.name for p in clips.rglob("*"))

    report = prepare_folder(clips, tmp_path / "mine", dev_digits=8)
    assert report["skipped"] == {"no_text": 1, "empty_text": 1, "unreadable": 1, "too_long": 0}
    assert report["skipped_clips"]["unreadable"] == ["broken.wav"]
    assert sorted(p.name for p in clips.rglob("*")) == before  # the user's folder is untouched
    written = {}
    for split in ("train", "dev"):
        with open(tmp_path / "mine" / f"{split}.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                assert clip_split(row["source"], 8) == split
                written[row["source"]] = row
    assert len(written) == len(rows) == sum(s["clips"] for s in report["splits"].values())
    for k, row in enumerate(rows):
        mine = written[f"episode{k % 2}/clip{k:02d}.ogg"]
        assert mine["subtitle"] == row["subtitle"] and mine["verbatim"] == row["verbatim"]
        info = sf.info(mine["wav"])
        assert (info.samplerate, info.channels) == (16000, 1)

    only = prepare_folder(clips, tmp_path / "subs", texts="subtitle-only", dev_digits=8)
    with open(tmp_path / "subs" / "train.csv", newline="", encoding="utf-8") as f:
        train = list(csv.DictReader(f))
    assert only["splits"]["train"]["clips"] == len(train) > 0
    assert all(r["verbatim"] == "" and r["subtitle"] for r in train)

    with pytest.raises(PreparationError, match="must not be inside"):
        prepare_folder(clips, clips / "out")
    (tmp_path / "silent").mkdir()
    (tmp_path / "silent" / "a.txt").write_text("Hallo.", encoding="utf-8")
    with pytest.raises(PreparationError, match="no audio file"):
        prepare_folder(tmp_path / "silent", tmp_path / "x")
    with pytest.raises(PreparationError, match="no such folder"):
        prepare_folder(tmp_path / "nothing", tmp_path / "x")


def test_walkthrough_fine_tunes_the_demo_on_a_folder_and_exports(fillets_nl, tmp_path):
    """The recipe README's commands, on 8 real clips and one short epoch."""
    clips, _ = _user_folder(fillets_nl, tmp_path)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    py = sys.executable
    run = subprocess.run(
        [
            py,
            str(FILLETS_RECIPE / "prepare_folder.py"),
            "--clips",
            str(clips),
            "--out",
            str(tmp_path / "mine"),
            "--dev-digits",
            "8",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "train:" in run.stdout and "dev:" in run.stdout
    work = tmp_path / "work"
    run = subprocess.run(
        [
            py,
            str(FILLETS_RECIPE / "train.py"),
            str(FILLETS_RECIPE / "hparams" / "finetune_demo.yaml"),
            f"--data_folder={tmp_path / 'mine'}",
            f"--pretrained_path={DEMO}",
            f"--output_folder={work}",
            "--test_csvs=[]",
            "--number_of_epochs=1",
            "--max_train_minutes=null",
            "--batch_size=4",
            "--valid_batch_size=4",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with open(work / "train_mixed.csv", newline="", encoding="utf-8") as f:
        assert {r["source"] for r in csv.DictReader(f)} == {"fillets"}  # no synthetic_folder
    assert "train loss" in (work / "train_log.txt").read_text()
    cli = os.path.join(os.path.dirname(py), "speechbrain-subtitle")
    run = subprocess.run(
        [cli, "export", "--experiment", str(work), "--out", str(tmp_path / "export"), "--half"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    config = json.loads((tmp_path / "export" / "config.json").read_text())
    assert config["speechbrain_interface"] == "SubtitleASR"
    # the fine-tuned model keeps the demo's tokenizer (the same token ids)
    assert (tmp_path / "export" / "tokenizer.ckpt").read_bytes() == (
        DEMO / "tokenizer.ckpt"
    ).read_bytes()
    from speechbrain_subtitle.inference import SubtitleASR

    asr = SubtitleASR.from_hparams(source=str(tmp_path / "export"), savedir=str(tmp_path / "sd"))
    result = asr.transcribe_file(str(next(clips.rglob("*.ogg"))))
    assert isinstance(result.verbatim, str) and isinstance(result.subtitle, str)
