"""YAML composition: architecture first, then bases, then the file, then overrides."""

import pytest
from conftest import HPARAMS

from speechbrain_subtitle.config import load_hparams


def _write(path, text):
    path.write_text(text)
    return path


def test_later_files_override_and_refs_resolve_after_merge(tmp_path):
    _write(tmp_path / "arch.yaml", "size: 4\nthing: !new:collections.Counter\n    a: !ref <size>\n")
    _write(tmp_path / "mixin.yaml", "size: 6\nextra: 1\n")
    top = _write(tmp_path / "top.yaml", "architecture: arch.yaml\nbase: [mixin.yaml]\nextra: 2\n")
    hp = load_hparams(top)
    assert hp["thing"]["a"] == 6 and hp["extra"] == 2
    assert hp["architecture_file"].endswith("arch.yaml")
    hp = load_hparams(top, {"size": 9})
    assert hp["thing"]["a"] == 9


def test_architecture_override_swaps_the_model():
    hp = load_hparams(HPARAMS / "train_tiny.yaml", {"architecture": str(HPARAMS / "v2.yaml")})
    assert hp["model"].variant == "cascaded_dual"
    assert hp["d_model"] == 64  # tiny.yaml still applies after the architecture


def test_circular_and_missing_bases(tmp_path):
    _write(tmp_path / "a.yaml", "base: [b.yaml]\nx: 1\n")
    _write(tmp_path / "b.yaml", "base: [a.yaml]\ny: 1\n")
    with pytest.raises(ValueError, match="Circular"):
        load_hparams(tmp_path / "a.yaml")
    _write(tmp_path / "c.yaml", "base: [missing.yaml]\n")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_hparams(tmp_path / "c.yaml")


def test_train_yaml_needs_data_paths():
    with pytest.raises(Exception, match="train_csv|PLACEHOLDER|placeholder"):
        load_hparams(HPARAMS / "train.yaml")
