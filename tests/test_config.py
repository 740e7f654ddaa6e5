"""Choosing the included architecture by path (speechbrain_subtitle.config)."""

import pathlib

import pytest

from speechbrain_subtitle.config import (
    included_architecture,
    load_hparams,
    split_architecture,
    yaml_text,
)

HPARAMS = pathlib.Path(__file__).resolve().parent.parent / "hparams"


def _write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path):
    """An architecture, another one in a folder with a space, and a training file."""
    _write(tmp_path / "arch.yaml", "size: 3\nkind: a\nmodel: !ref <size> * 2\n")
    other = tmp_path / "with space"
    other.mkdir()
    _write(other / "other.yaml", "size: 5\nkind: b\nmodel: !ref <size> * 10\n")
    top = _write(
        tmp_path / "top.yaml",
        "size: 4\narchitecture: !include:arch.yaml\n    size: !ref <size>\n"
        "model: !ref <architecture[model]>\nkind: !ref <architecture[kind]>\n",
    )
    return top, other / "other.yaml"


def test_without_an_architecture_it_is_plain_hyperpyyaml(files):
    top, _ = files
    hp = load_hparams(top)
    assert (hp["model"], hp["kind"]) == (8, "a")  # the training file's size reached arch.yaml
    assert load_hparams(top, {"size": 9})["model"] == 18
    assert load_hparams(top, {"architecture": {"kind": "z"}})["kind"] == "z"  # nested override


def test_an_architecture_path_replaces_the_included_file(files):
    top, other = files
    for hp in (
        load_hparams(top, architecture=other),
        load_hparams(top, {"architecture": str(other)}),
        load_hparams(top, "architecture: !include:with%20space/other.yaml"),
    ):
        assert (hp["model"], hp["kind"]) == (40, "b")  # other.yaml, the training file's size
    hp = load_hparams(top, "architecture: !include:with%20space/other.yaml {kind: c}")
    assert (hp["model"], hp["kind"]) == (40, "c")


def test_included_architecture_and_text(files):
    top, other = files
    assert included_architecture(top) == top.parent / "arch.yaml"
    assert included_architecture(other) is None
    assert "!include:" + str(top.parent / "arch.yaml") in yaml_text(top)
    assert "with%20space/other.yaml" in yaml_text(top, other)  # a yaml tag is a URI
    assert yaml_text(other) == other.read_text()


def test_split_architecture_leaves_other_overrides(files):
    top, other = files
    assert split_architecture(top, {"size": 1}) == (None, {"size": 1})
    assert split_architecture(top, {"architecture": "x.yaml", "size": 1}) == ("x.yaml", {"size": 1})
    nested = {"architecture": {"size": 2}}
    assert split_architecture(top, nested) == (None, nested)
    assert split_architecture(top, None, architecture=other) == (other, {})


def test_the_tiny_training_file_takes_any_architecture():
    hp = load_hparams(
        HPARAMS / "train_tiny.yaml",
        {"architecture": str(HPARAMS / "v2.yaml"), "output_folder": "/tmp/unused"},
    )
    assert hp["variant"] == "cascaded_dual"
    assert hp["architecture"]["d_model"] == 64  # the tiny sizes still apply


def test_errors_name_the_file(files, tmp_path):
    top, other = files
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_hparams(tmp_path / "missing.yaml")
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_hparams(top, architecture=tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="includes no architecture"):
        load_hparams(other, architecture=top.parent / "arch.yaml")
    with pytest.raises(ValueError, match="PLACEHOLDER"):
        load_hparams(HPARAMS / "train.yaml")


def test_overrides_of_architecture_keys_reach_the_included_file(tmp_path):
    import torch

    overrides = {"train_csv": "x", "valid_csv": "x", "output_folder": str(tmp_path)}
    overrides.update(encoder_frontend="conv2d", architecture=str(HPARAMS / "v2.yaml"))
    _, routed = split_architecture(HPARAMS / "train.yaml", dict(overrides))
    assert routed["architecture"] == {"encoder_frontend": "conv2d"}
    with torch.device("meta"):
        hp = load_hparams(HPARAMS / "train.yaml", overrides)
    assert sum(p.numel() for p in hp["model"].parameters()) == 178_013_848  # v2, conv2d
