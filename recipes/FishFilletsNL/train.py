#!/usr/bin/env python3
"""Fine-tune a joint verbatim/subtitle model on real human Dutch speech.

The real speech is the Fish Fillets NG Dutch voices (Debian ``fillets-ng-data-nl``
and ``fillets-ng-data``, GPL-2; ``prepare_fillets.py`` writes the manifests into
``data_folder`` when it has no ``train.csv``). The training rows are that
recipe's train split (both texts) plus, with ``synthetic_folder``, the
training rows of a SyntheticNL corpus (built when missing), written together
to ``<output_folder>/train_mixed.csv``. Validation is the real dev split; the
test split is only evaluated at the end. Game dialogue read by few actors:
figures measured on it are not broadcast or conversational Dutch.

Usage (from the repository root)::

    python recipes/FishFilletsNL/train.py recipes/FishFilletsNL/hparams/finetune_demo.yaml \\
        --data_folder=data/fillets_nl --synthetic_folder=data/synth_v2_small \\
        --pretrained_path=models/synthetic-nl-c8-demo --output_folder=work/fillets_ft
"""

import csv
import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "SyntheticNL"))

from prepare_fillets import prepare as prepare_fillets  # noqa: E402
from synthesize import build_corpus  # noqa: E402

from speechbrain_subtitle.train import console_main  # noqa: E402

MIXED_COLUMNS = ("ID", "duration", "wav", "start", "stop", "verbatim", "subtitle", "source")


def _absolute_rows(csv_path, source):
    folder = Path(csv_path).resolve().parent
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            wav = Path(row["wav"])
            row["wav"] = str(wav if wav.is_absolute() else folder / wav)
            row["source"] = source
            yield {key: row.get(key, "") for key in MIXED_COLUMNS}


def write_mixed_manifest(fillets_folder, synthetic_folder, out_csv):
    """Writes the real train split and the synthetic training rows into one manifest.

    Arguments
    ---------
    fillets_folder : str or os.PathLike
        Folder with the real-speech ``train.csv`` (``prepare_fillets.py``).
    synthetic_folder : str or os.PathLike or None
        A SyntheticNL corpus folder (its ``train.csv``), or None.
    out_csv : str or os.PathLike
        The manifest to write (absolute ``wav`` paths).

    Returns
    -------
    dict
        Rows written per source (``fillets``, ``synthetic``).
    """
    counts = {}
    sources = [("fillets", Path(fillets_folder) / "train.csv")]
    if synthetic_folder:
        sources.append(("synthetic", Path(synthetic_folder) / "train.csv"))
    os.makedirs(os.path.dirname(os.path.abspath(out_csv)), exist_ok=True)
    with open(out_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MIXED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for name, path in sources:
            rows = list(_absolute_rows(path, name))
            writer.writerows(rows)
            counts[name] = len(rows)
    return counts


def prepare(hparams):
    """Builds what is missing (real manifests, synthetic corpus), then the mixed manifest."""
    folder = hparams["data_folder"]
    if not os.path.isfile(os.path.join(folder, "train.csv")):
        prepare_fillets(folder, hparams.get("fillets_root", "/usr/share/games/fillets-ng"))
    synthetic = hparams.get("synthetic_folder")
    if synthetic and not os.path.isfile(os.path.join(synthetic, "train.csv")):
        build_corpus(
            synthetic,
            size=hparams.get("synthetic_size", "small"),
            seed=hparams.get("synthetic_seed", 1234),
        )
    counts = write_mixed_manifest(folder, synthetic, hparams["train_csv"])
    logging.getLogger(__name__).info("training rows: %s", counts)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(console_main(prepare=prepare))
