"""Crash-safe checkpoints.

SpeechBrain's ``Checkpointer`` writes a checkpoint folder's meta file
(``CKPT.yaml``) first and the parameter files after it. A crash or ``kill -9``
in the middle of writing ``model.ckpt`` leaves a folder that looks complete;
recovery picks it and fails on the truncated file, and the user must find and
delete it by hand. :class:`SafeCheckpointer` publishes a checkpoint only once
every file is on disk: the meta file is written last, under a temporary name,
flushed and atomically renamed. On recovery it skips, with a warning, any
checkpoint folder that is incomplete (no meta file) or holds an empty or
truncated file (also those written by the stock checkpointer), so training
resumes from the previous one.
"""

import logging
import os
import pathlib
import shutil
import zipfile

from speechbrain.utils.checkpoints import CKPT_PREFIX, METAFNAME, Checkpointer
from speechbrain.utils.distributed import if_main_process

logger = logging.getLogger(__name__)

#: Name of the meta file while a checkpoint is being written.
PENDING_META = METAFNAME + ".pending"


def _fsync(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def damaged_file(path):
    """Why the checkpoint file ``path`` cannot be loaded (None if it looks whole).

    Empty files and truncated zip archives (``torch.save``'s format) are
    damaged; other files are taken as they are.

    Example
    -------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".ckpt") as f:
    ...     damaged_file(f.name)
    'empty file'
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return "missing file"
    if path.stat().st_size == 0:
        return "empty file"
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PK\x03\x04" and not zipfile.is_zipfile(path):
        return "truncated file"
    return None


class SafeCheckpointer(Checkpointer):
    """A ``Checkpointer`` whose checkpoints are published atomically.

    Same arguments and behaviour as
    :class:`speechbrain.utils.checkpoints.Checkpointer`, plus:

    - a checkpoint becomes visible (its ``CKPT.yaml`` appears) only after all
      its files are written and flushed;
    - checkpoints that are incomplete or hold a damaged file are skipped with a
      warning when listing/recovering; unfinished folders this class itself
      started (they hold ``CKPT.yaml.pending``) are removed.
    """

    _publishing = False

    def save_checkpoint(self, meta={}, end_of_epoch=True, name=None, verbosity=logging.INFO):  # noqa: B006 (parent's signature)
        """Saves a checkpoint (see the parent); returns its ``Checkpoint``."""
        self._publishing = True
        try:
            checkpoint = super().save_checkpoint(meta, end_of_epoch, name, verbosity)
        finally:
            self._publishing = False
        if checkpoint is not None:
            folder = pathlib.Path(checkpoint.path)
            for path in checkpoint.paramfiles.values():
                if pathlib.Path(path).is_file():
                    _fsync(path)
            os.replace(folder / PENDING_META, folder / METAFNAME)
        return checkpoint

    def _save_checkpoint_metafile(self, fpath, meta_to_include={}, end_of_epoch=True):  # noqa: B006
        if self._publishing:
            fpath = pathlib.Path(fpath).with_name(PENDING_META)
        meta = super()._save_checkpoint_metafile(fpath, meta_to_include, end_of_epoch)
        if self._publishing:
            _fsync(fpath)
        return meta

    def list_checkpoints(self):
        """The complete, undamaged checkpoints (damaged ones are skipped with a warning)."""
        self._drop_unfinished()
        usable = []
        for checkpoint in super().list_checkpoints():
            problems = {name: damaged_file(path) for name, path in checkpoint.paramfiles.items()}
            problems = {name: why for name, why in problems.items() if why}
            missing = [
                name
                for name in self.recoverables
                if name not in checkpoint.paramfiles and not self.allow_partial_load
            ]
            if problems or missing:
                detail = [f"{name}.ckpt: {why}" for name, why in problems.items()]
                detail += [f"{name}.ckpt: missing file" for name in missing]
                logger.warning(
                    "Skipping damaged checkpoint %s (%s); an earlier one is used",
                    checkpoint.path,
                    "; ".join(detail),
                )
                continue
            usable.append(checkpoint)
        return usable

    def _drop_unfinished(self):
        """Removes folders this class began writing and never published."""
        if not if_main_process() or not self.checkpoints_dir.is_dir():
            return
        for folder in self.checkpoints_dir.iterdir():
            if (
                folder.is_dir()
                and folder.name.startswith(CKPT_PREFIX)
                and (folder / PENDING_META).is_file()
                and not (folder / METAFNAME).exists()
            ):
                logger.warning(
                    "Removing unfinished checkpoint %s (interrupted while saving)", folder
                )
                shutil.rmtree(folder)
