"""recipes/SyntheticNL/compare.py: the paper's comparison at test size, on a tiny corpus."""

import csv
import importlib.util
import json
import math
import shutil
import sys

import pytest
from conftest import ROOT

RECIPE = ROOT / "recipes" / "SyntheticNL"
HAVE_TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS,
    reason="espeak-ng and/or sox not installed (Debian: apt-get install espeak-ng sox)",
)


def _load(path, name):
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load(RECIPE / "compare.py", "synthetic_nl_compare")


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _snapshot(folder):
    return {p.relative_to(folder): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}  # fmt: skip


def test_row_selection_keeps_the_hours_asked_for():
    rows = {f"u{i}": {"duration": 600.0} for i in range(30)}  # 5 h
    kept = compare.select_rows(rows, 1.0, seed=1)
    assert len(kept) == 6 and kept == [i for i in rows if i in kept]
    assert compare.select_rows(rows, 1.0, seed=1) == kept
    assert compare.select_rows(rows, 1.0, seed=2) != kept
    assert compare.select_rows(rows, None, seed=1) == list(rows)
    assert compare.select_rows(rows, 0.01, seed=1)  # never empty


def test_subtitles_are_written_like_verbatim_text_for_the_naive_model():
    assert compare.naive_verbatim("Op zaterdag wordt het kouder, met maxima rond 5 graden.") == (
        "op zaterdag wordt het kouder met maxima rond vijf graden"
    )
    assert compare.naive_verbatim("Hij woont in Sint-Niklaas.") == "hij woont in sint-niklaas"


def test_bad_model_names_and_options_are_refused():
    with pytest.raises(SystemExit):
        compare.parse_args(["--data", "d", "--out", "o", "--models", "c8,nope"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--data", "d", "--out", "o", "--ctc-pretrain-steps", "5"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--data", "d", "--out", "o", "--verbatim-hours", "0"])


@needs_tools
def test_tiny_comparison_trains_scores_and_writes_the_table(tmp_path, capsys):
    sys.path.insert(0, str(RECIPE))
    from synthesize import build_corpus

    data, out = tmp_path / "corpus", tmp_path / "out"
    build_corpus(data, size="tiny", seed=1234, jobs=2, noise_db=None, progress=False)
    before = _snapshot(data)
    models = ["verbatim_only", "naive", "c8"]
    argv = ["--data", str(data), "--out", str(out), "--size", "tiny",
            "--models", ",".join(models), "--epochs", "1"]  # fmt: skip
    assert compare.main(argv) == 0
    assert _snapshot(data) == before  # the corpus folder is only read

    # the low-resource view: disjoint sets, each with one text
    verbatim = _rows(out / "data" / "verbatim.csv")
    subtitle = _rows(out / "data" / "subtitle.csv")
    naive = _rows(out / "data" / "naive.csv")
    assert verbatim and all(r["verbatim"] and not r["subtitle"] for r in verbatim)
    assert subtitle and all(r["subtitle"] and not r["verbatim"] for r in subtitle)
    assert not {r["ID"] for r in verbatim} & {r["ID"] for r in subtitle}
    assert len(naive) == len(verbatim) + len(subtitle)
    assert all(r["verbatim"] == r["verbatim"].lower() and "." not in r["verbatim"] for r in naive)

    result = json.loads((out / "comparison.json").read_text())
    assert result["label"] == "synthetic espeak-ng speech"
    assert [m["model"] for m in result["models"]] == models
    test_rows = len(_rows(data / "test.csv"))
    updates = {m["model"]: m["updates"] for m in result["models"]}
    for row in result["models"]:
        metrics = json.loads(open(row["metrics_file"]).read())  # the run's own test scores
        assert metrics["utterances"] == test_rows == row["test_utterances"]
        assert row["verbatim_wer"] == metrics["WER_verbatim"]
        assert math.isfinite(row["verbatim_wer"]) and row["verbatim_wer"] >= 0
        assert row["epochs"] >= 1 and row["seconds"] > 0 and row["parameters"] > 0
        assert abs(row["updates"] - result["updates"]) <= max(updates.values()) / 2
        # a generator-2 corpus: test_unseen.csv is scored too, by the run's own evaluation
        unseen = json.loads(open(row["unseen"]["metrics_file"]).read())
        assert unseen["utterances"] == len(_rows(data / "test_unseen.csv"))
        assert row["unseen"]["verbatim_wer"] == unseen["WER_verbatim"]
    by_name = {m["model"]: m for m in result["models"]}
    assert by_name["verbatim_only"]["subtitle_wer"] is None
    assert by_name["verbatim_only"]["unseen"]["subtitle_bleu"] is None
    assert by_name["c8"]["unseen"]["subtitle_bleu"] is not None
    assert by_name["verbatim_only"]["data"]["subtitle"]["rows"] == 0
    assert by_name["naive"]["data"]["subtitle_as_verbatim"]
    c8 = by_name["c8"]
    assert math.isfinite(c8["subtitle_wer"]) and math.isfinite(c8["subtitle_bleu"])
    assert c8["data"]["subtitle"]["rows"] == len(subtitle)

    table = (out / "comparison.md").read_text()
    assert "synthetic espeak-ng speech" in table
    body = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(body) == 1 + len(models)  # header + one row per model
    assert all(line.count("|") == body[0].count("|") for line in body)
    assert body[1].split("|")[8].strip() == "-"  # verbatim_only: no subtitle WER
    assert "unseen verbatim WER" in body[0] and body[1].split("|")[11].strip() == "-"
    assert table in capsys.readouterr().out

    with pytest.raises(SystemExit, match="exists"):  # no silent reuse of finished runs
        compare.main(argv)
