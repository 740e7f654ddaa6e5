"""Import of the authors' released NeLF checkpoints (ESPnet layout).

The NeLF speech-to-text model of Poncelet & Van hamme is published as five
files (Hugging Face repository ``nelfproject/NeLF_S2T_Pytorch``; weights under
CC BY-NC 4.0): ``model.pth`` (an ESPnet state dict), ``train.yaml`` (the ESPnet
training configuration), ``tokens.txt`` (the token list), ``bpe.model`` (the
SentencePiece model) and ``stats.npz`` (feature statistics). This module turns
them into our parts:

- the acoustic front end (:class:`~speechbrain_subtitle.lobes.espnet.Fbank`,
  :class:`~speechbrain_subtitle.lobes.espnet.GlobalMVN`);
- a :class:`~speechbrain_subtitle.lobes.model.JointSubtitleModel` wired as the
  released model is: Conformer encoder + CTC, a Transformer subtitle encoder
  on the encoder output, and two decoders that each attend both encoders
  (verbatim decoder: verbatim encoder first, subtitle encoder second; subtitle
  decoder: the reverse), both starting and ending with ``<sos/eos>``;
- a :class:`~speechbrain_subtitle.tokenizer.TokenListTokenizer`.

Everything is checked: ``train.yaml`` is read with ``yaml.safe_load`` and any
option this converter does not reproduce exactly is refused naming it, as are
missing files and any state-dict key that is unknown, missing or of the wrong
shape. The one key skipped on purpose is the untrained subtitle CTC head
(``subtitle_ctc.*``), which the authors' loader also drops.

The front-end buffers stored in ``model.pth`` (``frontend.logmel.melmat``,
``normalize.mean``/``normalize.std``) win over values derived from
``train.yaml``/``stats.npz``, as they do in the authors' loader.
"""

import json
import os
import pathlib

import numpy as np
import torch
import yaml
from speechbrain.nnet.linear import Linear

from speechbrain_subtitle import __version__
from speechbrain_subtitle.lobes import espnet
from speechbrain_subtitle.lobes.model import JointSubtitleModel
from speechbrain_subtitle.losses import JointSubtitleLoss
from speechbrain_subtitle.tokenizer import TokenListTokenizer

FILES = ("model.pth", "train.yaml", "tokens.txt", "bpe.model", "stats.npz")
SAMPLE_RATE = 16000

# Top-level train.yaml keys that only steer ESPnet's training or data loading:
# they do not change what the trained model computes.
TRAINING_KEYS = frozenset(
    """
    config print_config log_level drop_last_iter dry_run iterator_type valid_iterator_type
    output_dir ngpu seed num_workers num_att_plot dist_backend dist_init_method
    dist_world_size dist_rank local_rank dist_master_addr dist_master_port dist_launcher
    multiprocessing_distributed unused_parameters sharded_ddp use_deepspeed deepspeed_config
    cudnn_enabled cudnn_benchmark cudnn_deterministic use_tf32 collect_stats
    write_collected_feats max_epoch patience val_scheduler_criterion
    early_stopping_criterion best_model_criterion keep_nbest_models nbest_averaging_interval
    grad_clip grad_clip_type grad_noise accum_grad no_forward_run resume train_dtype use_amp
    log_interval use_matplotlib use_tensorboard create_graph_in_tensorboard use_wandb
    wandb_project wandb_id wandb_entity wandb_name wandb_model_log_interval detect_anomaly
    use_adapter adapter save_strategy adapter_conf use_lora save_lora_only lora_conf
    pretrain_path init_param ignore_init_mismatch freeze_param num_iters_per_epoch
    batch_size valid_batch_size batch_bins valid_batch_bins category_sample_size
    train_shape_file valid_shape_file batch_type valid_batch_type fold_length sort_in_batch
    shuffle_within_batch sort_batch multiple_iterator chunk_length chunk_shift_ratio
    num_cache_chunks chunk_excluded_key_prefixes chunk_default_fs chunk_max_abs_length
    train_data_path_and_name_and_type valid_data_path_and_name_and_type multi_task_dataset
    allow_variable_data_keys max_cache_size max_cache_fd allow_multi_rates
    valid_max_cache_size exclude_weight_decay exclude_weight_decay_conf optim optim_conf
    scheduler scheduler_conf init use_preprocessor use_lang_prompt use_nlp_prompt token_type
    bpemodel non_linguistic_symbols cleaner g2p speech_volume_normalize rir_scp
    rir_apply_prob noise_scp noise_apply_prob noise_db_range short_noise_thres aux_ctc_tasks
    specaug specaug_conf model model_conf preprocessor preprocessor_conf required version
    distributed ctc_conf
    """.split()
)
# Keys whose value must be empty (their modules are not part of the NeLF layout).
ABSENT_KEYS = ("preencoder", "postencoder", "joint_net_conf")
# Names of the parts (their code builds the same parts whatever these say).
PART_NAMES = {
    "frontend": ("default",),
    "normalize": ("global_mvn",),
    "encoder": ("conformer",),
    "subtitle_encoder": ("transformer",),
}
DECODER_NAMES = ("decoder", "subtitle_decoder")
CONF_KEYS = ("frontend_conf", "normalize_conf", "encoder_conf", "subtitle_encoder_conf")
CONF_KEYS += ("decoder_conf", "subtitle_decoder_conf")

