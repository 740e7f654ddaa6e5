"""NeLF import: converted checkpoints compute what the authors' runtime computes.

The fixtures in ``tests/fixtures/nelf/<case>/`` were made by
``recipes/NeLF/make_fixtures.py`` with the authors' code (small random models
in the released file format plus that code's outputs on fixed inputs); these
tests need only our code.
"""

import json
import pathlib
import shutil
from itertools import groupby

import numpy as np
import pytest
import torch
import yaml

from speechbrain_subtitle.features import batch_features
from speechbrain_subtitle.lobes.decoders import greedy_search
from speechbrain_subtitle.nelf import NelfImportError, load_nelf

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "nelf"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "model.pth").is_file())
TOL = 1e-4
MAX_DIFF = {}  # output name -> largest difference seen (reported by test_report)


def _close(name, ours, ref, tol=TOL):
    ref = torch.as_tensor(np.asarray(ref))
    assert tuple(ours.shape) == tuple(ref.shape), (name, ours.shape, ref.shape)
    diff = float((ours.detach().float() - ref.float()).abs().max()) if ref.numel() else 0.0
    MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), diff)
    assert diff <= tol, f"{name}: max abs difference {diff:.3g} > {tol}"


@pytest.fixture(scope="module", autouse=True)
def report_differences():
    """Prints the largest differences seen once the module is done (``-s`` shows it)."""
    yield
    print("\nNeLF import, max abs differences:", json.dumps(MAX_DIFF, indent=1))


def _wav(arrays, k):
    return torch.tensor(arrays[f"u{k}/wav"] / 32768.0, dtype=torch.float32)


@pytest.fixture(scope="module", params=CASES)
def case(request):
    folder = FIXTURES / request.param
    meta = json.loads((folder / "reference.json").read_text(encoding="utf-8"))
    with np.load(folder / "reference.npz") as data:
        arrays = dict(data)
    return load_nelf(folder), meta, arrays


def _encode_one(nelf, wav):
    feats = nelf.compute_features(wav[None])
    feats = nelf.normalize(feats, torch.ones(1))
    return feats, nelf.model.encode(feats, torch.ones(1))


def test_fixture_cases_cover_the_options():
    assert len(CASES) >= 2
    layers, sub_inputs, inter = set(), set(), set()
    for name in CASES:
        conf = yaml.safe_load((FIXTURES / name / "train.yaml").read_text(encoding="utf-8"))
        layers.add(conf["encoder_conf"]["input_layer"])
        sub_inputs.add(conf["subtitle_encoder_conf"]["input_layer"])
        inter.add(bool(conf["encoder_conf"].get("interctc_layer_idx")))
        assert (FIXTURES / name / "reference.npz").stat().st_size > 0
    assert layers == {"conv2d", "conv2d6"}
    assert sub_inputs == {"none", "linear"}
    assert inter == {True, False}


@torch.no_grad()
def test_every_output_matches_the_authors_runtime(case):
    nelf, meta, arrays = case
    model, tok = nelf.model, nelf.tokenizer
    sos = meta["sos_eos"]
    assert model.eos_index == sos == tok.sos_eos_index
    for k, utt in enumerate(meta["utterances"]):
        feats, enc = _encode_one(nelf, _wav(arrays, k))
        _close("features", feats[0], arrays[f"u{k}/feats"])
        assert int(enc.lengths[0]) == utt["encoder_frames"]
        _close("encoder", enc.states[0], arrays[f"u{k}/encoder"])
        if f"u{k}/intermediate" in arrays:
            _close("intermediate", enc.intermediate[0], arrays[f"u{k}/intermediate"])
        else:
            assert enc.intermediate is None
        sub_states, _ = model.subtitle_encoder_states(enc)
        _close("subtitle_encoder", sub_states[0], arrays[f"u{k}/subtitle_encoder"])
        ctc = model.ctc_logprobs(enc)
        _close("ctc_logprobs", ctc[0], arrays[f"u{k}/ctc_logprobs"])
        ctc_ids = [t for t, _ in groupby(ctc[0].argmax(-1).tolist()) if t != tok.blank_index]
        assert ctc_ids == utt["ctc_greedy_ids"]
        assert tok.ids_to_text(ctc_ids) == utt["ctc_greedy_text"]

        prefix = torch.tensor([utt["prefix_ids"]])
        assert prefix[0, 0] == sos
        for task in ("verbatim", "subtitle"):
            memories = model.memories(task, enc)
            logits = model.decoder(task)(prefix, memories)
            logprobs = torch.log_softmax(logits, -1)[0]
            _close(f"{task}_logprobs", logprobs, arrays[f"u{k}/{task}_logprobs"])
            cap = utt["greedy_max_tokens"]
            hyp = greedy_search(model.decoder(task), memories, sos, sos, cap)[0]
            assert hyp == utt[f"{task}_greedy_ids"], task
            assert tok.ids_to_text(hyp) == utt[f"{task}_greedy_text"], task


