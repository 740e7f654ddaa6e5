"""Exporting a trained model as a Hugging Face model repository, and pushing it.

An exported folder holds everything ``SubtitleASR.from_hparams`` needs and
nothing from training: ``hyperparams.yaml`` (the architecture and inference
settings, no training parts, no Hub ids), ``asr.ckpt`` (weights, optionally
the average of the best checkpoints), ``normalizer.ckpt``, ``tokenizer.ckpt``,
``config.json``, ``example.wav`` and a ``README.md`` model card whose YAML
header the Hub reads.
"""

import io
import json
import logging
import os
import pathlib
import re
import shutil
import string
import tempfile

import ruamel.yaml
import soundfile as sf
import torch

from speechbrain_subtitle import __version__
from speechbrain_subtitle.inference import SubtitleASR, SubtitleResult, load_audio_file

# Re-exported: exported hyperparams.yaml files name speechbrain_subtitle.hub.load_state_strict.
from speechbrain_subtitle.model_files import (  # noqa: F401
    REQUIRED_FILES,
    ModelLoadError,
    load_state_strict,
)

logger = logging.getLogger(__name__)


def _data_folder(name):
    """``hparams``/``model_cards``: beside the package in a checkout, inside it when installed."""
    checkout = pathlib.Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    import importlib.util

    spec = importlib.util.find_spec(f"speechbrain_subtitle.{name}")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"speechbrain_subtitle.{name} is missing from this installation")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


HPARAMS_FOLDER = _data_folder("hparams")
MODEL_CARD_TEMPLATE = _data_folder("model_cards") / "subtitle_asr.md"
# Keys of an architecture file replaced by the inference block (``loss`` stays, so
# that an exported yaml can serve as the architecture of a fine-tuning run; the
# inference keys are there when that architecture was itself an exported yaml).
TRAINING_ONLY_KEYS = (
    "modules",
    "beam_size",
    "decoding_ctc_weight",
    "decoding_subtitle_ctc_weight",
    "greedy",
    "tokenizer",
    "pretrainer",
)

INFERENCE_YAML = """
# ---------------------------------------------------------------- inference
# Search defaults (override per call: asr.transcribe_file(path, beam_size=...))
beam_size: {beam_size}
decoding_ctc_weight: {ctc_weight}
decoding_subtitle_ctc_weight: {subtitle_ctc_weight}
greedy: False

tokenizer: !new:{tokenizer_class}

modules:
    model: !ref <model>
    normalize: !ref <normalize>

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        asr: !ref <model>
        normalizer: !ref <normalize>
        tokenizer: !ref <tokenizer>{features_loadable}
    custom_hooks:
        asr: !name:speechbrain_subtitle.hub.load_state_strict{normalizer_hook}{features_hook}
"""
#: Normalizer classes whose state is SpeechBrain's own statistics file (loaded by
#: the Pretrainer's default hook); any other normalizer is a plain state dict.
STATISTICS_NORMALIZERS = ("speechbrain.processing.features.InputNormalization",)
#: Feature extractors with a state of their own (``features.ckpt``: the mel matrix
#: of an imported ESPnet front end); SpeechBrain's ``Fbank`` has none.
STATEFUL_FEATURES = ("speechbrain_subtitle.lobes.espnet.Fbank",)


def _tag(node):
    """The class path of a ``!new:`` node of a ruamel document (else ``""``)."""
    tag = getattr(getattr(node, "tag", None), "value", None) or ""
    return tag[len("!new:") :] if tag.startswith("!new:") else ""


def inference_block(arch_doc, beam_size, ctc_weight, subtitle_ctc_weight, token_list=False):
    """The inference part of an exported ``hyperparams.yaml`` for the parts ``arch_doc``
    builds: which tokenizer class reads ``tokenizer.ckpt``, and whether the
    normalizer and the front end load plain state dicts (``features.ckpt``)."""
    stateful_features = _tag(arch_doc.get("compute_features")) in STATEFUL_FEATURES
    statistics = _tag(arch_doc.get("normalize")) in STATISTICS_NORMALIZERS
    hook = "\n        {}: !name:speechbrain_subtitle.hub.load_state_strict"
    return INFERENCE_YAML.format(
        beam_size=beam_size,
        ctc_weight=ctc_weight,
        subtitle_ctc_weight=subtitle_ctc_weight,
        tokenizer_class="speechbrain_subtitle.tokenizer.TokenListTokenizer"
        if token_list
        else "sentencepiece.SentencePieceProcessor",
        features_loadable="\n        features: !ref <compute_features>"
        if stateful_features
        else "",
        normalizer_hook="" if statistics else hook.format("normalizer"),
        features_hook=hook.format("features") if stateful_features else "",
    )


