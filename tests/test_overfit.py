"""Every architecture learns: a tiny model overfits four synthetic utterances.

Greedy decoding must reproduce both training texts of every utterance exactly
(checked every few steps) within a step budget; after a few more steps, beam
search with joint CTC scoring must find the same texts.
"""

import pytest
import torch
from conftest import ARCHITECTURES, features, make_batch, tiny_hparams

from speechbrain_subtitle.brain import batch_targets
from speechbrain_subtitle.decoding import DecodingOptions, decode, greedy_decode
from speechbrain_subtitle.tokenizer import ids_to_text

BOTH = ["utt1", "utt2", "utt3", "utt4"]
MAX_STEPS = 400
CHECK_EVERY = 25
EXTRA_STEPS = 50  # after greedy decoding is right, sharpen the model for the beam check


def _decode(hparams, model, batch, tokenizer):
    model.eval()
    with torch.no_grad():
        feats, lens = features(hparams, batch)
        hyps = greedy_decode(model, model.encode(feats, lens))
    model.train()
    return {task: [ids_to_text(tokenizer, h) for h in rows] for task, rows in hyps.items()}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_tiny_model_overfits_both_texts(architecture, tiny_rows, tiny_tokenizer, device):
    hparams = tiny_hparams(architecture)
    model = hparams["model"].to(device).train()
    hparams["normalize"].to(device)
    batch = make_batch(tiny_rows, tiny_tokenizer, BOTH, device)
    inputs, targets = batch_targets(batch)
    # Global normalization statistics from the batch, then frozen.
    hparams["normalize"].train()
    features(hparams, batch)
    hparams["normalize"].eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    expected = {"verbatim": list(batch.verbatim_words), "subtitle": list(batch.subtitle_words)}
    if architecture == "verbatim_only":
        expected.pop("subtitle")
    first_loss = decoded = converged_at = None
    for step in range(1, MAX_STEPS + 1):
        feats, lens = features(hparams, batch)
        loss, _ = hparams["loss"](model(feats, lens, **inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first_loss = first_loss if first_loss is not None else loss.item()
        if step % CHECK_EVERY == 0 and not converged_at:
            decoded = _decode(hparams, model, batch, tiny_tokenizer)
            converged_at = step if decoded == expected else None
        if converged_at and step >= converged_at + EXTRA_STEPS:
            break
    assert decoded == expected, f"{architecture} after {step} steps: {decoded}"
    assert loss.item() < 0.25 * first_loss
    # SpeechBrain's beam searcher with joint CTC scoring (packed two-source
    # memories for the twin-source decoders) finds the same texts.
    options = DecodingOptions(beam_size=3, ctc_weight=0.3)
    model.eval()
    with torch.no_grad():
        feats, lens = features(hparams, batch)
        beams = decode(model, model.encode(feats, lens), options=options)
    texts = {t: [ids_to_text(tiny_tokenizer, h) for h in hyps] for t, (hyps, _) in beams.items()}
    assert texts == expected


def test_tiny_model_with_espnet_front_end_trains(tiny_rows, tiny_tokenizer, device):
    """C8 with ESPnet's Conv2dSubsampling front end (encoder_frontend: conv2d)
    learns as well: 100 steps on four utterances cut the loss below a tenth."""
    hparams = tiny_hparams("c8", encoder_frontend="conv2d")
    model = hparams["model"].to(device).train()
    assert model.encoder.input_projection is None  # really the conv2d front end
    hparams["normalize"].to(device)
    batch = make_batch(tiny_rows, tiny_tokenizer, BOTH, device)
    inputs, targets = batch_targets(batch)
    hparams["normalize"].train()
    features(hparams, batch)
    hparams["normalize"].eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(100):
        feats, lens = features(hparams, batch)
        loss, _ = hparams["loss"](model(feats, lens, **inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0], losses[::10]