@torch.no_grad()
def test_a_padded_batch_gives_what_one_by_one_gives(case):
    nelf, meta, arrays = case
    model = nelf.model
    utts = meta["utterances"]
    wavs = [_wav(arrays, k) for k in range(len(utts))]
    # longest first and last: rows are padded on both sides of the order
    order = [1, 2, 0] if len(wavs) == 3 else list(range(len(wavs)))
    wavs = [wavs[k] for k in order]
    longest = max(w.shape[0] for w in wavs)
    batch = torch.stack([torch.nn.functional.pad(w, (0, longest - w.shape[0])) for w in wavs])
    wav_lens = torch.tensor([w.shape[0] / longest for w in wavs])
    feats, feat_lens = batch_features(nelf.compute_features, batch, wav_lens)
    feats = nelf.normalize(feats, feat_lens)
    enc = model.encode(feats, feat_lens)
    sub_states, _ = model.subtitle_encoder_states(enc)
    prefixes = [torch.tensor(utts[k]["prefix_ids"]) for k in order]
    prefix_lens = torch.tensor([len(p) for p in prefixes])
    tokens = torch.nn.utils.rnn.pad_sequence(prefixes, batch_first=True)
    batched = {}
    for task in ("verbatim", "subtitle"):
        memories = model.memories(task, enc)
        logits = model.decoder(task)(tokens, memories, prefix_lens)
        batched[task] = torch.log_softmax(logits, -1)
        caps = [utts[k]["greedy_max_tokens"] for k in order]
        hyps = greedy_search(model.decoder(task), memories, meta["sos_eos"], meta["sos_eos"], caps)
        assert hyps == [utts[k][f"{task}_greedy_ids"] for k in order], task
    for row, k in enumerate(order):
        _, alone = _encode_one(nelf, _wav(arrays, k))
        n = int(alone.lengths[0])
        assert int(enc.lengths[row]) == n
        _close("batch_encoder", enc.states[row, :n], alone.states[0], 1e-5)
        assert not enc.states[row, n:].any()
        if alone.intermediate is not None:
            _close("batch_intermediate", enc.intermediate[row, :n], alone.intermediate[0], 1e-5)
        alone_sub, _ = model.subtitle_encoder_states(alone)
        _close("batch_subtitle_encoder", sub_states[row, :n], alone_sub[0], 1e-5)
        # and against the authors' runtime directly
        _close("batch_vs_reference_encoder", enc.states[row, :n], arrays[f"u{k}/encoder"])
        m = int(prefix_lens[row])
        for task in ("verbatim", "subtitle"):
            ref = arrays[f"u{k}/{task}_logprobs"]
            _close(f"batch_{task}_logprobs", batched[task][row, :m], ref)


# ------------------------------------------------------------------ refusals
@pytest.fixture
def copy_case(tmp_path):
    src = FIXTURES / CASES[0]
    dst = tmp_path / "nelf"
    shutil.copytree(src, dst)
    return dst


def _edit_yaml(folder, edit):
    path = folder / "train.yaml"
    conf = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(conf)
    path.write_text(yaml.safe_dump(conf), encoding="utf-8")


def test_missing_file_is_named(copy_case):
    (copy_case / "stats.npz").unlink()
    with pytest.raises(FileNotFoundError, match="stats.npz"):
        load_nelf(copy_case)


