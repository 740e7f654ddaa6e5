"""Loading a model folder without running its code.

A model folder's ``hyperparams.yaml`` is code: HyperPyYAML imports and calls
whatever a ``!new:``, ``!name:`` or ``!apply:`` tag names (``!apply:os.system``
included), and it builds tuples from ``(...)`` strings with PyYAML's unsafe
loader. :func:`check_model_yaml` reads the file with ruamel.yaml's parser
*before* anything is built and refuses (:class:`UnsafeModelError`):

- a ``!new:``/``!name:``/``!apply:`` target outside the allow-list
  (:data:`ALLOWED_PREFIXES`, :data:`ALLOWED_NAMES`, minus
  :data:`DENIED_PREFIXES`), a target that does not resolve to a class or
  function defined under the allow-list (``speechbrain.nnet.linear.torch.load``
  reaches ``torch.load`` through an attribute: refused), and a malformed target;
- every other tag except ``!ref``, ``!copy``, ``!tuple``, ``!PLACEHOLDER`` and
  the standard scalar/collection tags: ``!module:``, ``!applyref:`` (runs while
  references are resolved), ``!include:`` (model folders are self-contained:
  exported yamls never include, so it is refused outright rather than checked
  for paths that stay inside the folder), ``!!python/...``, ``%TAG``
  shorthands of these, unknown tags;
- attribute references ``!ref <key.attr>`` (HyperPyYAML turns them into
  ``getattr`` calls);
- a ``!`` inside any string: such strings can become code through the
  ``(...)`` tuple parser, directly or joined by ``!ref`` interpolation.

Tags are found by the YAML parser itself, so flow style, quoted keys, anchors
and ``%TAG`` directives are seen as HyperPyYAML sees them; comments are not
code and are ignored. ``trust_code=True`` (``--trust-model-code``) skips this
check for folders the user trusts.

Weights are read with :func:`load_checkpoint` (``torch.load(...,
weights_only=True)``, with one-line errors for empty, truncated, random or
pickled-code files) and checked with :func:`check_finite`.
"""

import importlib
import inspect
import io
import os
import re

import torch

#: Dotted-name prefixes a model folder's yaml may instantiate, name or apply.
ALLOWED_PREFIXES = (
    "speechbrain.lobes.",
    "speechbrain.nnet.",
    "speechbrain.processing.",
    "speechbrain.decoders.",
    "speechbrain.augment.",
    "speechbrain_subtitle.lobes.",
    "speechbrain_subtitle.losses.",
    "torch.nn.",
)

#: Exact names allowed besides the prefixes (what exported yamls use).
ALLOWED_NAMES = frozenset(
    {
        "sentencepiece.SentencePieceProcessor",
        "speechbrain.utils.parameter_transfer.Pretrainer",
        "speechbrain_subtitle.hub.load_state_strict",  # re-exported from model_files
        "speechbrain_subtitle.model_files.load_state_strict",
        "speechbrain_subtitle.tokenizer.TokenListTokenizer",
    }
)

#: Parts of the allowed prefixes that download, read pickles or call out.
DENIED_PREFIXES = (
    "speechbrain.lobes.models.huggingface_transformers",
    "speechbrain.lobes.models.fairseq_wav2vec",
    "speechbrain.lobes.models.discrete",
    "speechbrain.lobes.models.beats",
    "speechbrain.lobes.models.kmeans",
    "speechbrain.lobes.models.Tacotron2",
    "speechbrain.lobes.models.MSTacotron2",
    "speechbrain.lobes.models.g2p",
    "speechbrain.nnet.schedulers",
    "speechbrain.decoders.scorer",
    "speechbrain.decoders.language_model",
    "speechbrain.augment.preparation",
)

#: Tags HyperPyYAML resolves without calling anything named in the file.
PLAIN_TAGS = frozenset({"!ref", "!copy", "!tuple", "!PLACEHOLDER"})
STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
CALL_TAGS = ("!new:", "!name:", "!apply:")

TRUST_HINT = (
    "only if you trust this model folder, load it with trust_code=True "
    "(command line: --trust-model-code)"
)

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_REFERENCE = re.compile(r"<[^>]*>")


class UnsafeModelError(ValueError):
    """A model folder's ``hyperparams.yaml`` would run code outside the allow-list."""


