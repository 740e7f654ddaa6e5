"""Every shipped yaml loads with HyperPyYAML alone and builds the model it describes.

A SpeechBrain user opens ``hparams/*.yaml`` and ``recipes/*/hparams/*.yaml``
with ``load_hyperpyyaml(open(f), overrides)``; nothing of ours is needed. The
parameter counts are those the former ``architecture:``/``base:`` merge gave
for the same files. Paper-size models are built on the meta device (shapes
only); the tiny ones also run a forward pass.
"""

import pathlib

import pytest
import ruamel.yaml
import torch
from hyperpyyaml import load_hyperpyyaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
HPARAMS = ROOT / "hparams"
ARCHITECTURES = ["c8", "v2", "parallel", "chained", "shared_task", "verbatim_only"]
TRAINING = [
    "hparams/train.yaml",
    "hparams/train_tiny.yaml",
    "recipes/CGN_subtitles/hparams/c8.yaml",
    "recipes/CGN_subtitles/hparams/c8_fixture.yaml",
    "recipes/SyntheticNL/hparams/c8_demo.yaml",
    "recipes/SyntheticNL/hparams/c8_tiny.yaml",
    "recipes/FishFilletsNL/hparams/finetune_demo.yaml",
]
TINY = [f for f in TRAINING if "tiny" in f or "fixture" in f]

# Parameters (sum of numel, 5000 tokens unless the file says otherwise), as the old
# composition built them: README's 64.1M/65.7M (C8) and 171.0M/178.0M (v2).
ARCHITECTURE_PARAMS = {
    ("c8", "speechbrain"): 64_077_624,
    ("c8", "conv2d"): 65_726_104,
    ("v2", "speechbrain"): 171_021_368,
    ("v2", "conv2d"): 178_013_848,
    ("parallel", "speechbrain"): 57_217_336,
    ("chained", "speechbrain"): 61_430_072,
    ("shared_task", "speechbrain"): 45_179_312,
    ("verbatim_only", "speechbrain"): 45_179_312,
}
TRAINING_PARAMS = {
    "hparams/train.yaml": 64_077_624,
    "hparams/train_tiny.yaml": 384_032,
    "recipes/CGN_subtitles/hparams/c8.yaml": 64_077_624,
    "recipes/CGN_subtitles/hparams/c8_fixture.yaml": 384_032,
    "recipes/SyntheticNL/hparams/c8_demo.yaml": 5_337_712,
    "recipes/SyntheticNL/hparams/c8_tiny.yaml": 384_032,
    "recipes/FishFilletsNL/hparams/finetune_demo.yaml": 5_337_712,
}
# train_tiny.yaml with each architecture included instead of c8.yaml
TINY_PARAMS = {
    "c8": 384_032,
    "v2": 366_688,
    "parallel": 299_552,
    "chained": 349_920,
    "shared_task": 240_928,
    "verbatim_only": 240_928,
}
# Parts every architecture file holds identically
SHARED_PARTS = ["compute_features", "normalize", "encoder", "ctc_head", "loss", "modules"]


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _placeholders(relpath, tmp_path):
    """Values for the file's ``!PLACEHOLDER`` keys (folders/CSVs) and a scratch output."""
    doc = ruamel.yaml.YAML().load((ROOT / relpath).read_text(encoding="utf-8"))
    needed = [k for k, v in doc.items() if getattr(getattr(v, "tag", None), "value", None)]
    needed = [k for k in needed if doc[k].tag.value == "!PLACEHOLDER"]
    overrides = {k: str(tmp_path / k) for k in needed}
    overrides["output_folder"] = str(tmp_path / "out")
    return overrides


def _load(relpath, overrides=None, meta=False):
    with open(ROOT / relpath, encoding="utf-8") as f:
        if meta:
            with torch.device("meta"):
                return load_hyperpyyaml(f, overrides)
        return load_hyperpyyaml(f, overrides)


def test_every_yaml_is_listed():
    found = {str(p.relative_to(ROOT)) for p in HPARAMS.glob("*.yaml")}
    found |= {str(p.relative_to(ROOT)) for p in ROOT.glob("recipes/*/hparams/*.yaml")}
    assert found == {f"hparams/{a}.yaml" for a in ARCHITECTURES} | set(TRAINING)


@pytest.mark.parametrize("architecture, front_end", list(ARCHITECTURE_PARAMS))
def test_architecture_file_builds_its_model(architecture, front_end):
    hp = _load(f"hparams/{architecture}.yaml", {"encoder_frontend": front_end}, meta=True)
    assert _count(hp["model"]) == ARCHITECTURE_PARAMS[architecture, front_end]
    assert hp["modules"]["model"] is hp["model"]


