#!/usr/bin/env python3
"""Train a joint verbatim/subtitle model on the synthetic Dutch corpus.

The corpus is built first when ``data_folder`` holds no ``train.csv`` (Debian's
espeak-ng and sox are needed; see README.md). Synthetic speech: numbers measured
on it show the system learns both mappings, nothing about real speech.

Usage (from the repository root)::

    python recipes/SyntheticNL/train.py recipes/SyntheticNL/hparams/c8_demo.yaml \\
        --data_folder=data/SyntheticNL [--corpus_size=small] [--device=cuda:0]
    torchrun --nproc_per_node=2 recipes/SyntheticNL/train.py ... (multi-GPU)
    # other architectures: --architecture=hparams/v2.yaml (sizes from the recipe yaml apply)
    # fine-tuning:         --pretrained_path=<exported folder or Hub id> [--freeze_encoder=True]
"""

import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from synthesize import build_corpus  # noqa: E402

from speechbrain_subtitle.train import main  # noqa: E402


def prepare(hparams):
    """Builds the corpus into ``data_folder`` unless it is already there."""
    folder = hparams["data_folder"]
    if os.path.isfile(os.path.join(folder, "train.csv")):
        return
    build_corpus(
        folder,
        size=hparams.get("corpus_size", "small"),
        seed=hparams.get("corpus_seed", 1234),
        jobs=hparams.get("corpus_jobs", 2),
        utterances=hparams.get("corpus_utterances"),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(prepare=prepare)