def _denied(name):
    return any(name == p or name.startswith(p + ".") for p in DENIED_PREFIXES)


def is_allowed_name(name):
    """Whether the dotted ``name`` is on the allow-list (by its text only).

    >>> is_allowed_name("torch.nn.Linear"), is_allowed_name("torch.load")
    (True, False)
    >>> is_allowed_name("speechbrain.utils.superpowers.run_shell")
    False
    """
    if name in ALLOWED_NAMES:
        return True
    return name.startswith(ALLOWED_PREFIXES) and not _denied(name)


def _resolve(target):
    """The object ``target`` names, walked as ``pydoc.locate`` does; None if it
    does not resolve to an allowed class or function (see :func:`check_target`)."""
    parts = target.split(".")
    if any(part.startswith("_") for part in parts):
        return None
    module, n = None, 0
    while n < len(parts):
        try:
            module = importlib.import_module(".".join(parts[: n + 1]))
        except Exception:  # not a module (ImportError) or broken: stop importing here
            break
        n += 1
    if module is None:
        return None
    obj = module
    for part in parts[n:]:
        obj = getattr(obj, part, None)
        if obj is None or inspect.ismodule(obj):
            return None  # missing, or a module reached through an attribute
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        return None
    defined = getattr(obj, "__module__", None)
    if isinstance(defined, str):
        qualified = f"{defined}.{getattr(obj, '__qualname__', '')}"
        if qualified not in ALLOWED_NAMES and not is_allowed_name(defined + "."):
            return None
    return obj


def check_target(target, tag="!new:"):
    """Why ``target`` (the suffix of ``tag``, ``!new:``/``!name:``/``!apply:``) is refused, or None.

    Under the allowed module prefixes only **classes** may be named: a module
    holds functions and methods that write, read or delete files (SpeechBrain's
    ``StatObject_SB.save_stat_object`` pickles an object to any path), and a
    method or function named in a yaml is called with arguments the yaml
    chooses (``!apply:``) or that the loader chooses (``!name:`` hooks). A
    function or method is allowed only by its exact name in
    :data:`ALLOWED_NAMES`, and ``!apply:`` (a call while the yaml loads, which
    exported models never need) only for those names.

    >>> check_target("speechbrain.nnet.linear.Linear") is None
    True
    >>> check_target("speechbrain.nnet.linear.torch.load")
    'it does not resolve to a class or function defined under the allow-list'
    >>> check_target("os.system")
    'it is not on the allow-list'
    >>> check_target("speechbrain.processing.PLDA_LDA.StatObject_SB.save_stat_object", "!apply:")
    'only classes may be named under the allowed modules (functions and methods by exact name)'
    >>> check_target("speechbrain.nnet.linear.Linear", "!apply:")
    '!apply: may only call the exact names of the allow-list'
    >>> check_target("speechbrain_subtitle.hub.load_state_strict", "!name:") is None
    True
    """
    if not _DOTTED.match(target):
        return "it is not a dotted Python name"
    if not is_allowed_name(target):
        return "it is not on the allow-list"
    obj = _resolve(target)
    if obj is None:
        return "it does not resolve to a class or function defined under the allow-list"
    if target in ALLOWED_NAMES:
        return None
    if not inspect.isclass(obj):
        return (
            "only classes may be named under the allowed modules "
            "(functions and methods by exact name)"
        )
    if tag.startswith("!apply"):
        return "!apply: may only call the exact names of the allow-list"
    return None


def _tag_text(tag):
    value = getattr(tag, "value", tag)
    return None if value is None else str(value)


def _problems(text):
    """``[(line, tag, target, reason)]`` of everything refused in a yaml text.

    Raises ruamel's ``YAMLError`` when the text is not valid YAML.
    """
    import ruamel.yaml
    from ruamel.yaml.events import ScalarEvent

    found = []
    for event in ruamel.yaml.YAML(typ="rt").parse(io.StringIO(text)):
        line = event.start_mark.line + 1 if event.start_mark else 0
        tag = _tag_text(getattr(event, "tag", None))
        value = event.value if isinstance(event, ScalarEvent) else None
        if tag is not None and tag not in PLAIN_TAGS and tag not in STANDARD_TAGS:
            if tag.startswith(CALL_TAGS):
                target = tag.split(":", 1)[1]
                reason = check_target(target, tag)
                if reason:
                    found.append((line, tag.split(":", 1)[0] + ":", target, reason))
            elif tag.startswith("!include:"):
                found.append(
                    (line, "!include:", tag[len("!include:") :], "model folders may not include")
                )
            else:
                found.append((line, tag, "", "this tag is not allowed in a model folder"))
        if tag in ("!ref", "!copy") and isinstance(value, str):
            for ref in _REFERENCE.findall(value):
                if "." in ref:
                    found.append((line, tag, ref, "attribute references run getattr"))
        if isinstance(value, str) and "!" in value:
            found.append(
                (line, "string", value[:60], "a '!' inside a string can be parsed as a tag")
            )
    return found


