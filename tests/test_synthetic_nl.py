"""Tests for the SyntheticNL recipe: number speller, text pairs, corpus builder."""

import json
import re
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "SyntheticNL"
sys.path.insert(0, str(RECIPE))

import make_corpus  # noqa: E402
import synthesize  # noqa: E402
import text_pairs  # noqa: E402
from text_pairs import (  # noqa: E402
    FILLERS,
    PhenomenaConfig,
    format_number,
    generate_pairs,
    spell_number,
    spell_ordinal,
    spell_year,
    to_spoken,
)

from speechbrain_subtitle.data import read_manifest  # noqa: E402

HAVE_TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS,
    reason="espeak-ng and/or sox not installed (Debian: apt-get install espeak-ng sox)",
)

# Discourse particles that no template uses, so they only come from insertion.
INSERTED_ONLY_PARTICLES = {"allee", "awel", "hé", "zenne", "ofzo", "bon", "kijk", "hoor"}
# Colloquial forms that must never reach a subtitle.
COLLOQUIAL_ONLY = {"nie", "'t", "ge", "gij", "zijne", "goeie", "patatten", "seffens", "da's", "'k"}
VERBATIM_RE = re.compile(r"^[a-zà-ÿ' -]+$")


def words(text):
    """Lowercase words of a text without sentence punctuation."""
    return re.sub(r"[.,?!](\s|$)", " ", text.lower()).split()


# --------------------------------------------------------------------------
# Number speller
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, expected",
    [
        (0, "nul"),
        (1, "een"),
        (7, "zeven"),
        (13, "dertien"),
        (19, "negentien"),
        (20, "twintig"),
        (21, "eenentwintig"),
        (22, "tweeëntwintig"),
        (23, "drieëntwintig"),
        (28, "achtentwintig"),
        (33, "drieëndertig"),
        (80, "tachtig"),
        (99, "negenennegentig"),
        (100, "honderd"),
        (101, "honderdeen"),
        (110, "honderdtien"),
        (122, "honderdtweeëntwintig"),
        (250, "tweehonderdvijftig"),
        (999, "negenhonderdnegenennegentig"),
        (1000, "duizend"),
        (1001, "duizend een"),
        (1250, "duizend tweehonderdvijftig"),
        (1996, "duizend negenhonderdzesennegentig"),
        (2000, "tweeduizend"),
        (2008, "tweeduizend acht"),
        (9999, "negenduizend negenhonderdnegenennegentig"),
        (350000, "driehonderdvijftigduizend"),
        (2_500_000, "twee miljoen vijfhonderdduizend"),
    ],
)
def test_spell_number(number, expected):
    assert spell_number(number) == expected


@pytest.mark.parametrize(
    "number, expected",
    [
        (1500, "vijftienhonderd"),
        (1850, "achttienhonderdvijftig"),
        (2000, "tweeduizend"),
        (2050, "tweeduizend vijftig"),
        (950, "negenhonderdvijftig"),
    ],
)
def test_spell_number_in_hundreds(number, expected):
    assert spell_number(number, hundreds=True) == expected


@pytest.mark.parametrize(
    "year, expected",
    [
        (1996, "negentienhonderdzesennegentig"),
        (1900, "negentienhonderd"),
        (1302, "dertienhonderdtwee"),
        (1066, "duizend zesenzestig"),
        (2000, "tweeduizend"),
        (2024, "tweeduizend vierentwintig"),
    ],
)
def test_spell_year(year, expected):
    assert spell_year(year) == expected


@pytest.mark.parametrize(
    "number, expected",
    [
        (1, "eerste"),
        (3, "derde"),
        (8, "achtste"),
        (12, "twaalfde"),
        (19, "negentiende"),
        (20, "twintigste"),
        (21, "eenentwintigste"),
        (82, "tweeëntachtigste"),
        (100, "honderdste"),
        (101, "honderdeerste"),
        (1000, "duizendste"),
        (1003, "duizend derde"),
    ],
)
def test_spell_ordinal(number, expected):
    assert spell_ordinal(number) == expected


