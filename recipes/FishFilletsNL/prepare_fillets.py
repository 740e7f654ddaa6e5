#!/usr/bin/env python3
"""Manifests of real human Dutch speech from Debian's Fish Fillets NG voices.

The Debian packages ``fillets-ng-data-nl`` (the Dutch voices, GPL-2) and
``fillets-ng-data`` (the game scripts) hold 1,529 Ogg Vorbis clips of acted
Dutch dialogue (22.05 kHz stereo, about 91 minutes) in 80 levels and the
script line of almost every clip. This script reads them where Debian puts
them and writes, into ``--out``:

* ``wavs/<level>/<id>.wav``: each clip as 16 kHz mono 16-bit PCM (converted
  once; a re-run reuses what is there);
* ``train.csv``, ``dev.csv``, ``test.csv``: manifests in this package's format
  (``ID,duration,wav,start,stop,verbatim,subtitle``) with three more columns,
  ``speaker``, ``level`` and ``source``. ``subtitle`` is the script line as
  written (cased, punctuated); ``verbatim`` is the same line normalised the way
  verbatim text is normalised here (lower case, no punctuation, numbers as
  words; :func:`speechbrain_subtitle.metrics.normalize_text` without filler
  removal). The script is what the actors read, not a verbatim record of what
  they said: both columns are approximations of the speech;
* ``report.json``: the split rule and its hash, clips/minutes per split and
  speaker, and every skipped clip counted by reason (``skipped``) with the
  clip names (``skipped_clips``).

The split is fixed by level (the folder name under ``sound/``): a level is
**test** when the first hexadecimal digit of the SHA-256 of its name (UTF-8)
is 0 or 1, **dev** when it is 2, **train** otherwise. Never train or tune on
test.

The audio and the script text are GPL-2: never commit them, nor anything cut
from them, to this Apache-2.0 repository.

Usage::

    sudo apt-get install fillets-ng-data-nl fillets-ng-data
    python recipes/FishFilletsNL/prepare_fillets.py --out data/fillets_nl

Authors
 * speechbrain_subtitle contributors
"""

import argparse
import csv
import hashlib
import json
import logging
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "CGN_subtitles"))

from prepare_common import (  # noqa: E402 - after the path set-up above
    PreparationError,
    ensure_16k_mono,
    setup_logging,
    sorted_counts,
    write_report,
)

logger = logging.getLogger(__name__)

DEFAULT_ROOT = "/usr/share/games/fillets-ng"
APT_HINT = "sudo apt-get install fillets-ng-data-nl fillets-ng-data"
SPLITS = ("train", "dev", "test")
COLUMNS = (
    "ID",
    "duration",
    "wav",
    "start",
    "stop",
    "verbatim",
    "subtitle",
    "speaker",
    "level",
    "source",
)
#: Reasons a clip can be skipped, in the order they are checked.
SKIP_REASONS = ("no_script_line", "empty_text", "unreadable", "too_long")
#: Main characters: the small fish (``m``, "malá") and the big fish (``v``, "velká").
MAIN_SPEAKERS = ("m", "v")

_LUA_CALL_RE = re.compile(r'\b(dialogId|dialogStr)\s*\(\s*"((?:[^"\\]|\\.)*)"')
_LUA_ESCAPES = {"n": " ", "t": " ", "r": " ", '"': '"', "'": "'", "\\": "\\", "/": "/"}


def level_split(level):
    """The split of a level: by the first hex digit of the SHA-256 of its name.

    Arguments
    ---------
    level : str
        The level's folder name under ``sound/``.

    Returns
    -------
    str
        ``"test"`` (digit 0 or 1), ``"dev"`` (digit 2) or ``"train"``.

    Example
    -------
    >>> hashlib.sha256("airplane".encode()).hexdigest()[0], level_split("airplane")
    ('0', 'test')
    >>> level_split("bathroom")
    'train'
    """
    digit = hashlib.sha256(level.encode("utf-8")).hexdigest()[0]
    if digit in "01":
        return "test"
    if digit == "2":
        return "dev"
    return "train"


def split_hash(levels):
    """SHA-256 of the split: one ``<level> <split>`` line per level, sorted.

    Arguments
    ---------
    levels : iterable of str
        Level names.

    Returns
    -------
    str
        Hex digest; a changed split rule or level list changes it.

    Example
    -------
    >>> len(split_hash(["a", "b"]))
    64
    """
    text = "".join(f"{level} {level_split(level)}\n" for level in sorted(levels))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _unescape_lua(text):
    return re.sub(r"\\(.)", lambda m: _LUA_ESCAPES.get(m.group(1), m.group(1)), text)


