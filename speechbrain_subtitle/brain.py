"""The training Brain: orchestration only.

Features, normalization and augmentation are computed here; the network is
:class:`~speechbrain_subtitle.lobes.model.JointSubtitleModel` and the objective
:class:`~speechbrain_subtitle.losses.JointSubtitleLoss`, both wired in YAML.
"""

import logging
import os

import speechbrain as sb
import torch
from speechbrain.utils.checkpoints import average_checkpoints
from speechbrain.utils.metric_stats import ErrorRateStats

from speechbrain_subtitle import metrics
from speechbrain_subtitle.decoding import TASKS, DecodingOptions, decode, greedy_decode
from speechbrain_subtitle.evaluate import test_summary, write_test_results
from speechbrain_subtitle.features import batch_features
from speechbrain_subtitle.tokenizer import ids_to_text

logger = logging.getLogger(__name__)


def absolute_lengths(padded):
    """Integer lengths of a SpeechBrain ``PaddedData`` (relative lengths x max)."""
    return torch.round(padded.lengths * padded.data.shape[1]).long()


def batch_rows(flags, device):
    """Indices of the rows whose flag is set, as a LongTensor."""
    return torch.tensor(
        [i for i, flag in enumerate(flags) if flag], dtype=torch.long, device=device
    )


def batch_targets(batch):
    """Model inputs and loss targets of a ``PaddedBatch`` from ``data.make_dataset``."""
    inputs, targets = {}, {}
    for task in TASKS:
        bos, eos = getattr(batch, f"{task}_bos"), getattr(batch, f"{task}_eos")
        inputs[f"{task}_tokens"] = bos.data
        inputs[f"{task}_lengths"] = absolute_lengths(bos)
        inputs[f"{task}_rows"] = batch_rows(getattr(batch, f"has_{task}"), bos.data.device)
        targets[f"{task}_eos"] = eos.data
        targets[f"{task}_eos_lengths"] = absolute_lengths(eos)
    return inputs, targets


