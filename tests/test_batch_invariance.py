"""A batch gives exactly what one-by-one gives: encoder states, tokens, word times.

Before the fix, an utterance padded next to a longer one got other encoder
states (SpeechBrain's convolutions read padded frames, lengths were rounded
from relative lengths) and other words (the search cap came from the padded
length). These tests encode and decode utterances of different lengths
together and alone, for every architecture in hparams/ and for the demo model.
"""

import pytest
import torch
from conftest import ARCHITECTURES, FIXTURES, make_batch, tiny_hparams
from speechbrain.lobes.models.transformer.Conformer import ConvolutionModule

from speechbrain_subtitle.decoding import DecodingOptions, decode
from speechbrain_subtitle.features import batch_features
from speechbrain_subtitle.lobes.encoders import MaskedConvolutionModule, mask_convolutions

IDS = ["utt2", "utt5", "utt1"]  # different lengths
# name -> (architecture, overrides): every architecture, and c8 with ESPnet's front end
MODELS = {a: (a, {}) for a in ARCHITECTURES}
MODELS["c8-conv2d"] = ("c8", {"encoder_frontend": "conv2d"})


def _encode(hp, model, wavs, lens):
    feats, feat_lens = batch_features(hp["compute_features"], wavs, lens)
    return model.encode(hp["normalize"](feats, feat_lens), feat_lens)


def _rows(batch):
    wavs, lens = batch.sig
    samples = torch.round(lens * wavs.shape[1]).long()
    return [wavs[k, : int(n)] for k, n in enumerate(samples)], wavs, lens


@pytest.fixture(scope="module")
def tiny_models(tiny_rows, tiny_tokenizer):
    """Each tiny model of MODELS (random weights) with a trained-looking normalizer."""
    models = {}
    for name, (architecture, overrides) in MODELS.items():
        torch.manual_seed(0)
        hp = tiny_hparams(architecture, **overrides)
        model = hp["model"].eval()
        batch = make_batch(tiny_rows, tiny_tokenizer, IDS)
        feats, lens = batch_features(hp["compute_features"], *batch.sig)
        hp["normalize"](feats, lens, epoch=0)  # fit the statistics once
        hp["normalize"].eval()
        models[name] = (hp, model)
    return models


