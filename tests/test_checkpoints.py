"""Crash-safe checkpoints: a kill while a checkpoint is written never blocks resuming."""

import logging
import signal
import subprocess
import sys

import torch
from conftest import HPARAMS, ROOT
from speechbrain.utils.checkpoints import Checkpointer
from test_training import _argv, _recording_fit_batch

from speechbrain_subtitle import train
from speechbrain_subtitle.brain import SubtitleBrain
from speechbrain_subtitle.checkpoints import PENDING_META, SafeCheckpointer

# Runs a training and kills itself (SIGKILL) in the middle of writing the
# N-th model.ckpt: half of the file is on disk, nothing else happens after.
DYING_TRAINER = """
import io, os, signal, sys
import torch
from speechbrain_subtitle import train

real_save, count = torch.save, [0]

def dying_save(obj, f, *args, **kwargs):
    if str(f).endswith("model.ckpt"):
        count[0] += 1
        if count[0] == int(os.environ["DIE_AT_SAVE"]):
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            with open(f, "wb") as out:
                out.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, f, *args, **kwargs)

torch.save = dying_save
train.main(sys.argv[1:])
"""


def test_kill_during_checkpoint_write_then_resume_to_the_same_end(tmp_path, monkeypatch):
    args = ["--number_of_epochs=2", "--batch_size=2", "--ckpt_interval_steps=2", "--test_csvs=[]"]
    reference = []
    monkeypatch.setattr(SubtitleBrain, "fit_batch", _recording_fit_batch(reference))
    train.main(_argv(tmp_path / "reference", *args))

    out = tmp_path / "killed"
    script = tmp_path / "dying_trainer.py"
    script.write_text(DYING_TRAINER)
    env = {
        "DIE_AT_SAVE": "2",
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, str(script), *_argv(out, *args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    unfinished = [p.parent for p in (out / "save").glob(f"CKPT*/{PENDING_META}")]
    assert len(unfinished) == 1  # the second checkpoint died half-written
    assert (unfinished[0] / "model.ckpt").stat().st_size > 0

    resumed = []
    monkeypatch.setattr(SubtitleBrain, "fit_batch", _recording_fit_batch(resumed))
    train.main(_argv(out, *args))
    # The first checkpoint (after step 2) is used: training goes on with step 3
    # and ends where the uninterrupted run ended, on the same batches.
    assert resumed[0][:2] == (1, 3)
    assert [r[2] for r in resumed] == [r[2] for r in reference[2:]]
    assert resumed[-1][:2] == reference[-1][:2]
    assert not unfinished[0].exists()  # the unfinished folder was cleaned up


def _save_two(folder, checkpointer_class):
    model = torch.nn.Linear(3, 2)
    checkpointer = checkpointer_class(folder, recoverables={"model": model})
    with torch.no_grad():
        model.weight.fill_(1.0)
    first = checkpointer.save_checkpoint(meta={"n": 1})
    with torch.no_grad():
        model.weight.fill_(2.0)
    second = checkpointer.save_checkpoint(meta={"n": 2})
    return first, second


def test_stock_checkpoint_with_a_truncated_file_is_skipped_with_a_warning(tmp_path, caplog):
    """A checkpoint written by SpeechBrain's own checkpointer and cut short:
    the stock recovery would pick it and crash; ours warns and uses the first."""
    _, second = _save_two(tmp_path, Checkpointer)
    data = second.paramfiles["model"].read_bytes()
    second.paramfiles["model"].write_bytes(data[: len(data) // 3])
    model = torch.nn.Linear(3, 2)
    checkpointer = SafeCheckpointer(tmp_path, recoverables={"model": model})
    with caplog.at_level(logging.WARNING):
        checkpoint = checkpointer.recover_if_possible()
    assert checkpoint.meta["n"] == 1
    assert float(model.weight[0, 0]) == 1.0
    assert "Skipping damaged checkpoint" in caplog.text and "truncated file" in caplog.text


def test_empty_parameter_file_is_skipped(tmp_path, caplog):
    _, second = _save_two(tmp_path, SafeCheckpointer)
    second.paramfiles["model"].write_bytes(b"")
    checkpointer = SafeCheckpointer(tmp_path, recoverables={"model": torch.nn.Linear(3, 2)})
    with caplog.at_level(logging.WARNING):
        assert checkpointer.find_checkpoint().meta["n"] == 1
    assert "empty file" in caplog.text


def test_published_checkpoints_have_no_pending_meta(tmp_path):
    first, second = _save_two(tmp_path, SafeCheckpointer)
    for checkpoint in (first, second):
        assert (checkpoint.path / "CKPT.yaml").is_file()
        assert not (checkpoint.path / PENDING_META).exists()
    assert len(SafeCheckpointer(tmp_path).list_checkpoints()) == 2


def test_training_yaml_uses_the_safe_checkpointer():
    assert (
        "speechbrain_subtitle.checkpoints.SafeCheckpointer" in (HPARAMS / "train.yaml").read_text()
    )