def test_speller_details():
    assert spell_number(1, stressed_one=True) == "één"
    assert spell_number(21, stressed_one=True) == "eenentwintig"
    assert format_number(1996) == "1996"
    assert format_number(350000) == "350.000"
    with pytest.raises(ValueError):
        spell_number(-1)
    # 0..9999 gives 10 000 different spellings made of letters and spaces only.
    spellings = [spell_number(n) for n in range(10000)]
    assert len(set(spellings)) == 10000
    assert all(re.fullmatch(r"[a-zë ]+", s) for s in spellings)


# --------------------------------------------------------------------------
# Text pairs
# --------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[1, 2], ids=["generator1", "generator2"])
def generator(request):
    return request.param


@pytest.fixture(scope="module")
def pairs(generator):
    return generate_pairs(2000, seed=0, generator=generator)


def test_generator_is_deterministic():
    first = generate_pairs(300, seed=5)
    assert first == generate_pairs(300, seed=5)
    assert first[:100] == generate_pairs(100, seed=5)
    other = generate_pairs(300, seed=6)
    assert sum(a == b for a, b in zip(first, other)) < 10


def test_no_duplicates_and_subtitle_length(pairs):
    assert len({pair.verbatim for pair in pairs}) == len(pairs)
    assert max(len(pair.subtitle) for pair in pairs) <= text_pairs.MAX_SUBTITLE_CHARS
    # Thousands of distinct subtitles, not a handful of templates.
    assert len({pair.subtitle for pair in pairs}) > 0.6 * len(pairs)


def test_verbatim_form(pairs):
    for pair in pairs:
        assert VERBATIM_RE.match(pair.verbatim), pair.verbatim
        assert pair.verbatim == pair.verbatim.lower()
        assert pair.spoken == to_spoken(pair.verbatim)


def test_subtitle_form(pairs):
    for pair in pairs:
        assert pair.subtitle[0].isupper(), pair.subtitle
        assert pair.subtitle[-1] in ".?!", pair.subtitle
        assert "  " not in pair.subtitle
        assert not re.search(r"\s[.,?!]", pair.subtitle), pair.subtitle
        tokens = words(pair.subtitle)
        assert not set(tokens) & set(FILLERS), pair.subtitle
        assert not set(tokens) & COLLOQUIAL_ONLY, pair.subtitle
        assert not set(tokens) & INSERTED_ONLY_PARTICLES, pair.subtitle
        assert all(a != b for a, b in zip(tokens, tokens[1:])), pair.subtitle


def rate(pairs, predicate):
    return sum(map(predicate, pairs)) / len(pairs)


def test_phenomena_rates(pairs):
    has_filler = rate(pairs, lambda p: bool(set(p.verbatim.split()) & set(FILLERS)))
    repeats = rate(
        pairs, lambda p: any(a == b for a, b in zip(p.verbatim.split(), p.verbatim.split()[1:]))
    )
    particles = rate(pairs, lambda p: bool(set(p.verbatim.split()) & INSERTED_ONLY_PARTICLES))
    colloquial = rate(pairs, lambda p: bool(set(p.verbatim.split()) & COLLOQUIAL_ONLY))
    digits_in_subtitle = rate(pairs, lambda p: bool(re.search(r"\d", p.subtitle)))
    # Default probabilities: spontaneous sentences get fillers with p=0.5, formal ones 0.15.
    assert 0.25 < has_filler < 0.55
    assert 0.1 < repeats < 0.4
    assert 0.1 < particles < 0.4
    assert 0.1 < colloquial < 0.5
    assert digits_in_subtitle > 0.4
    assert not any(re.search(r"\d", p.verbatim) for p in pairs)


def test_subtitles_are_shorter(pairs):
    verbatim_words = statistics.mean(len(p.verbatim.split()) for p in pairs)
    subtitle_words = statistics.mean(len(p.subtitle.split()) for p in pairs)
    assert verbatim_words > subtitle_words + 1
    assert rate(pairs, lambda p: len(p.subtitle.split()) <= len(p.verbatim.split())) > 0.95