class ExportError(RuntimeError):
    """The experiment folder cannot be exported."""


# --------------------------------------------------------------------- export
def _yaml():
    y = ruamel.yaml.YAML()
    y.width = 4096
    return y


def _is_plain(node):
    """Scalars and untagged lists of scalars (sizes, weights, names)."""
    if isinstance(node, (bool, int, float, str)) or node is None:
        return not hasattr(node, "tag") or not getattr(node.tag, "value", None)
    if isinstance(node, list) and not getattr(getattr(node, "tag", None), "value", None):
        return all(_is_plain(item) for item in node)
    return False


def _architecture_file(exp_doc):
    """The architecture file the experiment included (``architecture_file``, recorded by
    ``train.save_composed_hparams``), or the file of that name in ``hparams/``."""
    recorded = exp_doc.get("architecture_file")
    if recorded is None:
        raise ExportError("The experiment's hyperparams.yaml names no architecture_file")
    path = pathlib.Path(str(recorded))
    if path.is_file():
        return path
    fallback = HPARAMS_FOLDER / path.name
    if fallback.is_file():
        return fallback
    raise ExportError(f"Architecture file {path} not found (nor {fallback})")


def _trained_values(exp_doc):
    """The architecture's keys as the experiment resolved them: the ``architecture``
    mapping its training yaml included, or (older experiments, whose yaml was merged
    flat) the experiment's own top level."""
    included = exp_doc.get("architecture")
    return included if isinstance(included, dict) else exp_doc


def inference_yaml_text(
    exp_doc, beam_size=10, ctc_weight=0.3, subtitle_ctc_weight=0.0, token_list=False
):
    """The exported ``hyperparams.yaml``: architecture with the trained sizes, plus inference.

    The architecture file is self-contained (one flat HyperPyYAML document);
    its scalar settings (sizes, token ids, weights) are replaced by the values
    the experiment trained with, its objects and references are kept, so the
    exported yaml stays readable and builds the trained model on its own.
    ``token_list``: the tokenizer is a saved
    :class:`~speechbrain_subtitle.tokenizer.TokenListTokenizer` (a fine-tuned
    imported model).
    """
    arch_doc = _yaml().load(_architecture_file(exp_doc).read_text(encoding="utf-8"))
    trained = _trained_values(exp_doc)
    for key in list(arch_doc):
        if key in TRAINING_ONLY_KEYS:
            del arch_doc[key]
        elif key in trained and _is_plain(arch_doc[key]) and _is_plain(trained[key]):
            arch_doc[key] = trained[key]
    body = io.StringIO()
    _yaml().dump(arch_doc, body)
    stream = io.StringIO()
    stream.write(f"# Exported by speechbrain-subtitle {__version__}; load with\n")
    stream.write(
        "# speechbrain_subtitle.inference.SubtitleASR.from_hparams(source=<this folder>)\n"
    )
    stream.write(_without_export_comments(body.getvalue()))
    stream.write(inference_block(arch_doc, beam_size, ctc_weight, subtitle_ctc_weight, token_list))
    return stream.getvalue()


#: Comment lines an export writes itself. A fine-tuned model's architecture file is an
#: earlier export, whose copies of them ruamel keeps attached to the keys around them.
_EXPORT_COMMENTS = re.compile(
    r"^# (Exported by speechbrain-subtitle .*; load with"
    r"|speechbrain_subtitle\.inference\.SubtitleASR\.from_hparams\(source=<this folder>\)"
    r"|-+ inference"
    r"|Search defaults \(override per call: .*\))\n",
    re.MULTILINE,
)