def test_architecture_files_share_their_common_parts():
    docs = {
        a: ruamel.yaml.YAML().load((HPARAMS / f"{a}.yaml").read_text(encoding="utf-8"))
        for a in ARCHITECTURES
    }
    for part in SHARED_PARTS:
        reference = _dump(docs["c8"][part])
        for architecture, doc in docs.items():
            assert _dump(doc[part]) == reference, f"{architecture}.yaml: {part} differs from c8"
    for doc in docs.values():
        assert "base" not in doc and "architecture" not in doc


def _dump(node):
    import io

    stream = io.StringIO()
    ruamel.yaml.YAML().dump({"x": node}, stream)
    return stream.getvalue()


@pytest.mark.parametrize("relpath", TRAINING)
def test_training_file_builds_its_model(relpath, tmp_path):
    hp = _load(relpath, _placeholders(relpath, tmp_path), meta=relpath not in TINY)
    assert _count(hp["model"]) == TRAINING_PARAMS[relpath]
    # the parts training uses are the objects the included architecture built
    for part in ("model", "normalize", "compute_features", "loss"):
        assert hp[part] is hp["architecture"][part]
    assert hp["checkpointer"].recoverables["model"] is hp["model"]
    assert hp["vocab_size"] == hp["architecture"]["vocab_size"]


@pytest.mark.parametrize("relpath", TRAINING)
def test_training_files_define_every_training_key(relpath):
    def keys(path):
        return set(ruamel.yaml.YAML().load((ROOT / path).read_text(encoding="utf-8")))

    assert keys("hparams/train.yaml") <= keys(relpath)


@pytest.mark.parametrize("relpath", TRAINING)
def test_training_file_needs_its_placeholders(relpath, tmp_path):
    needed = _placeholders(relpath, tmp_path)
    if len(needed) == 1:  # only output_folder: nothing to fill in
        return
    with pytest.raises(ValueError, match="PLACEHOLDER"):
        _load(relpath, {"output_folder": needed["output_folder"]})


@pytest.mark.parametrize("relpath", TINY)
def test_tiny_model_runs_a_forward_pass(relpath, tmp_path):
    hp = _load(relpath, _placeholders(relpath, tmp_path))
    model = hp["model"].eval()
    wavs = torch.randn(2, 8000) * 0.1
    lens = torch.tensor([1.0, 0.75])
    feats = hp["normalize"](hp["compute_features"](wavs), lens, epoch=0)
    tokens = torch.randint(5, hp["vocab_size"], (2, 4))
    tokens[:, 0] = hp["architecture"]["verbatim_bos_index"]
    subtitle = tokens.clone()
    subtitle[:, 0] = hp["architecture"]["subtitle_bos_index"]
    rows = torch.tensor([0, 1])
    lengths = torch.tensor([4, 3])
    with torch.no_grad():
        out = model(feats, lens, tokens, lengths, rows, subtitle, lengths, rows)
    assert out["verbatim_logprobs"].shape[:2] == (2, 4)
    assert out["subtitle_logprobs"].shape[:2] == (2, 4)
    assert all(torch.isfinite(v).all() for v in out.values() if isinstance(v, torch.Tensor))


def _arch_override(architecture):
    """The plain-HyperPyYAML override that includes another architecture file."""
    return ruamel.yaml.YAML().load(f"architecture: !include:{architecture}.yaml\n")


def test_plain_override_includes_another_architecture(tmp_path):
    overrides = _arch_override("v2")
    overrides.update(_placeholders("hparams/train.yaml", tmp_path))
    hp = _load("hparams/train.yaml", overrides, meta=True)
    assert hp["variant"] == "cascaded_dual"
    assert _count(hp["model"]) == ARCHITECTURE_PARAMS["v2", "speechbrain"]


def test_nested_override_resizes_the_included_architecture(tmp_path):
    overrides = _placeholders("hparams/train.yaml", tmp_path)
    overrides["architecture"] = {"encoder_frontend": "conv2d"}
    hp = _load("hparams/train.yaml", overrides, meta=True)
    assert _count(hp["model"]) == ARCHITECTURE_PARAMS["c8", "conv2d"]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architecture_path_keeps_the_tiny_sizes(architecture, tmp_path):
    from speechbrain_subtitle.config import load_hparams

    hp = load_hparams(
        ROOT / "hparams/train_tiny.yaml",
        {"output_folder": str(tmp_path)},
        architecture=HPARAMS / f"{architecture}.yaml",
    )
    assert _count(hp["model"]) == TINY_PARAMS[architecture]
