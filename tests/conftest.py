"""Shared fixtures. ``pytest --device=cuda:0`` runs the model tests on a GPU."""

import os
import pathlib

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _drop_broken_lazy_modules():
    """Hypothesis scans ``sys.modules`` (reading ``__file__``), which makes
    SpeechBrain's lazy modules import optional integrations such as k2 and fail.
    Resolve the lazy modules now and forget those whose target is not installed."""
    import sys

    import speechbrain  # noqa: F401 (registers the lazy modules)
    from speechbrain.utils.importutils import LazyModule

    for name, module in list(sys.modules.items()):
        if isinstance(module, LazyModule):
            try:
                module.ensure_module(1)
            except ImportError:
                del sys.modules[name]


_drop_broken_lazy_modules()

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
HPARAMS = ROOT / "hparams"
ARCHITECTURES = ["verbatim_only", "parallel", "c8", "v2", "chained", "shared_task"]


def pytest_addoption(parser):
    parser.addoption("--device", action="store", default="cpu", help="torch device for model tests")


@pytest.fixture(scope="session")
def device(request):
    return request.config.getoption("--device")


@pytest.fixture(scope="session")
def tiny_rows():
    from speechbrain_subtitle.data import read_manifest

    return read_manifest(FIXTURES / "tiny.csv")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_rows, tmp_path_factory):
    from speechbrain_subtitle.tokenizer import train_tokenizer

    texts = [r["verbatim"] for r in tiny_rows.values()] + [
        r["subtitle"] for r in tiny_rows.values()
    ]
    return train_tokenizer(texts, tmp_path_factory.mktemp("tok") / "tok", vocab_size=64)


def tiny_hparams(architecture, **overrides):
    """The tiny training configuration with another architecture swapped in."""
    from speechbrain_subtitle.config import load_hparams

    overrides.setdefault("output_folder", "/tmp/unused")
    return load_hparams(
        HPARAMS / "train_tiny.yaml", overrides, architecture=HPARAMS / f"{architecture}.yaml"
    )


def make_batch(rows, tokenizer, ids, device="cpu"):
    """A ``PaddedBatch`` of the given row IDs, as the training loader builds it."""
    from speechbrain.dataio.batch import PaddedBatch

    from speechbrain_subtitle.data import make_dataset

    subset = {k: rows[k] for k in ids}
    dataset = make_dataset(subset, tokenizer)
    return PaddedBatch([dataset[i] for i in range(len(subset))]).to(device)


def features(hparams, batch):
    """Normalized filterbanks of a batch (normalizer in its current mode)."""
    from speechbrain_subtitle.features import batch_features

    feats, lens = batch_features(hparams["compute_features"], *batch.sig)
    return hparams["normalize"](feats, lens, epoch=0), lens


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


#: Where Debian puts the Fish Fillets NG data (``fillets-ng-data-nl``, ``fillets-ng-data``).
FILLETS_ROOT = pathlib.Path(os.environ.get("FILLETS_NG_ROOT", "/usr/share/games/fillets-ng"))
FILLETS_RECIPE = ROOT / "recipes" / "FishFilletsNL"


def require_fillets():
    """Skips (or, with ``SBS_REQUIRE_REAL_DUTCH=1`` as CI sets it, fails) without the data."""
    if (FILLETS_ROOT / "sound").is_dir() and (FILLETS_ROOT / "script").is_dir():
        return
    message = (
        f"real Dutch speech not installed under {FILLETS_ROOT} "
        "(apt-get install fillets-ng-data-nl fillets-ng-data; scripts/setup.sh does it)"
    )
    if os.environ.get("SBS_REQUIRE_REAL_DUTCH"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def fillets_nl(tmp_path_factory):
    """The real-Dutch recipe's prepared folder: ``(folder, report)``.

    ``prepare_fillets.prepare`` runs once per session on the installed Debian
    packages (about 20 s: every clip is converted to 16 kHz mono).
    """
    import sys

    require_fillets()
    sys.path.insert(0, str(FILLETS_RECIPE))
    sys.path.insert(0, str(ROOT / "recipes" / "CGN_subtitles"))
    from prepare_fillets import prepare

    folder = tmp_path_factory.mktemp("fillets_nl")
    report = prepare(folder, FILLETS_ROOT, progress=False)
    return folder, report