@pytest.mark.parametrize("architecture", list(MODELS))
def test_encoder_states_do_not_depend_on_the_batch(
    architecture, tiny_models, tiny_rows, tiny_tokenizer
):
    hp, model = tiny_models[architecture]
    alone_wavs, wavs, lens = _rows(make_batch(tiny_rows, tiny_tokenizer, IDS))
    assert len({w.shape[0] for w in alone_wavs}) == len(IDS)  # really different lengths
    with torch.no_grad():
        together = _encode(hp, model, wavs, lens)
        for k, wav in enumerate(alone_wavs):
            alone = _encode(hp, model, wav[None], torch.ones(1))
            n = int(alone.lengths[0])
            assert int(together.lengths[k]) == n == alone.states.shape[1]
            torch.testing.assert_close(together.states[k, :n], alone.states[0], atol=1e-5, rtol=0)
            assert not together.states[k, n:].any()  # padded frames are zero
            if alone.intermediate is not None:
                torch.testing.assert_close(
                    together.intermediate[k, :n], alone.intermediate[0], atol=1e-5, rtol=0
                )
            if model.subtitle_encoder is not None and not model.chained:
                sub_together, _ = model.subtitle_encoder_states(together)
                sub_alone, _ = model.subtitle_encoder_states(alone)
                torch.testing.assert_close(sub_together[k, :n], sub_alone[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("search", ["beam_ctc", "greedy"])
def test_decoded_tokens_do_not_depend_on_the_batch(
    architecture, search, tiny_models, tiny_rows, tiny_tokenizer
):
    """Random weights rarely emit eos, so rows run into their own length caps too."""
    hp, model = tiny_models[architecture]
    alone_wavs, wavs, lens = _rows(make_batch(tiny_rows, tiny_tokenizer, IDS))
    if search == "greedy":
        options = DecodingOptions(greedy=True, max_decode_ratio=0.5)
    else:
        options = DecodingOptions(beam_size=3, ctc_weight=0.3, max_decode_ratio=0.5)
    with torch.no_grad():
        together = decode(model, _encode(hp, model, wavs, lens), options=options)
        for k, wav in enumerate(alone_wavs):
            alone = decode(model, _encode(hp, model, wav[None], torch.ones(1)), options=options)
            for task, (hyps, scores) in alone.items():
                assert together[task][0][k] == hyps[0], (task, k)
                if scores is not None:
                    assert together[task][1][k] == pytest.approx(scores[0], abs=1e-4)


def test_rows_stop_at_their_own_length_cap(tiny_models, tiny_rows, tiny_tokenizer):
    """The shortest row's hypothesis is no longer than its own frames allow."""
    hp, model = tiny_models["c8"]
    _, wavs, lens = _rows(make_batch(tiny_rows, tiny_tokenizer, IDS))
    options = DecodingOptions(beam_size=2, ctc_weight=0.0, max_decode_ratio=0.5)
    with torch.no_grad():
        enc = _encode(hp, model, wavs, lens)
        out = decode(model, enc, options=options)
    for k, n in enumerate(enc.lengths.tolist()):
        for task in out:
            assert len(out[task][0][k]) <= int(n * 0.5)


def test_training_forward_and_normalizer_statistics_ignore_padding(tiny_rows, tiny_tokenizer):
    """The training path (model.forward) gives each row what it gives alone, and
    the normalizer's statistics come from valid frames only."""
    from speechbrain_subtitle.brain import batch_targets

    hp = tiny_hparams("c8")
    model = hp["model"].eval()  # eval: no dropout, same code path as training
    batch = make_batch(tiny_rows, tiny_tokenizer, IDS)
    feats, lens = batch_features(hp["compute_features"], *batch.sig)
    frames = torch.round(lens * feats.shape[1]).long()
    normalize = hp["normalize"].train()
    normalize(feats, lens, epoch=0)
    valid = torch.cat([feats[k, :n] for k, n in enumerate(frames)])
    assert valid.shape[0] < feats.shape[0] * feats.shape[1]  # there is padding to leave out
    torch.testing.assert_close(normalize.glob_mean, valid.mean(dim=0))
    torch.testing.assert_close(
        normalize.glob_std, valid.std(dim=0, correction=0), rtol=1e-4, atol=1e-5
    )
    normalize.eval()
    inputs, _ = batch_targets(batch)
    with torch.no_grad():
        out = model(normalize(feats, lens), lens, **inputs)
        for k, row in enumerate(IDS):
            single = make_batch(tiny_rows, tiny_tokenizer, [row])
            f1, l1 = batch_features(hp["compute_features"], *single.sig)
            in1, _ = batch_targets(single)
            one = model(normalize(f1, l1), l1, **in1)
            if k in out["verbatim_rows"].tolist():
                pos = out["verbatim_rows"].tolist().index(k)
                n = int(one["ctc_lengths"][0])
                torch.testing.assert_close(
                    out["ctc_logprobs"][pos, :n], one["ctc_logprobs"][0], atol=1e-5, rtol=0
                )
            if k in out["subtitle_rows"].tolist():
                pos = out["subtitle_rows"].tolist().index(k)
                m = one["subtitle_logprobs"].shape[1]
                torch.testing.assert_close(
                    out["subtitle_logprobs"][pos, :m],
                    one["subtitle_logprobs"][0],
                    atol=1e-5,
                    rtol=0,
                )


def test_stock_convolution_module_leaks_padding_and_ours_does_not():
    """Why the masked module exists: SpeechBrain's reads padded frames."""
    torch.manual_seed(0)
    stock = ConvolutionModule(input_size=8, kernel_size=5).eval()
    x = torch.randn(1, 10, 8)
    mask = torch.zeros(1, 10, 1, dtype=torch.bool)
    mask[:, 6:] = True
    noisy = x.clone()
    noisy[:, 6:] = 100.0  # what sits in the padding must not matter
    assert not torch.allclose(stock(x, mask)[:, :6], stock(noisy, mask)[:, :6])
    ours = mask_convolutions(torch.nn.Sequential(stock))[0]
    assert isinstance(ours, MaskedConvolutionModule)
    torch.testing.assert_close(ours(x, mask)[:, :6], ours(noisy, mask)[:, :6])
    torch.testing.assert_close(ours(x[:, :6]), ours(x, mask)[:, :6], atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def demo_asr():
    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import SubtitleASR

    return SubtitleASR.from_hparams(source=str(DEMO_MODEL), savedir=str(DEMO_MODEL))


def test_demo_model_batch_equals_one_by_one(demo_asr):
    """Real decoding settings (beam, CTC 0.3, word times) on clips of different lengths."""
    from speechbrain_subtitle.cli import DEMO_MODEL
    from speechbrain_subtitle.inference import load_audio_file, pad_waveforms

    example = load_audio_file(str(DEMO_MODEL / "example.wav"))
    clips = [
        example,
        example[: int(len(example) * 0.55)],
        load_audio_file(str(FIXTURES / "wavs" / "utt3.wav")),
        example[int(len(example) * 0.3) :],
    ]
    wavs, lens = pad_waveforms(clips)
    together = demo_asr.transcribe_batch(wavs, lens, word_times=True)
    for k, clip in enumerate(clips):
        alone = demo_asr.transcribe_batch(clip[None], torch.ones(1), word_times=True)[0]
        assert together[k].verbatim_tokens == alone.verbatim_tokens, k
        assert together[k].subtitle_tokens == alone.subtitle_tokens, k
        assert together[k].verbatim_words == alone.verbatim_words, k
        assert together[k].subtitle_words == alone.subtitle_words, k
    assert together[0].verbatim  # the full example is really transcribed
