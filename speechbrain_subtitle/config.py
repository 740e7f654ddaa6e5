"""Loading HyperPyYAML files that build on other files.

Two top-level keys compose files before HyperPyYAML resolves anything:

- ``architecture:`` names one architecture file from ``hparams/`` (the model);
- ``base:`` names a list of further files (training settings, size mixins).

The architecture is merged first, then the bases in order, then the file
itself, key by key: a later file replaces the value of a key an earlier one
set. ``!ref`` tags are resolved after the merge, so a recipe that sets
``d_model: 144`` resizes the model its architecture file defines. Paths are
relative to the file that names them. Command-line overrides apply last; an
``architecture`` override (a path, relative to the working directory) swaps
the model. A recipe therefore reads::

    architecture: ../../../hparams/c8.yaml
    base: [../../../hparams/train.yaml]
    train_csv: !PLACEHOLDER
"""

import io
import pathlib

import ruamel.yaml
from hyperpyyaml import load_hyperpyyaml


def _yaml():
    return ruamel.yaml.YAML()


def _read(path):
    path = pathlib.Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"Hyperparameter file not found: {path}")
    with open(path, encoding="utf-8") as f:
        return path, (_yaml().load(f) or {})


def _collect(path, seen):
    """Merged keys of ``path`` and its bases, and the architecture they name."""
    path, doc = _read(path)
    if path in seen:
        raise ValueError(f"Circular base: {path} includes itself")
    bases = doc.pop("base", None) or []
    if isinstance(bases, str):
        bases = [bases]
    architecture = doc.pop("architecture", None)
    if architecture is not None:
        architecture = path.parent / str(architecture)
    merged = {}
    for base in bases:
        base_keys, base_arch = _collect(path.parent / base, seen | {path})
        merged.update(base_keys)
        architecture = architecture or base_arch
    merged.update(doc)
    return merged, architecture


def compose_yaml_text(path, architecture=None):
    """The merged (unresolved) yaml text of ``path``, its architecture and bases.

    Arguments
    ---------
    path : str or pathlib.Path
        The yaml file.
    architecture : str or pathlib.Path, optional
        An architecture file replacing the one the files name.

    Returns
    -------
    str
        One yaml document holding the merged keys, tags untouched.
    """
    keys, named = _collect(path, set())
    merged = {}
    arch_file = architecture or named
    if arch_file is not None:
        arch_file = pathlib.Path(arch_file).resolve()
        arch_keys, _ = _collect(arch_file, set())
        merged.update(arch_keys)
        merged["architecture_file"] = str(arch_file)
    merged.update(keys)
    stream = io.StringIO()
    _yaml().dump(merged, stream)
    return stream.getvalue()


def load_overrides(overrides):
    """Overrides as a dict, from a yaml string (``parse_arguments``), a dict or None."""
    if isinstance(overrides, str):
        overrides = _yaml().load(overrides) or {}
    return dict(overrides or {})


def load_hparams(path, overrides=None, architecture=None):
    """Loads ``path`` (with its architecture and bases) and applies ``overrides``.

    Arguments
    ---------
    path : str or pathlib.Path
        The yaml file.
    overrides : dict or str, optional
        Overrides as SpeechBrain's ``parse_arguments`` returns them (a yaml
        string) or a dict. An ``architecture`` entry swaps the architecture.
    architecture : str or pathlib.Path, optional
        Architecture file to use instead of the one the files name.

    Returns
    -------
    dict
        The loaded hyperparameters (objects instantiated).
    """
    overrides = load_overrides(overrides)
    architecture = overrides.pop("architecture", architecture)
    text = compose_yaml_text(path, architecture)
    return load_hyperpyyaml(text, overrides)
