"""Hostile command lines: every known failure of ``speechbrain-subtitle`` (and of
``speechbrain-subtitle-train``'s entry point) is one line on stderr naming the file or
option and the cause, with a documented exit status and no traceback (issue #11).

Exit statuses (``speechbrain_subtitle.cli.EPILOG``): 2 usage or input error, 1 other
failures (Hub unreachable, an input of ``transcribe`` failed, internal error), 130 Ctrl-C.
"""

import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES, HPARAMS, ROOT

from speechbrain_subtitle import cli, train

DEMO_MODEL = ROOT / "models" / "synthetic-nl-c8-demo"
WAV = str(FIXTURES / "wavs" / "utt1.wav")
#: stderr lines that are not errors: logging, notes, warnings, progress bars.
NOISE = ("WARNING", "INFO", "DEBUG", "warning:", "note:")


def run_cli(argv, capsys, entry=cli.main):
    """``(exit status, stdout, stderr)`` of an in-process run."""
    try:
        code = entry(argv)
    except SystemExit as done:  # main should return; a SystemExit would be a failure below
        code = ("SystemExit", done.code)
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err):
    """The single error line of ``err`` (other non-empty lines must be noise)."""
    assert "Traceback" not in err, err
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith(NOISE) and "it/s]" not in line
    ]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert len(lines[0]) <= len("error: ") + cli.MAX_MESSAGE + 120, lines[0]  # + file prefix
    return lines[0]


def check(code, err, status, *words):
    line = error_line(err)
    assert code == status, (code, err)
    for word in words:
        assert word.lower() in line.lower(), (word, line)
    return line


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def demo_asr():
    """The demo model, loaded once for the bad-audio cases."""
    from speechbrain_subtitle.inference import SubtitleASR

    return SubtitleASR.from_hparams(
        source=str(DEMO_MODEL), savedir=str(DEMO_MODEL), run_opts={"device": "cpu"}
    )


@pytest.fixture
def loaded(monkeypatch, demo_asr):
    """``transcribe`` without loading the model again."""
    monkeypatch.setattr(cli, "_load_model", lambda args: demo_asr)


@pytest.fixture
def model_copy(tmp_path):
    """A copy of the bundled demo model that a case may damage."""
    folder = tmp_path / "model"
    shutil.copytree(DEMO_MODEL, folder)
    return folder


def _write_csv(path, rows, header=("ID", "duration", "wav", "start", "stop", "verbatim", "sub")):
    header = ["subtitle" if h == "sub" else h for h in header]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


# -------------------------------------------------------------- usage errors
USAGE_CASES = {
    "no command": ([], ["required", "COMMAND"]),
    "unknown command": (["frobnicate"], ["frobnicate", "invalid choice"]),
    "unknown option": (["transcribe", "x.wav", "--bogus"], ["--bogus", "unrecognized"]),
    "no input": (["transcribe"], ["INPUT", "required"]),
    "batch size not an int": (
        ["transcribe", "x.wav", "--batch-size", "abc"],
        ["--batch-size", "invalid int", "abc"],
    ),
    "negative batch size": (["transcribe", "x.wav", "--batch-size", "-3"], ["--batch-size", "-3"]),
    "beam size 0": (["transcribe", "x.wav", "--beam-size", "0"], ["--beam-size", "at least 1"]),
    "max lines 0": (["transcribe", "x.wav", "--max-lines", "0"], ["--max-lines", "at least 1"]),
    "max chars 0": (["transcribe", "x.wav", "--max-chars", "0"], ["--max-chars", "at least 1"]),
    "max cps not a number": (["transcribe", "x.wav", "--max-cps", "fast"], ["--max-cps", "fast"]),
    "unknown format": (["transcribe", "x.wav", "--format", "srt,doc"], ["doc"]),
    "unknown precision": (["transcribe", "x.wav", "--precision", "fp8"], ["--precision", "fp8"]),
    "unknown timing": (
        ["transcribe", "x.wav", "--subtitle-timing", "psychic"],
        ["--subtitle-timing", "psychic"],
    ),
    "evaluate batch size 0": (["evaluate", "m.csv", "--batch-size", "0"], ["--batch-size"]),
    "export without --out": (["export", "--experiment", "e"], ["--out", "required"]),
    "export average 0": (
        ["export", "--experiment", "e", "--out", "o", "--average", "0"],
        ["--average", "at least 1"],
    ),
    "push without repo": (["push", "folder"], ["--repo-id", "required"]),
    "push repo id without org": (["push", "folder", "--repo-id", "tiny"], ["org/name", "tiny"]),
    "score without files": (["score"], ["nothing to score"]),
    "score ref without hyp": (["score", "--ref", "r.csv"], ["--ref", "--hyp"]),
}


