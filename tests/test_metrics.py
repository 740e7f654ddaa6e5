"""Tests for speechbrain_subtitle.metrics (normalisation, WER/BLEU, manifests, CLI)."""

import csv
import importlib.util
import json

import pytest

from speechbrain_subtitle.metrics import (
    DUTCH_FILLERS,
    MAX_SPELLED_NUMBER,
    NormalizationOptions,
    bleu,
    build_argparser,
    format_table,
    main,
    normalize_text,
    score_manifest,
    score_pairs,
    spell_number_nl,
    spell_ordinal_nl,
    suber,
    word_error_rate,
    write_results,
)

HAS_SUBER = importlib.util.find_spec("suber") is not None

# ---------------------------------------------------------------------------
# Number speller
# ---------------------------------------------------------------------------

CARDINALS = [
    (0, "nul"),
    (1, "een"),
    (7, "zeven"),
    (12, "twaalf"),
    (13, "dertien"),
    (18, "achttien"),
    (20, "twintig"),
    (21, "eenentwintig"),
    (22, "tweeëntwintig"),
    (23, "drieëntwintig"),
    (24, "vierentwintig"),
    (30, "dertig"),
    (42, "tweeënveertig"),
    (80, "tachtig"),
    (99, "negenennegentig"),
    (100, "honderd"),
    (101, "honderdeen"),
    (121, "honderdeenentwintig"),
    (200, "tweehonderd"),
    (999, "negenhonderdnegenennegentig"),
    (1000, "duizend"),
    (1001, "duizend een"),
    (1100, "duizend honderd"),
    (1996, "duizend negenhonderdzesennegentig"),
    (2000, "tweeduizend"),
    (2024, "tweeduizend vierentwintig"),
    (10_000, "tienduizend"),
    (100_000, "honderdduizend"),
    (123_456, "honderddrieëntwintigduizend vierhonderdzesenvijftig"),
    (999_999, "negenhonderdnegenennegentigduizend negenhonderdnegenennegentig"),
    (1_000_000, "een miljoen"),
    (2_500_000, "twee miljoen vijfhonderdduizend"),
    (1_001_001, "een miljoen duizend een"),
]


@pytest.mark.parametrize("number, words", CARDINALS)
def test_spell_number_nl(number, words):
    assert spell_number_nl(number) == words


@pytest.mark.parametrize(
    "number, words",
    [
        (1996, "negentienhonderdzesennegentig"),
        (1100, "elfhonderd"),
        (1900, "negentienhonderd"),
        (1999, "negentienhonderdnegenennegentig"),
        # outside 1100-1999 the year style changes nothing
        (1000, "duizend"),
        (1099, "duizend negenennegentig"),
        (2024, "tweeduizend vierentwintig"),
        (950, "negenhonderdvijftig"),
    ],
)
def test_spell_number_nl_year_style(number, words):
    assert spell_number_nl(number, year_style=True) == words


def test_spell_number_nl_range():
    assert spell_number_nl(MAX_SPELLED_NUMBER).startswith("negenhonderdnegenennegentig miljoen")
    with pytest.raises(ValueError):
        spell_number_nl(MAX_SPELLED_NUMBER + 1)
    with pytest.raises(ValueError):
        spell_number_nl(-1)