def test_specific_phenomena(pairs, generator):
    by_phrase = {
        "op dit moment": " nu ",
        "naar aanleiding van": "Na ",
        "goeie avond": "Goedenavond",
        "zijne gsm": "zijn gsm",
        "patatten": "aardappelen",
        "ons moeder": "Mijn moeder",
        " procent": " procent",
    }
    # Version 2 trains on the seen templates only: a phrase of a held-out one is absent.
    seen_text = " ".join(t.text for t in text_pairs.template_pool("seen").values()).lower()
    for phrase, written in by_phrase.items():
        matches = [p for p in pairs if phrase in f" {p.verbatim} "]
        assert matches or (generator == 2 and phrase.strip() not in seen_text), phrase
        assert all(written in f" {p.subtitle}" for p in matches), phrase
    for pair in pairs:
        if " procent" in pair.subtitle:
            assert re.search(r"\d+(,\d)? procent", pair.subtitle), pair.subtitle
        if "op dit moment" in pair.verbatim:
            assert "op dit moment" not in pair.subtitle.lower()
    # Place names are lowercase in the verbatim text and capitalised in the subtitle.
    places = {place.lower(): place for place in text_pairs.LEXICON_V2["place"]}
    checked = 0
    for pair in pairs:
        for token in pair.verbatim.split():
            if token in places:
                assert places[token] in pair.subtitle, pair
                checked += 1
    assert checked > 100
    # False starts: a broken-off word directly followed by the full word.
    false_starts = rate(
        pairs,
        lambda p: any(
            len(b) > len(a) >= 2 and b.startswith(a) and a not in {"de", "het", "een"}
            for a, b in zip(p.verbatim.split(), p.verbatim.split()[1:])
        ),
    )
    assert false_starts > 0.03


def test_phenomena_config():
    clean = PhenomenaConfig(
        filler=0, repetition=0, false_start=0, discourse=0, colloquial=0, long_form=0
    )
    for pair in generate_pairs(300, seed=1, config=clean):
        tokens = pair.verbatim.split()
        assert not set(tokens) & set(FILLERS)
        assert not set(tokens) & INSERTED_ONLY_PARTICLES
        assert not set(tokens) & COLLOQUIAL_ONLY
        if not re.search(r"\b(\d+)-\1\b", pair.subtitle):  # a 2-2 score is said "twee twee"
            assert all(a != b for a, b in zip(tokens, tokens[1:])), pair
    always = PhenomenaConfig(filler=1, formal_scale=1)
    assert all(
        set(p.verbatim.split()) & set(FILLERS) for p in generate_pairs(300, seed=1, config=always)
    )


def test_to_spoken():
    assert to_spoken("'k weet het nie") == "kweet het nie"
    assert to_spoken("euh 'k 'k denk 't") == "euh kkdenk 't"
    assert to_spoken("goeie avond") == "goeie avond"


# --------------------------------------------------------------------------
# Speech synthesis and corpus
# --------------------------------------------------------------------------


def test_missing_tools_error(monkeypatch):
    monkeypatch.setattr(synthesize.shutil, "which", lambda name: None)
    with pytest.raises(synthesize.ToolMissingError, match="apt-get install espeak-ng sox"):
        synthesize.check_tools()
    with pytest.raises(synthesize.ToolMissingError):
        synthesize.build_corpus("/nonexistent/never/created", size="tiny")


def test_sizes_and_speakers():
    assert synthesize.split_counts(40) == {"verbatim": 12, "subtitle": 24, "valid": 2, "test": 2}
    assert synthesize.size_spec("medium").utterances == 4000
    with pytest.raises(ValueError):
        synthesize.size_spec("huge")
    speakers = synthesize.make_speakers(24, seed=3)
    assert len({(s.voice, s.speed, s.pitch) for s in speakers}) == 24
    assert {s.voice for s in speakers} == set(synthesize.VOICES)
    assert all(140 <= s.speed <= 190 and 30 <= s.pitch <= 70 for s in speakers)