# Options of each part: key -> None (any value: training only) or the values
# this converter reproduces.
FRONTEND_OPTIONS = {
    "fs": None,
    "n_fft": None,
    "win_length": None,
    "hop_length": None,
    "n_mels": None,
    "fmin": None,
    "fmax": None,
    "window": ("hann",),
    "center": (True,),
    "normalized": (False,),
    "onesided": (True,),
    "htk": (False,),
    "apply_stft": (True,),
    "add_dummy_pitch": (False,),
    "frontend_conf": None,
}
NORMALIZE_OPTIONS = {
    "stats_file": None,
    "norm_means": (True,),
    "norm_vars": (True,),
    "eps": None,
}
ENCODER_OPTIONS = {
    "output_size": None,
    "attention_heads": None,
    "linear_units": None,
    "num_blocks": None,
    "dropout_rate": None,
    "positional_dropout_rate": None,
    "attention_dropout_rate": None,
    "input_layer": tuple(espnet.SUBSAMPLING),
    "normalize_before": (True,),
    "concat_after": (False,),
    "positionwise_layer_type": ("linear",),
    "positionwise_conv_kernel_size": None,
    "macaron_style": (True, False),
    "rel_pos_type": ("latest",),
    "pos_enc_layer_type": ("rel_pos",),
    "selfattention_layer_type": ("rel_selfattn",),
    "activation_type": ("swish", "relu"),
    "use_cnn_module": (True, False),
    "zero_triu": (False,),
    "cnn_module_kernel": None,
    "padding_idx": None,
    "interctc_layer_idx": None,
    "interctc_use_conditioning": (False,),
    "stochastic_depth_rate": None,
}
SUBTITLE_ENCODER_OPTIONS = {
    "output_size": None,
    "attention_heads": None,
    "linear_units": None,
    "num_blocks": None,
    "dropout_rate": None,
    "positional_dropout_rate": None,
    "attention_dropout_rate": None,
    "input_layer": ("none", "linear", None),
    "normalize_before": (True,),
    "concat_after": (False,),
    "positionwise_layer_type": ("linear",),
    "positionwise_conv_kernel_size": None,
    "padding_idx": None,
    "interctc_layer_idx": ([],),
    "interctc_use_conditioning": (False,),
}
DECODER_OPTIONS = {
    "attention_heads": None,
    "linear_units": None,
    "num_blocks": None,
    "dropout_rate": None,
    "positional_dropout_rate": None,
    "self_attention_dropout_rate": None,
    "src_attention_dropout_rate": None,
    "input_layer": ("embed",),
    "use_output_layer": (True,),
    "normalize_before": (True,),
    "concat_after": (False,),
    "return_hidden": None,
}


class NelfImportError(ValueError):
    """A NeLF checkpoint that this converter cannot reproduce exactly."""


def _check_options(section, conf, options):
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        raise NelfImportError(f"train.yaml: {section} must be a mapping, got {conf!r}")
    for key, value in conf.items():
        if key not in options:
            raise NelfImportError(f"train.yaml: unknown option {section}.{key}")
        allowed = options[key]
        if allowed is not None and value not in allowed:
            raise NelfImportError(
                f"train.yaml: {section}.{key}={value!r} is not supported "
                f"(supported: {', '.join(map(repr, allowed))})"
            )
    return conf