def check_model_yaml(path, trust_code=False):
    """Refuses a model folder's yaml that is empty, not YAML, or unsafe.

    Arguments
    ---------
    path : str or os.PathLike
        The ``hyperparams.yaml`` about to be loaded.
    trust_code : bool
        Skip the allow-list check (syntax and emptiness are still checked).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is empty or not valid YAML.
    UnsafeModelError
        A tag would run code outside the allow-list; the message names the
        file, line, tag and target of the first one.
    """
    import ruamel.yaml

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not a UTF-8 text file ({err.reason})") from None
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ValueError(f"{path} is empty: a model folder's yaml must define the model")
    try:
        problems = _problems(text)
    except ruamel.yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        cause = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValueError(f"{path} is not valid YAML{where}: {cause}") from None
    if problems and not trust_code:
        line, tag, target, reason = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UnsafeModelError(
            f"{path}, line {line}: refusing {tag}{target}: {reason}{more}. "
            f"Loading this yaml would run code; {TRUST_HINT}"
        )


def looks_like_local_path(source):
    """Whether ``source`` is meant as a folder rather than a Hub id ``org/name``.

    >>> looks_like_local_path("./model"), looks_like_local_path("org/name")
    (True, False)
    >>> looks_like_local_path("models/"), looks_like_local_path("~/m")
    (True, True)
    """
    source = os.fspath(source)
    if source.startswith((".", "/", "~")) or source.endswith(("/", os.sep)):
        return True
    if os.sep in source or "/" in source:
        first = re.split(r"[/\\]", source)[0]
        return bool(first) and os.path.exists(first)
    return False


def load_checkpoint(path, map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with one-line errors.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Empty, truncated or random bytes, or a pickle that needs more than
        tensors and plain containers (its code is not run).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty (0 bytes): not a checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for bad files
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if "Weights only load failed" in str(err):
            found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
            what = f" (it names {found.group(1)})" if found else ""
            raise ValueError(
                f"{path} is not a plain weights checkpoint: it is corrupt or holds pickled "
                f"objects other than tensors{what}; refused without running them "
                "(checkpoints are loaded weights-only)"
            ) from None
        raise ValueError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): "
            f"{type(err).__name__}: {first}"
        ) from None


def _tensors(value, prefix=""):
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, (list, tuple)):
        for k, item in enumerate(value):
            yield from _tensors(item, f"{prefix}[{k}]")


def check_finite(state, source):
    """Raises ValueError naming the first tensor of ``state`` holding NaN or inf.

    >>> check_finite({"w": torch.ones(2)}, "x.ckpt")
    >>> check_finite({"w": torch.tensor([1.0, float("nan")])}, "x.ckpt")
    Traceback (most recent call last):
    ...
    ValueError: x.ckpt: tensor 'w' holds NaN or infinite values; refusing to load it
    """
    for key, tensor in _tensors(state):
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(
            torch.isfinite(tensor).all()
        ):
            raise ValueError(
                f"{source}: tensor '{key}' holds NaN or infinite values; refusing to load it"
            )


def load_normalizer(normalizer, path):
    """Weights-only replacement for ``InputNormalization._load`` (a Pretrainer hook).

    SpeechBrain's own loader calls ``torch.load`` with torch's default
    ``weights_only``; this one is explicit and checks the statistics are finite.
    """
    stats = load_checkpoint(path, map_location=getattr(normalizer, "device", "cpu"))
    if not isinstance(stats, dict) or not {"count", "glob_mean", "glob_std"} <= set(stats):
        raise ValueError(f"{path} is not an InputNormalization checkpoint")
    check_finite(stats, path)
    normalizer._load_statistics_dict(stats)