def parse_dialogs(text):
    """Reads the Dutch lines of a ``dialogs_nl.lua`` script.

    Each ``dialogStr("...")`` gives the text of the ``dialogId("<id>", ...)``
    before it. Lua escapes are decoded and whitespace is collapsed.

    Arguments
    ---------
    text : str
        The content of the script.

    Returns
    -------
    dict
        ``id -> (font, text)``; ``font`` is the second argument of
        ``dialogId`` (``""`` when absent). An id without a ``dialogStr`` is
        left out.

    Example
    -------
    >>> script = '''dialogId("br-v-x", "font_big", "It is.")
    ... dialogStr("Het is \\\\"zo\\\\".")
    ... dialogId("br-m-y", "font_small", "No Dutch line.")
    ... '''
    >>> parse_dialogs(script)
    {'br-v-x': ('font_big', 'Het is "zo".')}
    """
    lines = {}
    current = None
    font_re = re.compile(r'\s*,\s*"((?:[^"\\]|\\.)*)"')
    for match in _LUA_CALL_RE.finditer(text):
        name, value = match.group(1), _unescape_lua(match.group(2))
        if name == "dialogId":
            font = font_re.match(text, match.end())
            current = (value, font.group(1) if font else "")
        elif current is not None:
            lines[current[0]] = (current[1], " ".join(value.split()))
            current = None
    return lines


def clip_speaker(clip_id, font=""):
    """The speaker of a clip: the second field of its id (``vit-m-hlava`` -> ``m``).

    Ids without that field (``help1``, ``bar_v_fotka``) fall back to the
    font the game shows the line in: ``font_small`` is the small fish
    (``m``), ``font_big`` the big fish (``v``); otherwise ``"unknown"``.

    Arguments
    ---------
    clip_id : str
        The clip's file name without ``.ogg``.
    font : str
        The font field of its ``dialogId``.

    Returns
    -------
    str
        The speaker code.

    Example
    -------
    >>> clip_speaker("vit-m-hlava"), clip_speaker("bar_v_fotka")
    ('m', 'v')
    >>> clip_speaker("help1", "font_small")
    'm'
    >>> clip_speaker("x")
    'unknown'
    """
    parts = re.split(r"[-_]", clip_id)
    if len(parts) >= 3 and parts[1]:
        return parts[1]
    return {"font_small": "m", "font_big": "v"}.get(font, "unknown")


def verbatim_text(script_line):
    """The verbatim column: the script line normalised like verbatim text.

    Arguments
    ---------
    script_line : str
        The Dutch line as written.

    Returns
    -------
    str
        Lower case, no punctuation, numbers written out; fillers are kept.

    Example
    -------
    >>> verbatim_text("Hé, wacht! Ik heb 2 vissen...")
    'he wacht ik heb twee vissen'
    """
    from speechbrain_subtitle.metrics import NormalizationOptions, normalize_text

    return normalize_text(script_line, NormalizationOptions(fillers=frozenset()))


def check_installed(root):
    """Raises :class:`PreparationError` naming the apt command when data is missing.

    Arguments
    ---------
    root : pathlib.Path
        The game's data folder (``/usr/share/games/fillets-ng``).
    """
    sound, script = root / "sound", root / "script"
    if not sound.is_dir() or not any(sound.glob("*/nl/*.ogg")):
        raise PreparationError(
            f"{sound}: no Dutch voices found (*/nl/*.ogg); install them with: {APT_HINT}"
        )
    if not script.is_dir() or not any(script.glob("*/dialogs_nl.lua")):
        raise PreparationError(
            f"{script}: no Dutch script found (*/dialogs_nl.lua); install it with: {APT_HINT}"
        )


def convert_clip(source, folder, stem, max_duration):
    """Converts one clip to 16 kHz mono (reusing an earlier conversion) and checks its length.

    Arguments
    ---------
    source : pathlib.Path
        The audio file.
    folder : pathlib.Path
        Where the converted ``<stem>.wav`` goes.
    stem : str
        File name of the conversion, without ``.wav``.
    max_duration : float
        Longer clips are refused as ``too_long``.

    Returns
    -------
    tuple
        ``(wav_path, duration, None)``, or ``(None, None, reason)`` with the
        reason ``"unreadable"`` (a conversion without audio is removed: this
        script wrote it) or ``"too_long"``.
    """
    try:
        wav, duration, _ = ensure_16k_mono(source, folder, stem)
    except RuntimeError as err:
        logger.warning("%s: unreadable (%s)", source, err)
        target = folder / f"{stem}.wav"
        if target.is_file() and target.stat().st_size <= 44:  # a header, no audio
            target.unlink()
        return None, None, "unreadable"
    if duration > max_duration:
        return None, None, "too_long"
    return wav, duration, None


