"""Pretrained interface: load a trained model and get both texts.

Example
-------
::

    from speechbrain_subtitle.inference import SubtitleASR

    asr = SubtitleASR.from_hparams(source="path/or/hub-id", savedir="pretrained_models/x")
    result = asr.transcribe_file("speech.wav")
    print(result.verbatim)
    print(result.subtitle)
"""

import dataclasses
import os

import soundfile as sf
import torch
import torchaudio
from speechbrain.inference.interfaces import Pretrained

from speechbrain_subtitle.alignment import align_words, transfer_times
from speechbrain_subtitle.audio_checks import check_array, check_batch, check_length
from speechbrain_subtitle.decoding import TASKS, DecodingOptions, decode
from speechbrain_subtitle.features import batch_features
from speechbrain_subtitle.tokenizer import ids_to_text

#: yaml keys of the search settings that differ from the option names (the
#: architecture's ``ctc_weight`` is the training loss weight).
YAML_KEYS = {
    "ctc_weight": "decoding_ctc_weight",
    "subtitle_ctc_weight": "decoding_subtitle_ctc_weight",
}

#: Peak amplitude below which an input counts as silence (about -80 dBFS).
SILENCE_PEAK = 1e-4


@dataclasses.dataclass
class SubtitleResult:
    """Both texts of one utterance.

    Attributes
    ----------
    verbatim : str
        The verbatim transcript ("" when not requested or silent).
    subtitle : str
        The subtitle ("" when not requested, silent, or a verbatim-only model).
    verbatim_tokens, subtitle_tokens : list of int
        Token ids of each hypothesis.
    verbatim_score, subtitle_score : float or None
        Beam search scores (length-normalized log-probabilities; None when
        greedy or not decoded).
    verbatim_words, subtitle_words : list of speechbrain_subtitle.subtitles.Word
        Timed words, in seconds from the start of the input, when asked for
        with ``word_times=True`` (see :meth:`SubtitleASR.transcribe_batch`).
    ctc_entropy : float or None
        With ``word_times=True``: the mean entropy (nats) of the verbatim CTC
        head's posteriors over the utterance's frames. Low on speech like the
        training data; high where the model is unsure (babble, another
        language, noise); see ``max_ctc_entropy`` in
        :func:`speechbrain_subtitle.longform.transcribe_long`.
    ctc_speech_frames : int or None
        With ``word_times=True``: how many encoder frames the verbatim CTC head
        labels as something other than blank (0 means it heard no speech).
    """

    verbatim: str = ""
    subtitle: str = ""
    verbatim_tokens: list = dataclasses.field(default_factory=list)
    subtitle_tokens: list = dataclasses.field(default_factory=list)
    verbatim_score: float = None
    subtitle_score: float = None
    verbatim_words: list = dataclasses.field(default_factory=list)
    subtitle_words: list = dataclasses.field(default_factory=list)
    ctc_speech_frames: int = None
    ctc_entropy: float = None


def _frame_shift(frames, seconds):
    """Seconds per encoder frame of one utterance: its duration over its frame count."""
    return seconds / max(int(frames), 1)


def pad_waveforms(wavs):
    """Zero-pads 1-D waveforms into a batch: ``(wavs (B, T), relative lengths (B,))``.

    Rows too short to decode or holding NaN/infinity are left as they are:
    :meth:`SubtitleASR.transcribe_batch` checks the batch (see
    :func:`speechbrain_subtitle.audio_checks.check_batch`).

    >>> padded, lens = pad_waveforms([torch.ones(4), torch.ones(2)])
    >>> padded.tolist(), lens.tolist()
    ([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]], [1.0, 0.5])
    """
    if not wavs:
        raise ValueError("pad_waveforms needs at least one waveform")
    longest = max(1, max(len(w) for w in wavs))
    padded = torch.zeros(len(wavs), longest)
    for k, w in enumerate(wavs):
        padded[k, : len(w)] = w
    return padded, torch.tensor([len(w) / longest for w in wavs])


