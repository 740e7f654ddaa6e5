"""Choosing the architecture of a training file by path (``--architecture=``).

Every yaml of ``hparams/`` and ``recipes/*/hparams/`` is plain HyperPyYAML and
loads with ``load_hyperpyyaml(open(path), overrides)`` alone:

- an architecture file (``hparams/c8.yaml``, ``v2.yaml``, ...) is
  self-contained; overrides such as ``{"d_model": 144}`` resize its model;
- a training file builds one with HyperPyYAML's ``!include:`` under the key
  ``architecture``, whose mapping overrides the architecture's keys, and
  refers to its parts (``model: !ref <architecture[model]>``)::

      d_model: 144
      architecture: !include:../../../hparams/c8.yaml
          d_model: !ref <d_model>
      model: !ref <architecture[model]>

In plain HyperPyYAML another architecture is the override
``architecture: !include:v2.yaml`` (a path relative to the training file; it
replaces the whole node, so the sizes under it are dropped) and a nested
override such as ``{"architecture": {"encoder_frontend": "conv2d"}}`` changes
the included file's keys.

This module adds two conveniences on top, used by ``speechbrain_subtitle.train``
and :func:`load_hparams`: the architecture named by a *path* (relative to the
working directory, as ``--architecture=hparams/v2.yaml`` gives it, or a
fine-tuned model's ``hyperparams.yaml``) replaces the file the ``!include:``
names while the sizes under it still apply (that one tag is rewritten to an
absolute path and the text handed to ``load_hyperpyyaml``), and an override of
a key that only the architecture defines (``--encoder_frontend=conv2d``) is
passed on as the nested override. Nothing is merged.
"""

import io
import os
import pathlib
import re
import urllib.parse

import ruamel.yaml
from hyperpyyaml import load_hyperpyyaml

#: The top-level key under which a training file includes its architecture.
ARCHITECTURE_KEY = "architecture"
_INCLUDE = "!include:"


def _tag(node):
    return getattr(getattr(node, "tag", None), "value", None) or ""


def load_overrides(overrides):
    """Overrides as a dict, from a yaml string (``parse_arguments``), a dict or None."""
    if isinstance(overrides, str):
        overrides = ruamel.yaml.YAML().load(overrides) or {}
    return dict(overrides or {})


def _read_doc(path):
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Hyperparameter file not found: {path}")
    return ruamel.yaml.YAML().load(path.read_text(encoding="utf-8")) or {}


def included_architecture(path):
    """The architecture file a training yaml includes (absolute), or None.

    Arguments
    ---------
    path : str or pathlib.Path
        A yaml file.

    Returns
    -------
    pathlib.Path or None
        The file named by ``architecture: !include:<file>``, resolved against
        the folder of ``path``; None when ``path`` includes no architecture
        (an architecture file or an exported ``hyperparams.yaml``).
    """
    node = _read_doc(path).get(ARCHITECTURE_KEY)
    if not _tag(node).startswith(_INCLUDE):
        return None
    return (pathlib.Path(path).resolve().parent / _tag(node)[len(_INCLUDE) :]).resolve()


def split_architecture(path, overrides, architecture=None):
    """Separates an architecture chosen by path from the other overrides.

    Arguments
    ---------
    path : str or pathlib.Path
        The training yaml.
    overrides : dict or str or None
        Overrides; their ``architecture`` entry may be a path (relative to the
        working directory), an ``!include:<file>`` tag (relative to ``path``,
        as in plain HyperPyYAML; a mapping under it overrides the included
        file's keys) or a mapping (the included file's keys, left in place).
    architecture : str or pathlib.Path, optional
        The architecture to use when the overrides choose none.

    Returns
    -------
    tuple
        ``(architecture file or None, remaining overrides as a dict)``; an
        override of a key that only the included architecture defines is
        moved under ``architecture`` (a nested override of that file).
    """
    overrides = load_overrides(overrides)
    value = overrides.get(ARCHITECTURE_KEY)
    tag = _tag(value)
    if tag.startswith(_INCLUDE):
        architecture = pathlib.Path(path).resolve().parent / tag[len(_INCLUDE) :]
        if isinstance(value, dict) and value:
            overrides[ARCHITECTURE_KEY] = dict(value)
        else:
            del overrides[ARCHITECTURE_KEY]
    elif isinstance(value, (str, os.PathLike)):
        architecture = overrides.pop(ARCHITECTURE_KEY)
    return architecture, _route_to_architecture(path, overrides, architecture)


