#!/usr/bin/env python3
"""Builds the SyntheticNL corpus (synthetic Flemish speech with verbatim and subtitle texts).

Example
-------
    python recipes/SyntheticNL/make_corpus.py --out data/synth_small --size small

See ``recipes/SyntheticNL/README.md``. Needs the Debian packages ``espeak-ng``
and ``sox``.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthesize import (  # noqa: E402 - after the path set-up above
    DEFAULT_GENERATOR,
    DEFAULT_NOISE_DB,
    SIZES,
    ToolMissingError,
    build_corpus,
)


def parse_args(argv=None):
    """Parses the command line.

    Arguments
    ---------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        The parsed arguments.
    """
    sizes = ", ".join(f"{name} ({spec.utterances} utt.)" for name, spec in SIZES.items())
    parser = argparse.ArgumentParser(
        description=(
            "Build SyntheticNL: espeak-ng speech of template-generated Flemish sentences, "
            "each with a verbatim transcript and a subtitle, split into train (verbatim-only "
            "and subtitle-only rows), valid and test (both texts, held-out test speakers); "
            "generator 2 adds test_unseen (held-out templates, vocabulary and voices, with "
            "noise and reverberation) and augments half of the training rows. "
            "Synthetic speech: results on it say nothing about real speech."
        )
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--size", default="small", choices=list(SIZES), help=f"corpus size: {sizes}"
    )
    parser.add_argument(
        "--utterances", type=int, default=None, help="number of utterances (overrides --size)"
    )
    parser.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers (default 2)")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument(
        "--noise-db",
        type=float,
        default=DEFAULT_NOISE_DB,
        help=f"Gaussian noise level in dBFS (default {DEFAULT_NOISE_DB:g})",
    )
    noise.add_argument("--no-noise", action="store_true", help="no Gaussian noise floor")
    parser.add_argument(
        "--generator",
        type=int,
        default=DEFAULT_GENERATOR,
        choices=(1, 2),
        help=(
            f"generator version (default {DEFAULT_GENERATOR}); 1 rebuilds the version 1 "
            "corpus exactly (no test_unseen, no augmentation)"
        ),
    )
    parser.add_argument(
        "--no-augment",
        action="store_true",
        help="generator 2: no noise or reverberation augmentation",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a corpus already in --out"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None):
    """Runs the command line tool; returns the exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        info = build_corpus(
            args.out,
            size=args.size,
            seed=args.seed,
            jobs=args.jobs,
            utterances=args.utterances,
            noise_db=None if args.no_noise else args.noise_db,
            progress=not args.quiet,
            overwrite=args.overwrite,
            generator=args.generator,
            augment=not args.no_augment,
        )
    except (ToolMissingError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(
        f"Built {info['utterances']} utterances, {info['total_hours']:.2f} h of audio "
        f"({info['total_hours'] * 60:.1f} min), in {elapsed:.1f} s -> {args.out}"
    )
    for name, split in info["splits"].items():
        print(
            f"  {name:15s} {split['rows']:6d} rows {split['hours'] * 60:8.1f} min "
            f"{len(split['speakers']):3d} speakers"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
