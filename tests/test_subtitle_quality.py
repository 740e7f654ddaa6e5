"""Tests for speechbrain_subtitle.subtitle_quality (the per-rule report, ``check``)
and for the cue splitter measured by it on a synthetic programme."""

import json
import math
import random

import pysubs2
import pytest
import srt
import webvtt
from pycaption import DFXPReader

from speechbrain_subtitle.cli import main as cli_main
from speechbrain_subtitle.subtitle_quality import RULES, format_report, quality_report, read_cues
from speechbrain_subtitle.subtitles import (
    Cue,
    CueConstraints,
    Word,
    break_lines,
    split_into_cues,
    to_ass,
    to_srt,
    to_ttml,
    to_vtt,
)


def counts(report):
    """The rules with a non-zero count."""
    return {rule: entry["count"] for rule, entry in report["rules"].items() if entry["count"]}


# --------------------------------------------------------------------------
# The report on hand-made cues
# --------------------------------------------------------------------------

# On the 25 fps grid (multiples of 40 ms), two frames apart, within every limit.
CLEAN = [
    Cue(0.48, 2.48, ["Goedenavond, dit is het journaal."]),
    Cue(2.56, 5.6, ["Het kabinet wil de huren", "volgend jaar bevriezen."]),
]


def test_clean_cues_break_no_rule():
    report = quality_report(CLEAN, duration=5.6)
    assert report["cues"] == 2 and report["fps"] == 25.0
    assert list(report["rules"]) == list(RULES)
    assert counts(report) == {}


def test_each_rule_is_counted_exactly():
    cues = [
        Cue(0.0, 3.0, ["x" * 20 + " " + "y" * 21 + "."]),  # 1: a line of 43
        Cue(3.0, 6.0, ["een", "twee", "drie."]),  # 2: 3 lines, no gap
        Cue(6.12, 6.5, ["Veel te veel tekst voor zo kort."]),  # 3: fast, short, off frame
        Cue(7.0, 15.0, ["Dank"]),  # 4: too long, one word, ends mid-sentence
        Cue(15.08, 16.5, ["u wel."]),  # 5: off frame (16.5)
        Cue(23.0, 24.2, ["Ja"]),  # 6: one word, last cue, beyond the audio
    ]
    report = quality_report(cues, duration=24.0)
    assert counts(report) == {
        "chars_per_line": 1,
        "lines_per_cue": 1,
        "chars_per_second": 1,
        "too_short": 1,
        "too_long": 1,
        "gap_too_small": 1,
        "off_frame": 2,
        "one_word": 2,
        "mid_sentence": 1,
        "beyond_audio": 1,
    }
    rules = report["rules"]
    assert rules["chars_per_line"]["worst"][0]["value"] == 43
    assert rules["gap_too_small"]["worst"][0]["cue"] == 2
    assert [w["cue"] for w in rules["off_frame"]["worst"]] == [3, 5]
    # "Dank" + "u wel." would span 9.5 s, "u wel. Ja" 9.12 s: too long to merge
    assert rules["one_word_mergeable"]["count"] == 0
    assert rules["split_sentence_fits"]["count"] == 0
    assert rules["beyond_audio"]["worst"][0]["value"] == pytest.approx(0.2)


def test_one_word_cue_that_could_merge_and_a_split_sentence_that_fits():
    cues = [
        Cue(0.0, 1.0, ["Dank"]),
        Cue(1.08, 2.4, ["u wel."]),
        Cue(3.0, 5.0, ["Het kabinet wil de huren"]),
        Cue(5.08, 7.0, ["volgend jaar bevriezen."]),
        Cue(8.0, 9.0, ["Ja."]),
    ]
    report = quality_report(cues)
    assert counts(report) == {
        "one_word": 2,
        "one_word_mergeable": 2,
        "mid_sentence": 2,
        "split_sentence_fits": 2,
    }
    assert [w["text"] for w in report["rules"]["split_sentence_fits"]["worst"]] == [
        "Dank",
        "Het kabinet wil de huren",
    ]
    # the same cues with tighter limits: nothing fits one cue any more
    tight = CueConstraints(max_chars_per_line=10, max_lines=1)
    assert counts(quality_report(cues, tight)) == {
        "chars_per_line": 2,
        "one_word": 2,
        "mid_sentence": 2,
    }