@pytest.mark.parametrize(
    "edit, named",
    [
        (lambda c: c.__setitem__("mystery_option", 1), "mystery_option"),
        (lambda c: c["encoder_conf"].__setitem__("new_knob", 3), "encoder_conf.new_knob"),
        (lambda c: c["encoder_conf"].__setitem__("rel_pos_type", "legacy"), "rel_pos_type"),
        (lambda c: c["encoder_conf"].__setitem__("input_layer", "conv2d8"), "input_layer"),
        (lambda c: c["frontend_conf"].__setitem__("htk", True), "frontend_conf.htk"),
        (lambda c: c.__setitem__("normalize", "utterance_mvn"), "normalize"),
        (lambda c: c["decoder_conf"].__setitem__("concat_after", True), "concat_after"),
        (lambda c: c["subtitle_encoder_conf"].__setitem__("input_layer", "conv2d"), "input_layer"),
        (lambda c: c["token_list"].reverse(), "token_list"),
    ],
)
def test_unsupported_options_are_refused_by_name(copy_case, edit, named):
    _edit_yaml(copy_case, edit)
    with pytest.raises(NelfImportError, match=named):
        load_nelf(copy_case)


def _edit_state(folder, edit):
    state = torch.load(folder / "model.pth", weights_only=True)
    edit(state)
    torch.save(state, folder / "model.pth")


@pytest.mark.parametrize(
    "edit, named",
    [
        (lambda s: s.__setitem__("encoder.extra.weight", torch.zeros(1)), "encoder.extra.weight"),
        (lambda s: s.__setitem__("lm.weight", torch.zeros(1)), "lm.weight"),
        (
            lambda s: s.pop("decoder.decoders.0.multi_attn.linear_k.bias"),
            "multi_attn.linear_k.bias",
        ),
        (lambda s: s.pop("ctc.ctc_lo.weight"), "ctc_head.w.weight"),
        (
            lambda s: s.__setitem__("ctc.ctc_lo.bias", torch.zeros(3)),
            "ctc.ctc_lo.bias has shape",
        ),
    ],
)
def test_key_mismatches_are_refused_by_name(copy_case, edit, named):
    _edit_state(copy_case, edit)
    with pytest.raises(NelfImportError, match=named):
        load_nelf(copy_case)


def test_model_buffers_win_over_stats_npz():
    # In the conv2d6 case stats.npz was written shifted by 3 after the model
    # was saved: matching the reference features proves the buffers are used.
    folder = FIXTURES / "conv2d6_linear"
    with np.load(folder / "stats.npz") as stats:
        stats_mean = stats["sum"] / stats["count"]
    nelf = load_nelf(folder)
    assert np.abs(nelf.normalize.mean.numpy() - stats_mean).max() > 1.0


def test_front_end_without_the_stored_mel_matrix(copy_case):
    # Our Slaney filterbank reproduces the stored (librosa-made) matrix, so a
    # checkpoint without it still gives the reference features.
    from speechbrain_subtitle.lobes.espnet import slaney_mel_filterbank

    stored = torch.load(copy_case / "model.pth", weights_only=True)["frontend.logmel.melmat"]
    conf = yaml.safe_load((copy_case / "train.yaml").read_text(encoding="utf-8"))["frontend_conf"]
    ours = slaney_mel_filterbank(
        16000, conf["n_fft"], conf["n_mels"], conf.get("fmin", 0.0), conf.get("fmax")
    )
    assert float((ours - stored).abs().max()) < 1e-7
    _edit_state(copy_case, lambda s: s.pop("frontend.logmel.melmat"))
    nelf = load_nelf(copy_case)
    with np.load(copy_case / "reference.npz") as data:
        wav, ref = _wav(data, 2), data["u2/feats"]
    feats = nelf.normalize(nelf.compute_features(wav[None]), torch.ones(1))
    _close("features_recomputed_melmat", feats[0], ref)


def test_too_short_utterance_is_a_clear_error():
    nelf = load_nelf(FIXTURES / CASES[0])
    with pytest.raises(ValueError, match="too short"):
        _encode_one(nelf, torch.randn(300))