def _without_export_comments(text):
    """``text`` less the comment lines an earlier export wrote (see :data:`_EXPORT_COMMENTS`).

    >>> _without_export_comments("# Exported by speechbrain-subtitle 0.1.0; load with\\na: 1\\n")
    'a: 1\\n'
    """
    return _EXPORT_COMMENTS.sub("", text)


def _in_experiment(exp_doc, key, experiment, default):
    """A path the training yaml recorded, rebased onto ``experiment`` when it lay inside
    the training output folder (so a moved or copied experiment still exports itself)."""
    recorded = exp_doc.get(key)
    if recorded is None:
        return experiment / default
    recorded = pathlib.Path(str(recorded))
    output = pathlib.Path(str(exp_doc.get("output_folder", "")))
    try:
        return experiment / recorded.relative_to(output)
    except ValueError:
        return recorded


def _best_checkpoints(save_folder, count):
    from speechbrain_subtitle.checkpoints import SafeCheckpointer

    checkpointer = SafeCheckpointer(save_folder)  # skips damaged checkpoints
    ckpts = checkpointer.find_checkpoints(max_key="ACC", max_num_checkpoints=count)
    if not ckpts:
        ckpts = checkpointer.find_checkpoints(max_num_checkpoints=1)
    if not ckpts:
        raise ExportError(f"No checkpoint found in {save_folder}")
    return ckpts


def _model_state(ckpts):
    from speechbrain.utils.checkpoints import average_checkpoints

    if len(ckpts) == 1:
        return torch.load(ckpts[0].paramfiles["model"], map_location="cpu", weights_only=True)

    def weights_only(path, map_location=None):
        return torch.load(path, map_location=map_location, weights_only=True)

    return average_checkpoints(ckpts, recoverable_name="model", parameter_loader=weights_only)


def _carry_licence(exp_doc, pretrained, card, config):
    """A model fine-tuned from another keeps that model's licence (weights derived
    from CC BY-NC weights are CC BY-NC): read from the pretrained folder's
    ``config.json``, which the fine-tuning run kept in ``save/pretrained/``."""
    source = exp_doc.get("pretrained_path")
    if not source:
        return
    config["fine_tuned_from"] = str(source)
    kept = pretrained / "config.json"
    parent = json.loads(kept.read_text(encoding="utf-8")) if kept.is_file() else {}
    licence = parent.get("card", {}).get("license")
    if licence and licence != "apache-2.0":
        card["license"] = licence
        note = f"Fine-tuned from `{source}`, whose weights are licensed {licence}; so are these."
        card["data_note"] = f"{note} {card['data_note']}".strip()


def _test_metrics(experiment):
    metrics = {}
    for path in sorted(experiment.glob("test_*/metrics.json")):
        metrics[path.parent.name[len("test_") :]] = json.loads(path.read_text())
    return metrics


def _write_example(exp_doc, example_wav, out):
    """Copies ``example_wav`` (or the first test utterance) as 16 kHz ``example.wav``."""
    from speechbrain_subtitle.data import read_audio, read_manifest

    rate = int(exp_doc.get("sample_rate", 16000))
    if example_wav is not None:
        wav = load_audio_file(str(example_wav), rate)
    else:
        tests = list(exp_doc.get("test_csvs") or []) or [exp_doc.get("valid_csv")]
        rows = read_manifest(str(tests[0]), check_audio=False, sample_rate=rate)
        row = next(iter(rows.values()))
        wav = read_audio(row["wav"], row["start"], row["stop"], rate)
    sf.write(str(out), wav.numpy(), rate, subtype="PCM_16")


