#!/usr/bin/env python3
"""Train the paper's joint verbatim/subtitle model on CGN + subtitled broadcasts.

Prepare the manifests first (see README.md)::

    python recipes/CGN_subtitles/prepare_cgn.py --cgn-root /data/CGN --out data/cgn
    python recipes/CGN_subtitles/prepare_subtitles.py --media-dir /data/vrt --out data/vrt

then train (one GPU, or several with torchrun)::

    python recipes/CGN_subtitles/train.py recipes/CGN_subtitles/hparams/c8.yaml \\
        --cgn_folder=data/cgn --subtitle_folder=data/vrt --precision=bf16 --device=cuda:0
    torchrun --nproc_per_node=4 recipes/CGN_subtitles/train.py <same arguments>

The training manifest is the CGN training rows (verbatim) and the broadcast
training rows (subtitle) together; the mixed-ratio sampler keeps half of every
batch verbatim. Every test manifest is evaluated at the end (results in
``<output_folder>/test_<name>/metrics.json``).
"""

import csv
import logging
import os

from speechbrain_subtitle.data import REQUIRED_COLUMNS
from speechbrain_subtitle.train import main


def merge_manifests(paths, out_path):
    """Concatenates manifest CSVs (same schema, IDs must stay unique) into ``out_path``."""
    seen = set()
    with open(out_path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(REQUIRED_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for path in paths:
            folder = os.path.dirname(os.path.abspath(path))
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    if row["ID"] in seen:
                        raise ValueError(f"{path}: ID {row['ID']} appears in two manifests")
                    seen.add(row["ID"])
                    if not os.path.isabs(row["wav"]):
                        row["wav"] = os.path.join(folder, row["wav"])
                    writer.writerow(row)


def prepare(hparams):
    """Writes the combined training and validation manifests."""
    os.makedirs(os.path.dirname(hparams["train_csv"]), exist_ok=True)
    merge_manifests(hparams["train_parts"], hparams["train_csv"])
    merge_manifests(hparams["valid_parts"], hparams["valid_csv"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(prepare=prepare)
