"""Filterbank features of a padded batch, the same for each row as alone.

SpeechBrain's ``Fbank`` computed on a padded batch lets padding leak into a
row's features: its dB floor (``top_db``) is taken over the whole padded row,
the frames just past the end read padded samples, and the relative lengths
that come back do not always round to the row's own frame count.
:func:`batch_features` computes each row on its own samples and returns exact
relative lengths, so the encoder (see
:mod:`speechbrain_subtitle.lobes.encoders`) sees what it would see for the
utterance alone.
"""

import torch


def sample_counts(wav_lens, num_samples):
    """Absolute sample counts from SpeechBrain relative lengths.

    Example
    -------
    >>> sample_counts(torch.tensor([1.0, 0.25]), 16000).tolist()
    [16000, 4000]
    """
    return torch.round(wav_lens.float() * num_samples).long().clamp(min=1, max=num_samples)


def batch_features(compute_features, wavs, wav_lens):
    """Features of each row of a padded batch, padded with zeros.

    Arguments
    ---------
    compute_features : callable
        ``(batch, samples) -> (batch, frames, n_feats)``, e.g. SpeechBrain's Fbank.
    wavs : torch.Tensor
        ``(batch, samples)`` zero-padded waveforms.
    wav_lens : torch.Tensor
        Relative lengths in [0, 1].

    Returns
    -------
    feats : torch.Tensor
        ``(batch, frames, n_feats)``, zero past each row's frames.
    feat_lens : torch.Tensor
        Exact relative lengths (``frames_i / max_frames``).

    Example
    -------
    >>> from speechbrain.lobes.features import Fbank
    >>> wavs = torch.randn(2, 3200)
    >>> feats, lens = batch_features(Fbank(n_mels=40), wavs, torch.tensor([1.0, 0.5]))
    >>> feats.shape, lens.tolist()
    (torch.Size([2, 21, 40]), [1.0, 0.523809552192688])
    >>> alone = Fbank(n_mels=40)(wavs[1:, :1600])
    >>> torch.equal(feats[1, :11], alone[0])
    True
    """
    counts = sample_counts(wav_lens, wavs.shape[1])
    rows = [compute_features(wavs[k : k + 1, : int(n)])[0] for k, n in enumerate(counts)]
    frames = torch.tensor([r.shape[0] for r in rows], device=wavs.device)
    feats = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)
    return feats, frames.float() / feats.shape[1]