def int8_linear_layers(model):
    """A copy of ``model`` whose ``torch.nn.Linear`` layers are dynamically quantized
    to int8 (``torch.ao.quantization.quantize_dynamic``; torch deprecates it in favour
    of torchao, which this package does not need: a torch without it is told so)."""
    import warnings

    quantize_dynamic = getattr(torch.ao.quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:
        raise RuntimeError(
            f"torch {torch.__version__} has no torch.ao.quantization.quantize_dynamic: int8 "
            "quantization needs torch <= 2.9 here"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def load_audio_file(path, sample_rate=16000):
    """Reads any file soundfile can read, downmixed to mono and resampled.

    Arguments
    ---------
    path : str
        Audio file (wav, flac, ogg, mp3 where libsndfile supports it...).
    sample_rate : int
        Rate to resample to.

    Returns
    -------
    torch.Tensor
        1-D float32 waveform.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If it is not readable audio, holds no samples, no finite sample (all
        NaN or infinity), or too few samples to decode
        (:func:`~speechbrain_subtitle.audio_checks.min_samples`).

    Notes
    -----
    NaN and infinite samples are set to 0 before resampling (which would
    spread them), with a warning giving their count and the time of the
    first one (see :mod:`speechbrain_subtitle.audio_checks`).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found: {path}")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises several types for bad files
        raise ValueError(f"{path} is not a readable audio file ({err})") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path} holds no audio samples")
    check_array(data, path, rate)
    wav = torch.from_numpy(data).mean(dim=1)
    if rate != sample_rate:
        wav = torchaudio.functional.resample(wav, rate, sample_rate)
    check_length(path, len(wav), sample_rate)
    return wav


def _peak(wav):
    return float(wav.abs().max()) if wav.numel() else 0.0


class SubtitleASR(Pretrained):
    """Writes a verbatim transcript and a subtitle from one encoder pass.

    Load with :meth:`from_hparams` from a folder made by
    ``speechbrain-subtitle export`` or its Hugging Face Hub copy. Search
    settings come from the model's ``hyperparams.yaml`` (``beam_size``,
    ``decoding_ctc_weight``, ``decoding_subtitle_ctc_weight``,
    ``max_decode_ratio``, ``greedy``) and can be overridden per call.
    """

    HPARAMS_NEEDED = ["tokenizer", "compute_features"]
    MODULES_NEEDED = ["model", "normalize"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = self.hparams.tokenizer
        self.sample_rate = getattr(self.hparams, "sample_rate", 16000)

    @classmethod
    def from_hparams(
        cls, source, hparams_file="hyperparams.yaml", trust_code=False, quantize=None, **kwargs
    ):
        """Loads a model from an exported folder or a Hugging Face Hub id.

        A ``source`` that is an existing folder is loaded offline and must hold
        the exported files (a clear error names the missing ones); a ``source``
        written as a path (``./x``, ``/x``, ``~/x``, ``x/`` or ``dir/x`` with an
        existing ``dir``) that does not exist raises FileNotFoundError; anything
        else is a Hub id.

        Before anything is built, ``hyperparams.yaml`` is checked by
        :func:`speechbrain_subtitle.safety.check_model_yaml`: a tag that would
        import or call something outside the allow-list raises
        :class:`~speechbrain_subtitle.safety.UnsafeModelError`. Weights and
        normalizer statistics are read weights-only (a pickle holding code is
        refused without running it) and must be finite. A failed Hub download
        removes the ``savedir`` this call created.

        Arguments
        ---------
        source : str
            Folder made by ``speechbrain-subtitle export`` or a Hub id.
        hparams_file : str
            Name of the yaml in ``source``.
        trust_code : bool
            Skip the yaml allow-list check: only for folders whose yaml you
            trust (it is Python code for HyperPyYAML). The weights are still
            read weights-only and checked.
        quantize : str, optional
            ``"int8"``: dynamic int8 quantization of the linear layers for CPU
            inference (:meth:`quantize`).
        **kwargs
            ``savedir``, ``run_opts``, ``overrides`` ... as for SpeechBrain's
            ``Pretrained.from_hparams``.

        Returns
        -------
        SubtitleASR
        """
        import pathlib
        import shutil

        from hyperpyyaml import load_hyperpyyaml
        from speechbrain.processing.features import InputNormalization
        from speechbrain.utils.fetching import FetchConfig, LocalStrategy, fetch

        from speechbrain_subtitle import safety
        from speechbrain_subtitle.model_files import REQUIRED_FILES, load_state_strict

        source = os.fspath(source) if isinstance(source, os.PathLike) else source
        is_folder = isinstance(source, str) and os.path.isdir(source)
        if isinstance(source, str) and not is_folder and safety.looks_like_local_path(source):
            raise FileNotFoundError(
                f"{source}: no such model folder (a Hub id looks like 'org/name')"
            )
        if is_folder:
            needed = [hparams_file] + [f for f in REQUIRED_FILES if f != "hyperparams.yaml"]
            missing = [f for f in needed if not os.path.isfile(os.path.join(source, f))]
            if missing:
                raise FileNotFoundError(
                    f"{source} is not a complete exported model: missing {', '.join(missing)}"
                )
        savedir = kwargs.pop("savedir", None)
        overrides = kwargs.pop("overrides", {})
        overrides_must_match = kwargs.pop("overrides_must_match", True)
        download_only = kwargs.pop("download_only", False)
        local_strategy = kwargs.pop("local_strategy", LocalStrategy.SYMLINK)
        fetch_config = kwargs.pop("fetch_config", FetchConfig())
        created = None  # the topmost folder this call creates for savedir
        if savedir is not None:
            for folder in [pathlib.Path(savedir), *pathlib.Path(savedir).parents]:
                if folder.exists():
                    break
                created = folder
        try:
            try:
                hparams_path = fetch(
                    filename=hparams_file,
                    source=source,
                    savedir=savedir,
                    save_filename=None,
                    local_strategy=local_strategy,
                    fetch_config=fetch_config,
                )
            except OSError as err:  # huggingface_hub's not-found errors are OSErrors
                if is_folder:
                    raise
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise FileNotFoundError(
                    f"{source}: no such local folder, and {hparams_file} could not be fetched "
                    f"from the Hugging Face Hub ({type(err).__name__}: {first})"
                ) from err
            safety.check_model_yaml(hparams_path, trust_code=trust_code)
            with open(hparams_path, encoding="utf-8") as fin:
                hparams = load_hyperpyyaml(fin, overrides, overrides_must_match)
            if not isinstance(hparams, dict) or "pretrainer" not in hparams:
                raise ValueError(f"{hparams_path} defines no pretrainer: not a model yaml")
            hparams["savedir"] = savedir
            pretrainer = hparams["pretrainer"]
            if pretrainer.paths and not trust_code:
                raise safety.UnsafeModelError(
                    f"{hparams_path}: the pretrainer's paths ({', '.join(pretrainer.paths)}) "
                    f"load files from outside the model; {safety.TRUST_HINT}"
                )
            pretrainer.set_collect_in(savedir)
            pretrainer.collect_files(
                default_source=source, local_strategy=local_strategy, fetch_config=fetch_config
            )
        except BaseException:
            if created is not None and created.is_dir():
                shutil.rmtree(created, ignore_errors=True)
            raise
        if download_only:
            return None
        for name, obj in pretrainer.loadables.items():
            # Weights-only loading, whatever torch's default: SpeechBrain's own
            # InputNormalization._load and module transfer use torch.load's default.
            if isinstance(obj, InputNormalization):
                if trust_code and name in pretrainer.custom_hooks:
                    continue
                pretrainer.custom_hooks[name] = safety.load_normalizer
            elif isinstance(obj, torch.nn.Module) and name not in pretrainer.custom_hooks:
                pretrainer.custom_hooks[name] = load_state_strict
        pretrainer.load_collected()
        asr = cls(modules=hparams["modules"], hparams=hparams, **kwargs)
        safety.check_finite(asr.mods.state_dict(), f"the model loaded from {source}")
        if quantize is not None:
            asr.quantize(quantize)
        return asr

    #: What :meth:`quantize` accepts.
    QUANTIZATIONS = ("int8",)

    def quantize(self, kind="int8"):
        """Dynamic int8 quantization of the model's linear layers, for CPU inference.

        Weights of every ``torch.nn.Linear`` (feed-forward modules, projections,
        output layers, the ESPnet attention projections) are stored as int8 and
        activations quantized on the fly (``torch.ao.quantization.quantize_dynamic``);
        convolutions, norms, embeddings and SpeechBrain's fused attention input
        projections stay float. Outputs change slightly: ``bench/decode.py``
        measures speed and WER/BLEU against float32.

        Arguments
        ---------
        kind : str
            ``"int8"``.

        Returns
        -------
        SubtitleASR
            ``self``.
        """
        if kind not in self.QUANTIZATIONS:
            raise ValueError(f"Unknown quantization {kind!r}; choose from {self.QUANTIZATIONS}")
        if torch.device(self.device).type != "cpu":
            raise ValueError(f"int8 quantization runs on the CPU only, not on {self.device}")
        if not self._quantized:
            self.mods.model = int8_linear_layers(self.mods.model)
            self._quantized = True
        return self

    _quantized = False

    @property
    def model(self):
        """The :class:`~speechbrain_subtitle.lobes.model.JointSubtitleModel`."""
        return self.mods.model

    def decoding_options(self, **overrides):
        """The yaml's search settings with ``overrides`` applied."""
        fields = {f.name for f in dataclasses.fields(DecodingOptions)}
        unknown = set(overrides) - fields
        if unknown:
            raise TypeError(
                f"Unknown decoding option(s) {sorted(unknown)}; known: {sorted(fields)}"
            )
        values = {}
        for name in fields:
            key = YAML_KEYS.get(name, name)
            if hasattr(self.hparams, key):
                values[name] = getattr(self.hparams, key)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return DecodingOptions(**values)

    def load_audio(self, path, savedir=None):
        """Reads ``path`` as mono audio at the model's sample rate."""
        return load_audio_file(str(path), self.sample_rate)

    def encode_batch(self, wavs, wav_lens=None):
        """Runs features, normalization and the shared encoder once.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` waveforms at the model's sample rate.
        wav_lens : torch.Tensor, optional
            Relative lengths (default: all 1.0).

        Returns
        -------
        speechbrain_subtitle.lobes.model.EncoderOutput
        """
        wavs, wav_lens = self._batch(wavs, wav_lens)
        with torch.no_grad(), self.inference_ctx:
            feats, feat_lens = batch_features(self.hparams.compute_features, wavs, wav_lens)
            feats = self.mods.normalize(feats, feat_lens)
            return self.model.encode(feats, feat_lens)

    def _batch(self, wavs, wav_lens):
        if wavs.dim() == 1:
            wavs = wavs.unsqueeze(0)
        if wavs.dim() != 2:
            raise ValueError(f"wavs must be (batch, samples), got shape {tuple(wavs.shape)}")
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        return wavs.float().to(self.device), wav_lens.float().to(self.device)

    def transcribe_batch(
        self,
        wavs,
        wav_lens=None,
        tasks=TASKS,
        word_times=False,
        subtitle_timing="transfer",
        **options,
    ):
        """Both texts (or only ``tasks``) for each row of a batch.

        Arguments
        ---------
        wavs : torch.Tensor
            ``(batch, samples)`` at the model's sample rate (mono).
        wav_lens : torch.Tensor, optional
            Relative lengths in [0, 1].
        tasks : tuple of str
            ``("verbatim", "subtitle")`` or one of them; the other branch's
            decoder is then skipped.
        word_times : bool
            Also time the words: the verbatim hypothesis is force-aligned to
            the verbatim CTC head's output, and the subtitle's words take the
            times of the verbatim words they correspond to (see
            :mod:`speechbrain_subtitle.alignment`).
        subtitle_timing : str
            ``"transfer"`` (default; times carried over from the verbatim
            words) or ``"ctc"``: force-align the subtitle to the subtitle CTC
            head (only for models trained with one).
        **options
            Overrides of :class:`~speechbrain_subtitle.decoding.DecodingOptions`
            (``beam_size``, ``ctc_weight``, ``greedy``...).

        Returns
        -------
        list of SubtitleResult
            One per row; rows that are silent (peak below ``SILENCE_PEAK``) get
            empty texts without being decoded.
        """
        wavs, wav_lens = check_batch(wavs, wav_lens, self.sample_rate)
        if isinstance(tasks, str):
            tasks = (tasks,)
        if word_times:
            self.check_subtitle_timing(subtitle_timing)
        search = self.decoding_options(**options)
        wavs, wav_lens = self._batch(wavs, wav_lens)
        results = [SubtitleResult() for _ in range(wavs.shape[0])]
        samples = torch.round(wav_lens * wavs.shape[1]).long()
        voiced = [i for i in range(wavs.shape[0]) if _peak(wavs[i, : samples[i]]) >= SILENCE_PEAK]
        if not voiced:
            return results
        rows = torch.tensor(voiced, device=wavs.device)
        sub_wavs = wavs[rows, : int(samples[rows].max())]
        sub_lens = samples[rows].float() / sub_wavs.shape[1]
        enc = self.encode_batch(sub_wavs, sub_lens)
        if word_times and "verbatim" not in tasks:
            tasks = ("verbatim",) + tuple(tasks)  # subtitle times come from the verbatim words
        with torch.no_grad(), self.inference_ctx:
            hyps = decode(self.model, enc, tasks, search)
        for task, (token_lists, scores) in hyps.items():
            for k, row in enumerate(voiced):
                result = results[row]
                setattr(result, task, ids_to_text(self.tokenizer, token_lists[k]))
                setattr(result, f"{task}_tokens", token_lists[k])
                setattr(result, f"{task}_score", None if scores is None else scores[k])
        if word_times:
            durations = [float(samples[row]) / self.sample_rate for row in voiced]
            self._time_words(enc, [results[row] for row in voiced], durations, subtitle_timing)
        return results

    def check_subtitle_timing(self, subtitle_timing):
        """Raises ValueError unless ``subtitle_timing`` can be used with this model."""
        if subtitle_timing not in ("transfer", "ctc"):
            raise ValueError(
                f"subtitle_timing must be 'transfer' or 'ctc', got {subtitle_timing!r}"
            )
        if subtitle_timing == "ctc" and self.model.subtitle_ctc_head is None:
            raise ValueError("subtitle_timing='ctc' needs a model with a subtitle CTC head")

    def _verbatim_ctc(self, enc):
        """Verbatim CTC log-probabilities (float) of the encoder states."""
        with torch.no_grad(), self.inference_ctx:
            return self.model.ctc_logprobs(enc).float()

    def _subtitle_ctc(self, enc):
        """Subtitle CTC log-probabilities (float) of the subtitle encoder states."""
        with torch.no_grad(), self.inference_ctx:
            states, _ = self.model.subtitle_encoder_states(enc)
            return torch.log_softmax(self.model.subtitle_ctc_head(states).float(), -1)

    def _time_words(self, enc, results, durations, subtitle_timing):
        """Fills the timed words of ``results`` (one per row of ``enc``)."""
        verbatim_lp = self._verbatim_ctc(enc)
        subtitle_lp = self._subtitle_ctc(enc) if subtitle_timing == "ctc" else None
        blank = self.model.blank_index
        for k, result in enumerate(results):
            frames = int(enc.lengths[k])
            frame_shift = _frame_shift(frames, durations[k])
            lp = verbatim_lp[k, :frames].cpu()
            result.ctc_speech_frames = int((lp.argmax(-1) != blank).sum())
            result.ctc_entropy = float(-(lp.exp() * lp).sum(-1).mean())
            result.verbatim_words = align_words(
                lp, result.verbatim_tokens, self.tokenizer, frame_shift, blank=blank
            )
            if not result.subtitle:
                continue
            if subtitle_lp is not None:
                result.subtitle_words = align_words(
                    subtitle_lp[k, :frames].cpu(),
                    result.subtitle_tokens,
                    self.tokenizer,
                    frame_shift,
                    blank=blank,
                )
            else:
                result.subtitle_words = transfer_times(
                    result.subtitle.split(), result.verbatim_words, start=0.0, end=durations[k]
                )

    def align_text(self, wav, text, task="verbatim"):
        """Times the words of a known transcript (or subtitle) of ``wav``.

        The text is tokenized as written and force-aligned to a CTC head's
        output: with ``task="verbatim"`` the verbatim CTC head (give the text
        in the verbatim form, e.g. lower case without punctuation), with
        ``task="subtitle"`` the subtitle CTC head (models trained with one;
        give the subtitle as written).

        Arguments
        ---------
        wav : torch.Tensor
            1-D mono waveform at the model's sample rate.
        text : str
            What is said (or its subtitle).
        task : str
            ``"verbatim"`` or ``"subtitle"``.

        Returns
        -------
        list of speechbrain_subtitle.subtitles.Word
            One per word of the tokenized text, times in seconds from the
            start of ``wav``.
        """
        if wav.dim() != 1:
            raise ValueError(f"wav must be 1-D, got shape {tuple(wav.shape)}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if task == "subtitle":
            self.check_subtitle_timing("ctc")
        if not text.strip():
            return []
        enc = self.encode_batch(wav[None], torch.ones(1))
        seconds = len(wav) / self.sample_rate
        lp = self._subtitle_ctc(enc) if task == "subtitle" else self._verbatim_ctc(enc)
        frame_shift = _frame_shift(enc.lengths[0], seconds)
        ids = self.tokenizer.encode_as_ids(text)
        return align_words(
            lp[0, : int(enc.lengths[0])].cpu(),
            ids,
            self.tokenizer,
            frame_shift,
            blank=self.model.blank_index,
        )

    def transcribe_file(self, path, tasks=TASKS, **options):
        """Both texts of one audio file (any rate or channel count).

        Arguments
        ---------
        path : str
            Audio file.
        tasks : tuple of str
            Which texts to write.
        **options
            Decoding overrides (see :meth:`transcribe_batch`).

        Returns
        -------
        SubtitleResult
        """
        wav = self.load_audio(path)
        return self.transcribe_batch(wav.unsqueeze(0), torch.ones(1), tasks, **options)[0]

    def forward(self, wavs, wav_lens=None):
        """Same as :meth:`transcribe_batch` with the yaml's settings."""
        return self.transcribe_batch(wavs, wav_lens)
