"""Pretrained interface, export, strict loading and push, on a trained tiny C8 model."""

import copy
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import ruamel.yaml
import soundfile as sf
import torch
from conftest import FIXTURES, HPARAMS, ROOT
from hyperpyyaml import load_hyperpyyaml

from speechbrain_subtitle import train
from speechbrain_subtitle.cli import main as cli_main
from speechbrain_subtitle.decoding import DecodingOptions, decode
from speechbrain_subtitle.hub import ModelLoadError, export_model, push_folder
from speechbrain_subtitle.inference import SubtitleASR
from speechbrain_subtitle.tokenizer import ids_to_text, load_tokenizer

IDS = ["utt1", "utt2", "utt3", "utt4"]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "tiny_c8"
    train.main(
        [str(HPARAMS / "train_tiny.yaml"), f"--output_folder={out}", "--number_of_epochs=60"]
    )
    return out


@pytest.fixture(scope="module")
def exported(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "model"
    return export_model(
        experiment, out, average=2, datasets=["tiny-synthetic"], data_note="Synthetic."
    )


@pytest.fixture(scope="module")
def asr(exported, tmp_path_factory):
    return SubtitleASR.from_hparams(
        source=str(exported), savedir=str(tmp_path_factory.mktemp("sd"))
    )


def _wavs(ids):
    wavs = [
        torch.from_numpy(sf.read(FIXTURES / "wavs" / f"{i}.wav", dtype="float32")[0]) for i in ids
    ]
    lengths = torch.tensor([len(w) for w in wavs], dtype=torch.float)
    batch = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    return batch, lengths / lengths.max()


def _training_model_outputs(experiment, options):
    """Decodes with the model rebuilt from the experiment's own files (no export)."""
    with open(experiment / "hyperparams.yaml") as f:
        hp = load_hyperpyyaml(f, {"output_folder": str(experiment)})
    ckpts = hp["checkpointer"]
    ckpts.recover_if_possible(max_key="ACC")
    from speechbrain.utils.checkpoints import average_checkpoints

    found = ckpts.find_checkpoints(max_key="ACC", max_num_checkpoints=2)
    hp["model"].load_state_dict(average_checkpoints(found, "model"))
    model, norm = hp["model"].eval(), hp["normalize"].eval()
    tokenizer = load_tokenizer(experiment / "save" / "tokenizer.model")
    wavs, lens = _wavs(IDS)
    with torch.no_grad():
        feats = norm(hp["compute_features"](wavs), lens)
        hyps = decode(model, model.encode(feats, lens), options=options)
    return {task: [ids_to_text(tokenizer, h) for h in rows] for task, (rows, _) in hyps.items()}


def test_exported_folder_layout(exported):
    names = sorted(os.listdir(exported))
    assert names == sorted(
        [
            "README.md",
            "asr.ckpt",
            "config.json",
            "example.wav",
            "hyperparams.yaml",
            "normalizer.ckpt",
            "tokenizer.ckpt",
        ]
    )
    text = (exported / "hyperparams.yaml").read_text()
    assert "paths:" not in text and "checkpointer" not in text and "train_csv" not in text
    config = json.loads((exported / "config.json").read_text())
    assert config["variant"] == "cascaded" and config["averaged_checkpoints"] == 2


def test_round_trip_in_fresh_offline_process_equals_training_model(experiment, exported, tmp_path):
    wav_dir = str(FIXTURES / "wavs")
    script = f"""
import json, torch, soundfile as sf
from speechbrain_subtitle.inference import SubtitleASR
asr = SubtitleASR.from_hparams(source={str(exported)!r}, savedir={str(tmp_path / "sd")!r})
wavs = [sf.read({wav_dir!r} + "/" + i + ".wav", dtype="float32")[0] for i in {IDS!r}]
wavs = [torch.from_numpy(w) for w in wavs]
lens = torch.tensor([len(w) for w in wavs], dtype=torch.float)
batch = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
out = asr.transcribe_batch(batch, lens / lens.max(), beam_size=4)
print(json.dumps({{"verbatim": [r.verbatim for r in out], "subtitle": [r.subtitle for r in out]}}))
"""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    reference = _training_model_outputs(experiment, DecodingOptions(beam_size=4))
    assert loaded == reference
    # and the tiny model did learn its training texts
    rows = [r.split(",") for r in (FIXTURES / "tiny.csv").read_text().splitlines()[1:5]]
    assert loaded["verbatim"] == [r[5] for r in rows]


def test_ctc_head_really_enters_the_search(asr):
    """Through SubtitleASR, the verbatim CTC head's outputs enter the search: at the
    same ctc_weight, a zeroed head (uniform at every frame) gives other scores on
    every row. (Comparing ctc_weight 0 with 0.5 alone proves nothing: weighting
    the decoder by 0.5 changes the scores by itself.) That CTC changes the
    *chosen* hypothesis, and that an uninformative head gives the decoder's choice
    back, is shown on a constructed case in test_search_and_training_details.py."""
    wavs, lens = _wavs(IDS)
    kwargs = dict(tasks=("verbatim",), beam_size=3)
    without = asr.transcribe_batch(wavs, lens, ctc_weight=0.0, **kwargs)
    with_ctc = asr.transcribe_batch(wavs, lens, ctc_weight=0.5, **kwargs)
    assert [r.verbatim for r in without] == [r.verbatim for r in with_ctc]  # both right
    zeroed = copy.deepcopy(asr.model.ctc_head)
    with torch.no_grad():
        for p in zeroed.parameters():
            p.zero_()
    original = asr.model.ctc_head
    asr.model.ctc_head = zeroed  # the module-scoped model gets its own head back below
    try:
        uniform = asr.transcribe_batch(wavs, lens, ctc_weight=0.5, **kwargs)
    finally:
        asr.model.ctc_head = original
    # (A uniform CTC favours long hypotheses, so the texts may change too.)
    diffs = [abs(a.verbatim_score - b.verbatim_score) for a, b in zip(uniform, with_ctc)]
    assert min(diffs) > 1e-3


def test_subtitle_only_task_skips_the_verbatim_decoder(asr, monkeypatch):
    calls = []
    cls = type(asr.model.verbatim_decoder)

    def spy(original):
        def run(self, *args, **kwargs):
            calls.append(self is asr.model.verbatim_decoder)
            return original(self, *args, **kwargs)

        return run

    # the cached search calls step(); the reference path hidden_states()
    for name in ("hidden_states", "step"):
        monkeypatch.setattr(cls, name, spy(getattr(cls, name)))
    result = asr.transcribe_file(str(FIXTURES / "wavs" / "utt2.wav"), tasks=("subtitle",))
    assert result.subtitle == "20 procent." and result.verbatim == ""
    assert calls and not any(calls)  # only the subtitle decoder ran


def test_greedy_and_per_call_options(asr):
    path = str(FIXTURES / "wavs" / "utt3.wav")
    greedy = asr.transcribe_file(path, greedy=True)
    beam = asr.transcribe_file(path, beam_size=5)
    assert (greedy.verbatim, greedy.subtitle) == ("zijne gsm is kapot", "Zijn gsm is kapot.")
    assert (beam.verbatim, beam.subtitle) == (greedy.verbatim, greedy.subtitle)
    assert greedy.verbatim_score is None and beam.verbatim_score is not None
    with pytest.raises(TypeError, match="beam_width"):
        asr.transcribe_file(path, beam_width=3)


def test_any_rate_and_channels_are_converted(asr, tmp_path):
    import torchaudio

    data, rate = sf.read(FIXTURES / "wavs" / "utt3.wav", dtype="float32")
    up = torchaudio.functional.resample(torch.from_numpy(data), rate, 44100).numpy()
    stereo = tmp_path / "stereo44k.wav"
    sf.write(stereo, np.stack([up, 0.5 * up], axis=1), 44100)
    loaded = asr.load_audio(str(stereo))
    n = min(len(loaded), len(data))
    original = torch.from_numpy(data[:n]) * 0.75  # the mean of the two channels
    assert abs(len(loaded) - len(data)) <= 1
    assert torch.corrcoef(torch.stack([loaded[:n], original]))[0, 1] > 0.999
    from_file = asr.transcribe_file(str(stereo))
    in_memory = asr.transcribe_batch(loaded.unsqueeze(0))[0]
    assert (from_file.verbatim, from_file.subtitle) == (in_memory.verbatim, in_memory.subtitle)
    assert from_file.subtitle


def test_bad_audio_inputs(asr, tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(ValueError, match="not a readable audio file"):
        asr.transcribe_file(str(text))
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype="float32"), 16000)
    with pytest.raises(ValueError, match="no audio samples"):
        asr.transcribe_file(str(empty))
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        asr.transcribe_file(str(tmp_path / "missing.wav"))
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, dtype="float32"), 16000)
    result = asr.transcribe_file(str(silent))
    assert result.verbatim == "" and result.subtitle == ""


