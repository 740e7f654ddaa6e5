"""Loading a model folder runs none of its code and refuses bad files with one-line errors
(issue #11: unsafe hyperparams.yaml, non-finite weights, corrupt files, mistyped paths)."""

import os
import pickle
import shutil

import pytest
import torch
from conftest import HPARAMS, ROOT

from speechbrain_subtitle import cli, safety
from speechbrain_subtitle.cli import DEMO_MODEL
from speechbrain_subtitle.hub import inference_yaml_text
from speechbrain_subtitle.inference import SubtitleASR
from speechbrain_subtitle.safety import UnsafeModelError

MARKER = "PAYLOAD_RAN"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def model_dir(tmp_path):
    """A copy of the bundled demo model that a test may change."""
    folder = tmp_path / "model"
    shutil.copytree(DEMO_MODEL, folder)
    return folder


def _load(folder, **kwargs):
    return SubtitleASR.from_hparams(
        source=str(folder), savedir=str(folder), run_opts={"device": "cpu"}, **kwargs
    )


def _append(folder, text):
    """Appends ``text`` to the folder's yaml; returns the line number of its first line."""
    hp = folder / "hyperparams.yaml"
    old = hp.read_text()
    if not old.endswith("\n"):
        old += "\n"
    hp.write_text(old + text)
    return old.count("\n") + 1


# Each payload would create ``{marker}`` if anything ran it.
PAYLOADS = {
    "apply subprocess.call": (
        '__evil: !apply:subprocess.call [["touch", "{marker}"]]\n',
        "!apply:subprocess.call",
    ),
    "new subprocess.Popen": (
        '__evil: !new:subprocess.Popen [["touch", "{marker}"]]\n',
        "!new:subprocess.Popen",
    ),
    "apply builtins.eval": (
        "__evil: !apply:builtins.eval [\"open('{marker}', 'w')\"]\n",
        "!apply:builtins.eval",
    ),
    "name os.system": ("__evil: !name:os.system\n", "!name:os.system"),
    "flow style": (
        '__evil: {{a: 1, b: !apply:os.system ["touch {marker}"]}}\n',
        "!apply:os.system",
    ),
    "nested list": (
        '__evil:\n  - [1, [2, !apply:os.system ["touch {marker}"]]]\n',
        "!apply:os.system",
    ),
    "torch.load via apply": (
        "__evil: !apply:torch.load {{f: {pickle}, weights_only: False}}\n",
        "!apply:torch.load",
    ),
    "quoted key and anchor": (
        '"__evil key": &payload !apply:os.system ["touch {marker}"]\n__again: *payload\n',
        "!apply:os.system",
    ),
    "python tag": (
        '__evil: !!python/object/apply:os.system ["touch {marker}"]\n',
        "tag:yaml.org,2002:python/object/apply:os.system",
    ),
    "tuple string read by the unsafe loader": (
        '__evil: (!!python/object/apply:os.system ["touch {marker}"],)\n',
        "a '!' inside a string",
    ),
    "module reached through an allowed module": (
        '__evil: !apply:speechbrain.nnet.linear.os.system ["touch {marker}"]\n',
        "speechbrain.nnet.linear.os.system",
    ),
    "shell runner inside speechbrain": (
        '__evil: !apply:speechbrain.utils.superpowers.run_shell ["touch {marker}"]\n',
        "speechbrain.utils.superpowers.run_shell",
    ),
    # issue #22: a method of an allowed class that pickles an object to any path
    "file-writing method of an allowed class (apply)": (
        "__stat: !new:speechbrain.processing.PLDA_LDA.StatObject_SB\n"
        '__evil: !apply:speechbrain.processing.PLDA_LDA.StatObject_SB.save_stat_object '
        '[!ref <__stat>, "{marker}"]\n',
        "StatObject_SB.save_stat_object",
    ),
    "file-writing method as a loader hook (name)": (
        "__hook: !name:speechbrain.processing.PLDA_LDA.StatObject_SB.save_stat_object\n",
        "only classes may be named",
    ),
    "apply of an allowed class": (
        "__evil: !apply:speechbrain.nnet.linear.Linear {{input_size: 2, n_neurons: 2}}\n",
        "!apply: may only call the exact names",
    ),
    "applyref runs while references resolve": (
        '__evil: !applyref:os.system ["touch {marker}"]\n',
        "!applyref:os.system",
    ),
    "module tag": ("__evil: !module:os\n", "!module:os"),
    "include": ("__evil: !include:../other.yaml\n", "!include:../other.yaml"),
    "attribute reference": ("__evil: !ref <model.encoder>\n", "attribute references"),
}