def read_config(path):
    """Reads and checks a NeLF ``train.yaml``; returns the checked dict.

    Raises
    ------
    NelfImportError
        Naming the first option (``section.key``) that is unknown or has a
        value this converter does not reproduce.
    """
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    if not isinstance(config, dict):
        raise NelfImportError(f"{path}: not a mapping of options")
    for key in config:
        known = (
            key in TRAINING_KEYS
            or key in ABSENT_KEYS
            or key in PART_NAMES
            or key in DECODER_NAMES
            or key in CONF_KEYS
            or key in ("token_list", "input_size")
        )
        if not known:
            raise NelfImportError(f"train.yaml: unknown option {key}")
    for key in ABSENT_KEYS:
        if config.get(key):
            raise NelfImportError(f"train.yaml: {key}={config[key]!r} is not supported")
    for key, allowed in PART_NAMES.items():
        value = config.get(key, allowed[0])
        if value not in allowed:
            raise NelfImportError(
                f"train.yaml: {key}={value!r} is not supported (supported: {allowed[0]!r})"
            )
    for key in DECODER_NAMES:
        if not isinstance(config.get(key, ""), str):
            raise NelfImportError(f"train.yaml: {key} must be a name")
    frontend = _check_options("frontend_conf", config.get("frontend_conf"), FRONTEND_OPTIONS)
    inner = frontend.get("frontend_conf") or {}
    for flag in ("use_wpe", "use_beamformer"):
        if inner.get(flag):
            raise NelfImportError(
                f"train.yaml: frontend_conf.frontend_conf.{flag} is not supported"
            )
    fs = frontend.get("fs", SAMPLE_RATE)
    if fs not in (SAMPLE_RATE, "16k"):
        raise NelfImportError(f"train.yaml: frontend_conf.fs={fs!r} is not supported (16000)")
    n_fft = frontend.get("n_fft", 512)
    if frontend.get("win_length") not in (None, n_fft):
        raise NelfImportError(
            "train.yaml: frontend_conf.win_length different from n_fft is not supported"
        )
    _check_options("normalize_conf", config.get("normalize_conf"), NORMALIZE_OPTIONS)
    enc = _check_options("encoder_conf", config.get("encoder_conf"), ENCODER_OPTIONS)
    if enc.get("rel_pos_type", "legacy") != "latest":
        raise NelfImportError(
            "train.yaml: encoder_conf.rel_pos_type must be 'latest' (the legacy relative "
            "positional encoding is not supported)"
        )
    if len(enc.get("interctc_layer_idx") or []) > 1:
        raise NelfImportError("train.yaml: encoder_conf.interctc_layer_idx: at most one layer")
    sub = _check_options(
        "subtitle_encoder_conf", config.get("subtitle_encoder_conf"), SUBTITLE_ENCODER_OPTIONS
    )
    if "input_layer" not in sub:
        # ESPnet's default input layer would subsample (conv2d): say so.
        raise NelfImportError("train.yaml: subtitle_encoder_conf.input_layer must be given")
    for section in ("decoder_conf", "subtitle_decoder_conf"):
        conf = _check_options(section, config.get(section), DECODER_OPTIONS)
        if conf.get("self_attention_dropout_rate", 0.0) != conf.get(
            "src_attention_dropout_rate", 0.0
        ):
            raise NelfImportError(
                f"train.yaml: {section}: different self/source attention dropout rates are "
                "not supported"
            )
    return config


