"""End-to-end training through ``speechbrain_subtitle.train``: the tiny recipe,
mid-epoch checkpoint recovery, a 2-process DDP run and bad-input errors."""

import csv
import os
import pathlib
import subprocess
import sys

import pytest
from conftest import FIXTURES, HPARAMS, ROOT

from speechbrain_subtitle import train
from speechbrain_subtitle.brain import SubtitleBrain
from speechbrain_subtitle.data import ManifestError

TINY = str(HPARAMS / "train_tiny.yaml")


def _argv(out, *extra, device="cpu"):
    return [TINY, f"--output_folder={out}", f"--device={device}", *extra]


def test_tiny_recipe_trains_and_evaluates(tmp_path, device):
    out = tmp_path / "run"
    brain = train.main(_argv(out, "--number_of_epochs=60", device=device))
    log = (out / "train_log.txt").read_text()
    assert "epoch: 60" in log
    # The tiny C8 model learns its six training utterances (both texts).
    stats = brain.last_stats
    assert stats["WER_verbatim"] <= 10.0 and stats["WER_subtitle"] <= 10.0, stats
    assert (out / "test_tiny" / "wer_subtitle.txt").is_file()
    assert (out / "save" / "tokenizer.model").is_file()


class _Interrupt(Exception):
    pass


_ORIGINAL_FIT_BATCH = SubtitleBrain.fit_batch


def _recording_fit_batch(record, stop_at_step=None):
    original = _ORIGINAL_FIT_BATCH

    def fit_batch(self, batch):
        if stop_at_step is not None and self.step == stop_at_step:
            raise _Interrupt()
        record.append((self.hparams.epoch_counter.current, self.step, tuple(batch.id)))
        return original(self, batch)

    return fit_batch


def test_mid_epoch_checkpoint_recovery(tmp_path, monkeypatch, device):
    # 5 verbatim rows + 1 subtitle row, batch 2 (1 + 1): 5 batches per epoch.
    args = ["--number_of_epochs=2", "--batch_size=2", "--ckpt_interval_steps=2", "--test_csvs=[]"]
    reference = []
    monkeypatch.setattr(SubtitleBrain, "fit_batch", _recording_fit_batch(reference))
    train.main(_argv(tmp_path / "reference", *args, device=device))
    assert [r[1] for r in reference if r[0] == 1] == [1, 2, 3, 4, 5]

    out = tmp_path / "interrupted"
    first = []
    monkeypatch.setattr(SubtitleBrain, "fit_batch", _recording_fit_batch(first, stop_at_step=4))
    with pytest.raises(_Interrupt):
        train.main(_argv(out, *args, device=device))
    assert [r[1] for r in first] == [1, 2, 3]  # steps 1-3 ran; a checkpoint followed step 2

    resumed = []
    monkeypatch.setattr(SubtitleBrain, "fit_batch", _recording_fit_batch(resumed))
    train.main(_argv(out, *args, device=device))
    # Training continues in epoch 1 with step 3, the very batch that came third.
    assert resumed[0][:2] == (1, 3)
    assert [r[2] for r in resumed] == [r[2] for r in reference[2:]]


def _gloo_available():
    import torch.distributed

    return torch.distributed.is_available() and torch.distributed.is_gloo_available()


@pytest.mark.skipif(not _gloo_available(), reason="needs torch.distributed with the gloo backend")
def test_ddp_two_processes_train(tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "speechbrain_subtitle.train", TINY, f"--output_folder={out}",
        "--distributed_backend=gloo", "--number_of_epochs=2", "--batch_size=2", "--test_csvs=[]",
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    log = (out / "train_log.txt").read_text()
    assert "epoch: 2" in log and "nan" not in log.lower()


def _write_manifest(
    path, rows, header=("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle")
):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def test_bad_manifest_fails_before_training_with_the_row_named(tmp_path):
    wav = FIXTURES / "wavs" / "utt1.wav"
    bad = _write_manifest(
        tmp_path / "bad.csv",
        [
            ["a", "1.3", str(wav), "", "", "x", ""],
            ["b", "1.0", str(tmp_path / "gone.wav"), "", "", "y", ""],
        ],
    )
    with pytest.raises(ManifestError, match=r"gone\.wav") as err:
        train.main(_argv(tmp_path / "run", f"--train_csv={bad}"))
    assert "b" in str(err.value)
    missing = _write_manifest(
        tmp_path / "cols.csv", [["a", "1.3", str(wav)]], header=("ID", "duration", "wav")
    )
    with pytest.raises(ManifestError, match="verbatim"):
        train.main(_argv(tmp_path / "run2", f"--train_csv={missing}"))
    assert not (tmp_path / "run" / "save" / "tokenizer.model").exists()


def test_unknown_architecture_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        train.main(_argv(tmp_path / "run", f"--architecture={pathlib.Path('nope.yaml')}"))


def test_bf16_autocast_training_runs(tmp_path):
    out = tmp_path / "bf16"
    train.main(_argv(out, "--precision=bf16", "--number_of_epochs=4", "--test_csvs=[]"))
    lines = [
        line for line in (out / "train_log.txt").read_text().splitlines() if "train loss" in line
    ]
    losses = [float(line.split("train loss: ")[1].split(" ")[0]) for line in lines]
    assert len(losses) == 4 and all(loss == loss for loss in losses)  # no NaN
    assert losses[-1] < losses[0]
