"""``import-nelf``: a NeLF checkpoint becomes a model folder that SubtitleASR loads.

The fixtures (``tests/fixtures/nelf/<case>/``, see ``tests/test_nelf.py``) are
small random models in the authors' file format with their runtime's outputs.
Everything here runs offline (``HF_HUB_OFFLINE=1``, set by ``conftest.py``).
"""

import json
import pathlib
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from speechbrain_subtitle.cli import main
from speechbrain_subtitle.hub import REQUIRED_FILES, is_export_folder
from speechbrain_subtitle.inference import SubtitleASR, pad_waveforms
from speechbrain_subtitle.nelf import SEARCH_DEFAULTS, import_nelf, load_nelf
from speechbrain_subtitle.safety import check_model_yaml

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "nelf"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "model.pth").is_file())


def _wavs(case):
    with np.load(FIXTURES / case / "reference.npz") as data:
        return [
            torch.tensor(data[f"u{k}/wav"] / 32768.0, dtype=torch.float32)
            for k in range(sum(1 for key in data if key.endswith("/wav")))
        ]


def _reference(case):
    return json.loads((FIXTURES / case / "reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """``case -> (exported folder, loaded SubtitleASR)``, each case imported once."""
    found = {}
    for case in CASES:
        out = tmp_path_factory.mktemp("imported") / case
        import_nelf(FIXTURES / case, out)
        found[case] = out, SubtitleASR.from_hparams(source=str(out), savedir=str(out))
    return found


@pytest.mark.parametrize("case", CASES)
def test_the_folder_is_a_normal_export(imported, case):
    out, asr = imported[case]
    for name in REQUIRED_FILES + ("config.json", "README.md", "features.ckpt"):
        assert (out / name).is_file(), name
    assert is_export_folder(out)
    check_model_yaml(out / "hyperparams.yaml")  # the allow-list accepts it as written
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-nc-4.0" in card and "CC BY-NC 4.0" in card
    assert "arXiv:2502.03212" in card
    options = asr.decoding_options()
    assert options.beam_size == 20 and options.ctc_weight == 0.3
    assert options.length_normalized("subtitle") and not options.length_normalized("verbatim")
    model = asr.model
    sos_eos = _reference(case)["sos_eos"]
    assert model.blank_index == 0
    assert model.eos_index == model.bos_index("verbatim") == model.bos_index("subtitle") == sos_eos


@pytest.mark.parametrize("case", CASES)
def test_loaded_folder_computes_what_the_converter_computes(imported, case):
    _, asr = imported[case]
    nelf = load_nelf(FIXTURES / case)
    wav = _wavs(case)[-1]
    with torch.no_grad():
        ref_feats = nelf.normalize(nelf.compute_features(wav[None]), torch.ones(1))
        ref = nelf.model.encode(ref_feats, torch.ones(1))
    enc = asr.encode_batch(wav[None])
    assert torch.equal(enc.states, ref.states)
    with np.load(FIXTURES / case / "reference.npz") as data:
        authors = torch.tensor(data[f"u{len(_wavs(case)) - 1}/encoder"])
    assert float((enc.states[0] - authors).abs().max()) < 1e-4


@pytest.mark.parametrize("case", CASES)
def test_greedy_texts_equal_the_authors_runtime(imported, case):
    _, asr = imported[case]
    utts = _reference(case)["utterances"]
    wavs, lens = pad_waveforms(_wavs(case))
    results = asr.transcribe_batch(wavs, lens, greedy=True)
    exact = 0
    for result, utt in zip(results, utts):
        for task in ("verbatim", "subtitle"):
            ours, ref = getattr(result, f"{task}_tokens"), utt[f"{task}_greedy_ids"]
            if utt["greedy_max_tokens"] == utt["encoder_frames"]:  # the same length cap
                assert getattr(result, task) == utt[f"{task}_greedy_text"]
                assert ours == ref
                exact += 1
            else:  # the reference stopped early (a shorter cap): a prefix of ours
                assert ours[: len(ref)] == ref
                assert asr.tokenizer.ids_to_text(ours[: len(ref)]) == utt[f"{task}_greedy_text"]
    assert exact >= 2


@pytest.mark.parametrize("case", CASES)
def test_beam_search_with_ctc_batched_equals_one_by_one(imported, case):
    _, asr = imported[case]
    wavs = _wavs(case)
    order = [1, 2, 0] if len(wavs) == 3 else list(range(len(wavs)))
    wavs = [wavs[k] for k in order]
    batch, lens = pad_waveforms(wavs)
    batched = asr.transcribe_batch(batch, lens)  # the yaml's search: beam 20, CTC 0.3
    for wav, result in zip(wavs, batched):
        alone = asr.transcribe_batch(wav[None])[0]
        assert alone.verbatim_tokens == result.verbatim_tokens
        assert alone.subtitle_tokens == result.subtitle_tokens
        assert alone.verbatim_score == pytest.approx(result.verbatim_score, abs=1e-4)
        assert alone.subtitle_score == pytest.approx(result.subtitle_score, abs=1e-4)


def _joint_score(asr, wav, tokens, ctc_weight):
    """(1 - w) attention + w CTC log-probability of ``tokens`` + eos, computed directly."""
    model = asr.model
    enc = asr.encode_batch(wav[None])
    lp = model.ctc_logprobs(enc)[0]
    ctc = -torch.nn.functional.ctc_loss(
        lp[:, None],
        torch.tensor([tokens]),
        torch.tensor([lp.shape[0]]),
        torch.tensor([len(tokens)]),
        blank=model.blank_index,
        reduction="sum",
    )
    inp = torch.tensor([[model.bos_index("verbatim")] + tokens])
    with torch.no_grad():
        att = model.decoder("verbatim")(inp, model.memories("verbatim", enc))
    att = torch.log_softmax(att, -1)[0]
    att = sum(float(att[i, t]) for i, t in enumerate(tokens + [model.eos_index]))
    return (1 - ctc_weight) * att + ctc_weight * float(ctc)


def test_ctc_prefix_score_is_really_joined(imported):
    # The score of a hypothesis that ended with <sos/eos> (before the length
    # cap) is 0.7 x attention + 0.3 x CTC log-probability: the CTC scorer runs
    # with blank 0 and bos == eos == <sos/eos>.
    checked = 0
    for case in CASES:
        _, asr = imported[case]
        for wav in _wavs(case):
            result = asr.transcribe_batch(wav[None], tasks=("verbatim",))[0]  # beam 20
            frames = int(asr.encode_batch(wav[None]).lengths[0])
            if not result.verbatim_tokens or len(result.verbatim_tokens) + 1 >= frames:
                continue  # may have been completed at the length cap, without an eos term
            expected = _joint_score(asr, wav, result.verbatim_tokens, 0.3)
            assert result.verbatim_score == pytest.approx(expected, abs=1e-3)
            checked += 1
    assert checked >= 1


def test_ctc_weight_changes_the_verbatim_hypothesis(imported):
    case = CASES[0]
    _, asr = imported[case]
    wav = _wavs(case)[-1]
    head = asr.model.ctc_head.w
    saved = {k: v.clone() for k, v in head.state_dict().items()}
    attention_only = asr.transcribe_batch(wav[None], ctc_weight=0.0)[0].verbatim_tokens
    with_ctc = asr.transcribe_batch(wav[None], ctc_weight=0.3)[0].verbatim_tokens
    vocab = saved["bias"].shape[0]
    target = next(t for t in range(2, vocab - 1) if t not in attention_only + with_ctc)
    try:
        with torch.no_grad():  # a CTC head that hears `target` once, and nothing else
            head.weight.zero_()
            head.bias.fill_(-40.0)
            head.bias[target] = 0.0
        edited_att = asr.transcribe_batch(wav[None], ctc_weight=0.0)[0].verbatim_tokens
        edited_ctc = asr.transcribe_batch(wav[None], ctc_weight=0.3)[0].verbatim_tokens
    finally:
        head.load_state_dict(saved)
    assert edited_att == attention_only  # weight 0: the CTC head is not used
    # weight 0.3: CTC decides (the hypothesis starts with the one token it hears;
    # SpeechBrain's eos threshold may keep it from ending before the length cap)
    assert edited_ctc[:1] == [target] and edited_ctc != attention_only
    assert asr.transcribe_batch(wav[None], ctc_weight=0.3)[0].verbatim_tokens == with_ctc


# ------------------------------------------------------------------ the CLI
def test_cli_import_then_transcribe_offline(tmp_path, capsys):
    model = tmp_path / "nelf-model"
    assert main(["import-nelf", str(FIXTURES / CASES[0]), "--out", str(model)]) == 0
    assert "CC BY-NC 4.0" in capsys.readouterr().out
    rng = np.random.default_rng(0)
    audio = 0.1 * np.sin(np.arange(24000) * 2 * np.pi * 220 / 16000)
    audio += 0.01 * rng.standard_normal(24000)
    wav = tmp_path / "speech.wav"
    sf.write(str(wav), audio.astype(np.float32), 16000)
    out = tmp_path / "subs"
    argv = ["transcribe", str(wav), "--model", str(model), "--out", str(out)]
    argv += ["--format", "srt,txt,json", "--beam-size", "4", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    for suffix in (".srt", ".txt", ".json"):
        assert (out / f"speech{suffix}").is_file(), suffix
    record = json.loads((out / "speech.json").read_text(encoding="utf-8"))
    assert isinstance(record, dict)
    # --force replaces an earlier import
    assert main(["import-nelf", str(FIXTURES / CASES[0]), "--out", str(model), "--force"]) == 0


def test_cli_refuses_a_missing_file(tmp_path, capsys):
    src = tmp_path / "nelf"
    shutil.copytree(FIXTURES / CASES[0], src)
    (src / "bpe.model").unlink()
    assert main(["import-nelf", str(src), "--out", str(tmp_path / "m")]) == 2
    assert "bpe.model" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_cli_refuses_an_out_folder_that_is_not_an_export(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    argv = ["import-nelf", str(FIXTURES / CASES[0]), "--out", str(out)]
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 2
    assert "not one" in capsys.readouterr().err
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left


def test_cli_refuses_an_unknown_train_yaml_option(tmp_path, capsys):
    src = tmp_path / "nelf"
    shutil.copytree(FIXTURES / CASES[0], src)
    conf = yaml.safe_load((src / "train.yaml").read_text(encoding="utf-8"))
    conf["encoder_conf"]["new_knob"] = 1
    (src / "train.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    assert main(["import-nelf", str(src), "--out", str(tmp_path / "m")]) == 2
    assert "encoder_conf.new_knob" in capsys.readouterr().err


def test_a_hub_id_offline_is_a_clear_error(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConnectionError, match="offline mode"):
        import_nelf("nelfproject/NeLF_S2T_Pytorch", tmp_path / "m")


def test_search_defaults_are_the_authors():
    assert SEARCH_DEFAULTS["beam_size"] == 20
    assert SEARCH_DEFAULTS["decoding_ctc_weight"] == 0.3
    assert SEARCH_DEFAULTS["verbatim_length_normalization"] is False
