"""Per-row masking, checked on real gradients of the C8 (cascaded) model.

The verbatim CTC head is shared by the final and the intermediate CTC (as in
ESPnet's intermediate CTC), so checking it covers both.
"""

import math

import pytest
import torch
from conftest import features, make_batch, tiny_hparams

from speechbrain_subtitle.brain import batch_targets

BOTH = ["utt1", "utt2", "utt3", "utt4"]


def _run(hparams, batch, verbatim, subtitle, device):
    model = hparams["model"].to(device).train()
    hparams["normalize"].to(device)
    feats, lens = features(hparams, batch)
    feats = feats.detach().requires_grad_(True)
    inputs, targets = batch_targets(batch)
    if not verbatim:
        inputs["verbatim_rows"] = inputs["verbatim_rows"][:0]
    if not subtitle:
        inputs["subtitle_rows"] = inputs["subtitle_rows"][:0]
    model.zero_grad()
    out = model(feats, lens, **inputs)
    loss, terms = hparams["loss"](out, targets)
    loss.backward()
    return model, loss, terms, feats


def _grad_norm(module):
    grads = [p.grad.abs().sum() for p in module.parameters() if p.grad is not None]
    return float(sum(grads)) if grads else 0.0


def _all_zero(module):
    return all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in module.parameters())


@pytest.fixture()
def c8(tiny_rows, tiny_tokenizer, device):
    hparams = tiny_hparams("c8")
    return hparams, make_batch(tiny_rows, tiny_tokenizer, BOTH, device)


def test_subtitle_rows_never_train_verbatim_parts(c8, device):
    hparams, batch = c8
    model, loss, terms, _ = _run(hparams, batch, verbatim=False, subtitle=True, device=device)
    assert math.isfinite(loss.item()) and loss.item() > 0
    assert terms["ctc"].item() == 0.0 and terms["verbatim_attention"].item() == 0.0
    assert _all_zero(model.verbatim_decoder)
    assert _all_zero(model.ctc_head)
    # every parameter got a gradient tensor (DDP needs that), just a zero one
    assert all(p.grad is not None for p in model.verbatim_decoder.parameters())
    assert _grad_norm(model.subtitle_encoder) > 0
    assert _grad_norm(model.subtitle_decoder) > 0
    assert _grad_norm(model.encoder) > 0


def test_verbatim_rows_never_train_subtitle_parts(c8, device):
    hparams, batch = c8
    model, loss, terms, _ = _run(hparams, batch, verbatim=True, subtitle=False, device=device)
    assert math.isfinite(loss.item()) and loss.item() > 0
    assert terms["subtitle_attention"].item() == 0.0
    assert _all_zero(model.subtitle_encoder)
    assert _all_zero(model.subtitle_decoder)
    assert _grad_norm(model.verbatim_decoder) > 0
    assert _grad_norm(model.ctc_head) > 0


def test_empty_batch_terms_are_exact_zeros_not_nan(c8, device):
    hparams, batch = c8
    _, loss, terms, _ = _run(hparams, batch, verbatim=False, subtitle=False, device=device)
    assert loss.item() == 0.0
    assert all(v.item() == 0.0 for v in terms.values())


def test_mixed_batch_rows_only_feed_their_own_terms(tiny_rows, tiny_tokenizer, device):
    """In one mixed batch, the verbatim terms get no gradient from subtitle-only rows."""
    hparams = tiny_hparams("c8")
    batch = make_batch(tiny_rows, tiny_tokenizer, ["utt5", "utt6", "utt1"], device)
    model = hparams["model"].to(device).train()
    hparams["normalize"].to(device)
    feats, lens = features(hparams, batch)
    feats = feats.detach().requires_grad_(True)
    inputs, targets = batch_targets(batch)
    assert inputs["verbatim_rows"].tolist() == [0, 2]
    assert inputs["subtitle_rows"].tolist() == [1, 2]
    out = model(feats, lens, **inputs)
    _, terms = hparams["loss"](out, targets)
    verbatim_terms = terms["ctc"] + terms["intermediate_ctc"] + terms["verbatim_attention"]
    (grad_v,) = torch.autograd.grad(verbatim_terms, feats, retain_graph=True)
    (grad_s,) = torch.autograd.grad(terms["subtitle_attention"], feats)
    per_row = lambda g: [float(g[i].abs().sum()) for i in range(g.shape[0])]  # noqa: E731
    v, s = per_row(grad_v), per_row(grad_s)
    assert v[1] == 0.0 and v[0] > 0 and v[2] > 0  # utt6 has no verbatim text
    assert s[0] == 0.0 and s[1] > 0 and s[2] > 0  # utt5 has no subtitle text


def test_loss_matches_formula(c8, device):
    """The total equals the design's weighted sum of the reported terms."""
    hparams, batch = c8
    _, loss, t, _ = _run(hparams, batch, verbatim=True, subtitle=True, device=device)
    a, c, i, s = 0.5, 0.3, 0.3, 0.0
    ctc = (1 - i) * t["ctc"] + i * t["intermediate_ctc"]
    expected = a * (c * ctc + (1 - c) * t["verbatim_attention"]) + (1 - a) * (
        s * t["subtitle_ctc"] + (1 - s) * t["subtitle_attention"]
    )
    assert torch.allclose(loss, expected)
    assert all(t[k].item() > 0 for k in ("ctc", "intermediate_ctc", "verbatim_attention"))