def test_sentence_end_and_quotes():
    cues = [
        Cue(0.0, 1.0, ["Hij zei: \u201cEcht?\u201d"]),
        Cue(1.08, 2.0, ["Ja\u2026"]),
        Cue(2.08, 3.0, ["(Lacht.)"]),
        Cue(3.08, 4.0, ["en dan"]),  # the last cue: nothing continues it
    ]
    assert quality_report(cues)["rules"]["mid_sentence"]["count"] == 0


def test_frame_rule_follows_fps():
    cues = [Cue(0.5, 1.5, ["Goed zo."]), Cue(1.6, 3.0, ["Dag allemaal."])]
    assert counts(quality_report(cues)) == {"off_frame": 1}  # 0.5 s is frame 12.5 at 25 fps
    assert counts(quality_report(cues, CueConstraints(fps=0))) == {}
    # 24 fps: frame 12 is 0.5 s, frame 36 is 1.5 s; 1.6 s is frame 38.4
    assert counts(quality_report(cues, CueConstraints(fps=24))) == {"off_frame": 1}
    # NTSC frame times rounded to the millisecond are on the grid
    ntsc = 30000 / 1001
    cues = [Cue(round(k * 1001 / 30) / 1000, round((k + 40) * 1001 / 30) / 1000, ["Ja, goed."])
            for k in (10, 60)]  # fmt: skip
    assert counts(quality_report(cues, CueConstraints(fps=ntsc))) == {}


def test_worst_cues_come_first():
    cues = [
        Cue(0.0, 1.0, ["x" * 20]),
        Cue(1.08, 2.08, ["x" * 40]),
        Cue(2.16, 3.16, ["x" * 30]),
    ]
    report = quality_report(cues, worst=2)
    entry = report["rules"]["chars_per_second"]
    assert entry["count"] == 3
    assert [w["cue"] for w in entry["worst"]] == [2, 3]
    assert "chars_per_second      3" in format_report(report)


# --------------------------------------------------------------------------
# Formats: written by us, read back by the libraries
# --------------------------------------------------------------------------

SAMPLE = [
    Cue(0.48, 2.32, ["Goedenavond,", "dit is het journaal."]),
    Cue(2.4, 5.0, ["- Café & bar <open>?", "- Ja, tot één uur."]),
    Cue(3725.24, 3727.0, ["Eén uur later."]),
]


def test_ass_round_trip(tmp_path):
    subs = pysubs2.SSAFile.from_string(to_ass(SAMPLE))
    assert [(e.start, e.end, e.plaintext.split("\n")) for e in subs] == [
        (round(c.start * 1000), round(c.end * 1000), c.lines) for c in SAMPLE
    ]
    path = tmp_path / "s.ass"
    path.write_text(to_ass(SAMPLE), encoding="utf-8")
    assert read_cues(path) == SAMPLE


def test_ass_keeps_braces_and_backslashes_as_text(tmp_path):
    """Issue #22: `Boven {korting} \\N geen breuk` read back as `Boven geen breuk` with a
    line break: ASS took the braces as an override block and `\\N` as a break."""
    cue = Cue(1.0, 3.0, ["Boven {korting} \\N geen breuk"])
    (event,) = pysubs2.SSAFile.from_string(to_ass([cue]))
    shown = event.plaintext
    assert "\n" not in shown  # one line, as written
    words = shown.replace("\uff5b", "{").replace("\uff5d", "}").replace("\u2060", "").split()
    assert words == ["Boven", "{korting}", "\\N", "geen", "breuk"]
    path = tmp_path / "b.ass"
    path.write_text(to_ass([cue]), encoding="utf-8")
    (read,) = read_cues(path)
    assert len(read.lines) == 1 and "korting" in read.lines[0]