def test_bf16_precision_run_option(exported, tmp_path):
    asr = SubtitleASR.from_hparams(
        source=str(exported), savedir=str(tmp_path), run_opts={"device": "cpu", "precision": "bf16"}
    )
    result = asr.transcribe_file(str(FIXTURES / "wavs" / "utt1.wav"), beam_size=2)
    assert isinstance(result.subtitle, str) and result.verbatim


def test_mismatched_yaml_is_refused_with_the_keys_named(exported, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    hp = broken / "hyperparams.yaml"
    hp.write_text(hp.read_text().replace("num_decoder_layers: 1", "num_decoder_layers: 2"))
    with pytest.raises(ModelLoadError, match=r"missing key\(s\).*decoder\.layers\.1"):
        SubtitleASR.from_hparams(source=str(broken), savedir=str(tmp_path / "sd"))


def test_incomplete_model_folder_names_missing_files(exported, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(exported, partial)
    (partial / "tokenizer.ckpt").unlink()
    with pytest.raises(FileNotFoundError, match="missing tokenizer.ckpt"):
        SubtitleASR.from_hparams(source=str(partial), savedir=str(tmp_path / "sd"))


def test_model_card_header_is_valid_hub_metadata(exported):
    text = (exported / "README.md").read_text()
    assert text.startswith("---\n")
    header = ruamel.yaml.YAML(typ="safe", pure=True).load(text.split("---\n")[1])
    assert header["license"] == "apache-2.0" and header["library_name"] == "speechbrain"
    assert {"speechbrain", "automatic-speech-recognition"} <= set(header["tags"])
    results = header["model-index"][0]["results"]
    names = {r["metrics"][0]["name"]: r["metrics"][0]["value"] for r in results}
    assert names == {"verbatim WER": 0.0, "subtitle WER": 0.0}
    assert "SubtitleASR.from_hparams" in text and "Goedenavond." in text


def test_export_never_overwrites_and_never_leaves_half_folders(experiment, exported, tmp_path):
    with pytest.raises(FileExistsError):
        export_model(experiment, exported)
    empty_exp = tmp_path / "exp"
    shutil.copytree(experiment, empty_exp, ignore=shutil.ignore_patterns("CKPT+*"))
    out = tmp_path / "out"
    with pytest.raises(Exception, match="No checkpoint"):
        export_model(empty_exp, out)
    assert sorted(os.listdir(tmp_path)) == ["exp"]


class _FakeHub:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def test_push_calls_the_hub_client_with_the_right_arguments(exported):
    hub = _FakeHub()
    files = push_folder(exported, "org/tiny", private=True, revision="v1", api=hub)
    assert [c[0] for c in hub.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert hub.calls[0][1] == ("org/tiny",) and hub.calls[0][2]["private"] is True
    assert hub.calls[0][2]["exist_ok"] is True and hub.calls[0][2]["repo_type"] == "model"
    assert hub.calls[1][2]["branch"] == "v1"
    upload = hub.calls[2][2]
    assert upload["folder_path"] == str(exported) and upload["revision"] == "v1"
    assert {name for name, _ in files} >= {"asr.ckpt", "hyperparams.yaml", "README.md"}
    dry = _FakeHub()
    assert push_folder(exported, "org/tiny", dry_run=True, api=dry) == files and dry.calls == []
    with pytest.raises(ValueError, match="org/name"):
        push_folder(exported, "tiny", api=dry)


def test_cli_transcribe_reports_failures_and_continues(exported, tmp_path, capsys):
    good = str(FIXTURES / "wavs" / "utt4.wav")
    gone = str(tmp_path / "gone.wav")
    args = ["transcribe", good, gone, "--model", str(exported), "--json"]
    code = cli_main(args + ["--savedir", str(tmp_path / "sd")])
    out, err = capsys.readouterr()
    assert code == 1 and "gone.wav" in err
    assert json.loads(out.strip().splitlines()[-1])["subtitle"] == "Dat is waar."


def test_cli_help_explains_commands():
    result = subprocess.run(
        [sys.executable, "-m", "speechbrain_subtitle.cli", "export", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0 and "--average" in result.stdout and "--force" in result.stdout


def test_fine_tune_from_exported_model_with_frozen_encoder(exported, tmp_path):
    out = tmp_path / "finetune"
    brain = train.main(
        [str(HPARAMS / "train.yaml"), f"--output_folder={out}",
         f"--train_csv={FIXTURES / 'tiny.csv'}", f"--valid_csv={FIXTURES / 'tiny.csv'}",
         "--test_csvs=[]", f"--pretrained_path={exported}", "--freeze_encoder=True",
         "--number_of_epochs=2", "--batch_size=4", "--grad_accumulation_factor=1",
         "--n_warmup_steps=10", "--lr=0.001", "--num_workers=0", "--fea_augment=null"]
    )  # fmt: skip
    start = torch.load(exported / "asr.ckpt", weights_only=True)
    now = brain.hparams.model.state_dict()
    encoder_keys = [k for k in start if k.startswith("encoder.")]
    decoder_keys = [k for k in start if k.startswith("subtitle_decoder.") and k.endswith("weight")]
    assert all(torch.equal(start[k], now[k]) for k in encoder_keys)
    assert any(not torch.equal(start[k], now[k]) for k in decoder_keys)
    # It started from the trained model: the first validation is already accurate.
    first = (out / "train_log.txt").read_text().splitlines()[0]
    assert float(first.split("valid ACC: ")[1].split(",")[0]) > 0.9
    tok = (out / "save" / "tokenizer.model").read_bytes()
    assert tok == (exported / "tokenizer.ckpt").read_bytes()


def test_inference_does_not_import_hub():
    """No import cycle: hub (export) uses inference (loading), not the other way round."""
    import ast
    import importlib.util
    import pathlib

    source = pathlib.Path(importlib.util.find_spec("speechbrain_subtitle.inference").origin)
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "speechbrain_subtitle.hub" not in imported
    for first in ("speechbrain_subtitle.hub", "speechbrain_subtitle.inference"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {first}; import speechbrain_subtitle.hub"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
