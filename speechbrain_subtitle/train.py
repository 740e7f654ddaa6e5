"""Train a joint verbatim/subtitle model from manifest CSVs.

Usage (single process)::

    python -m speechbrain_subtitle.train hparams/train_tiny.yaml
    python -m speechbrain_subtitle.train hparams/train.yaml \\
        --train_csv=train.csv --valid_csv=valid.csv --test_csvs="[test.csv]" \\
        [--architecture=hparams/v2.yaml] [--precision=bf16] [--device=cuda:0]

The training yaml builds its model with ``architecture: !include:c8.yaml``
(plain HyperPyYAML). ``--architecture=<path>`` includes another architecture
file instead (a path from the working directory; the sizes the training yaml
gives under ``architecture:`` still apply); ``--architecture="{d_model: 144}"``
overrides keys of the included file (:mod:`speechbrain_subtitle.config`).

Fine-tuning a published or exported model (its architecture, weights,
normalizer and tokenizer; optionally with a frozen encoder)::

    python -m speechbrain_subtitle.train hparams/train.yaml --train_csv=... \\
        --pretrained_path=org/model-or/exported/folder [--freeze_encoder=True]

The pretrained folder's ``hyperparams.yaml`` is checked like
``SubtitleASR.from_hparams`` checks it (:mod:`speechbrain_subtitle.safety`);
``--trust_model_code=True`` lifts that check for a folder you trust.

Multi-GPU (SpeechBrain DDP)::

    torchrun --nproc_per_node=4 -m speechbrain_subtitle.train hparams/train.yaml ...

Every SpeechBrain run option works (``--precision``, ``--grad_accumulation_factor``,
``--ckpt_interval_steps``, ``--distributed_backend``...); other ``--key=value``
pairs override the yaml.
"""

import logging
import os
import pathlib
import shutil
import sys
import time

import ruamel.yaml
import speechbrain as sb
import torch
from speechbrain.dataio.batch import PaddedBatch
from speechbrain.utils.distributed import run_on_main
from speechbrain.utils.epoch_loop import EpochCounter

from speechbrain_subtitle.brain import SubtitleBrain
from speechbrain_subtitle.config import (
    ARCHITECTURE_KEY,
    included_architecture,
    load_hparams,
    load_overrides,
    split_architecture,
    yaml_text,
)
from speechbrain_subtitle.data import MixedRatioBatchSampler, make_dataset, read_manifest
from speechbrain_subtitle.tokenizer import load_tokenizer, train_tokenizer

logger = logging.getLogger(__name__)


def prepare_tokenizer(hparams, train_rows):
    """Loads ``tokenizer_file``, training it first (main process only) if missing."""
    path = hparams["tokenizer_file"]

    def train():
        if not os.path.isfile(path):
            texts = [r["verbatim"] for r in train_rows.values()]
            texts += [r["subtitle"] for r in train_rows.values()]
            train_tokenizer(
                texts,
                path[: -len(".model")] if path.endswith(".model") else path,
                vocab_size=hparams["vocab_size"],
                model_type=hparams.get("tokenizer_type", "unigram"),
            )

    run_on_main(train)
    tokenizer = load_tokenizer(path)
    if tokenizer.get_piece_size() > hparams["vocab_size"]:
        raise ValueError(
            f"Tokenizer {path} has {tokenizer.get_piece_size()} pieces but the model "
            f"was built for vocab_size={hparams['vocab_size']}"
        )
    return tokenizer


def dataset_kwargs(hparams):
    """Keyword arguments of ``make_dataset``: the sample rate and the token ids the
    model itself was built with (a model imported by ``import-nelf`` starts and
    ends both texts with its ``<sos/eos>``)."""
    model = hparams["model"]
    return {
        "sample_rate": hparams["sample_rate"],
        "verbatim_bos_index": model.verbatim_bos_index,
        "subtitle_bos_index": model.subtitle_bos_index,
        "eos_index": model.eos_index,
    }


def train_loader_kwargs(hparams, rows):
    """DataLoader arguments with the mixed-ratio batch sampler."""
    sampler = MixedRatioBatchSampler.from_rows(
        rows,
        batch_size=hparams["batch_size"],
        verbatim_fraction=hparams["verbatim_fraction"],
        bucket_batches=hparams["bucket_batches"],
        seed=hparams["seed"],
    )
    return {
        "batch_sampler": sampler,
        "collate_fn": PaddedBatch,
        "num_workers": hparams["num_workers"],
    }