def _results_table(metrics):
    if not metrics:
        return "No test results were recorded with this export."
    lines = [
        "| test set | utterances | verbatim WER (%) | subtitle WER (%) | subtitle BLEU |",
        "|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        cells = [name, m.get("utterances", "-")]
        keys = ("WER_verbatim", "WER_subtitle", "BLEU_subtitle")
        cells += ["-" if m.get(k) is None else f"{m[k]:.2f}" for k in keys]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def model_card_metadata(repo_id, language, datasets, variant, metrics, license="apache-2.0"):
    """The YAML header the Hub reads (tags, licence, model-index with test results)."""
    results = []
    for name, m in metrics.items():
        for task in ("verbatim", "subtitle"):
            found = [
                {"type": kind.lower(), "value": round(float(m[key]), 2), "name": f"{task} {kind}"}
                for kind, key in (("WER", f"WER_{task}"), ("BLEU", f"BLEU_{task}"))
                if m.get(key) is not None
            ]
            if found:
                task_info = {"type": "automatic-speech-recognition", "name": f"{task} text"}
                dataset = {"type": name, "name": name}
                results.append({"task": task_info, "dataset": dataset, "metrics": found})
    meta = {
        "language": [language],
        "license": license,
        "library_name": "speechbrain",
        "pipeline_tag": "automatic-speech-recognition",
        "tags": [
            "speechbrain",
            "automatic-speech-recognition",
            "subtitling",
            "speechbrain-subtitle",
            variant,
        ],
        "datasets": list(datasets),
        "metrics": ["wer", "bleu"],
    }
    if results:
        meta["model-index"] = [{"name": repo_id.split("/")[-1], "results": results}]
    stream = io.StringIO()
    dumper = ruamel.yaml.YAML(typ="safe", pure=True)
    dumper.default_flow_style = False
    dumper.dump(meta, stream)
    return stream.getvalue()


def render_model_card(template, **fields):
    """Fills the ``$placeholders`` of a model card template."""
    text = pathlib.Path(template).read_text(encoding="utf-8")
    return string.Template(text).substitute(**fields)


def _write_card(folder, asr, config, card, metrics, template):
    """Writes ``config.json`` and the model card ``README.md`` of an exported folder.

    ``config`` holds the export facts (``averaged_checkpoints``,
    ``weights_dtype``); ``card`` the model-card inputs (``repo_id``,
    ``language``, ``datasets``, ``data_note``, ``beam_size``, ``ctc_weight``;
    optionally ``license``, default ``apache-2.0``), kept in ``config.json`` so
    that :func:`refresh_model_card` can render the card again. The example
    texts are ``asr``'s output on ``example.wav`` (empty when the folder has
    none, as an imported NeLF model).
    """

    folder = pathlib.Path(folder)
    if (folder / "example.wav").is_file():
        example = asr.transcribe_file(str(folder / "example.wav"))
    else:
        example = SubtitleResult()
    model = asr.model
    parameters = sum(p.numel() for p in model.parameters())
    averaged = config.get("averaged_checkpoints", 1)
    config = {
        "speechbrain_interface": "SubtitleASR",
        "interface_module": "speechbrain_subtitle.inference",
        "library": "speechbrain-subtitle",
        "library_version": __version__,
        "variant": model.variant,
        "parameters": parameters,
        "sample_rate": asr.sample_rate,
        "vocab_size": asr.tokenizer.get_piece_size(),
        **config,
        "test_results": metrics,
        "card": card,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    repo_id, datasets = card["repo_id"], card["datasets"]
    licence = card.get("license", "apache-2.0")
    if licence == "apache-2.0":
        licence_text = "Apache-2.0."
    else:
        licence_text = (
            f"The weights are licensed **{licence}** (they derive from weights under that "
            "licence; see the note above)."
        )
    text = render_model_card(
        template,
        metadata=model_card_metadata(
            repo_id,
            card["language"],
            datasets,
            model.variant,
            metrics,
            license=licence,
        ),
        licence_text=licence_text,
        title=repo_id.split("/")[-1],
        variant=model.variant,
        parameters=f"{parameters / 1e6:.1f}M" if parameters >= 1e5 else f"{parameters / 1e3:.0f}k",
        language=card["language"],
        datasets_text=", ".join(datasets) or "see the training recipe",
        sample_rate=asr.sample_rate,
        data_note=card["data_note"],
        repo_id=repo_id,
        short_name=repo_id.split("/")[-1],
        example_verbatim=example.verbatim,
        example_subtitle=example.subtitle,
        beam_size=card["beam_size"],
        ctc_weight=card["ctc_weight"],
        results_table=_results_table(metrics),
        averaged=f" (average of the {averaged} best checkpoints)" if averaged > 1 else "",
    )
    (folder / "README.md").write_text(text, encoding="utf-8")


#: Export facts of ``config.json`` that :func:`refresh_model_card` keeps.
KEPT_CONFIG_KEYS = (
    "averaged_checkpoints",
    "weights_dtype",
    "model_card_template",
    "imported_from",
    "fine_tuned_from",
)


def _card_template(name):
    """The template ``name`` of ``model_cards/`` (a bare file name, nothing else)."""
    path = MODEL_CARD_TEMPLATE.parent / str(name)
    if pathlib.Path(str(name)).name != str(name) or not path.is_file():
        raise FileNotFoundError(f"config.json names an unknown model card template {name!r}")
    return path


#: Model-card inputs of folders exported before they were kept in config.json.
CARD_DEFAULTS = {
    "repo_id": "your-org/speechbrain-subtitle-model",
    "language": "nl",
    "datasets": [],
    "data_note": "",
    "beam_size": 10,
    "ctc_weight": 0.3,
}


def refresh_model_card(folder, metrics=None, template=None, **card):
    """Renders the model card (and ``config.json``) of an exported folder again.

    Use it after evaluating the exported weights (``speechbrain-subtitle
    evaluate --update-card``) or to change the card's text. The weights,
    tokenizer and ``hyperparams.yaml`` are not touched.

    Arguments
    ---------
    folder : str or pathlib.Path
        An exported model folder (``export``).
    metrics : dict, optional
        ``{test set name: metrics.json content}`` replacing the recorded test
        results (default: keep those in ``config.json``).
    template : str or pathlib.Path, optional
        The model card template (default: the one ``config.json`` names in
        ``model_card_template``, as an imported NeLF model does, else
        :data:`MODEL_CARD_TEMPLATE`).
    **card
        Model-card inputs to change (``repo_id``, ``language``, ``datasets``,
        ``data_note``, ``beam_size``, ``ctc_weight``); the others are those
        kept in ``config.json`` (or :data:`CARD_DEFAULTS`).

    Returns
    -------
    pathlib.Path
        The model card written.
    """

    folder = pathlib.Path(folder)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: is it an exported model folder?")
    unknown = sorted(set(card) - set(CARD_DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown model-card fields: {', '.join(unknown)}")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    fields = {**CARD_DEFAULTS, **config.get("card", {}), **card}
    kept = {k: config[k] for k in KEPT_CONFIG_KEYS if k in config}
    if template is None:
        named = config.get("model_card_template")
        template = MODEL_CARD_TEMPLATE if named is None else _card_template(named)
    if metrics is None:
        metrics = config.get("test_results", {})
    asr = SubtitleASR.from_hparams(
        source=str(folder), savedir=str(folder), run_opts={"device": "cpu"}
    )
    _write_card(folder, asr, kept, fields, metrics, template)
    return folder / "README.md"


def is_export_folder(folder):
    """Whether ``folder`` was written by :func:`export_model` (or
    :func:`speechbrain_subtitle.nelf.import_nelf`).

    Every export (and import) writes a ``config.json`` whose ``library`` is
    ``"speechbrain-subtitle"`` and whose ``speechbrain_interface`` is
    ``"SubtitleASR"`` (:func:`refresh_model_card` keeps both); that is the
    mark ``--force`` looks for before it replaces a folder.

    >>> is_export_folder(HPARAMS_FOLDER)
    False
    """
    try:
        config = json.loads((pathlib.Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(config, dict)
        and config.get("library") == "speechbrain-subtitle"
        and config.get("speechbrain_interface") == "SubtitleASR"
    )


def _within(path, folder):
    """Whether resolved ``path`` is ``folder`` or lies inside it."""
    return path == folder or folder in path.parents


def check_export_target(experiment, out, force=False, what="experiment folder"):
    """Raises unless ``out`` can safely receive an export of ``experiment``.

    Refused, whatever ``force`` says: an ``out`` that is an existing file;
    one that is, contains or lies inside the experiment folder (replacing it
    would delete checkpoints and logs); one that is or contains the current
    folder. An existing folder is replaced only with ``force`` and only when
    it is an earlier export (:func:`is_export_folder`). ``what`` names
    ``experiment`` in the messages (``import-nelf`` checks its source folder).

    Raises
    ------
    FileExistsError
        If ``out`` exists and may not be replaced.
    ExportError
        If ``out`` overlaps the experiment or the current folder.
    """
    experiment, out = pathlib.Path(experiment), pathlib.Path(out)
    target, exp, cwd = out.resolve(), experiment.resolve(), pathlib.Path.cwd().resolve()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is an existing file, not a model folder")
    if _within(target, exp) or _within(exp, target):
        raise ExportError(f"--out {out} is, contains or lies inside the {what} {experiment}")
    if _within(cwd, target):
        raise ExportError(f"--out {out} is or contains the current folder ({cwd})")
    if not out.exists():
        return
    if not force:
        raise FileExistsError(f"{out} exists; pass force=True (--force) to replace it")
    if not is_export_folder(out):
        raise FileExistsError(
            f"--force only replaces an earlier export, and {out} is not one "
            "(no config.json written by speechbrain-subtitle export)"
        )


def _replace_folder(new, out):
    """Moves folder ``new`` to ``out``, replacing an existing ``out``: the old
    folder is moved aside first and deleted only once ``new`` is in place (it
    is moved back if that fails)."""
    new, out = pathlib.Path(new), pathlib.Path(out)
    if not out.exists():
        os.replace(new, out)
        return
    old = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    aside = old / out.name
    os.replace(out, aside)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(aside, out)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def export_model(
    experiment,
    out,
    average=1,
    example_wav=None,
    repo_id="your-org/speechbrain-subtitle-model",
    language="nl",
    datasets=(),
    data_note="",
    beam_size=10,
    ctc_weight=0.3,
    subtitle_ctc_weight=0.0,
    force=False,
    template=MODEL_CARD_TEMPLATE,
    half=False,
):
    """Builds a Hub-ready model folder from a training output folder.

    Arguments
    ---------
    experiment : str or pathlib.Path
        The training ``output_folder`` (holds ``hyperparams.yaml`` and ``save/``).
    out : str or pathlib.Path
        Folder to create.
    average : int
        Average the weights of this many best checkpoints (by validation accuracy).
    example_wav : str, optional
        Audio for ``example.wav`` (default: the first test utterance).
    repo_id : str
        Hub id written into the model card's usage snippet.
    language : str
        ISO code for the model card.
    datasets : list of str
        Dataset names for the model card.
    data_note : str
        A sentence about the data (e.g. that it is synthetic speech).
    beam_size, ctc_weight, subtitle_ctc_weight : int, float, float
        Default search settings written into ``hyperparams.yaml``.
    force : bool
        Replace ``out`` if it exists and is an earlier export
        (:func:`is_export_folder`); otherwise an existing ``out`` is an error.
        ``out`` may never be, contain or lie inside ``experiment``, nor be
        or contain the current folder (see :func:`check_export_target`).
    template : str or pathlib.Path
        The model card template.
    half : bool
        Store the weights as float16 (half the size; they are loaded back into
        float32, so outputs can differ slightly from the training model's).

    Returns
    -------
    pathlib.Path
        The created folder.
    """
    experiment, out = pathlib.Path(experiment), pathlib.Path(out)
    check_export_target(experiment, out, force)
    hp_file = experiment / "hyperparams.yaml"
    if not hp_file.is_file():
        raise ExportError(f"{experiment} is not a training output folder (no hyperparams.yaml)")
    exp_doc = _yaml().load(hp_file.read_text(encoding="utf-8"))
    save_folder = _in_experiment(exp_doc, "save_folder", experiment, "save")
    tokenizer = _in_experiment(exp_doc, "tokenizer_file", experiment, "save/tokenizer.model")
    if not tokenizer.is_file():
        raise ExportError(f"Tokenizer not found: {tokenizer}")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        ckpts = _best_checkpoints(save_folder, max(1, average))
        from speechbrain_subtitle.tokenizer import is_token_list_file

        yaml_text = inference_yaml_text(
            exp_doc, beam_size, ctc_weight, subtitle_ctc_weight, is_token_list_file(tokenizer)
        )
        (tmp / "hyperparams.yaml").write_text(yaml_text, encoding="utf-8")
        pretrained = save_folder / "pretrained"
        if "features: !ref <compute_features>" in yaml_text:
            # the front end of an imported model: fixed, as the fine-tuning run loaded it
            if not (pretrained / "features.ckpt").is_file():
                raise ExportError(f"Front-end state not found: {pretrained / 'features.ckpt'}")
            shutil.copyfile(pretrained / "features.ckpt", tmp / "features.ckpt")
        state = _model_state(ckpts)
        if half:
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        torch.save(state, tmp / "asr.ckpt")
        shutil.copyfile(ckpts[0].paramfiles["normalize"], tmp / "normalizer.ckpt")
        shutil.copyfile(tokenizer, tmp / "tokenizer.ckpt")
        _write_example(exp_doc, example_wav, tmp / "example.wav")

        # Load the folder as a user would: this also checks the weights strictly.
        asr = SubtitleASR.from_hparams(
            source=str(tmp), savedir=str(tmp), run_opts={"device": "cpu"}
        )
        card = {
            "repo_id": repo_id,
            "language": language,
            "datasets": list(datasets),
            "data_note": data_note,
            "beam_size": beam_size,
            "ctc_weight": ctc_weight,
        }
        config = {
            "averaged_checkpoints": len(ckpts),
            "weights_dtype": "float16" if half else "float32",
        }
        _carry_licence(exp_doc, pretrained, card, config)
        _write_card(tmp, asr, config, card, _test_metrics(experiment), template)
        del asr
        os.chmod(tmp, 0o755)
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Exported %s to %s", experiment, out)
    return out


# ----------------------------------------------------------------------- push
def list_upload(folder):
    """``[(relative path, size in bytes), ...]`` of the files a push uploads."""
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise FileNotFoundError(
            f"{folder}: no such folder (push takes a folder made by 'speechbrain-subtitle export')"
        )
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not an exported model folder")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not an exported model folder (missing {', '.join(missing)})"
        )
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(
            part.startswith(".") for part in path.relative_to(folder).parts
        ):
            files.append((str(path.relative_to(folder)), path.stat().st_size))
    return files


def push_folder(
    folder,
    repo_id,
    private=False,
    revision=None,
    token=None,
    commit_message=None,
    dry_run=False,
    api=None,
):
    """Uploads an exported folder to the Hugging Face Hub.

    Arguments
    ---------
    folder : str or pathlib.Path
        Made by :func:`export_model`.
    repo_id : str
        ``org/name`` on the Hub (created if missing).
    private : bool
        Create the repository as private.
    revision : str, optional
        Branch to push to (created if missing).
    token : str, optional
        Hub token (default: ``HF_TOKEN`` or the cached login).
    commit_message : str, optional
        Commit message.
    dry_run : bool
        Only list what would be uploaded.
    api : huggingface_hub.HfApi, optional
        Client to use (tests pass a stand-in).

    Returns
    -------
    list
        The files (relative path, size) uploaded or that would be.

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If ``folder`` is not an exported model folder (checked first, also by ``dry_run``).
    ConnectionError
        In offline mode (``HF_HUB_OFFLINE=1``), before any request; Hub errors
        (``huggingface_hub.errors``) pass through.
    """
    if "/" not in repo_id:
        raise ValueError(f"repo_id must look like 'org/name', got {repo_id!r}")
    files = list_upload(folder)
    if dry_run:
        return files
    if api is None:
        from huggingface_hub import HfApi, constants

        if constants.is_offline_mode():
            raise ConnectionError(
                f"cannot push {folder} to {repo_id}: the Hugging Face Hub cannot be reached in "
                "offline mode (HF_HUB_OFFLINE=1); unset HF_HUB_OFFLINE to push"
            )
        api = HfApi(token=token)
    api.create_repo(repo_id, private=private, repo_type="model", exist_ok=True)
    if revision:
        api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
    api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        repo_type="model",
        revision=revision,
        commit_message=commit_message or f"Upload speechbrain-subtitle model ({__version__})",
        ignore_patterns=[".*"],
    )
    return files
