"""Checks of audio samples before they reach the model.

Two kinds of input would otherwise lose speech or crash deep inside torch:

- **Non-finite samples** (NaN, +/-infinity, e.g. from a broken float WAV
  writer): one of them turns the features of a whole segment into NaN, and a
  file full of them looks silent. They are set to 0 (a click-free gap) and a
  warning gives their count and the time of the first one; a file without
  any finite sample is an error. This happens before resampling, which would
  spread a NaN over its neighbours.
- **Too-short audio**: the features and the encoder's convolution front end
  need :data:`MIN_SAMPLES` samples at 16 kHz (20 ms, three feature frames).
  A file that short is an error (:func:`check_length`); in a batch given to
  ``SubtitleASR.transcribe_batch`` such a row gets empty texts and a warning
  (:func:`check_batch`), so one short row does not fail the others.

Warnings go to this module's logger (``speechbrain_subtitle.audio_checks``).
"""

import logging

import numpy as np
import torch

logger = logging.getLogger(__name__)

#: Fewest samples at 16 kHz the features (25 ms windows every 10 ms) and the
#: encoder front end accept: 320 (3 frames); 319 fails with a padding error.
MIN_SAMPLES = 320


def min_samples(sample_rate=16000):
    """Fewest samples an input at ``sample_rate`` needs (:data:`MIN_SAMPLES` at 16 kHz).

    >>> min_samples(16000), min_samples(8000), min_samples(22050)
    (320, 160, 441)
    """
    return -(-MIN_SAMPLES * int(sample_rate) // 16000)


def check_length(name, samples, sample_rate=16000):
    """Raises ValueError when ``samples`` (at ``sample_rate``) is too short to decode.

    >>> check_length("a.wav", 100)
    Traceback (most recent call last):
    ...
    ValueError: a.wav: audio too short (100 samples, at least 320 needed)
    """
    needed = min_samples(sample_rate)
    if samples < needed:
        raise ValueError(f"{name}: audio too short ({samples} samples, at least {needed} needed)")


def repair_nonfinite(data):
    """Sets the NaN and infinite values of an array to 0, in place.

    Arguments
    ---------
    data : numpy.ndarray or torch.Tensor
        Samples along the first axis (``(frames,)`` or ``(frames, channels)``).

    Returns
    -------
    count : int
        Frames that held a non-finite value (in any channel).
    first : int or None
        Index of the first such frame (None when there is none).

    Example
    -------
    >>> data = np.array([0.1, np.nan, 0.2, np.inf], dtype=np.float32)
    >>> repair_nonfinite(data), data.tolist()
    ((2, 1), [0.10000000149011612, 0.0, 0.20000000298023224, 0.0])
    """
    if isinstance(data, torch.Tensor):
        bad = ~torch.isfinite(data)
        if not bool(bad.any()):
            return 0, None
        data[bad] = 0
        frames = bad.reshape(len(data), -1).any(dim=1).nonzero()
        return len(frames), int(frames[0])
    bad = ~np.isfinite(data)
    if not bad.any():
        return 0, None
    data[bad] = 0
    frames = np.flatnonzero(bad.reshape(len(data), -1).any(axis=1))
    return len(frames), int(frames[0])


def warn_nonfinite(name, count, first_seconds):
    """Logs the warning for ``count`` non-finite samples set to 0 in ``name``."""
    logger.warning(
        "%s: %d non-finite sample(s) (NaN or infinity) set to 0, the first at %.3f s",
        name,
        count,
        first_seconds,
    )


def no_finite_error(name, frames):
    """The error for an input whose ``frames`` samples are all NaN or infinite."""
    return ValueError(f"{name}: no finite audio sample (all {frames} are NaN or infinity)")


def check_array(data, name, rate):
    """Repairs a freshly read ``(frames, channels)`` array (see :func:`repair_nonfinite`).

    Warns when samples were repaired; raises ValueError when there was no
    finite value at all.
    """
    if data.size and not np.isfinite(data).any():
        raise no_finite_error(name, len(data))
    count, first = repair_nonfinite(data)
    if count:
        warn_nonfinite(name, count, first / rate)
    return data


def check_batch(wavs, wav_lens=None, sample_rate=16000):
    """A batch for ``SubtitleASR.transcribe_batch`` made safe to decode.

    Non-finite samples are set to 0 (with a warning per row). A row shorter
    than :func:`min_samples` (but not empty), or one without any finite
    sample, is zeroed: the model then treats it as silence and gives it
    empty texts, and a warning says why. The caller's tensor is not changed
    (a copy is repaired). Anything that is not a 1-D or 2-D float tensor is
    returned as it is (``transcribe_batch`` reports it).

    Arguments
    ---------
    wavs : torch.Tensor
        ``(batch, samples)`` or ``(samples,)``.
    wav_lens : torch.Tensor, optional
        Relative lengths.
    sample_rate : int
        The model's rate (for times and the minimum length).

    Returns
    -------
    tuple
        ``(wavs, wav_lens)``.
    """
    if not isinstance(wavs, torch.Tensor) or wavs.dim() not in (1, 2):
        return wavs, wav_lens
    if not wavs.is_floating_point():
        return wavs, wav_lens
    rows = wavs if wavs.dim() == 2 else wavs.unsqueeze(0)
    if wav_lens is None:
        samples = [rows.shape[1]] * rows.shape[0]
    else:
        samples = torch.round(torch.as_tensor(wav_lens).float().cpu() * rows.shape[1])
        samples = [int(n) for n in samples.long().reshape(-1)]
    bad = ~torch.isfinite(rows)
    short = [0 < n < min_samples(sample_rate) for n in samples]
    if not bool(bad.any()) and not any(short):
        return wavs, wav_lens
    rows = rows.clone()
    for k in range(rows.shape[0]):
        _check_row(rows, k, samples[k], short[k], sample_rate)
    return (rows if wavs.dim() == 2 else rows[0]), wav_lens


def _check_row(rows, k, samples, short, sample_rate):
    """Repairs row ``k`` of a cloned batch in place (see :func:`check_batch`)."""
    name = f"batch row {k}"
    if short:
        needed = min_samples(sample_rate)
        logger.warning(
            "%s: audio too short (%d samples, at least %d needed): empty result",
            name,
            samples,
            needed,
        )
        rows[k] = 0
        return
    row = rows[k]
    if samples and not bool(torch.isfinite(row[:samples]).any()):
        logger.warning("%s: no finite audio sample (all NaN or infinity): empty result", name)
        rows[k] = 0
        return
    count, first = repair_nonfinite(row)  # a view: repairs rows[k]
    if count:
        warn_nonfinite(name, count, first / sample_rate)