@pytest.mark.parametrize(
    "number, words",
    [
        (1, "eerste"),
        (2, "tweede"),
        (3, "derde"),
        (4, "vierde"),
        (8, "achtste"),
        (12, "twaalfde"),
        (18, "achttiende"),
        (20, "twintigste"),
        (21, "eenentwintigste"),
        (100, "honderdste"),
        (101, "honderdeerste"),
        (103, "honderdderde"),
        (1000, "duizendste"),
        (2003, "tweeduizend derde"),
        (1_000_000, "een miljoenste"),
    ],
)
def test_spell_ordinal_nl(number, words):
    assert spell_ordinal_nl(number) == words


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # case, punctuation, whitespace
        ("  Dat   is WAAR!  ", "dat is waar"),
        ("Hij zei: «ja», (toch?)", "hij zei ja toch"),
        # fillers, with punctuation attached and in upper case
        ("Euh, ja... uhm ehm dat hmm mm", "ja dat"),
        ("ggg xxx Xxx het was goed", "het was goed"),
        # meaningful interjections are kept
        ("ah zo oh ja", "ah zo oh ja"),
        # hyphens
        ("Oost-Vlaanderen", "oost vlaanderen"),
        ("de 20-jarige", "de twintig jarige"),
        ("- zei hij -", "zei hij"),
        # CGN markers
        ("goe*v da*x", "goe da"),
        ("ja * nee", "ja nee"),
        ("Gent*d is mooi", "gent is mooi"),
        # numbers
        ("20", "twintig"),
        ("21 of 22", "eenentwintig of tweeëntwintig"),
        ("in 1996", "in negentienhonderdzesennegentig"),
        ("in 2024", "in tweeduizend vierentwintig"),
        ("20%", "twintig procent"),
        ("20 %", "twintig procent"),
        ("2,5", "twee komma vijf"),
        ("2,5%", "twee komma vijf procent"),
        ("0,05", "nul komma nul vijf"),
        ("3,14159", "drie komma een vier een vijf negen"),
        ("1.500 euro", "duizend vijfhonderd euro"),
        ("1.000.000", "een miljoen"),
        ("1.500,25", "duizend vijfhonderd komma vijfentwintig"),
        ("om 14.30 uur", "om veertien dertig uur"),
        ("0475", "nul vier zeven vijf"),
        ("de 3de en de 21ste", "de derde en de eenentwintigste"),
        ("de 2e keer", "de tweede keer"),
        ("mp3", "mp drie"),
        ("1234567890123", "een twee drie vier vijf zes zeven acht negen nul een twee drie"),
        # abbreviations (also glued to a number, and capitalised)
        ("dhr. Peeters en mevr. Janssens", "meneer peeters en mevrouw janssens"),
        ("Bv. dit, bv. dat", "bijvoorbeeld dit bijvoorbeeld dat"),
        ("nr. 5", "nummer vijf"),
        ("20 km", "twintig kilometer"),
        ("20km", "twintig kilometer"),
        ("120 km/u", "honderdtwintig kilometer per uur"),
        ("BV Vlaanderen", "bv vlaanderen"),
        # apostrophes and accents
        ("'s avonds z'n auto's", "'s avonds z'n auto's"),
        ("’t Is één ding, dát", "'t is een ding dat"),
        ("tweeëntwintig ruïne", "tweeëntwintig ruïne"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


def test_normalize_text_options_off():
    text = "Euh, Oost-Vlaanderen: 20% dhr. goe*v"
    off = NormalizationOptions(
        lowercase=False,
        remove_punctuation=False,
        fillers=frozenset(),
        strip_hyphens=False,
        numbers_to_words=False,
        strip_acute_accents=False,
        abbreviations={},
        strip_cgn_markers=False,
    )
    assert normalize_text(text, off) == text
    assert normalize_text("Oost-Vlaanderen, één", NormalizationOptions(strip_hyphens=False)) == (
        "oost-vlaanderen een"
    )
    assert normalize_text("Euh dat", NormalizationOptions(lowercase=False)) == "dat"
    assert normalize_text("in 1996", NormalizationOptions(year_style=False)) == (
        "in duizend negenhonderdzesennegentig"
    )
    custom = NormalizationOptions(fillers=frozenset({"allee"}), abbreviations={"Vl.": "Vlaams"})
    assert normalize_text("allee euh Vl. parlement", custom) == "euh vlaams parlement"


def test_fillers_default_and_json():
    assert {"euh", "uh", "ggg", "xxx"} <= DUTCH_FILLERS
    assert not {"ah", "oh", "ja"} & DUTCH_FILLERS
    options = NormalizationOptions().to_dict()
    assert options["fillers"] == sorted(DUTCH_FILLERS)
    json.dumps(options)


# ---------------------------------------------------------------------------
# WER and BLEU
# ---------------------------------------------------------------------------


def test_wer_one_substitution():
    result = word_error_rate(["de kat zit hier"], ["de hond zit hier"])
    assert result == {
        "wer": 25.0,
        "substitutions": 1,
        "deletions": 0,
        "insertions": 0,
        "hits": 3,
        "reference_words": 4,
        "sentences": 1,
    }


def test_wer_corpus_level():
    # S=1 (d->x), D=1 (b), I=1 (g) over 6 reference words
    result = word_error_rate(["a b", "c d e f"], ["a", "c x e f g"])
    assert (result["substitutions"], result["deletions"], result["insertions"]) == (1, 1, 1)
    assert result["reference_words"] == 6
    assert result["wer"] == pytest.approx(50.0)


def test_wer_is_case_and_punctuation_sensitive_without_normalization():
    assert word_error_rate(["Dat is waar."], ["dat is waar"])["wer"] == pytest.approx(200 / 3)
    normalized = word_error_rate(["Dat is waar."], ["dat is waar"], normalize=True)
    assert normalized["wer"] == 0.0


def test_wer_normalization_options():
    refs, hyps = ["euh twintig procent"], ["20%"]
    assert word_error_rate(refs, hyps, normalize=NormalizationOptions())["wer"] == 0.0
    keep_fillers = NormalizationOptions(fillers=frozenset())
    result = word_error_rate(refs, hyps, normalize=keep_fillers)
    assert result["deletions"] == 1 and result["reference_words"] == 3
    with pytest.raises(TypeError):
        word_error_rate(refs, hyps, normalize="yes")


def test_wer_empty_references():
    result = word_error_rate(["", "a b"], ["x y z", "a b"])
    assert result["insertions"] == 3
    assert result["reference_words"] == 2
    assert result["sentences"] == 2
    assert result["wer"] == pytest.approx(150.0)

    nothing = word_error_rate(["", None], ["iets", None])
    assert nothing["wer"] is None
    assert nothing["insertions"] == 1

    # a reference that is only a filler is empty after normalisation
    only_filler = word_error_rate(["euh"], ["euh"], normalize=True)
    assert only_filler["wer"] is None and only_filler["insertions"] == 0

    assert word_error_rate([], [])["wer"] is None
    assert word_error_rate(["a b"], [None])["deletions"] == 2


def test_wer_length_mismatch():
    with pytest.raises(ValueError):
        word_error_rate(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        bleu(["a"], [])


def test_bleu_hand_computed():
    # n-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity penalty:
    # BLEU = (4/5 * 3/4 * 2/3 * 1/2) ** (1/4) = 0.2 ** 0.25
    result = bleu(["a b c d e"], ["a b c d f"])
    assert result["bleu"] == pytest.approx(100 * 0.2**0.25, abs=1e-6)
    assert result["sentences"] == 1
    assert "tok:13a" in result["signature"] and "case:mixed" in result["signature"]


def test_bleu_identical_cased_and_empty():
    assert bleu(["Dat is waar."], ["Dat is waar."])["bleu"] == pytest.approx(100.0)
    # case and punctuation count
    assert bleu(["Dat is waar."], ["dat is waar"])["bleu"] < 100.0
    assert bleu([], []) == {"bleu": None, "signature": None, "sentences": 0}
    assert bleu(["Ja."], [None])["bleu"] == 0.0


# ---------------------------------------------------------------------------
# score_pairs
# ---------------------------------------------------------------------------

ROWS = [
    {
        "id": "both",
        "verbatim_ref": "euh de kat zit hier",
        "verbatim_hyp": "de hond zit hier",
        "subtitle_ref": "De kat zit hier.",
        "subtitle_hyp": "de kat zit hier",
    },
    {
        # no subtitle reference: its subtitle hypothesis must not count
        "id": "verbatim_only",
        "verbatim_ref": "twintig procent",
        "verbatim_hyp": "20%",
        "subtitle_ref": "",
        "subtitle_hyp": "Heel veel foute woorden hier.",
    },
    {
        # no verbatim reference (missing key): its verbatim hypothesis must not count
        "id": "subtitle_only",
        "verbatim_hyp": "totaal iets anders",
        "subtitle_ref": "Goedenavond.",
        "subtitle_hyp": "Goedenavond.",
    },
    {"id": "neither", "verbatim_ref": None, "subtitle_ref": None, "subtitle_hyp": "x"},
]


def test_score_pairs_masking():
    result = score_pairs(ROWS)
    assert result["utterances"] == 4

    verbatim = result["verbatim_wer"]
    assert verbatim["sentences"] == 2
    assert verbatim["reference_words"] == 6  # "de kat zit hier" + "twintig procent"
    assert verbatim["substitutions"] == 1 and verbatim["insertions"] == 0
    assert verbatim["wer"] == pytest.approx(100 / 6)

    subtitle = result["subtitle_wer"]
    assert subtitle["sentences"] == 2
    assert subtitle["reference_words"] == 5  # "De kat zit hier." + "Goedenavond."
    assert subtitle["substitutions"] == 2  # "De" and "hier." differ in case/punctuation
    assert subtitle["wer"] == pytest.approx(40.0)

    assert result["subtitle_wer_normalized"]["wer"] == 0.0
    assert result["subtitle_bleu"]["sentences"] == 2
    assert result["normalization"]["lowercase"] is True


def test_score_pairs_without_normalization():
    result = score_pairs(ROWS, normalize=False)
    assert result["normalization"] is None
    assert result["subtitle_wer_normalized"] is None
    # "euh" is now a deleted word and "20%" a substitution + deletion
    assert result["verbatim_wer"]["reference_words"] == 7
    assert result["verbatim_wer"]["wer"] == pytest.approx(400 / 7)


def test_score_pairs_empty():
    result = score_pairs([])
    assert result["utterances"] == 0
    assert result["verbatim_wer"]["wer"] is None
    assert result["subtitle_bleu"]["bleu"] is None
    assert "n/a" in format_table(result)


# ---------------------------------------------------------------------------
# Manifests, output, CLI
# ---------------------------------------------------------------------------


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def csv_pair(tmp_path):
    ref = _write_csv(
        tmp_path / "ref.csv",
        ["ID", "duration", "wav", "start", "stop", "verbatim", "subtitle"],
        [
            ["u1", "1.0", "a.wav", "", "", "euh de kat zit hier", "De kat zit hier."],
            ["u2", "1.0", "a.wav", "", "", "twintig procent", ""],
            ["u3", "1.0", "a.wav", "", "", "", "Goedenavond."],
            ["u4", "1.0", "a.wav", "", "", "één twee drie", "Eén, twee, drie."],
        ],
    )
    hyp = _write_csv(
        tmp_path / "hyp.csv",
        ["ID", "verbatim", "subtitle"],
        [
            ["u1", "de hond zit hier", "De kat zit hier."],
            ["u2", "20%", ""],
            ["u3", "", "Goedenavond."],
            # u4 is missing
            ["u9", "extra", "Extra."],
        ],
    )
    return ref, hyp


def test_score_manifest_missing_hypothesis(csv_pair):
    ref, hyp = csv_pair
    result = score_manifest(ref, hyp)
    assert result["missing_hypotheses"] == 1
    assert result["missing_hypothesis_ids"] == ["u4"]
    assert result["extra_hypotheses"] == 1
    assert result["utterances"] == 4
    verbatim = result["verbatim_wer"]
    # u1: 1 substitution; u2: exact; u4 missing: 3 deletions
    assert verbatim["sentences"] == 3
    assert (verbatim["substitutions"], verbatim["deletions"]) == (1, 3)
    assert verbatim["reference_words"] == 9
    subtitle = result["subtitle_wer"]
    assert subtitle["sentences"] == 3
    assert subtitle["deletions"] == 3 and subtitle["substitutions"] == 0
    assert subtitle["reference_words"] == 8


def test_score_manifest_errors(tmp_path, csv_pair):
    ref, hyp = csv_pair
    with pytest.raises(FileNotFoundError):
        score_manifest(tmp_path / "nope.csv", hyp)
    no_id = _write_csv(tmp_path / "no_id.csv", ["utt", "verbatim"], [["u1", "ja"]])
    with pytest.raises(ValueError, match="ID"):
        score_manifest(ref, no_id)
    no_text = _write_csv(tmp_path / "no_text.csv", ["ID", "wav"], [["u1", "a.wav"]])
    with pytest.raises(ValueError, match="verbatim"):
        score_manifest(ref, no_text)
    duplicate = _write_csv(tmp_path / "dup.csv", ["ID", "verbatim"], [["u1", "ja"], ["u1", "nee"]])
    with pytest.raises(ValueError, match="duplicate"):
        score_manifest(ref, duplicate)


def test_score_manifest_subtitle_column_optional(tmp_path, csv_pair):
    ref, _ = csv_pair
    hyp = _write_csv(tmp_path / "v.csv", ["ID", "verbatim"], [["u1", "de kat zit hier"]])
    result = score_manifest(ref, hyp)
    assert result["missing_hypotheses"] == 3
    assert result["subtitle_wer"]["deletions"] == result["subtitle_wer"]["reference_words"]


def test_format_table_and_json(tmp_path, csv_pair):
    ref, hyp = csv_pair
    result = score_manifest(ref, hyp)
    result["suber"] = None
    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "score", "sents", "ref", "words", "sub", "del", "ins"]
    assert any(line.startswith("verbatim WER (normalized)") for line in lines)
    assert any(line.startswith("subtitle BLEU") for line in lines)
    assert any(line.startswith("SubER") and line.rstrip().endswith("n/a") for line in lines)
    assert "missing hypotheses: 1" in table
    assert "BLEU signature: nrefs:1" in table
    # the columns line up: every metric row is as wide as the header or shorter
    assert all(len(line) <= len(lines[0]) for line in lines[1:5])

    out = write_results(result, tmp_path / "sub" / "scores.json")
    text = out.read_text(encoding="utf-8")
    assert text.startswith('{\n  "utterances": 4')
    assert json.loads(text) == json.loads(json.dumps(result))
    assert (
        write_results({"tekst": "één"}, tmp_path / "u.json").read_text(encoding="utf-8")
        == '{\n  "tekst": "één"\n}\n'
    )


def test_main_cli(tmp_path, csv_pair, capsys):
    ref, hyp = csv_pair
    out = tmp_path / "scores.json"
    assert main(["--ref", str(ref), "--hyp", str(hyp), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "verbatim WER (normalized)" in printed
    assert "missing hypotheses: 1" in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["missing_hypotheses"] == 1
    assert saved["normalization"]["numbers_to_words"] is True

    assert main(["--ref", str(ref), "--hyp", str(hyp), "--no-normalize"]) == 0
    printed = capsys.readouterr().out
    assert "subtitle WER (normalized)" not in printed


def test_main_cli_errors(tmp_path, csv_pair, capsys):
    ref, hyp = csv_pair
    assert main(["--ref", str(ref)]) == 2
    assert "--ref and --hyp" in capsys.readouterr().err
    assert main([]) == 2
    assert "nothing to score" in capsys.readouterr().err
    assert main(["--ref", str(tmp_path / "x.csv"), "--hyp", str(hyp)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--ref-srt", "a.srt"]) == 2


def test_cli_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_argparser().parse_args(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--ref", "--hyp", "--json", "--no-normalize", "--ref-srt", "--hyp-srt"):
        assert option in help_text
    parser = build_argparser()
    for action in parser._actions:
        assert action.help, action.dest


# ---------------------------------------------------------------------------
# SubER
# ---------------------------------------------------------------------------

SRT_REF = """1
00:00:01,000 --> 00:00:03,000
Dat is waar.

2
00:00:03,500 --> 00:00:05,000
Goedenavond.
"""

SRT_HYP = """1
00:00:01,000 --> 00:00:03,000
Dat is fout.

2
00:00:03,500 --> 00:00:05,000
Goedenavond.
"""


@pytest.mark.skipif(HAS_SUBER, reason="subtitle-edit-rate is installed")
def test_suber_missing_package_message(tmp_path, capsys):
    with pytest.raises(ImportError, match=r"speechbrain-subtitle\[suber\]"):
        suber(tmp_path / "a.srt", tmp_path / "b.srt")
    assert main(["--ref-srt", "a.srt", "--hyp-srt", "b.srt"]) == 2
    assert "pip install" in capsys.readouterr().err


def test_suber(tmp_path):
    pytest.importorskip("suber")
    ref = tmp_path / "ref.srt"
    hyp = tmp_path / "hyp.srt"
    ref.write_text(SRT_REF, encoding="utf-8")
    hyp.write_text(SRT_HYP, encoding="utf-8")
    assert suber(ref, ref) == 0.0
    # one substituted word; reference length = 4 words + 2 block breaks
    assert suber(ref, hyp) == pytest.approx(100 / 6, abs=1e-3)
    # cased: the two full stops are tokens too, 6 tokens + 2 breaks
    assert suber(ref, hyp, cased=True) == pytest.approx(12.5)
    empty = tmp_path / "empty.srt"
    empty.write_text("", encoding="utf-8")
    assert suber(empty, hyp) is None
    with pytest.raises(FileNotFoundError):
        suber(tmp_path / "nope.srt", hyp)
    bad = tmp_path / "bad.srt"
    bad.write_text("not a subtitle file\n", encoding="utf-8")
    with pytest.raises(ValueError):
        suber(bad, hyp)