def test_ttml_round_trip(tmp_path):
    text = to_ttml(SAMPLE)
    captions = DFXPReader().read(text)
    assert captions.get_languages() == ["nl"]
    read = captions.get_captions("nl")
    assert [(c.start, c.end, c.get_text().split("\n")) for c in read] == [
        (round(c.start * 1e6), round(c.end * 1e6), c.lines) for c in SAMPLE
    ]
    path = tmp_path / "s.ttml"
    path.write_text(text, encoding="utf-8")
    assert read_cues(path) == SAMPLE


def test_srt_and_vtt_are_read_back(tmp_path):
    (tmp_path / "s.srt").write_text(to_srt(SAMPLE), encoding="utf-8")
    (tmp_path / "s.vtt").write_text(to_vtt(SAMPLE), encoding="utf-8")
    assert read_cues(tmp_path / "s.srt") == SAMPLE
    # WebVTT's escapes (&amp; &lt; &gt;) are read as the characters
    assert read_cues(tmp_path / "s.vtt") == SAMPLE
    assert len(list(srt.parse(to_srt(SAMPLE)))) == len(webvtt.from_string(to_vtt(SAMPLE)).captions)


def test_read_cues_strips_tags_and_reads_latin1(tmp_path):
    path = tmp_path / "old.srt"
    path.write_bytes(
        "1\n00:00:00,500 --> 00:00:02,000\n<i>Één café.</i>\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\n{\\an8}Dag.\n".encode("latin-1", "replace")
    )
    cues = read_cues(path)
    assert [c.text for c in cues] == ["Één café.", "Dag."]
    with pytest.raises(ValueError, match="unknown subtitle format"):
        read_cues(tmp_path / "x.doc")


# --------------------------------------------------------------------------
# The check command
# --------------------------------------------------------------------------