@needs_tools
def test_synthesize(tmp_path):
    out = tmp_path / "a.wav"
    duration = synthesize.synthesize("euh goeie avond", out, voice="nl+f2", noise_db=-40, seed=1)
    audio, rate_ = sf.read(out)
    info = sf.info(str(out))
    assert (rate_, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert duration == pytest.approx(len(audio) / 16000)
    assert 0.5 < duration < 3
    assert np.abs(audio).max() > 0.1
    # Trimmed: at most the 0.15 s pad + 20 ms margin of near-silence at each end.
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    assert loud[0] / 16000 < 0.2 and (len(audio) - loud[-1]) / 16000 < 0.2
    again = tmp_path / "b.wav"
    synthesize.synthesize("euh goeie avond", again, voice="nl+f2", noise_db=-40, seed=1)
    assert np.array_equal(audio, sf.read(again)[0])


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    if not HAVE_TOOLS:
        pytest.skip("espeak-ng and/or sox not installed (Debian: apt-get install espeak-ng sox)")
    out = tmp_path_factory.mktemp("synth") / "tiny"
    info = synthesize.build_corpus(out, size="tiny", seed=1234, jobs=2, progress=False)
    return out, info


def speaker(row_id):
    return row_id.split("_")[0]


@needs_tools
def test_tiny_corpus_manifests(tiny_corpus):
    out, info = tiny_corpus
    train = read_manifest(out / "train.csv", check_audio=True)
    valid = read_manifest(out / "valid.csv", check_audio=True)
    test = read_manifest(out / "test.csv", check_audio=True)
    assert (len(train), len(valid), len(test)) == (36, 2, 2)
    verbatim_only = [r for r in train.values() if r["verbatim"] and not r["subtitle"]]
    subtitle_only = [r for r in train.values() if r["subtitle"] and not r["verbatim"]]
    assert (len(verbatim_only), len(subtitle_only)) == (12, 24)
    for rows in (valid, test):
        assert all(r["verbatim"] and r["subtitle"] for r in rows.values())
    train_speakers = {speaker(i) for i in train} | {speaker(i) for i in valid}
    test_speakers = {speaker(i) for i in test}
    assert test_speakers and not train_speakers & test_speakers
    assert test_speakers <= set(info["test_speakers"])
    for rows in (train, valid, test):
        for row in rows.values():
            assert row["start"] is None and row["stop"] is None
            file_info = sf.info(row["wav"])
            assert (file_info.samplerate, file_info.channels) == (16000, 1)
            assert row["duration"] == pytest.approx(file_info.frames / 16000, abs=1e-3)
    # The manifests hold relative paths to the wavs folder.
    assert (out / "train.csv").read_text(encoding="utf-8").splitlines()[1].count(",wavs/") == 1


@needs_tools
def test_tiny_corpus_info(tiny_corpus):
    out, info = tiny_corpus
    assert json.loads((out / "corpus_info.json").read_text(encoding="utf-8")) == info
    assert info["utterances"] == 40 and info["seed"] == 1234 and info["synthetic"]
    assert info["generator_version"] == text_pairs.GENERATOR_VERSION
    rows = {name: split["rows"] for name, split in info["splits"].items()}
    assert rows == {
        "train_verbatim": 12,
        "train_subtitle": 24,
        "valid": 2,
        "test": 2,
        "test_unseen": 2,
    }
    seconds = sum(sf.info(str(p)).frames / 16000 for p in (out / "wavs").glob("*.wav"))
    assert info["total_hours"] == pytest.approx(seconds / 3600, abs=1e-3)
    assert 0.02 < info["total_hours"] < 0.1
    test_voices = {s["id"] for s in info["splits"]["test"]["speakers"]}
    assert test_voices == set(info["test_speakers"])
    assert "synthetic" in (out / "README.txt").read_text(encoding="utf-8").lower()
    with pytest.raises(FileExistsError):
        synthesize.build_corpus(out, size="tiny", progress=False)


@needs_tools
def test_make_corpus_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_corpus.main(["--help"])
    assert exit_info.value.code == 0
    out = tmp_path / "cli"
    assert make_corpus.main(["--out", str(out), "--utterances", "8", "--quiet", "--no-noise"]) == 0
    printed = capsys.readouterr().out
    assert "Built 8 utterances" in printed and " h of audio" in printed
    info = json.loads((out / "corpus_info.json").read_text(encoding="utf-8"))
    assert info["noise_db"] is None and info["utterances"] == 8
    assert make_corpus.main(["--out", str(out), "--utterances", "8", "--quiet"]) == 1