def prepare(out, root=DEFAULT_ROOT, max_duration=30.0, progress=True):
    """Writes the manifests, the converted audio and the report.

    Arguments
    ---------
    out : str or os.PathLike
        Output folder (created).
    root : str or os.PathLike
        The game's data folder.
    max_duration : float
        Clips longer than this (seconds) are skipped as ``too_long``.
    progress : bool
        Show a progress bar while converting.

    Returns
    -------
    dict
        The report (also written to ``report.json``).
    """
    root, out = Path(root), Path(out)
    check_installed(root)
    out.mkdir(parents=True, exist_ok=True)
    levels = sorted(p.parent.name for p in (root / "sound").glob("*/nl") if p.is_dir())
    clips = [
        (level, path)
        for level in levels
        for path in sorted((root / "sound" / level / "nl").glob("*.ogg"))
    ]
    outside = sorted(
        str(p.relative_to(root / "sound")) for p in (root / "sound").glob("*/*/nl/*.ogg")
    )

    rows = {split: [] for split in SPLITS}
    skipped, skipped_clips = Counter(), defaultdict(list)
    iterator = clips
    if progress:
        from tqdm import tqdm

        iterator = tqdm(clips, desc="clips", unit="clip")
    scripts = {}
    for level, path in iterator:
        clip_id = path.stem
        if level not in scripts:
            script = root / "script" / level / "dialogs_nl.lua"
            scripts[level] = (
                parse_dialogs(script.read_text("utf-8", errors="replace"))
                if script.is_file()
                else {}
            )
        name = f"{level}/{clip_id}"
        if clip_id not in scripts[level]:
            reason = "no_script_line"
        else:
            font, line = scripts[level][clip_id]
            verbatim = verbatim_text(line)
            reason = "empty_text" if not verbatim else None
        if reason is None:
            wav, duration, reason = convert_clip(path, out / "wavs" / level, clip_id, max_duration)
        if reason is not None:
            skipped[reason] += 1
            skipped_clips[reason].append(name)
            continue
        rows[level_split(level)].append(
            {
                "ID": f"{level}__{clip_id}",
                "duration": f"{duration:.3f}",
                "wav": str(Path(wav).relative_to(out.resolve())),
                "start": "",
                "stop": "",
                "verbatim": verbatim,
                "subtitle": line,
                "speaker": clip_speaker(clip_id, font),
                "level": level,
                "source": str(path),
            }
        )

    summary = {}
    for split in SPLITS:
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[split])
        speakers = Counter()
        for row in rows[split]:
            speakers[row["speaker"]] += float(row["duration"]) / 60
        summary[split] = {
            "clips": len(rows[split]),
            "minutes": round(sum(float(r["duration"]) for r in rows[split]) / 60, 2),
            "levels": sorted({r["level"] for r in rows[split]}),
            "minutes_per_speaker": {k: round(v, 2) for k, v in sorted(speakers.items())},
        }
    report = {
        "source": str(root),
        "licence": "GPL-2 (Debian fillets-ng-data-nl, fillets-ng-data); never commit it",
        "split_rule": (
            "SHA-256 of the level name (UTF-8): first hex digit 0-1 test, 2 dev, else train"
        ),
        "split_sha256": split_hash(levels),
        "levels": len(levels),
        "clips_found": len(clips),
        "clips_outside_levels": len(outside),
        "max_duration": max_duration,
        "splits": summary,
        "skipped": {reason: int(skipped[reason]) for reason in SKIP_REASONS},
        "skipped_clips": {k: v for k, v in sorted(skipped_clips.items())},
    }
    write_report(out / "report.json", report)
    for split in SPLITS:
        logger.info(
            "%s: %d clips, %.1f min", split, summary[split]["clips"], summary[split]["minutes"]
        )
    logger.info("skipped: %s", json.dumps(sorted_counts(skipped)))
    return report


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        description=(
            "Write train/dev/test manifests of the Dutch Fish Fillets NG voices "
            f"(GPL-2; install with: {APT_HINT}). The split is fixed by level."
        )
    )
    parser.add_argument(
        "--out", required=True, help="output folder (manifests, 16 kHz wavs, report.json)"
    )
    parser.add_argument(
        "--root", default=DEFAULT_ROOT, help=f"the game's data folder (default {DEFAULT_ROOT})"
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=30.0,
        help="skip clips longer than this, in seconds (default 30)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        prepare(args.out, args.root, args.max_duration, progress=not args.quiet)
    except PreparationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