def _route_to_architecture(path, overrides, architecture):
    """Moves overrides of keys that only the included architecture has (``d_model``,
    ``encoder_frontend``, ...) under ``architecture``, where HyperPyYAML passes them
    to the included file, so ``--encoder_frontend=conv2d`` works on a training yaml."""
    if not pathlib.Path(path).is_file() or included_architecture(path) is None:
        return overrides
    target = pathlib.Path(architecture or included_architecture(path))
    if not target.is_file():
        return overrides  # yaml_text reports the missing file
    own, included = set(_read_doc(path)), set(_read_doc(target))
    moved = {k: overrides.pop(k) for k in list(overrides) if k not in own and k in included}
    if moved:
        nested = overrides.get(ARCHITECTURE_KEY)
        overrides[ARCHITECTURE_KEY] = {
            **(dict(nested) if isinstance(nested, dict) else {}),
            **moved,
        }
    return overrides


def yaml_text(path, architecture=None):
    """The text of ``path`` with its architecture ``!include:`` as an absolute path.

    Arguments
    ---------
    path : str or pathlib.Path
        A training yaml (``architecture: !include:<file>``), or any other yaml
        when ``architecture`` is None.
    architecture : str or pathlib.Path, optional
        The file to include instead of the one ``path`` names.

    Returns
    -------
    str
        The file's text, changed only in that one tag, so it loads from any
        folder (``load_hyperpyyaml(io.StringIO(text))``).
    """
    text = pathlib.Path(path).read_text(encoding="utf-8")
    named = included_architecture(path)
    if architecture is None:
        if named is None:
            return text
        target = named
    else:
        if named is None:
            raise ValueError(
                f"{path} includes no architecture (no top-level "
                f"'{ARCHITECTURE_KEY}: {_INCLUDE}<file>'), so none can be chosen for it"
            )
        target = pathlib.Path(architecture).resolve()
    if not target.is_file():
        raise FileNotFoundError(f"Hyperparameter file not found: {target}")
    tag = _INCLUDE + urllib.parse.quote(str(target), safe="/:._-~")  # yaml tags are URIs
    pattern = re.compile(rf"^{ARCHITECTURE_KEY}:(\s*)!include:\S+", re.M)
    return pattern.sub(lambda m: f"{ARCHITECTURE_KEY}:{m.group(1)}{tag}", text, count=1)


class _NamedStream(io.StringIO):
    """Text with a file name: HyperPyYAML resolves other ``!include:`` paths
    against the folder of ``name``."""

    def __init__(self, text, name):
        super().__init__(text)
        self.name = str(name)


def load_hparams(path, overrides=None, architecture=None):
    """``load_hyperpyyaml`` of ``path``, with the architecture chosen by path.

    Without an architecture this is exactly
    ``load_hyperpyyaml(open(path), overrides)``.

    Arguments
    ---------
    path : str or pathlib.Path
        The yaml file.
    overrides : dict or str, optional
        Overrides as SpeechBrain's ``parse_arguments`` returns them (a yaml
        string) or a dict. An ``architecture`` entry chooses the architecture
        (see :func:`split_architecture`).
    architecture : str or pathlib.Path, optional
        Architecture file to include instead of the one ``path`` names.

    Returns
    -------
    dict
        The loaded hyperparameters (objects instantiated).

    Example
    -------
    >>> hp = load_hparams("hparams/train_tiny.yaml", {"output_folder": "/tmp/unused"},
    ...                   architecture="hparams/parallel.yaml")
    >>> hp["variant"], hp["architecture"]["d_model"]
    ('parallel', 64)
    """
    architecture, overrides = split_architecture(path, overrides, architecture)
    if architecture is None:
        _read_doc(path)  # a clear error for a missing file
        with open(path, encoding="utf-8") as f:
            return load_hyperpyyaml(f, overrides)
    stream = _NamedStream(yaml_text(path, architecture), pathlib.Path(path).resolve())
    return load_hyperpyyaml(stream, overrides)