class Ref:
    """A reference to another part of a :func:`part_specs` list (``!ref <name>``)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Ref({self.name!r})"


def part_specs(config, vocab_size):
    """What a checked config describes, as ``[(name, class path, arguments)]``.

    One description serves both :func:`build_parts` (the objects) and
    :func:`hyperparams_yaml` (the exported yaml that builds the same objects),
    so the two cannot drift apart. Arguments that are :class:`Ref` name an
    earlier part.
    """
    front = config.get("frontend_conf") or {}
    fbank = {
        "sample_rate": SAMPLE_RATE,
        "n_fft": front.get("n_fft", 512),
        "win_length": front.get("win_length"),
        "hop_length": front.get("hop_length", 128),
        "n_mels": front.get("n_mels", 80),
        "fmin": front.get("fmin"),
        "fmax": front.get("fmax"),
    }
    enc = dict(config.get("encoder_conf") or {})
    d_model = enc.get("output_size", 256)
    inter = enc.get("interctc_layer_idx") or []
    encoder = {
        "input_size": fbank["n_mels"],
        "output_size": d_model,
        "attention_heads": enc.get("attention_heads", 4),
        "linear_units": enc.get("linear_units", 2048),
        "num_blocks": enc.get("num_blocks", 6),
        "input_layer": enc.get("input_layer", "conv2d"),
        "macaron_style": enc.get("macaron_style", False),
        "use_cnn_module": enc.get("use_cnn_module", True),
        "cnn_module_kernel": enc.get("cnn_module_kernel", 31),
        "activation_type": enc.get("activation_type", "swish"),
        "interctc_layer": inter[0] if inter else None,
        "dropout_rate": enc.get("dropout_rate", 0.1),
        "positional_dropout_rate": enc.get("positional_dropout_rate", 0.1),
        "attention_dropout_rate": enc.get("attention_dropout_rate", 0.0),
    }
    sub = dict(config.get("subtitle_encoder_conf") or {})
    if sub.get("output_size", 256) != d_model:
        raise NelfImportError(
            "train.yaml: subtitle_encoder_conf.output_size must equal encoder_conf.output_size"
        )
    subtitle_encoder = {
        "input_size": d_model,
        "output_size": sub.get("output_size", 256),
        "attention_heads": sub.get("attention_heads", 4),
        "linear_units": sub.get("linear_units", 2048),
        "num_blocks": sub.get("num_blocks", 6),
        "input_layer": sub.get("input_layer"),
        "dropout_rate": sub.get("dropout_rate", 0.1),
        "positional_dropout_rate": sub.get("positional_dropout_rate", 0.1),
        "attention_dropout_rate": sub.get("attention_dropout_rate", 0.0),
    }
    decoders = []
    for section in ("decoder_conf", "subtitle_decoder_conf"):
        conf = dict(config.get(section) or {})
        decoders.append(
            {
                "vocab_size": vocab_size,
                "d_model": d_model,
                "attention_heads": conf.get("attention_heads", 4),
                "linear_units": conf.get("linear_units", 2048),
                "num_blocks": conf.get("num_blocks", 6),
                "num_sources": 2,
                "dropout_rate": conf.get("dropout_rate", 0.1),
                "positional_dropout_rate": conf.get("positional_dropout_rate", 0.1),
                "self_attention_dropout_rate": conf.get("self_attention_dropout_rate", 0.0),
                "src_attention_dropout_rate": conf.get("src_attention_dropout_rate", 0.0),
            }
        )
    sos_eos = vocab_size - 1
    model = {
        "encoder": Ref("encoder"),
        "ctc_head": Ref("ctc_head"),
        "verbatim_decoder": Ref("verbatim_decoder"),
        "subtitle_decoder": Ref("subtitle_decoder"),
        "subtitle_encoder": Ref("subtitle_encoder"),
        "verbatim_sources": ["verbatim", "subtitle"],
        "subtitle_sources": ["subtitle", "verbatim"],
        "verbatim_bos_index": sos_eos,
        "subtitle_bos_index": sos_eos,
        "eos_index": sos_eos,
        "blank_index": 0,
        "max_decode_ratio": 1.0,
        "variant": "cascaded_dual",
    }
    # The objective of a fine-tuning run: model_conf's weights where train.yaml gives
    # them, else the paper's (a=0.5, c=0.3, i=0.3, label smoothing 0.1); the subtitle
    # CTC head was never trained (weight 0) and is not converted.
    model_conf = config.get("model_conf") or {}
    loss = {
        "verbatim_weight": 0.5,
        "ctc_weight": float(model_conf.get("ctc_weight", 0.3)),
        "intermediate_ctc_weight": float(model_conf.get("interctc_weight", 0.3)) if inter else 0.0,
        "subtitle_ctc_weight": 0.0,
        "label_smoothing": float(model_conf.get("lsm_weight", 0.1)),
        "blank_index": 0,
    }
    lobes = "speechbrain_subtitle.lobes"
    return [
        ("compute_features", f"{lobes}.espnet.Fbank", fbank),
        ("normalize", f"{lobes}.espnet.GlobalMVN", {"n_feats": fbank["n_mels"]}),
        ("encoder", f"{lobes}.espnet.ConformerEncoder", encoder),
        ("subtitle_encoder", f"{lobes}.espnet.TransformerEncoder", subtitle_encoder),
        ("verbatim_decoder", f"{lobes}.espnet.TransformerDecoder", decoders[0]),
        ("subtitle_decoder", f"{lobes}.espnet.TransformerDecoder", decoders[1]),
        (
            "ctc_head",
            "speechbrain.nnet.linear.Linear",
            {"input_size": d_model, "n_neurons": vocab_size},
        ),
        ("model", f"{lobes}.model.JointSubtitleModel", model),
        ("loss", "speechbrain_subtitle.losses.JointSubtitleLoss", loss),
    ]


_CLASSES = {
    "speechbrain_subtitle.lobes.espnet.Fbank": espnet.Fbank,
    "speechbrain_subtitle.lobes.espnet.GlobalMVN": espnet.GlobalMVN,
    "speechbrain_subtitle.lobes.espnet.ConformerEncoder": espnet.ConformerEncoder,
    "speechbrain_subtitle.lobes.espnet.TransformerEncoder": espnet.TransformerEncoder,
    "speechbrain_subtitle.lobes.espnet.TransformerDecoder": espnet.TransformerDecoder,
    "speechbrain.nnet.linear.Linear": Linear,
    "speechbrain_subtitle.lobes.model.JointSubtitleModel": JointSubtitleModel,
    "speechbrain_subtitle.losses.JointSubtitleLoss": JointSubtitleLoss,
}


def build_parts(config, vocab_size):
    """Builds the untrained parts that a checked config describes.

    Returns
    -------
    dict
        ``compute_features`` (:class:`~speechbrain_subtitle.lobes.espnet.Fbank`),
        ``normalize`` (:class:`~speechbrain_subtitle.lobes.espnet.GlobalMVN`)
        and ``model`` (:class:`~speechbrain_subtitle.lobes.model.JointSubtitleModel`).
    """
    built = {}
    for name, path, kwargs in part_specs(config, vocab_size):
        args = {k: built[v.name] if isinstance(v, Ref) else v for k, v in kwargs.items()}
        built[name] = _CLASSES[path](**args)
    return {name: built[name] for name in ("compute_features", "normalize", "model")}


# ESPnet prefix -> (our part, our prefix); the longest matching prefix wins.
PREFIXES = {
    "frontend.logmel.": ("compute_features", ""),
    "normalize.": ("normalize", ""),
    "encoder.": ("model", "encoder."),
    "subtitle_encoder.": ("model", "subtitle_encoder."),
    "decoder.output_layer.": ("model", "verbatim_decoder.fc.w."),
    "decoder.": ("model", "verbatim_decoder."),
    "subtitle_decoder.output_layer.": ("model", "subtitle_decoder.fc.w."),
    "subtitle_decoder.": ("model", "subtitle_decoder."),
    "ctc.ctc_lo.": ("model", "ctc_head.w."),
}
# Trained with weight 0 in the released model and dropped by the authors' loader.
SKIPPED_PREFIXES = ("subtitle_ctc.",)


def map_key(key):
    """``(part, our key)`` of an ESPnet state-dict key, or None for a skipped key.

    Example
    -------
    >>> map_key("decoder.decoders.0.src_attn.linear_q.weight")
    ('model', 'verbatim_decoder.decoders.0.src_attn.linear_q.weight')
    >>> map_key("ctc.ctc_lo.bias")
    ('model', 'ctc_head.w.bias')
    >>> map_key("subtitle_ctc.ctc_lo.bias") is None
    True
    """
    if key.startswith(SKIPPED_PREFIXES):
        return None
    best = max((p for p in PREFIXES if key.startswith(p)), key=len, default=None)
    if best is None:
        raise NelfImportError(f"model.pth: unknown key {key}")
    part, prefix = PREFIXES[best]
    return part, prefix + key[len(best) :]


def convert_state_dict(state, parts, stats=None):
    """Loads an ESPnet state dict into ``parts`` (from :func:`build_parts`).

    Every key must map onto a parameter or buffer of the same shape, and every
    parameter and buffer of the parts must be given (the normalizer's from
    ``stats`` when ``model.pth`` lacks them; the mel matrix is recomputed
    when absent). Raises :class:`NelfImportError` naming the key otherwise.
    """
    targets = {name: part.state_dict() for name, part in parts.items()}
    loaded = {name: {} for name in parts}
    for key, value in state.items():
        mapped = map_key(key)
        if mapped is None:
            continue
        part, ours = mapped
        if ours not in targets[part]:
            raise NelfImportError(f"model.pth: key {key} has no counterpart ({part}.{ours})")
        expected = targets[part][ours].shape
        if tuple(value.shape) != tuple(expected):
            raise NelfImportError(
                f"model.pth: {key} has shape {tuple(value.shape)}, the config implies "
                f"{tuple(expected)}"
            )
        loaded[part][ours] = value.to(targets[part][ours].dtype)
    if "mean" not in loaded["normalize"] and stats is not None:
        loaded["normalize"].update(stats.state_dict())
    if "melmat" not in loaded["compute_features"]:
        loaded["compute_features"]["melmat"] = targets["compute_features"]["melmat"]
    for name, target in targets.items():
        missing = sorted(set(target) - set(loaded[name]))
        if missing:
            raise NelfImportError(f"model.pth: missing key for {name}.{missing[0]}")
        parts[name].load_state_dict(loaded[name], strict=True)
    return parts


def read_stats(path, n_feats):
    """A :class:`GlobalMVN` from an ESPnet ``stats.npz`` (count, sum, sum_square)."""
    with np.load(path, allow_pickle=False) as stats:
        for key in ("count", "sum", "sum_square"):
            if key not in stats:
                raise NelfImportError(f"{path}: no {key!r} array")
        norm = espnet.GlobalMVN.from_stats(stats["count"], stats["sum"], stats["sum_square"])
    if norm.mean.shape[0] != n_feats:
        raise NelfImportError(f"{path}: statistics of {norm.mean.shape[0]} features, not {n_feats}")
    return norm


class NelfModel:
    """A converted NeLF checkpoint: front end, model and tokenizer.

    Attributes
    ----------
    compute_features : speechbrain_subtitle.lobes.espnet.Fbank
    normalize : speechbrain_subtitle.lobes.espnet.GlobalMVN
    model : speechbrain_subtitle.lobes.model.JointSubtitleModel
    tokenizer : speechbrain_subtitle.tokenizer.TokenListTokenizer
    config : dict
        The checked ``train.yaml``.
    """

    def __init__(self, compute_features, normalize, model, tokenizer, config):
        self.compute_features = compute_features
        self.normalize = normalize
        self.model = model
        self.tokenizer = tokenizer
        self.config = config

    def eval(self):
        """Puts every part in eval mode; returns self."""
        for part in (self.compute_features, self.normalize, self.model):
            part.eval()
        return self


def load_nelf(src):
    """Converts the five NeLF files in folder ``src``; returns a :class:`NelfModel` (eval mode).

    Raises
    ------
    FileNotFoundError
        Naming a missing file.
    NelfImportError
        Naming an unsupported option or a mismatching key.
    """
    src = pathlib.Path(src)
    for name in FILES:
        if not (src / name).is_file():
            raise FileNotFoundError(f"{src / name}: missing (a NeLF model folder holds {FILES})")
    config = read_config(src / "train.yaml")
    tokenizer = TokenListTokenizer(src / "tokens.txt", src / "bpe.model")
    if tokenizer.blank_index != 0:
        raise NelfImportError("tokens.txt: <blank> must be the first token")
    if tokenizer.sos_eos_index != len(tokenizer) - 1:
        raise NelfImportError("tokens.txt: <sos/eos> must be the last token")
    if "token_list" in config and list(config["token_list"]) != tokenizer.token_list:
        raise NelfImportError("train.yaml: token_list differs from tokens.txt")
    parts = build_parts(config, len(tokenizer))
    stats = read_stats(src / "stats.npz", parts["compute_features"].n_mels)
    state = torch.load(src / "model.pth", map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise NelfImportError(f"{src / 'model.pth'}: not a state dict")
    convert_state_dict(state, parts, stats)
    return NelfModel(tokenizer=tokenizer, config=config, **parts).eval()


# ------------------------------------------------------------------- import
#: Hub repository of the released model (weights under CC BY-NC 4.0).
HUB_REPO = "nelfproject/NeLF_S2T_Pytorch"
#: The model card template of an imported folder (in ``model_cards/``).
CARD_TEMPLATE = "nelf.md"
#: Search defaults of the authors' runtime, written into the imported yaml.
#: The verbatim search joins the CTC prefix score (weight 0.3, which their own
#: runtime means but drops) and ranks by total score; the subtitle search is
#: attention only and length-normalized.
SEARCH_DEFAULTS = {
    "beam_size": 20,
    "decoding_ctc_weight": 0.3,
    "decoding_subtitle_ctc_weight": 0.0,
    "length_normalization": True,
    "verbatim_length_normalization": False,
    "max_decode_ratio": 1.0,
    "greedy": False,
}
DATA_NOTE = (
    "Trained by the authors on the Flemish part of the Corpus Gesproken Nederlands (verbatim) "
    "and subtitled VRT broadcasts (see the paper); converted without retraining by "
    "`speechbrain-subtitle import-nelf`."
)


def _yaml_scalar(value):
    """``value`` (a :func:`part_specs` argument) as HyperPyYAML text.

    >>> [_yaml_scalar(v) for v in (None, True, 3, 1e-05, "conv2d", ["a", "b"], Ref("x"))]
    ['null', 'True', '3', '1.0e-05', '"conv2d"', '["a", "b"]', '!ref <x>']
    """
    if isinstance(value, Ref):
        return f"!ref <{value.name}>"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 reads 1e-05 as a string
            text = text.replace("e", ".0e")
        return text
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    raise TypeError(f"Cannot write {value!r} to the yaml")


def hyperparams_yaml(config, vocab_size, search=None):
    """The ``hyperparams.yaml`` of an imported folder: our parts as :func:`build_parts`
    builds them, the authors' search defaults (``search`` overrides them) and the
    pretrainer of ``tokenizer.ckpt``, ``asr.ckpt``, ``normalizer.ckpt`` and
    ``features.ckpt``."""
    lines = [
        f"# Imported from a NeLF checkpoint ({HUB_REPO} layout) by speechbrain-subtitle "
        f"{__version__}.",
        "# Weights: CC BY-NC 4.0 (non-commercial use only; see README.md). Load with",
        "# speechbrain_subtitle.inference.SubtitleASR.from_hparams(source=<this folder>)",
        "",
        f"sample_rate: {SAMPLE_RATE}",
        f"vocab_size: {vocab_size}",
        'variant: "cascaded_dual"',
        "# Token ids of the token list; <sos/eos> starts and ends both texts",
        "blank_index: 0",
        f"eos_index: {vocab_size - 1}",
        f"verbatim_bos_index: {vocab_size - 1}",
        f"subtitle_bos_index: {vocab_size - 1}",
        "",
    ]
    for name, path, kwargs in part_specs(config, vocab_size):
        lines.append(f"{name}: !new:{path}")
        lines += [f"    {key}: {_yaml_scalar(value)}" for key, value in kwargs.items()]
        lines.append("")
    lines.append("# Search defaults (override per call: asr.transcribe_file(path, beam_size=...))")
    for key, value in {**SEARCH_DEFAULTS, **(search or {})}.items():
        lines.append(f"{key}: {_yaml_scalar(value)}")
    lines.append(
        """
