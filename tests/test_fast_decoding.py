"""The fast decoding path equals the reference path.

Fast: incremental decoders with key/value caches (``use_cache``) and CTC
prefix scores computed on a few candidates per hypothesis
(``ctc_candidates``). Reference: the decoder rerun on every whole prefix and
CTC scored on the whole vocabulary (SpeechBrain's stock way). Hypotheses must
be identical and scores equal within 1e-5, for every architecture, for the
ESPnet-compatible decoders of imported NeLF models and for the trained demo.
"""

import pytest
import torch
from conftest import ARCHITECTURES, FIXTURES, make_batch, tiny_hparams
from speechbrain.decoders.scorer import CTCScorer

from speechbrain_subtitle.decoding import DecodingOptions, decode
from speechbrain_subtitle.features import batch_features
from speechbrain_subtitle.lobes.decoders import TextDecoder, greedy_search
from speechbrain_subtitle.lobes.espnet import TransformerDecoder

IDS = ["utt2", "utt5", "utt1"]
REFERENCE = {"use_cache": False, "ctc_candidates": 0}
FAST = {"use_cache": True, "ctc_candidates": 1.5}


def _decoders():
    torch.manual_seed(0)
    return {
        "ours-1": TextDecoder(30, 16, 2, 32, 2, num_sources=1),
        "ours-2": TextDecoder(30, 16, 2, 32, 2, num_sources=2),
        "espnet-1": TransformerDecoder(30, 16, 2, 32, 2, num_sources=1),
        "espnet-2": TransformerDecoder(30, 16, 2, 32, 2, num_sources=2),
    }


@pytest.mark.parametrize("name", list(_decoders()))
def test_a_cached_step_equals_the_whole_prefix(name):
    decoder = _decoders()[name].eval()
    memories = [
        (torch.randn(3, 9, 16), torch.tensor([9, 5, 2])),  # padded rows
        (torch.randn(3, 7, 16), torch.tensor([7, 7, 3])),
    ][: decoder.num_sources]
    tokens = torch.randint(1, 30, (3, 6))
    cache = decoder.start_cache(memories)
    with torch.no_grad():
        full = decoder.hidden_states(tokens, memories)[0]
        for t in range(tokens.shape[1]):
            hidden, _ = decoder.step(tokens[:, t], cache)
            torch.testing.assert_close(hidden, full[:, t], atol=1e-5, rtol=0)
    assert cache.length == tokens.shape[1]
    # reordering keeps the chosen hypotheses' caches
    index = torch.tensor([2, 2, 0])
    kept = [(k.clone(), v.clone()) for k, v in cache.self_kv]
    cache.reorder(index)
    for (k, v), (k0, v0) in zip(cache.self_kv, kept):
        assert torch.equal(k, k0[index]) and torch.equal(v, v0[index])


@pytest.mark.parametrize("name", list(_decoders()))
def test_one_source_copy_per_beam_equals_a_copy_per_hypothesis(name):
    """``start_cache(..., group=beam)``: each utterance's keys and values serve its
    ``beam`` consecutive hypotheses, as the beam search lays them out."""
    decoder = _decoders()[name].eval()
    beam = 3
    memories = [
        (torch.randn(2, 9, 16), torch.tensor([9, 4])),  # a padded utterance
        (torch.randn(2, 7, 16), torch.tensor([7, 5])),
    ][: decoder.num_sources]
    repeated = [(m.repeat_interleave(beam, 0), n.repeat_interleave(beam)) for m, n in memories]
    grouped, copied = decoder.start_cache(memories, group=beam), decoder.start_cache(repeated)
    tokens = torch.randint(1, 30, (2 * beam, 4))  # every hypothesis its own tokens
    with torch.no_grad():
        for t in range(tokens.shape[1]):
            h_grouped, a_grouped = decoder.step(tokens[:, t], grouped)
            h_copied, a_copied = decoder.step(tokens[:, t], copied)
            torch.testing.assert_close(h_grouped, h_copied, atol=1e-5, rtol=0)
            torch.testing.assert_close(a_grouped, a_copied, atol=1e-6, rtol=0)
            index = torch.tensor([2, 0, 0, 4, 5, 3])  # reorder within each utterance's beam
            grouped.reorder(index), copied.reorder(index)
            tokens = tokens[index]


@pytest.mark.parametrize("name", list(_decoders()))
def test_cached_greedy_search_equals_the_reference(name):
    decoder = _decoders()[name].eval()
    memories = [
        (torch.randn(4, 12, 16), torch.tensor([12, 8, 5, 3])),
        (torch.randn(4, 10, 16), torch.tensor([10, 10, 4, 2])),
    ][: decoder.num_sources]
    caps = [10, 6, 4, 2]
    fast = greedy_search(decoder, memories, 1, 2, caps, use_cache=True)
    slow = greedy_search(decoder, memories, 1, 2, caps, use_cache=False)
    assert fast == slow and any(fast)


