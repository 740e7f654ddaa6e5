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


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")
def test_ctc_pretraining_then_timed_joint_training_from_that_encoder(tmp_path):
    """train_demo.sh's steps at test size: CTC-only pre-training of the demo-size
    encoder, joint training started from it (encoder_init) that stops on its time
    budget (max_train_minutes) before number_of_epochs."""
    import torch

    from speechbrain_subtitle.data import read_manifest
    from speechbrain_subtitle.tokenizer import train_tokenizer

    recipe = _load(RECIPES / "SyntheticNL" / "train.py", "synthetic_nl_train_demo")
    ctc = _load(RECIPES / "SyntheticNL" / "ctc_pretrain.py", "synthetic_nl_ctc_pretrain")
    data, out, ckpt = tmp_path / "data", tmp_path / "out", tmp_path / "ctc.pt"
    recipe.prepare({"data_folder": str(data), "corpus_size": "tiny", "corpus_seed": 5})
    rows = read_manifest(data / "train.csv", check_audio=False).values()
    sp = train_tokenizer([r[k] for r in rows for k in ("verbatim", "subtitle")],
                         tmp_path / "tok", vocab_size=64)  # fmt: skip
    tok = tmp_path / "tok.model"
    assert ctc.main(["pretrain", "--data_folder", str(data), "--tokenizer", str(tok),
                     "--steps", "3", "--batch_size", "4", "--report", "3",
                     "--checkpoint", str(ckpt)]) == 0  # fmt: skip
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 3 and state["normalizer"]["count"] > 0
    # fewer verbatim rows (12) than one batch: it still steps (it used to loop forever)
    small = tmp_path / "ctc_small.pt"
    assert ctc.main(["pretrain", "--data_folder", str(data), "--tokenizer", str(tok),
                     "--steps", "2", "--batch_size", "64", "--report", "2",
                     "--checkpoint", str(small)]) == 0  # fmt: skip
    assert torch.load(small, weights_only=True)["step"] == 2
    brain = recipe.main(
        [str(RECIPES / "SyntheticNL" / "hparams" / "c8_demo.yaml"), f"--data_folder={data}",
         f"--output_folder={out}", f"--tokenizer_file={tok}",
         f"--vocab_size={sp.get_piece_size()}", f"--encoder_init={ckpt}", "--batch_size=8",
         "--number_of_epochs=5", "--max_train_minutes=0.001", "--test_beam_size=1"],
        prepare=recipe.prepare,
    )  # fmt: skip
    log = (out / "log.txt").read_text()  # SpeechBrain's run log
    assert f"Encoder and CTC head from {ckpt} (update 3)" in log
    assert brain.hparams.epoch_counter.current == 1  # the budget stopped it, not the limit of 5
    assert "another epoch would pass max_train_minutes=0.001" in log
    assert json.loads((out / "test_test" / "metrics.json").read_text())["utterances"] > 0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs Debian's espeak-ng")
def test_subtitle_ctc_head_is_added_without_changing_the_texts(tmp_path):
    """subtitle_ctc.py on the bundled demo model: a few updates of a new subtitle CTC
    head, the rest frozen; the written folder loads strictly, aligns subtitles with the
    head, and writes the same texts as the model it came from."""
    import torch

    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import SubtitleASR

    recipe = _load(RECIPES / "SyntheticNL" / "train.py", "synthetic_nl_train_subctc")
    subctc = _load(RECIPES / "SyntheticNL" / "subtitle_ctc.py", "synthetic_nl_subtitle_ctc")
    data, out = tmp_path / "data", tmp_path / "with_head"
    recipe.prepare({"data_folder": str(data), "corpus_size": "tiny", "corpus_seed": 3})
    argv = ["--model", str(DEMO_MODEL), "--data_folder", str(data), "--out", str(out),
            "--steps", "2", "--batch_size", "4"]  # fmt: skip
    assert subctc.main(argv) == 0
    before = SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL))
    after = SubtitleASR.from_hparams(source=str(out), savedir=str(out))
    assert before.model.subtitle_ctc_head is None and after.model.subtitle_ctc_head is not None
    example = str(DEMO_MODEL / "example.wav")
    first, second = before.transcribe_file(example), after.transcribe_file(example)
    assert (first.verbatim, first.subtitle) == (second.verbatim, second.subtitle)
    wav = after.load_audio(example)
    words = after.align_text(wav, "Dat meldt de krant Het Laatste Nieuws.", task="subtitle")
    assert [w.text for w in words] == "Dat meldt de krant Het Laatste Nieuws.".split()
    assert all(0 <= w.start <= w.end <= len(wav) / 16000 + 0.05 for w in words)
    timed = after.transcribe_batch(wav[None], torch.ones(1), word_times=True, subtitle_timing="ctc")
    assert [w.text for w in timed[0].subtitle_words] == second.subtitle.split()
    with pytest.raises(ValueError, match="subtitle CTC head"):
        before.align_text(wav, "Dat meldt de krant.", task="subtitle")
    with pytest.raises(SystemExit, match="already has a subtitle CTC head"):
        subctc.main(["--model", str(out), "--data_folder", str(data), "--out", str(tmp_path / "x")])