def save_composed_hparams(hparams_file, overrides, output_folder, architecture=None):
    """Creates the experiment folder with a self-contained ``hyperparams.yaml``.

    The yaml written is SpeechBrain's resolved copy of ``hparams_file`` with
    the overrides applied: references resolved and the architecture's
    ``!include:`` expanded in place (under ``architecture``), so the
    experiment can be reloaded with ``load_hyperpyyaml`` or exported without
    the files it was built from. An ``architecture`` override that names a
    file (see :func:`speechbrain_subtitle.config.split_architecture`), or else
    ``architecture``, is included instead of the one ``hparams_file`` names.
    The included file is recorded as ``architecture_file`` (``export`` takes
    the readable references of the exported yaml from it).
    """
    import tempfile

    architecture, overrides = split_architecture(hparams_file, overrides, architecture)
    recorded = architecture or included_architecture(hparams_file)
    if recorded is not None:
        overrides["architecture_file"] = str(pathlib.Path(recorded).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        composed = os.path.join(tmp, os.path.basename(hparams_file))
        with open(composed, "w", encoding="utf-8") as f:
            f.write(yaml_text(hparams_file, architecture))
        sb.create_experiment_directory(
            experiment_directory=output_folder,
            hyperparams_to_save=composed,
            overrides=overrides,
        )


def _yaml_value(hparams_file, overrides, key):
    """A plain top-level value of ``key`` from the overrides or the yaml (before loading)."""
    if key in overrides:
        return overrides[key]
    if not os.path.isfile(hparams_file):
        raise FileNotFoundError(f"Hyperparameter file not found: {hparams_file}")
    with open(hparams_file, encoding="utf-8") as f:
        doc = ruamel.yaml.YAML().load(f) or {}
    value = doc.get(key)
    return value if isinstance(value, (str, type(None))) else None


def fetch_pretrained(source, savedir, filename):
    """Local path of ``filename`` from an exported folder or a Hub repository."""
    from speechbrain_subtitle.safety import looks_like_local_path

    if not os.path.isdir(str(source)) and looks_like_local_path(str(source)):
        raise FileNotFoundError(f"{source}: no such model folder (a Hub id looks like 'org/name')")
    if os.path.isdir(str(source)):
        path = os.path.join(str(source), filename)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{source} has no {filename}: is it an exported model folder?")
        return path
    from speechbrain.utils.fetching import fetch

    return str(fetch(filename, source=str(source), savedir=savedir))


def load_pretrained(hparams, source):
    """Starts from an exported/published model: weights, normalizer and tokenizer.

    The architecture must be the exported one (``main`` uses the source's
    ``hyperparams.yaml`` unless an ``architecture`` is given); keys are checked
    strictly. With ``freeze_encoder: True`` the acoustic encoder is not trained.

    A folder written by ``import-nelf`` works the same way: its ESPnet front
    end (``features.ckpt``) and global normalizer are loaded as they are and
    kept fixed, and its token-list tokenizer is copied to ``tokenizer_file``
    (:func:`~speechbrain_subtitle.tokenizer.load_tokenizer` reads it back), so
    the fine-tuned model keeps the pretrained token ids. The source's
    ``config.json`` is kept in ``<save_folder>/pretrained/`` so that ``export``
    can carry the pretrained weights' licence over to the fine-tuned ones.
    """
    from speechbrain.processing.features import InputNormalization

    from speechbrain_subtitle.hub import load_state_strict
    from speechbrain_subtitle.safety import load_normalizer

    savedir = os.path.join(hparams["save_folder"], "pretrained")
    os.makedirs(savedir, exist_ok=True)
    load_state_strict(hparams["model"], fetch_pretrained(source, savedir, "asr.ckpt"))
    normalizer_file = fetch_pretrained(source, savedir, "normalizer.ckpt")
    normalize = hparams["normalize"]
    if isinstance(normalize, InputNormalization):
        # weights-only and finite (SpeechBrain's own _load uses torch.load's default)
        load_normalizer(normalize, normalizer_file)
        normalize.update_until_epoch = 0  # keep the pretrained statistics
    else:
        load_state_strict(normalize, normalizer_file)
    pretrainer = hparams.get("pretrainer")
    if pretrainer is not None and "features" in pretrainer.loadables:
        load_state_strict(
            hparams["compute_features"], fetch_pretrained(source, savedir, "features.ckpt")
        )
        _keep_copy(fetch_pretrained(source, savedir, "features.ckpt"), savedir)
    try:
        _keep_copy(fetch_pretrained(source, savedir, "config.json"), savedir)
    except (FileNotFoundError, OSError, ValueError):
        logger.info("%s has no config.json (no licence to carry over)", source)
    tokenizer_file = hparams["tokenizer_file"]
    if not os.path.isfile(tokenizer_file):
        os.makedirs(os.path.dirname(tokenizer_file) or ".", exist_ok=True)
        shutil.copyfile(fetch_pretrained(source, savedir, "tokenizer.ckpt"), tokenizer_file)
    if hparams.get("freeze_encoder"):
        for p in hparams["model"].encoder.parameters():
            p.requires_grad = False
    logger.info("Starting from pretrained model %s", source)


def _keep_copy(path, folder):
    """Copies ``path`` into ``folder`` unless it is already there."""
    target = os.path.join(folder, os.path.basename(path))
    if os.path.abspath(path) != os.path.abspath(target):
        shutil.copyfile(path, target)


class TimedEpochCounter(EpochCounter):
    """An epoch counter that also stops before an epoch that would end past a time budget.

    Behaves as SpeechBrain's ``EpochCounter`` (and is saved/recovered the same
    way). With ``max_minutes``, it does not start another epoch when the time
    spent so far in this process plus the mean duration of its epochs would
    pass ``max_minutes``. The first epoch always runs. Each finished epoch has
    been validated and checkpointed, so a timed run ends with usable checkpoints.

    Arguments
    ---------
    limit : int
        Maximum number of epochs.
    max_minutes : float, optional
        Wall-clock budget for this process's epochs (``None``: no budget).
    clock : callable
        Seconds now (``time.monotonic``; replaceable for tests).

    >>> now = [0.0]
    >>> counter = TimedEpochCounter(10, max_minutes=1, clock=lambda: now[0])
    >>> ran = []
    >>> for epoch in counter:
    ...     ran.append(epoch)
    ...     now[0] += 25  # 25 s per epoch: a third one would end at 75 s > 60 s
    >>> ran
    [1, 2]
    >>> [e for e in TimedEpochCounter(3)]
    [1, 2, 3]
    """

    def __init__(self, limit, max_minutes=None, clock=time.monotonic):
        super().__init__(limit)
        self.max_minutes = max_minutes
        self.clock = clock
        self._started = None
        self._epochs_run = 0

    def __next__(self):
        now = self.clock()
        if self._started is None:
            self._started = now
        elif self.max_minutes is not None and self._epochs_run:
            elapsed = now - self._started
            if elapsed + elapsed / self._epochs_run > self.max_minutes * 60:
                logger.info(
                    "Stopping after epoch %d: another epoch would pass max_train_minutes=%s",
                    self.current,
                    self.max_minutes,
                )
                raise StopIteration
        epoch = super().__next__()
        self._epochs_run += 1
        return epoch


def load_encoder_init(hparams, path):
    """Starts the acoustic encoder (and verbatim CTC head) from a CTC pre-training checkpoint.

    ``path`` is a ``torch.save`` of ``{"encoder": state_dict, "head": state_dict}``
    and optionally ``"normalizer"`` (the feature statistics the encoder was
    trained with), as written by ``recipes/SyntheticNL/ctc_pretrain.py``. The
    decoders keep their fresh initialisation. Encoder keys are checked strictly.

    >>> import tempfile, os
    >>> from speechbrain_subtitle.config import load_hparams
    >>> hp = load_hparams("recipes/SyntheticNL/hparams/c8_tiny.yaml",
    ...                   {"data_folder": tempfile.mkdtemp()})
    >>> model = hp["model"]
    >>> state = {"encoder": {k: v + 1 for k, v in model.encoder.state_dict().items()},
    ...          "head": {k: v + 1 for k, v in model.ctc_head.w.state_dict().items()}}
    >>> path = os.path.join(tempfile.mkdtemp(), "ctc.pt")
    >>> torch.save(state, path)
    >>> before = model.verbatim_decoder.state_dict()["embedding.emb.Embedding.weight"].clone()
    >>> load_encoder_init(hp, path)
    >>> all(torch.equal(model.encoder.state_dict()[k], v) for k, v in state["encoder"].items())
    True
    >>> torch.equal(model.verbatim_decoder.state_dict()["embedding.emb.Embedding.weight"], before)
    True
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = hparams["model"]
    model.encoder.load_state_dict(state["encoder"], strict=True)
    model.ctc_head.w.load_state_dict(state["head"], strict=True)
    if state.get("normalizer"):
        hparams["normalize"]._load_statistics_dict(state["normalizer"])
    logger.info("Encoder and CTC head from %s (update %s)", path, state.get("step"))


def main(argv=None, prepare=None):
    """Parses arguments, prepares data and tokenizer, trains and evaluates.

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    prepare : callable, optional
        ``prepare(hparams)`` run on the main process before the manifests are
        read (recipes build or convert their data there).

    Returns
    -------
    SubtitleBrain
        The trained brain (its ``last_stats`` hold the last evaluation).
    """
    hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:] if argv is None else argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    overrides = load_overrides(overrides)
    trust_model_code = bool(overrides.pop("trust_model_code", False))
    # --architecture=<path> (or the plain HyperPyYAML "!include:<file>") chooses the file
    # that the training yaml's `architecture: !include:` builds
    architecture, overrides = split_architecture(hparams_file, overrides)
    pretrained = _yaml_value(hparams_file, overrides, "pretrained_path")
    if pretrained and architecture is None:
        # Fine-tuning: the architecture is the one the pretrained model was exported with,
        # checked before HyperPyYAML builds anything from it.
        from speechbrain_subtitle.safety import check_model_yaml

        architecture = fetch_pretrained(
            pretrained, os.path.join("pretrained_models", "finetune"), "hyperparams.yaml"
        )
        check_model_yaml(architecture, trust_code=trust_model_code)
    hparams = load_hparams(hparams_file, overrides, architecture=architecture)
    included = hparams.get(ARCHITECTURE_KEY)
    if isinstance(included, dict) and "pretrainer" in included:
        # an exported/imported architecture says which of its files to load (features.ckpt)
        hparams.setdefault("pretrainer", included["pretrainer"])
    save_composed_hparams(hparams_file, overrides, hparams["output_folder"], architecture)
    if pretrained:
        load_pretrained(hparams, pretrained)
    if hparams.get("encoder_init"):
        load_encoder_init(hparams, hparams["encoder_init"])
    if prepare is not None:
        run_on_main(prepare, kwargs={"hparams": hparams})
    check = hparams.get("check_audio", True)
    rate = hparams["sample_rate"]
    train_rows = read_manifest(hparams["train_csv"], hparams.get("max_duration"), check, rate)
    valid_rows = read_manifest(hparams["valid_csv"], None, check, rate)
    test_sets = {
        os.path.splitext(os.path.basename(p))[0]: read_manifest(p, None, check, rate)
        for p in hparams.get("test_csvs") or []
    }
    tokenizer = prepare_tokenizer(hparams, train_rows)
    kwargs = dataset_kwargs(hparams)

    brain = SubtitleBrain(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    brain.tokenizer = tokenizer
    eval_kwargs = {"batch_size": hparams["valid_batch_size"], "collate_fn": PaddedBatch}
    brain.fit(
        hparams["epoch_counter"],
        make_dataset(train_rows, tokenizer, **kwargs),
        make_dataset(valid_rows, tokenizer, **kwargs),
        train_loader_kwargs=train_loader_kwargs(hparams, train_rows),
        valid_loader_kwargs=eval_kwargs,
    )
    for name, rows in test_sets.items():
        brain.results_folder = os.path.join(hparams["output_folder"], f"test_{name}")
        os.makedirs(brain.results_folder, exist_ok=True)
        brain.evaluate(
            make_dataset(rows, tokenizer, **kwargs), max_key="ACC", test_loader_kwargs=eval_kwargs
        )
    return brain


def _override_error(err):
    """A clear ``ValueError`` for HyperPyYAML's KeyError on an unknown ``--key=value``."""
    import re

    found = re.match(r"Override '(.+?)' not found", str(err.args[0]) if err.args else "")
    if not found:
        return None
    return ValueError(
        f"--{found.group(1)}: unknown override (no such key in the hyperparameter file)"
    )


def console_main(argv=None, prepare=None):
    """Entry point of ``speechbrain-subtitle-train`` and ``python -m speechbrain_subtitle.train``.

    Runs :func:`main` (which raises, for use as a library) and turns a failure
    into one line on stderr and an exit status, as ``speechbrain-subtitle``
    does (:func:`speechbrain_subtitle.cli.report_errors`): 2 for a bad
    argument, hyperparameter file, override or manifest, 1 for other
    failures, 130 when interrupted. ``--verbose`` (removed before SpeechBrain
    reads the arguments) also prints the traceback.

    Returns
    -------
    int
        The exit status (0 when training finished).
    """
    from speechbrain_subtitle.cli import report_errors

    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]

    def run():
        try:
            main(argv, prepare=prepare)
        except KeyError as err:
            clear = _override_error(err)
            if clear is None:
                raise
            raise clear from err
        return 0

    return report_errors(run, verbose=verbose)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(console_main())