@pytest.fixture(scope="module")
def tiny_models(tiny_rows, tiny_tokenizer):
    models = {}
    for architecture in ARCHITECTURES:
        torch.manual_seed(0)
        hp = tiny_hparams(architecture)
        batch = make_batch(tiny_rows, tiny_tokenizer, IDS)
        feats, lens = batch_features(hp["compute_features"], *batch.sig)
        hp["normalize"](feats, lens, epoch=0)
        hp["normalize"].eval()
        model = hp["model"].eval()
        with torch.no_grad():
            enc = model.encode(hp["normalize"](feats, lens), lens)
        models[architecture] = model, enc
    return models


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("search", ["beam_ctc", "beam", "greedy"])
def test_every_architecture_decodes_the_same_fast(architecture, search, tiny_models):
    model, enc = tiny_models[architecture]
    settings = {
        "beam_ctc": {"beam_size": 4, "ctc_weight": 0.3},
        "beam": {"beam_size": 4, "ctc_weight": 0.0},
        "greedy": {"greedy": True},
    }[search]
    slow = decode(model, enc, options=DecodingOptions(**settings, **REFERENCE))
    # Caches: exact for any weights. Candidates: with every token a candidate the
    # pruned scorer must give the full scorer's result (its plumbing: blank, eos,
    # the per-hypothesis rows); how few candidates suffice is a property of a
    # trained model (the demo test below), not of random weights.
    for fast_path in ({"use_cache": True, "ctc_candidates": 0}, {**FAST, "ctc_candidates": 100}):
        fast = decode(model, enc, options=DecodingOptions(**settings, **fast_path))
        assert slow.keys() == fast.keys()
        for task, (hyps, scores) in slow.items():
            assert fast[task][0] == hyps, (task, fast_path)
            if scores is not None:
                assert fast[task][1] == pytest.approx(scores, abs=1e-5), (task, fast_path)


@pytest.fixture(scope="module")
def demo_asr():
    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import SubtitleASR

    return SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL))


def _clips():
    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import load_audio_file, pad_waveforms

    paths = [DEMO_MODEL / "example.wav"] + [FIXTURES / "wavs" / f"utt{k}.wav" for k in range(1, 7)]
    return pad_waveforms([load_audio_file(str(p)) for p in paths])


def test_the_demo_model_writes_the_same_texts_fast(demo_asr, monkeypatch):
    wavs, lens = _clips()
    slow = demo_asr.transcribe_batch(wavs, lens, **REFERENCE)
    scored = []
    original = CTCScorer.score

    def recording(self, inp_tokens, memory, candidates, attn):
        scored.append(None if candidates is None else candidates.shape[-1])
        return original(self, inp_tokens, memory, candidates, attn)

    monkeypatch.setattr(CTCScorer, "score", recording)
    fast = demo_asr.transcribe_batch(wavs, lens)  # the defaults are the fast path
    for a, b in zip(slow, fast):
        assert (a.verbatim_tokens, a.subtitle_tokens) == (b.verbatim_tokens, b.subtitle_tokens)
        assert a.verbatim_score == pytest.approx(b.verbatim_score, abs=1e-5)
        assert a.subtitle_score == pytest.approx(b.subtitle_score, abs=1e-5)
    assert slow[0].verbatim  # really transcribed
    # CTC was scored on candidates only: far fewer than the 256-token vocabulary
    assert scored and all(n is not None and n < 256 for n in scored)
    assert max(scored) < demo_asr.tokenizer.get_piece_size() / 2


def test_an_imported_nelf_model_decodes_the_same_fast(tmp_path):
    from test_import_nelf import _wavs

    from speechbrain_subtitle.inference import SubtitleASR, pad_waveforms
    from speechbrain_subtitle.nelf import import_nelf

    case = "conv2d_none_interctc"
    out = import_nelf(FIXTURES / "nelf" / case, tmp_path / case)
    asr = SubtitleASR.from_hparams(source=str(out), savedir=str(out))
    wavs, lens = pad_waveforms(_wavs(case))
    slow = asr.transcribe_batch(wavs, lens, **REFERENCE)
    fast = asr.transcribe_batch(wavs, lens)
    for a, b in zip(slow, fast):
        assert (a.verbatim_tokens, a.subtitle_tokens) == (b.verbatim_tokens, b.subtitle_tokens)
        assert a.verbatim_score == pytest.approx(b.verbatim_score, abs=1e-5)


def test_bad_candidate_counts_are_refused():
    with pytest.raises(ValueError, match="ctc_candidates"):
        DecodingOptions(ctc_candidates=0.5)
    assert DecodingOptions().use_cache and DecodingOptions().ctc_candidates == 1.5


def test_int8_quantization_keeps_the_demo_texts(demo_asr):
    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import SubtitleASR

    asr = SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL), quantize="int8")
    linear = asr.model.verbatim_decoder.layers[0].ffn.ffn[0]
    assert isinstance(linear, torch.ao.nn.quantized.dynamic.Linear)
    assert not isinstance(demo_asr.model.verbatim_decoder.layers[0].ffn.ffn[0], type(linear))
    wavs, lens = _clips()
    floats = demo_asr.transcribe_batch(wavs, lens)
    ints = asr.transcribe_batch(wavs, lens)
    same = sum(a.verbatim == b.verbatim and a.subtitle == b.subtitle for a, b in zip(floats, ints))
    assert same >= len(floats) - 1, [(a.verbatim, b.verbatim) for a, b in zip(floats, ints)]
    with pytest.raises(ValueError, match="Unknown quantization"):
        asr.quantize("int4")
