"""The recipes end to end at test size: data preparation -> training -> test metrics."""

import importlib.util
import json
import shutil
import sys

import pytest
from conftest import FIXTURES, ROOT

RECIPES = ROOT / "recipes"


def _load(path, name):
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")
def test_synthetic_nl_recipe_builds_its_corpus_and_trains(tmp_path):
    recipe = _load(RECIPES / "SyntheticNL" / "train.py", "synthetic_nl_train")
    data, out = tmp_path / "data", tmp_path / "out"
    brain = recipe.main(
        [str(RECIPES / "SyntheticNL" / "hparams" / "c8_tiny.yaml"), f"--data_folder={data}",
         f"--output_folder={out}"],
        prepare=recipe.prepare,
    )  # fmt: skip
    assert (data / "train.csv").is_file() and (data / "corpus_info.json").is_file()
    metrics = json.loads((out / "test_test" / "metrics.json").read_text())
    assert metrics["utterances"] > 0 and metrics["search"]["beam_size"] == 2
    assert {"WER_verbatim", "WER_subtitle", "BLEU_subtitle"} <= set(metrics)
    assert (out / "test_test" / "hyps.csv").is_file()
    assert brain.hparams.epoch_counter.current == 3


def test_cgn_recipe_prepares_merges_and_trains(tmp_path):
    prepare_cgn = _load(RECIPES / "CGN_subtitles" / "prepare_cgn.py", "prepare_cgn_mod")
    prepare_subs = _load(RECIPES / "CGN_subtitles" / "prepare_subtitles.py", "prepare_subs_mod")
    recipe = _load(RECIPES / "CGN_subtitles" / "train.py", "cgn_train")
    cgn, vrt, out = tmp_path / "cgn", tmp_path / "vrt", tmp_path / "out"
    prepare_cgn.prepare_cgn(FIXTURES / "cgn", cgn, valid_fraction=0.25, test_fraction=0.25)
    prepare_subs.prepare_subtitles(vrt, media_dir=FIXTURES / "broadcast", holdout_every=2)
    recipe.main(
        [str(RECIPES / "CGN_subtitles" / "hparams" / "c8_fixture.yaml"), f"--cgn_folder={cgn}",
         f"--subtitle_folder={vrt}", f"--output_folder={out}"],
        prepare=recipe.prepare,
    )  # fmt: skip
    merged = (out / "manifests" / "train.csv").read_text().splitlines()
    cgn_rows = (cgn / "train.csv").read_text().splitlines()[1:]
    vrt_rows = (vrt / "subtitle_train.csv").read_text().splitlines()[1:]
    assert len(merged) == 1 + len(cgn_rows) + len(vrt_rows)
    for name in ("test", "subtitle_test"):
        metrics = json.loads((out / f"test_{name}" / "metrics.json").read_text())
        assert metrics["utterances"] > 0
    verbatim_only = json.loads((out / "test_test" / "metrics.json").read_text())
    assert "WER_verbatim" in verbatim_only and "WER_subtitle" not in verbatim_only