@pytest.mark.parametrize("argv, words", USAGE_CASES.values(), ids=USAGE_CASES.keys())
def test_usage_errors_are_one_line_with_status_2(argv, words, capsys):
    code, out, err = run_cli(argv, capsys)
    check(code, err, 2, *words)
    assert out == ""


def test_help_still_exits_0_and_documents_the_exit_statuses(capsys):
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "Exit status" in text and "130 interrupted" in text and "--verbose" in text


# ----------------------------------------------------------------- bad audio
def _make_audio(kind, tmp_path):
    """Writes one hostile input of ``kind``; returns its path."""
    path = tmp_path / "in.wav"
    if kind == "empty file":
        path.write_bytes(b"")
    elif kind == "text named .wav":
        path.write_text("this is not audio\n" * 20)
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(50_000))
    elif kind == "directory":
        path.mkdir()
    elif kind == "missing file":
        pass
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "gone.wav")
    elif kind == "too short":
        sf.write(path, np.zeros(100, dtype="float32"), 16000)
    elif kind == "no finite sample":
        sf.write(path, np.full(16000, np.nan, dtype="float32"), 16000, subtype="FLOAT")
    elif kind == "corrupt flac header":
        path = tmp_path / "in.flac"
        sf.write(path, np.zeros(16000, dtype="float32"), 16000, format="FLAC")
        data = bytearray(path.read_bytes())
        data[4:42] = b"\xff" * 38  # the STREAMINFO block
        path.write_bytes(bytes(data))
    elif kind == "unreadable":
        path.write_bytes(open(WAV, "rb").read())
        path.chmod(0)
    return path


AUDIO_CASES = {
    "empty file": ["empty"],
    "text named .wav": ["corrupt or its format is not supported"],
    "random bytes": ["corrupt or its format is not supported"],
    "directory": ["directory"],
    "missing file": ["not found"],
    "dangling symlink": ["not found"],
    "too short": ["too short"],
    "no finite sample": ["no finite audio sample"],
    "corrupt flac header": ["in.flac"],
    "unreadable": ["permission"],
}


@pytest.mark.parametrize("kind, words", AUDIO_CASES.items(), ids=AUDIO_CASES.keys())
def test_bad_audio_is_one_line_naming_the_file(kind, words, tmp_path, capsys, loaded):
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = _make_audio(kind, tmp_path)
    code, out, err = run_cli(["transcribe", str(path), "--no-progress"], capsys)
    line = check(code, err, 1, path.name, *words)
    assert line.startswith(f"error: {path}: ")
    assert out == ""


def test_one_bad_input_of_two_is_counted_and_the_other_is_decoded(tmp_path, capsys, loaded):
    bad = _make_audio("empty file", tmp_path)
    code, out, err = run_cli(["transcribe", str(bad), WAV, "--no-progress", "--json"], capsys)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(lines) == 1 and "in.wav" in lines[0] and "Traceback" not in err
    assert "1 of 2 file(s) failed" in err and '"file"' in out


# ------------------------------------------------------------ bad outputs
def test_out_that_is_a_file_is_refused_before_decoding(tmp_path, capsys, loaded):
    out = tmp_path / "subs"
    out.write_text("not a folder")
    code, _, err = run_cli(["transcribe", WAV, "--out", str(out)], capsys)
    # Status 1, as for any input of transcribe that failed (tests/test_longform.py).
    check(code, err, 1, "--out", str(out), "existing file", "nothing transcribed", "utt1.wav")
    assert out.read_text() == "not a folder"