class SubtitleBrain(sb.Brain):
    """Trains a joint verbatim/subtitle model on mixed verbatim/subtitle batches.

    Expects in ``hparams``: ``compute_features``, ``model``, ``loss``,
    ``epoch_counter`` and optionally ``fea_augment``, ``lr_annealing``,
    ``train_logger``, ``keep_checkpoints``, ``avg_checkpoints``,
    ``valid_search_interval``; in ``modules``: ``model`` and ``normalize``.
    Set ``brain.tokenizer`` to decode hypotheses for WER.
    """

    tokenizer = None
    last_stats = None
    results_folder = None  # where test metrics go (default: hparams.output_folder)

    def compute_forward(self, batch, stage):
        """Features -> normalization -> (SpecAugment) -> model forward."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        feats, feat_lens = batch_features(self.hparams.compute_features, wavs, wav_lens)
        feats = self.modules.normalize(feats, feat_lens, epoch=self.hparams.epoch_counter.current)
        augment = getattr(self.hparams, "fea_augment", None)
        if stage == sb.Stage.TRAIN and augment is not None:
            feats, feat_lens = augment(feats, feat_lens)
        inputs, _ = batch_targets(batch)
        return self.modules.model(feats, feat_lens, **inputs)

    def compute_objectives(self, predictions, batch, stage):
        """The masked joint loss; accuracy and (periodically) WER outside training."""
        _, targets = batch_targets(batch)
        loss, _ = self.hparams.loss(predictions, targets)
        if stage != sb.Stage.TRAIN:
            self._update_accuracy(predictions, targets)
            self.test_utterances += len(batch.id)
            if self._decode_this_stage(stage):
                self._update_error_rates(predictions, batch, stage)
        return loss

    def _update_accuracy(self, predictions, targets):
        for task in TASKS:
            logprobs = predictions.get(f"{task}_logprobs")
            if logprobs is None:
                continue
            rows = predictions[f"{task}_rows"]
            tokens = targets[f"{task}_eos"][rows]
            lengths = targets[f"{task}_eos_lengths"][rows]
            valid = torch.arange(tokens.shape[1], device=tokens.device)[None] < lengths[:, None]
            correct = ((logprobs.argmax(-1) == tokens) & valid).sum().item()
            hits, total = self.accuracy.get(task, (0, 0))
            self.accuracy[task] = (hits + correct, total + valid.sum().item())

    def _decode_this_stage(self, stage):
        if self.tokenizer is None:
            return False
        if stage == sb.Stage.TEST:
            return True
        interval = getattr(self.hparams, "valid_search_interval", 0) or 0
        epoch = self.hparams.epoch_counter.current
        return interval > 0 and epoch % interval == 0

    def test_options(self):
        """Search used on test sets: ``test_beam_size`` (default 10) and
        ``test_ctc_weight`` (default 0.3) from the hyperparameters."""
        return DecodingOptions(
            beam_size=getattr(self.hparams, "test_beam_size", 10),
            ctc_weight=getattr(self.hparams, "test_ctc_weight", 0.3),
            max_decode_ratio=self.hparams.model.max_decode_ratio,
        )

    def _update_error_rates(self, predictions, batch, stage):
        model = self.hparams.model
        if stage == sb.Stage.TEST:
            found = decode(model, predictions["encoder_output"], options=self.test_options())
            hyps = {task: token_lists for task, (token_lists, _) in found.items()}
            for i, utt_id in enumerate(batch.id):
                row = {"id": utt_id}
                for task in TASKS:
                    has = getattr(batch, f"has_{task}")[i]
                    row[f"{task}_ref"] = getattr(batch, f"{task}_words")[i] if has else None
                    row[f"{task}_hyp"] = (
                        ids_to_text(self.tokenizer, hyps[task][i]) if task in hyps else ""
                    )
                self.test_rows.append(row)
        else:
            hyps = greedy_decode(model, predictions["encoder_output"])
        for task, task_hyps in hyps.items():
            keep = [i for i, has in enumerate(getattr(batch, f"has_{task}")) if has]
            if not keep:
                continue
            words = [ids_to_text(self.tokenizer, task_hyps[i]).split() for i in keep]
            refs = [getattr(batch, f"{task}_words")[i].split() for i in keep]
            ids = [batch.id[i] for i in keep]
            self.error_rates.setdefault(task, ErrorRateStats()).append(ids, words, refs)

    def on_stage_start(self, stage, epoch=None):
        """Resets the evaluation statistics."""
        self.accuracy = {}
        self.error_rates = {}
        self.test_utterances = 0
        self.test_rows = []

    def _stage_stats(self, stage_loss):
        stats = {"loss": stage_loss}
        for task, (hits, total) in self.accuracy.items():
            stats[f"acc_{task}"] = hits / max(total, 1)
        accs = [stats[f"acc_{task}"] for task in self.accuracy]
        stats["ACC"] = sum(accs) / len(accs) if accs else 0.0
        for task, metric in self.error_rates.items():
            stats[f"WER_{task}"] = metric.summarize("error_rate")
        return stats

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, saves checkpoints (kept by accuracy) and writes test WER files."""
        if stage == sb.Stage.TRAIN:
            self.train_stats = {"loss": stage_loss}
            return
        stats = self._stage_stats(stage_loss)
        self.last_stats = stats
        logger_ = getattr(self.hparams, "train_logger", None)
        if stage == sb.Stage.VALID:
            lr = self.optimizer.param_groups[0]["lr"] if self.optimizer else None
            if logger_ is not None:
                logger_.log_stats(
                    stats_meta={"epoch": epoch, "lr": lr},
                    train_stats=getattr(self, "train_stats", None),
                    valid_stats=stats,
                )
            if self.checkpointer is not None:
                self.checkpointer.save_and_keep_only(
                    meta={"ACC": stats["ACC"], "epoch": epoch},
                    max_keys=["ACC"],
                    num_to_keep=getattr(self.hparams, "keep_checkpoints", 1),
                )
        elif stage == sb.Stage.TEST:
            if logger_ is not None:
                logger_.log_stats(
                    stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
                    test_stats=stats,
                )
            folder = getattr(self, "results_folder", None) or getattr(
                self.hparams, "output_folder", None
            )
            if folder and sb.utils.distributed.if_main_process():
                self._write_test_results(folder, stats)
                for task, metric in self.error_rates.items():
                    with open(os.path.join(folder, f"wer_{task}.txt"), "w", encoding="utf-8") as f:
                        metric.write_stats(f)

    def _write_test_results(self, folder, stats):
        """``metrics.json`` (normalized verbatim WER, subtitle WER and BLEU), ``hyps.csv``."""
        scores = metrics.score_pairs(self.test_rows) if self.test_rows else {}
        summary = dict(stats, **test_summary(scores, vars(self.test_options())))
        summary["utterances"] = self.test_utterances
        write_test_results(folder, summary, self.test_rows)
        if scores:
            logger.info(
                "Test scores (search: %s)\n%s", summary["search"], metrics.format_table(scores)
            )
        self.last_stats = dict(
            self.last_stats or {}, **{k: v for k, v in summary.items() if k != "scores"}
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the Noam schedule after each optimizer step."""
        if should_step and getattr(self.hparams, "lr_annealing", None) is not None:
            self.hparams.lr_annealing(self.optimizer)

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads the best checkpoint, then the average of the best ``avg_checkpoints``."""
        super().on_evaluate_start(max_key=max_key, min_key=min_key)
        count = getattr(self.hparams, "avg_checkpoints", 1) or 1
        if self.checkpointer is None or count <= 1:
            return
        ckpts = self.checkpointer.find_checkpoints(
            max_key=max_key, min_key=min_key, max_num_checkpoints=count
        )
        if len(ckpts) > 1:
            averaged = average_checkpoints(ckpts, recoverable_name="model")
            self.hparams.model.load_state_dict(averaged, strict=True)
            logger.info("Evaluating the average of %d checkpoints", len(ckpts))

    def _train_loader_specifics(self, dataset, loader_kwargs):
        # SpeechBrain only tracks samplers it wraps itself; our batch sampler
        # also needs set_epoch() each epoch for a fresh, reproducible order.
        loader_kwargs = super()._train_loader_specifics(dataset, loader_kwargs)
        if self.train_sampler is None and loader_kwargs.get("batch_sampler") is not None:
            self.train_sampler = loader_kwargs["batch_sampler"]
        return loader_kwargs