def test_check_command_reports_and_exits_0(tmp_path, capsys):
    path = tmp_path / "s.srt"
    path.write_text(to_srt([Cue(0.0, 1.0, ["Dank"]), Cue(1.08, 2.4, ["u wel."])]))
    assert cli_main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "one_word_mergeable    1" in out and "split_sentence_fits   1" in out
    assert cli_main(["check", str(path), "--json", "--fps", "0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fps"] == 0 and doc["rules"]["one_word"]["count"] == 1
    assert cli_main(["check", str(tmp_path / "missing.srt")]) == 2


def test_check_help_says_it_only_reports(capsys):
    assert cli_main(["check", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exit status is 0 whatever it finds" in help_text and "--fps" in help_text


@pytest.mark.parametrize("command", ["export", "push"])
def test_export_and_push_help_have_a_description(command, capsys):
    assert cli_main([command, "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("Writes the folder --out" if command == "export" else "Uploads every file") in help_text


def test_transcribe_help_tells_json_from_format_json(capsys):
    assert cli_main(["transcribe", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "writes no file (for a .json file use --format json)" in help_text
    assert "ass, ttml" in help_text and "--fps" in help_text and "--min-duration" in help_text


# --------------------------------------------------------------------------
# "Done": the splitter on a synthetic programme with pauses inside sentences
# --------------------------------------------------------------------------

SENTENCES = [
    "Goedenavond.",
    "Dank u wel.",
    "Welkom bij het journaal van vanavond.",
    "Het kabinet wil de huren volgend jaar bevriezen, maar de verhuurders zijn daar niet blij mee.",
    "Zij vrezen voor hun inkomsten.",
    "Ja.",
    "Dat klopt.",
    "In Brussel hebben duizenden mensen betoogd tegen de nieuwe pensioenplannen van de regering.",
    "De vakbonden spreken van een succes.",
    "Volgens de politie verliep alles rustig, al waren er enkele kleine incidenten aan het "
    "station.",
    "Morgen volgt er een nieuwe staking.",
    "Het weer.",
    "Het blijft de hele dag droog en zonnig met temperaturen tot twintig graden.",
    "Vannacht koelt het af tot vijf graden; in de Ardennen kan het licht vriezen.",
    "Wat vindt u daarvan?",
    "Ik vind het een goed idee, omdat iedereen er beter van wordt.",
    "Maar niet iedereen is het daarmee eens.",
    "De oppositie noemt het plan onbetaalbaar en vraagt een debat in het parlement.",
    "Tot zover het nieuws.",
    "Nog een fijne avond.",
]


def programme(seed, minutes=3.0, pace=1.0, hesitation=0.15, between=0.5):
    """Timed words of a news programme: sentences drawn at random, words at a
    natural pace (slower for longer words), hesitations of 0.5-1.9 s inside
    sentences and short pauses between them."""
    rng = random.Random(seed)
    words = []
    sentences = []  # (first, last) word indices
    t = 0.5
    while t < minutes * 60:
        tokens = rng.choice(SENTENCES).split()
        first = len(words)
        for k, text in enumerate(tokens):
            duration = pace * (0.12 + 0.055 * len(text.strip(".,;?")))
            words.append(Word(text, round(t, 3), round(t + duration, 3)))
            t += duration + rng.choice([0.0, 0.02, 0.05])
            if k + 1 < len(tokens) and rng.random() < hesitation:
                t += rng.uniform(0.5, 1.9)
        sentences.append((first, len(words)))
        t += rng.uniform(0.05, between)
    return words, sentences


def sentence_fits(words, constraints):
    """Whether the words can be one cue: lines, duration, reading speed."""
    lines = break_lines([w.text for w in words])
    if len(lines) > constraints.max_lines or max(map(len, lines)) > constraints.max_chars_per_line:
        return False
    # on the frame grid: from the frame at or before the first word to the one after the last
    fps = constraints.fps
    span = (math.ceil(words[-1].end * fps - 1e-6) - math.floor(words[0].start * fps + 1e-6)) / fps
    chars = sum(map(len, lines))
    return span <= constraints.max_duration and chars / constraints.max_cps <= span


def cue_of_each_word(cues):
    owner = []
    for number, cue in enumerate(cues):
        owner += [number] * len(cue.text.replace("- ", "").split())
    return owner


# The measured counts (per rule) of the cues of each programme; see README.md for the
# same programmes cut by the previous splitter.
PROGRAMMES = {
    # seed, pace, hesitation, between; counts expected besides one_word/mid_sentence
    "steady": (1, 1.0, 0.15, 0.5, {}),
    # "Het weer." (0.52 s of speech) sits between a cue at the reading-speed limit and
    # one with time to spare, 0.08 s and 0.13 s away: it reaches 1 s only because
    # the next cue starts 4 frames after its first word (max_delay)
    "fast, short pauses": (2, 0.8, 0.2, 0.3, {}),
    "slow, long pauses": (3, 1.2, 0.1, 1.0, {}),
}


@pytest.mark.parametrize("name", list(PROGRAMMES))
def test_programme_cues_pass_a_subtitler(name):
    seed, pace, hesitation, between, expected = PROGRAMMES[name]
    words, sentences = programme(seed, pace=pace, hesitation=hesitation, between=between)
    assert words[-1].end > 170  # about three minutes
    constraints = CueConstraints()
    cues = split_into_cues(words, constraints)
    report = quality_report(cues, constraints, duration=words[-1].end + 1.0)
    found = counts(report)
    # every limit holds, every time is on the 25 fps grid and gaps are >= 2 frames,
    # no one-word cue could have joined a neighbour, no sentence that fits one cue
    # is cut
    rest = {k: v for k, v in found.items() if k not in ("one_word", "mid_sentence")}
    assert rest == expected, report["rules"]
    assert found.get("one_word_mergeable", 0) == 0
    assert all(round(c.start * 25, 6).is_integer() and round(c.end * 25, 6).is_integer()
               for c in cues)  # fmt: skip
    assert min(b.start - a.end for a, b in zip(cues, cues[1:])) >= 0.08 - 1e-9
    # the same from the words: a sentence that fits one cue is in one cue
    owner = cue_of_each_word(cues)
    fitting = [s for s in sentences if sentence_fits(words[s[0] : s[1]], constraints)]
    assert len(fitting) > len(sentences) / 2
    for first, last in fitting:
        assert owner[first] == owner[last - 1], [w.text for w in words[first:last]]
    # the cues that end mid-sentence all belong to sentences too long for one cue
    for first, last in sentences:
        if owner[first] != owner[last - 1]:
            assert (first, last) not in fitting
    # no cue stays up much longer than its words plus the reading time of its text,
    # none starts more than max_delay after its first word
    for cue, number in zip(cues, range(len(cues))):
        spoken = [w for w, o in zip(words, owner) if o == number]
        assert cue.start <= spoken[0].start + constraints.max_delay + 1e-9
        reading = max(constraints.min_duration, len(cue.text) / constraints.max_cps)
        assert cue.end <= max(spoken[-1].end, cue.start + reading) + 0.04 + 1e-9


def test_pause_inside_a_short_sentence_does_not_split_it():
    # "Dank" | "u wel." was the old cut: a 1.8 s hesitation inside a short sentence
    words = [Word("Dank", 10.0, 10.3), Word("u", 12.1, 12.2), Word("wel.", 12.25, 12.6)]
    words += [Word(w, 13.5 + 0.35 * k, 13.8 + 0.35 * k) for k, w in enumerate(
        "Het kabinet wil de huren volgend jaar bevriezen, maar de verhuurders zijn "
        "daar niet blij mee.".split())]  # fmt: skip
    cues = split_into_cues(words)
    assert cues[0].lines == ["Dank u wel."]
    assert (cues[0].start, cues[0].end) == (10.0, 12.6)
    # so does a pause above max_pause (2 s): inside a sentence only the limits cut
    late = [Word("Dank", 10.0, 10.3), Word("u", 12.5, 12.6), Word("wel.", 12.65, 13.0)]
    assert [c.text for c in split_into_cues(late)] == ["Dank u wel."]
    late[1:] = [Word("u", 16.5, 16.6), Word("wel.", 16.65, 17.1)]  # 7.1 s: over max_duration
    assert [c.text for c in split_into_cues(late)] == ["Dank", "u wel."]
    # after a sentence end it does cut, and check does not call that mergeable
    # (check sees only cue times: the first cue stays up 1 s, so the gap it sees is 1.2 s
    # shorter than the silence)
    apart = [Word("Dank.", 10.0, 10.3), Word("Ja.", 12.5, 12.6)]
    assert [c.text for c in split_into_cues(apart)] == ["Dank.", "Ja."]
    apart[1:] = [Word("Ja.", 13.5, 13.6)]
    cues = split_into_cues(apart)
    assert [c.text for c in cues] == ["Dank.", "Ja."]
    assert counts(quality_report(cues)) == {"one_word": 2}
    assert counts(quality_report(cues, max_pause=3.0)) == {"one_word": 2, "one_word_mergeable": 2}


@pytest.mark.parametrize("fps, gap_too_small", [(25, 1), (50, 0), (0, 1)])
def test_check_minimum_gap_is_two_frames_of_fps(tmp_path, capsys, fps, gap_too_small):
    """Issue #22: `check --fps 50` used a fixed 0.08 s gap though help says "2 frames".
    Two cues 0.06 s apart: 3 frames at 50 fps (kept), 1.5 frames at 25 fps (too small);
    without a frame grid (--fps 0) the gap is 2 frames at 25 fps."""
    path = tmp_path / "two.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:02,500\nEerste zin.\n\n"
        "2\n00:00:02,560 --> 00:00:04,000\nTweede zin.\n",
        encoding="utf-8",
    )
    assert cli_main(["check", str(path), "--fps", str(fps), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rules"]["gap_too_small"]["count"] == gap_too_small


def test_check_refuses_a_vtt_with_a_malformed_timing(tmp_path, capsys):
    """Issue #22: webvtt-py dropped the broken cue and `check` reported `1 cue(s)`, rc 0."""
    path = tmp_path / "broken.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:xx.000 --> 00:00:02.000\nKapot.\n\n"
        "00:00:03.000 --> 00:00:04.000\nGoed.\n",
        encoding="utf-8",
    )
    assert cli_main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and "line 3" in err
    assert err.count("\n") == 1
    good = tmp_path / "good.vtt"
    good.write_text("WEBVTT\n\n00:03.000 --> 00:04.000 align:start\nGoed.\n", encoding="utf-8")
    assert [c.lines for c in read_cues(good)] == [["Goed."]]
