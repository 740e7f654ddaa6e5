"""What a model folder holds and how its weights are loaded.

Shared by :mod:`speechbrain_subtitle.inference` (loading) and
:mod:`speechbrain_subtitle.hub` (export), so that neither imports the other
for it. ``speechbrain_subtitle.hub.load_state_strict`` stays the name the
exported ``hyperparams.yaml`` files use (``hub`` re-exports it).
"""

import torch

#: Files every exported model folder holds (``features.ckpt`` only when the front end has a state).
REQUIRED_FILES = ("hyperparams.yaml", "asr.ckpt", "normalizer.ckpt", "tokenizer.ckpt")


class ModelLoadError(ValueError):
    """A checkpoint does not fit the model its yaml builds."""


def load_state_strict(module, path):
    """Loads ``path`` into ``module``, refusing any key or shape mismatch.

    SpeechBrain's default transfer only logs mismatches and keeps random
    weights; this names the missing and unexpected keys and raises instead.
    The file is read weights-only and every tensor must be finite
    (:func:`speechbrain_subtitle.safety.load_checkpoint`, ``check_finite``).

    Arguments
    ---------
    module : torch.nn.Module
        The model built from the yaml.
    path : str or pathlib.Path
        A state-dict checkpoint.
    """
    from speechbrain_subtitle.safety import check_finite, load_checkpoint

    state = load_checkpoint(path)  # weights-only, one-line errors for bad files
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path} is not a state dict (name -> tensor)")
    check_finite(state, path)
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(
        k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or wrong_shape:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected)):
            if keys:
                parts.append(
                    f"{len(keys)} {label} key(s): {', '.join(keys[:8])}"
                    + (" ..." if len(keys) > 8 else "")
                )
        if wrong_shape:
            shapes = [
                f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
                for k in wrong_shape[:8]
            ]
            parts.append(f"{len(wrong_shape)} shape mismatch(es): {'; '.join(shapes)}")
        raise ModelLoadError(
            f"Checkpoint {path} does not match the model built by hyperparams.yaml "
            f"({'; '.join(parts)}). Was it exported with a different architecture or size?"
        )
    module.load_state_dict(state, strict=True)