tokenizer: !new:speechbrain_subtitle.tokenizer.TokenListTokenizer

modules:
    model: !ref <model>
    normalize: !ref <normalize>

pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        asr: !ref <model>
        normalizer: !ref <normalize>
        features: !ref <compute_features>
        tokenizer: !ref <tokenizer>
    custom_hooks:
        asr: !name:speechbrain_subtitle.hub.load_state_strict
        normalizer: !name:speechbrain_subtitle.hub.load_state_strict
        features: !name:speechbrain_subtitle.hub.load_state_strict
"""
    )
    return "\n".join(lines)


def resolve_source(src):
    """The local folder of ``src``: ``src`` itself, or a Hub id's download.

    A Hub id (``org/name``, not an existing path) is fetched with
    ``huggingface_hub.snapshot_download`` (only the five files); offline
    (``HF_HUB_OFFLINE=1``) only a copy already in the Hugging Face cache is
    used.

    Raises
    ------
    FileNotFoundError
        ``src`` is written as a path that does not exist.
    ConnectionError
        ``src`` is a Hub id, the Hub cannot be reached and no cached copy exists.
    """
    from speechbrain_subtitle.safety import looks_like_local_path

    src = os.fspath(src)
    if os.path.isdir(src):
        return pathlib.Path(src)
    if os.path.exists(src):
        raise NotADirectoryError(f"{src}: is a file; give the folder holding {', '.join(FILES)}")
    if looks_like_local_path(src) or src.count("/") != 1:
        raise FileNotFoundError(
            f"{src}: no such folder (give the folder holding {', '.join(FILES)}, or a "
            f"Hugging Face Hub id such as {HUB_REPO})"
        )
    from huggingface_hub import constants, errors, snapshot_download

    offline = constants.is_offline_mode()
    try:
        return pathlib.Path(
            snapshot_download(repo_id=src, allow_patterns=list(FILES), local_files_only=offline)
        )
    except (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled) as err:
        why = "offline mode is enabled (HF_HUB_OFFLINE=1)" if offline else f"{err}"
        raise ConnectionError(
            f"{src}: no such local folder, and it cannot be downloaded from the Hugging Face "
            f"Hub: {why}. Download {', '.join(FILES)} yourself and give their folder"
        ) from err


def import_nelf(
    src,
    out,
    force=False,
    repo_id="your-org/NeLF_S2T-speechbrain-subtitle",
    template=None,
):
    """Converts a NeLF checkpoint into an exported model folder.

    ``out`` receives what ``speechbrain-subtitle export`` writes for our own
    models, so :meth:`SubtitleASR.from_hparams
    <speechbrain_subtitle.inference.SubtitleASR.from_hparams>`, ``transcribe``
    and ``evaluate`` use it unchanged: ``hyperparams.yaml`` (our ESPnet-compatible
    parts, the authors' search defaults with the CTC scorer really on, blank 0,
    ``<sos/eos>`` as bos and eos), ``asr.ckpt``, ``normalizer.ckpt`` (the
    global mean/std), ``features.ckpt`` (the mel matrix), ``tokenizer.ckpt``
    (token list + SentencePiece model), ``config.json`` and a model card
    ``README.md`` stating the weights' CC BY-NC 4.0 licence. The folder is
    loaded back (weights-only, strict keys, yaml allow-list) before it
    replaces ``out``.

    Arguments
    ---------
    src : str or pathlib.Path
        Folder holding the five files (:data:`FILES`), or a Hub id (see
        :func:`resolve_source`).
    out : str or pathlib.Path
        Folder to create. An existing one is replaced only with ``force`` and
        only when it is an earlier export or import
        (:func:`speechbrain_subtitle.hub.check_export_target`).
    force : bool
        Replace an earlier export at ``out``.
    repo_id : str
        Hub id shown in the model card.
    template : str or pathlib.Path, optional
        Model card template (default: ``model_cards/nelf.md``).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    import shutil
    import tempfile

    from speechbrain_subtitle import hub

    out = pathlib.Path(out)
    src = resolve_source(src)
    hub.check_export_target(src, out, force, what="source folder")
    nelf = load_nelf(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "hyperparams.yaml").write_text(
            hyperparams_yaml(nelf.config, len(nelf.tokenizer)), encoding="utf-8"
        )
        torch.save(nelf.model.state_dict(), tmp / "asr.ckpt")
        torch.save(nelf.normalize.state_dict(), tmp / "normalizer.ckpt")
        torch.save(nelf.compute_features.state_dict(), tmp / "features.ckpt")
        nelf.tokenizer.save(tmp / "tokenizer.ckpt")

        # Load the folder as a user would: allow-list, strict weights, finite values.
        from speechbrain_subtitle.inference import SubtitleASR

        asr = SubtitleASR.from_hparams(
            source=str(tmp), savedir=str(tmp), run_opts={"device": "cpu"}
        )
        card = {
            "repo_id": repo_id,
            "language": "nl",
            "datasets": [],
            "data_note": DATA_NOTE,
            "beam_size": SEARCH_DEFAULTS["beam_size"],
            "ctc_weight": SEARCH_DEFAULTS["decoding_ctc_weight"],
            "license": "cc-by-nc-4.0",
        }
        facts = {
            "imported_from": str(src),
            "model_card_template": CARD_TEMPLATE,
            "weights_dtype": "float32",
        }
        if template is None:
            template = hub.MODEL_CARD_TEMPLATE.parent / CARD_TEMPLATE
        hub._write_card(tmp, asr, facts, card, {}, template)
        del asr
        os.chmod(tmp, 0o755)
        hub._replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