def test_out_below_a_file_is_refused(tmp_path, capsys, loaded):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, _, err = run_cli(["transcribe", WAV, WAV, "--out", str(blocker / "subs")], capsys)
    check(code, err, 1, "--out", "blocker", "is a file", "utt1.wav and 1 other file(s)")


# ---------------------------------------------------------- bad model folders
def _damage(kind, folder, tmp_path):
    """Returns the ``--model`` value for a damaged/missing model of ``kind``."""
    if kind == "missing folder":
        return str(tmp_path / "no-such-model")
    if kind == "mistyped local folder":
        return "synthetic-nl-c8-dem"  # a bare name: not a folder here, not on the (offline) Hub
    if kind == "file instead of folder":
        return str(folder / "asr.ckpt")
    if kind == "empty folder":
        empty = tmp_path / "empty"
        empty.mkdir()
        return str(empty)
    if kind == "yaml syntax error":
        (folder / "hyperparams.yaml").write_text("model: [unclosed\n  key: {\n")
    elif kind == "empty yaml":
        (folder / "hyperparams.yaml").write_text("")
    elif kind == "unsafe yaml tag":
        with open(folder / "hyperparams.yaml", "a", encoding="utf-8") as f:
            f.write('\n__evil: !apply:os.system ["echo pwned"]\n')
    elif kind == "truncated asr.ckpt":
        data = (folder / "asr.ckpt").read_bytes()
        (folder / "asr.ckpt").write_bytes(data[: len(data) // 3])
    elif kind == "empty asr.ckpt":
        (folder / "asr.ckpt").write_bytes(b"")
    elif kind == "missing tokenizer":
        (folder / "tokenizer.ckpt").unlink()
    return str(folder)


MODEL_CASES = {
    "missing folder": ["no-such-model", "no such model folder"],
    "mistyped local folder": ["synthetic-nl-c8-dem", "no such local folder"],
    "file instead of folder": ["asr.ckpt", "is a file"],
    "empty folder": ["empty", "missing hyperparams.yaml"],
    "missing tokenizer": ["missing tokenizer.ckpt"],
    "yaml syntax error": ["hyperparams.yaml"],
    "empty yaml": ["hyperparams.yaml"],
    "unsafe yaml tag": ["hyperparams.yaml", "os.system"],
    "truncated asr.ckpt": ["asr.ckpt"],
    "empty asr.ckpt": ["asr.ckpt", "empty"],
}


@pytest.mark.parametrize("kind, words", MODEL_CASES.items(), ids=MODEL_CASES.keys())
def test_bad_model_is_one_line_naming_it(kind, words, model_copy, tmp_path, capsys):
    model = _damage(kind, model_copy, tmp_path)
    argv = ["transcribe", WAV, "--model", model, "--savedir", str(tmp_path / "cache" / "m")]
    code, out, err = run_cli(argv + ["--no-progress"], capsys)
    check(code, err, 2, *words)
    assert out == ""
    assert not (tmp_path / "cache").exists()  # nothing left behind for a failed load


def test_unknown_hub_id_offline_leaves_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default savedir: pretrained_models/<name> under cwd
    argv = ["transcribe", WAV, "--model", "nobody-xyz/no-such-model", "--no-progress"]
    code, _, err = run_cli(argv, capsys)
    check(code, err, 2, "nobody-xyz/no-such-model", "hugging face hub", "offline")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- manifests
def _manifest(kind, tmp_path):
    path = tmp_path / "test.csv"
    if kind == "missing manifest":
        return str(path)
    if kind == "binary manifest":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
        return str(path)
    if kind == "missing columns":
        return _write_csv(path, [["a", "1.3", WAV]], header=("ID", "duration", "wav"))
    if kind == "bad duration":
        return _write_csv(
            path, [["a", "1.3", WAV, "", "", "x", ""], ["b", "soon", WAV, "", "", "y", ""]]
        )
    if kind == "missing wav":
        return _write_csv(path, [["a", "1.3", str(tmp_path / "gone.wav"), "", "", "x", ""]])
    if kind == "manifest is a folder":
        path.mkdir()
        return str(path)
    raise AssertionError(kind)


MANIFEST_CASES = {
    "missing manifest": ["test.csv", "not found"],
    "binary manifest": ["test.csv", "not a UTF-8 text"],
    "missing columns": ["test.csv", "verbatim"],
    "bad duration": ["test.csv", "line 3", "'b'", "soon"],
    "missing wav": ["test.csv", "line 2", "gone.wav"],
    "manifest is a folder": ["test.csv"],
}


@pytest.mark.parametrize("kind, words", MANIFEST_CASES.items(), ids=MANIFEST_CASES.keys())
def test_evaluate_bad_manifest_names_the_file_and_row(kind, words, tmp_path, capsys):
    manifest = _manifest(kind, tmp_path)
    code, out, err = run_cli(["evaluate", manifest, "--no-progress"], capsys)
    check(code, err, 2, *words)
    assert out == ""


SCORE_CASES = {
    "missing reference": ("ref", None, ["reference file not found", "ref.csv"]),
    "binary hypothesis": ("hyp", b"\xff\xfe\x00" * 500, ["hyp.csv", "not a UTF-8 text"]),
    "no ID column": ("ref", "name,verbatim\na,x\n", ["ref.csv", "'ID'"]),
    "duplicate ID": ("hyp", "ID,verbatim\na,x\na,y\n", ["hyp.csv", "line 3", "duplicate"]),
}


@pytest.mark.parametrize("which, content, words", SCORE_CASES.values(), ids=SCORE_CASES.keys())
def test_score_bad_csv_names_the_file(which, content, words, tmp_path, capsys):
    files = {"ref": tmp_path / "ref.csv", "hyp": tmp_path / "hyp.csv"}
    for path in files.values():
        path.write_text("ID,verbatim,subtitle\na,de kat,De kat.\n")
    if content is None:
        files[which].unlink()
    elif isinstance(content, bytes):
        files[which].write_bytes(content)
    else:
        files[which].write_text(content)
    argv = ["score", "--ref", str(files["ref"]), "--hyp", str(files["hyp"])]
    code, _, err = run_cli(argv, capsys)
    check(code, err, 2, *words)


def test_evaluate_out_that_is_a_file(tmp_path, capsys):
    manifest = _write_csv(tmp_path / "t.csv", [["a", "1.3", WAV, "", "", "x", ""]])
    out = tmp_path / "results"
    out.write_text("")
    code, _, err = run_cli(["evaluate", manifest, "--out", str(out)], capsys)
    check(code, err, 2, "--out", "results", "existing file")


# ---------------------------------------------------------------------- push
def test_push_offline_says_the_hub_cannot_be_reached(model_copy, capsys):
    code, out, err = run_cli(["push", str(model_copy), "--repo-id", "org/name"], capsys)
    check(code, err, 1, str(model_copy), "org/name", "offline", "HF_HUB_OFFLINE")
    assert out == ""


def test_push_dry_run_works_offline(model_copy, capsys):
    code, out, _ = run_cli(["push", str(model_copy), "--repo-id", "org/n", "--dry-run"], capsys)
    assert code == 0 and "asr.ckpt" in out


@pytest.mark.parametrize(
    "kind, words",
    [
        ("not an export", ["not an exported model folder", "missing hyperparams.yaml"]),
        ("missing", ["no such folder"]),
        ("file", ["is a file"]),
    ],
)
def test_push_of_something_not_exported_is_refused(kind, words, tmp_path, capsys):
    folder = tmp_path / "stuff"
    if kind == "not an export":
        folder.mkdir()
        (folder / "notes.txt").write_text("x")
    elif kind == "file":
        folder.write_text("x")
    code, _, err = run_cli(["push", str(folder), "--repo-id", "org/name"], capsys)
    check(code, err, 2, "stuff", *words)


# -------------------------------------------------------------------- export
@pytest.mark.parametrize(
    "out_kind, words",
    [
        ("existing file", ["--out", "existing file"]),
        ("current folder", ["--out", "current folder"]),
        ("fresh", ["not a training output folder"]),  # the experiment is not one
    ],
)
def test_export_to_bad_places(out_kind, words, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    experiment = tmp_path / "exp"
    experiment.mkdir()
    out = {"existing file": "taken", "current folder": ".", "fresh": "exported"}[out_kind]
    if out_kind == "existing file":
        (work / "taken").write_text("keep me")
    argv = ["export", "--experiment", str(experiment), "--out", out]
    code, _, err = run_cli(argv, capsys)
    check(code, err, 2, *words)
    assert [p.name for p in work.iterdir()] == (["taken"] if out_kind == "existing file" else [])
    assert list(experiment.iterdir()) == []


# ------------------------------------------------- the error handler itself
def test_interrupt_is_one_line_with_status_130(monkeypatch, capsys):
    from speechbrain_subtitle import metrics

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(metrics, "run_score", interrupted)
    code, _, err = run_cli(["score"], capsys)
    check(code, err, 130, "interrupted")


@pytest.mark.parametrize("verbose", [False, True])
def test_unexpected_error_is_an_internal_error_and_verbose_keeps_the_traceback(
    verbose, monkeypatch, capsys
):
    from speechbrain_subtitle import metrics

    def broken(args):
        raise KeyError("surprise\n" + "x" * 5000)

    monkeypatch.setattr(metrics, "run_score", broken)
    code, _, err = run_cli(["--verbose"] * verbose + ["score"], capsys)
    if verbose:
        assert code == 1 and "Traceback" in err and "KeyError" in err
        err = err[err.index("error: internal error") :]  # the last line is still the message
        assert err.count("\n") == 1
        return
    line = check(code, err, 1, "internal error: KeyError", "surprise", "--verbose")
    assert len(line) <= len("error: ") + cli.MAX_MESSAGE


def test_long_multiline_message_is_cut_to_one_line(monkeypatch, capsys):
    from speechbrain_subtitle import metrics

    def binary(args):
        raise ValueError("bad.csv: " + "\n".join(["\x00\x01garbage" * 40] * 30))

    monkeypatch.setattr(metrics, "run_score", binary)
    code, _, err = run_cli(["score"], capsys)
    line = check(code, err, 2, "bad.csv")
    assert len(line) <= len("error: ") + cli.MAX_MESSAGE and line.endswith("...")


# --------------------------------------------------------------------- train
def _train_argv(tmp_path, *extra):
    return [str(HPARAMS / "train_tiny.yaml"), f"--output_folder={tmp_path / 'run'}", *extra]


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--number_of_epochs=["], ["invalid YAML", "number_of_epochs"]),
        (["--no_such_key=3"], ["--no_such_key", "unknown override"]),
        (["--architecture=nope.yaml"], ["nope.yaml", "not found"]),
    ],
    ids=["unparsable override", "unknown override", "missing architecture"],
)
def test_train_entry_point_bad_overrides(extra, words, tmp_path, capsys):
    code, _, err = run_cli(_train_argv(tmp_path, *extra), capsys, entry=train.console_main)
    check(code, err, 2, *words)


def test_train_entry_point_missing_yaml(tmp_path, capsys):
    code, _, err = run_cli([str(tmp_path / "nope.yaml")], capsys, entry=train.console_main)
    check(code, err, 2, "nope.yaml", "not found")


def test_train_entry_point_bad_manifest_names_the_row(tmp_path, capsys):
    bad = _write_csv(
        tmp_path / "bad.csv",
        [
            ["a", "1.3", WAV, "", "", "x", ""],
            ["b", "1.0", str(tmp_path / "gone.wav"), "", "", "y", ""],
        ],
    )
    argv = _train_argv(tmp_path, f"--train_csv={bad}")
    code, _, err = run_cli(argv, capsys, entry=train.console_main)
    check(code, err, 2, "bad.csv", "'b'", "gone.wav")
    assert not (tmp_path / "run" / "save" / "tokenizer.model").exists()


# ------------------------------------------- real processes: real stderr
def _run(module, *args, cwd):
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", module, *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_process_transcribe_out_is_a_file(tmp_path):
    (tmp_path / "subs").write_text("x")
    result = _run("speechbrain_subtitle.cli", "transcribe", WAV, "--out", "subs", cwd=tmp_path)
    check(result.returncode, result.stderr, 1, "--out subs", "existing file")


def test_process_push_offline(model_copy, tmp_path):
    result = _run(
        "speechbrain_subtitle.cli", "push", str(model_copy), "--repo-id", "org/x", cwd=tmp_path
    )
    check(result.returncode, result.stderr, 1, "offline")