class _Payload:
    """Unpickling this creates ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _malicious_pickle(path, marker):
    with open(path, "wb") as f:
        pickle.dump({"x": _Payload(str(marker))}, f)


@pytest.mark.parametrize("case", list(PAYLOADS))
def test_unsafe_yaml_is_refused_before_anything_runs(model_dir, tmp_path, case):
    marker = tmp_path / MARKER
    evil_pickle = tmp_path / "evil.pkl"
    _malicious_pickle(evil_pickle, marker)
    text, fragment = PAYLOADS[case]
    line = _append(model_dir, text.format(marker=marker, pickle=evil_pickle))
    with pytest.raises(UnsafeModelError) as err:
        _load(model_dir)
    message = str(err.value)
    assert "hyperparams.yaml" in message and fragment in message
    assert f"line {line}" in message or f"line {line + 1}" in message
    assert "trust_code=True" in message and "--trust-model-code" in message
    assert "\n" not in message
    assert not marker.exists()


def test_trust_code_loads_a_disallowed_but_harmless_target(model_dir):
    _append(model_dir, 'joined: !apply:os.path.join ["a", "b"]\n')
    with pytest.raises(UnsafeModelError, match="os.path.join"):
        _load(model_dir)
    asr = _load(model_dir, trust_code=True)
    assert asr.hparams.joined == os.path.join("a", "b")


def test_unchanged_demo_model_loads_and_transcribes(model_dir):
    asr = _load(model_dir)
    result = asr.transcribe_file(str(model_dir / "example.wav"))
    assert result.verbatim and result.subtitle


@pytest.mark.parametrize("architecture", ["verbatim_only", "parallel", "c8", "v2", "chained"])
def test_every_exported_architecture_passes_the_check(architecture, tmp_path):
    text = inference_yaml_text({"architecture_file": str(HPARAMS / f"{architecture}.yaml")})
    (tmp_path / "hyperparams.yaml").write_text(text)
    safety.check_model_yaml(tmp_path / "hyperparams.yaml")  # raises if refused


def test_training_yaml_is_not_a_safe_model_yaml():
    # its !include: of the architecture, and its !apply:torch.manual_seed (and more)
    with pytest.raises(UnsafeModelError, match=r"refusing !(include:|(apply|name|new):torch\.)"):
        safety.check_model_yaml(HPARAMS / "train.yaml")


def test_cli_refuses_without_traceback_and_trusts_on_request(model_dir, tmp_path, capsys):
    marker = tmp_path / MARKER
    _append(model_dir, f'__evil: !apply:os.system ["touch {marker}"]\n')
    wav = str(model_dir / "example.wav")
    code = cli.main(["transcribe", wav, "--model", str(model_dir)])
    err = capsys.readouterr().err
    assert code != 0
    assert "refusing !apply:os.system" in err and "--trust-model-code" in err
    assert "Traceback" not in err
    assert not marker.exists()
    for command in (["transcribe", wav], ["evaluate", "x.csv"]):
        args = cli.build_parser().parse_args(command + ["--trust-model-code"])
        assert args.trust_model_code is True


def _tensor_key(folder):
    state = torch.load(folder / "asr.ckpt", weights_only=True)
    key = sorted(k for k, v in state.items() if v.is_floating_point())[5]
    return state, key


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_key(model_dir, value):
    state, key = _tensor_key(model_dir)
    state[key].view(-1)[0] = value
    torch.save(state, model_dir / "asr.ckpt")
    with pytest.raises(ValueError, match="NaN or infinite") as err:
        _load(model_dir)
    assert f"'{key}'" in str(err.value) and "asr.ckpt" in str(err.value)


def test_non_finite_normalizer_is_refused(model_dir):
    stats = torch.load(model_dir / "normalizer.ckpt", weights_only=True, map_location="cpu")
    stats["glob_std"][3] = float("nan")
    torch.save(stats, model_dir / "normalizer.ckpt")
    with pytest.raises(ValueError, match="normalizer.ckpt: tensor 'glob_std'"):
        _load(model_dir)


def _truncated(data):
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "corrupt, fragment",
    [
        (lambda data: os.urandom(4096), "not a (readable|plain weights) checkpoint"),
        (_truncated, "not a readable checkpoint"),
        (lambda data: b"", "is empty"),
    ],
    ids=["random bytes", "truncated", "empty"],
)
def test_corrupt_checkpoint_gives_a_one_line_error(model_dir, corrupt, fragment):
    ckpt = model_dir / "asr.ckpt"
    ckpt.write_bytes(corrupt(ckpt.read_bytes()))
    with pytest.raises(ValueError, match=fragment) as err:
        _load(model_dir)
    assert "asr.ckpt" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["asr.ckpt", "normalizer.ckpt"])
def test_malicious_pickle_is_refused_and_runs_nothing(model_dir, tmp_path, monkeypatch, name):
    # torch's default would unpickle anything with this set: only an explicit
    # weights_only=True protects the loader.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / MARKER
    _malicious_pickle(model_dir / name, marker)
    with pytest.raises(ValueError, match="pickled objects other than tensors") as err:
        _load(model_dir)
    assert name in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, fragment",
    [("", "is empty"), ("# only a comment\n\n", "is empty"), ("a: [1, 2\nb: {", "not valid YAML")],
    ids=["empty", "comments only", "syntax error"],
)
def test_bad_yaml_gives_a_one_line_error(model_dir, text, fragment):
    (model_dir / "hyperparams.yaml").write_text(text)
    with pytest.raises(ValueError, match=fragment) as err:
        _load(model_dir)
    assert "hyperparams.yaml" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "source", ["./no-such-model", "{tmp}/missing", "tests/no-such-model", "no-such-model/"]
)
def test_mistyped_local_folder_is_not_taken_for_a_hub_id(tmp_path, monkeypatch, source):
    monkeypatch.chdir(ROOT)
    savedir = tmp_path / "saved"
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        SubtitleASR.from_hparams(source=source.format(tmp=tmp_path), savedir=str(savedir))
    assert not savedir.exists()


def test_unknown_hub_id_offline_leaves_no_folder_behind(tmp_path):
    new = tmp_path / "cache" / "org--model"
    with pytest.raises(FileNotFoundError, match="no-such-org-xyz/no-such-model"):
        SubtitleASR.from_hparams(source="no-such-org-xyz/no-such-model", savedir=str(new))
    assert not (tmp_path / "cache").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(FileNotFoundError):
        SubtitleASR.from_hparams(source="no-such-org-xyz/no-such-model", savedir=str(existing))
    assert (existing / "keep.txt").read_text() == "mine"


def test_fine_tuning_checks_the_pretrained_yaml(model_dir, tmp_path):
    from speechbrain_subtitle import train

    marker = tmp_path / MARKER
    _append(model_dir, f'__evil: !apply:os.system ["touch {marker}"]\n')
    with pytest.raises(UnsafeModelError, match="os.system"):
        train.main(
            [str(HPARAMS / "train.yaml"), f"--output_folder={tmp_path / 'ft'}",
             f"--pretrained_path={model_dir}"]
        )  # fmt: skip
    assert not marker.exists()
