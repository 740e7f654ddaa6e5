"""Tests for speechbrain_subtitle.subtitles (cue splitting, line breaking, writers)."""

import io
import math
import os
from datetime import timedelta

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from speechbrain_subtitle.subtitles import (
    DUTCH_BREAK_WORDS,
    Cue,
    CueConstraints,
    Word,
    break_lines,
    check_cues,
    split_into_cues,
    spoken_end,
    to_srt,
    to_text,
    to_vtt,
    write_srt,
    write_vtt,
)

EPS = 1e-6
# Cue times are whole milliseconds (starts rounded down, ends up, gaps up):
# compared to the float times of the words they may differ by this much.
MS = 0.002
PROPERTY = settings(max_examples=200, deadline=None, database=None)

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def timed(text, start=0.5, duration=0.3, gap=0.05, pause_after=(), pause=1.0, speaker=None):
    """Words of ``text`` spoken one after the other; a pause after the given indices."""
    words = []
    t = start
    for k, token in enumerate(text.split()):
        words.append(Word(token, round(t, 3), round(t + duration, 3), speaker))
        t += duration + gap
        if k in pause_after:
            t += pause
    return words


def kinds(problems):
    """The kinds of violation named in check_cues messages."""
    names = (
        "no text",
        "invalid time",
        "ends before it starts",
        "too many lines",
        "line too long",
        "too fast",
        "too short",
        "shown too long",
        "out of order",
        "overlap",
        "gap too small",
    )
    return {name for problem in problems for name in names if f": {name}" in problem}


def word_ranges(cues, words):
    """Maps each cue to the (first, last) indices of its words; checks words are whole."""
    ranges = []
    position = 0
    for cue in cues:
        first = position
        for line in cue.lines:
            tokens = line.removeprefix("- ").split(" ")
            for token in tokens:
                assert token == words[position].text, (token, words[position].text)
                position += 1
        ranges.append((first, position - 1))
    assert position == len(words)
    return ranges


def on_grid(seconds, fps):
    """Whether a time is on the frame grid (to the millisecond), or whole ms without fps."""
    if not fps:
        return seconds * 1000 == pytest.approx(round(seconds * 1000), abs=1e-6)
    frame = round(seconds * fps)
    return abs(seconds - round(frame * 1000 / fps) / 1000) < 1e-6


def assert_well_formed(cues, words, constraints):
    """Checks the properties every output has, however fast the speech."""
    # The splitter times cues by the words' spoken ends (a word held much longer
    # than its characters need ends early): check against those.
    words = [Word(w.text, w.start, spoken_end(w.text, w.start, w.end, constraints)) for w in words]
    # Word times are snapped outwards to the frame grid (up to a frame each
    # way) and gaps rounded up to whole frames.
    MS = 0.002 + (2 / constraints.fps if constraints.fps else 0.0)
    ranges = word_ranges(cues, words)
    for index, (cue, (first, last)) in enumerate(zip(cues, ranges)):
        assert 1 <= len(cue.lines) <= constraints.max_lines
        for line in cue.lines:
            assert line and line == line.strip()
            if len(line.split()) > 1:
                assert len(line) <= constraints.max_chars_per_line, cue.lines
        # times are whole milliseconds, on the frame grid when there is one
        assert on_grid(cue.start, constraints.fps) and on_grid(cue.end, constraints.fps)
        assert 0 < cue.duration <= constraints.max_duration + EPS
        # covers its words, within max_lead
        assert words[first].start - constraints.max_lead - MS <= cue.start
        # a cue starts at its first word, unless it must wait for min_gap after
        # the cue before (when that one ends less than min_gap before the word)
        earliest = cues[index - 1].end + constraints.min_gap if index else 0.0
        assert cue.start <= max(words[first].start, earliest) + MS
        last_end = max(word.end for word in words[first : last + 1])
        assert cue.end <= last_end + constraints.max_lead + MS
        if index + 1 < len(cues):
            # it ends before its last word only to make room for the next cue (which
            # may start before its first word when this one can spare the time)
            next_start = min(words[ranges[index + 1][0]].start, cues[index + 1].start)
            assert cue.end >= min(last_end, next_start - constraints.min_gap) - MS
            assert cue.end > words[last].start - MS
            assert cues[index + 1].start > cue.start
            # whole frames of gap; frame times at e.g. 29.97 fps are written in whole
            # milliseconds, which can shave up to 1 ms off the gap
            rounding = 0.001 if constraints.fps else 0.0
            assert cues[index + 1].start - cue.end >= constraints.min_gap - EPS - rounding
        else:
            # a frame time (e.g. 14/24 s) is written to the nearest millisecond
            assert cue.end >= last_end - EPS - (0.0005 if constraints.fps else 0.0)
        # never up much longer than its speech and what reading its text needs
        chars = sum(len(line) for line in cue.lines)
        needed = max(constraints.min_duration, chars / constraints.max_cps)
        assert cue.end <= max(last_end, cue.start + needed) + MS
    problems = check_cues(cues, constraints)
    assert not kinds(problems) & {
        "no text",
        "invalid time",
        "ends before it starts",
        "too many lines",
        "shown too long",
        "out of order",
        "overlap",
        "gap too small",
    }, problems
    for problem in problems:
        if "line too long" in problem:
            assert "(a single word)" in problem


# --------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------


def test_constraints_defaults():
    constraints = CueConstraints()
    assert constraints.max_chars_per_line == 42
    assert constraints.max_lines == 2
    assert constraints.max_cps == 17.0
    assert constraints.min_duration == 1.0
    assert constraints.max_duration == 7.0
    assert constraints.min_gap == 0.08  # two frames at 25 fps
    assert constraints.max_lead == 1.5
    assert constraints.max_delay == 0.2  # five frames at 25 fps
    assert constraints.fps == 25.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_chars_per_line": 0},
        {"max_chars_per_line": 41.5},
        {"max_chars_per_line": True},
        {"max_lines": 0},
        {"max_lines": "2"},
        {"max_cps": 0},
        {"max_cps": -1.0},
        {"max_cps": math.inf},
        {"min_duration": -0.1},
        {"min_duration": math.nan},
        {"max_duration": 0},
        {"min_duration": 3.0, "max_duration": 2.0},
        {"min_gap": -0.01},
        {"max_lead": -1},
        {"max_lead": None},
        {"fps": -25},
        {"fps": 0.5},
        {"fps": math.nan},
    ],
)
def test_constraints_reject_invalid_values(kwargs):
    with pytest.raises(ValueError):
        CueConstraints(**kwargs)


def test_invalid_words_and_options_are_rejected():
    with pytest.raises(ValueError, match="invalid time"):
        split_into_cues([Word("a", -1.0, 0.5)])
    with pytest.raises(ValueError, match="invalid time"):
        split_into_cues([Word("a", 0.0, math.nan)])
    with pytest.raises(ValueError, match="not a number"):
        split_into_cues([Word("a", "0", 1.0)])
    with pytest.raises(ValueError, match="long_pause"):
        split_into_cues([Word("a", 0.0, 1.0)], long_pause=-1)
    with pytest.raises(ValueError, match="max_pause"):
        split_into_cues([Word("a", 0.0, 1.0)], max_pause=math.inf)
    with pytest.raises(ValueError):
        break_lines(["a"], max_chars=0)
    with pytest.raises(ValueError):
        break_lines(["a"], max_lines=0)


# --------------------------------------------------------------------------
# Line breaking
# --------------------------------------------------------------------------


def test_break_lines_keeps_short_text_on_one_line():
    assert break_lines("Dit past op een regel.".split()) == ["Dit past op een regel."]
    assert break_lines([]) == []


def test_break_lines_prefers_punctuation():
    # after the comma rather than before "van" or the most balanced break
    words = "De treinen rijden weer, zei de woordvoerder van de spoorwegen".split()
    assert break_lines(words) == [
        "De treinen rijden weer,",
        "zei de woordvoerder van de spoorwegen",
    ]
    words = "Ze kwam te laat. Haar trein had flinke vertraging gehad".split()
    assert break_lines(words) == ["Ze kwam te laat.", "Haar trein had flinke vertraging gehad"]


def test_break_lines_prefers_a_break_word_to_balance():
    words = "Ze maakten samen een hele lange wandeling door het bos".split()
    assert break_lines(words) == ["Ze maakten samen een hele lange wandeling", "door het bos"]
    words = "De minister reageerde erg verrast omdat niemand haar had ingelicht".split()
    assert break_lines(words) == [
        "De minister reageerde erg verrast",
        "omdat niemand haar had ingelicht",
    ]


def test_break_lines_balances_when_nothing_else_helps():
    words = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii".split()
    # 19 + 24 characters: the lower line is the longer one
    assert break_lines(words, max_chars=30) == ["aaaa bbbb cccc dddd", "eeee ffff gggg hhhh iiii"]
    words = "Op het plein stonden duizenden mensen te wachten op de koning".split()
    assert break_lines(words) == [
        "Op het plein stonden duizenden",
        "mensen te wachten op de koning",
    ]


def test_break_lines_never_splits_a_name_when_another_break_fits():
    # the most balanced break ("Kevin | Vandenbroucke") falls inside the name
    words = "Vanmiddag verloor Kevin Vandenbroucke opnieuw".split()
    assert break_lines(words) == ["Vanmiddag verloor", "Kevin Vandenbroucke opnieuw"]
    words = "Het kabinet wil dat Jan Peeters voorzitter wordt van de commissie".split()
    assert break_lines(words) == [
        "Het kabinet wil dat Jan Peeters",
        "voorzitter wordt van de commissie",
    ]
    # a particle inside the name holds it together too
    words = "Het rapport van professor Jan de Vries werd gisteren voorgesteld".split()
    for max_chars in range(38, 43):
        lines = break_lines(words, max_chars=max_chars)
        assert any("Jan de Vries" in line for line in lines), lines
    # a capital after a sentence end does not continue a name
    words = "Dat zei Peeters. Vandaag volgt er meer nieuws".split()
    assert break_lines(words, max_chars=30) == ["Dat zei Peeters.", "Vandaag volgt er meer nieuws"]


def test_break_lines_splits_a_name_only_when_nothing_else_fits():
    lines = break_lines(["Annemarie", "Vandenbroucke"], max_chars=15)
    assert lines == ["Annemarie", "Vandenbroucke"]


def test_break_lines_overflow_falls_back_to_greedy_lines():
    long_word = "arbeidsongeschiktheidsverzekeringsmaatschappijen"
    assert len(long_word) > 42
    assert break_lines(["De", long_word, "betaalt."]) == ["De", long_word, "betaalt."]
    lines = break_lines(["woord"] * 30, max_chars=20, max_lines=2)
    assert len(lines) > 2 and all(len(line) <= 20 for line in lines)
    assert " ".join(lines) == " ".join(["woord"] * 30)


def test_break_lines_uses_more_lines_when_allowed():
    words = (
        "een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien"
    ).split()
    lines = break_lines(words, max_chars=30, max_lines=3)
    assert len(lines) == 3
    assert all(len(line) <= 30 for line in lines)
    assert " ".join(lines) == " ".join(words)


LINE_WORDS = ["de", "Jan", "Peeters", "nieuws.", "en", "maar", "kwam", "vandaag,", "gisteren"]


@PROPERTY
@given(
    # no name particles ("de"): a name here is two capitalized words in a row
    st.lists(st.sampled_from([w for w in LINE_WORDS if w != "de"] + ["het"]), min_size=2),
    st.integers(min_value=8, max_value=50),
)
def test_break_lines_two_lines_property(words, max_chars):
    """Of the breaks that fit, a name is never split and punctuation is preferred."""

    def fits(k):
        return max(len(" ".join(words[:k])), len(" ".join(words[k:]))) <= max_chars

    def in_name(k):
        return words[k - 1] in ("Jan", "Peeters") and words[k] in ("Jan", "Peeters")

    def after_punctuation(k):
        return words[k - 1][-1] in ".,"

    def before_break_word(k):
        # and not after one, or after an article
        dangling = words[k - 1] in DUTCH_BREAK_WORDS or words[k - 1] == "het"
        return words[k] in DUTCH_BREAK_WORDS and not dangling

    valid = [k for k in range(1, len(words)) if fits(k)]
    lines = break_lines(words, max_chars, 2)
    if len(" ".join(words)) <= max_chars or not valid:
        return
    assert len(lines) == 2
    chosen = len(lines[0].split())
    assert chosen in valid
    if any(not in_name(k) for k in valid):
        assert not in_name(chosen)
    if any(after_punctuation(k) for k in valid):
        assert after_punctuation(chosen) or before_break_word(chosen)
    elif any(before_break_word(k) and not in_name(k) for k in valid):
        assert before_break_word(chosen)


@PROPERTY
@given(
    st.lists(st.sampled_from(LINE_WORDS)),
    st.integers(min_value=8, max_value=50),
    st.integers(min_value=1, max_value=4),
)
def test_break_lines_property(words, max_chars, max_lines):
    lines = break_lines(words, max_chars, max_lines)
    assert " ".join(lines) == " ".join(words)
    fits = len(lines) <= max_lines and all(len(line) <= max_chars for line in lines)
    if len(" ".join(words)) <= max_chars:
        assert len(lines) <= 1
    if fits:
        return
    # the greedy fallback is only used when the words really cannot fit
    greedy = []
    for word in words:
        if greedy and len(greedy[-1]) + 1 + len(word) <= max_chars:
            greedy[-1] += " " + word
        else:
            greedy.append(word)
    assert len(greedy) > max_lines or any(len(word) > max_chars for word in words)


# --------------------------------------------------------------------------
# Splitting: examples
# --------------------------------------------------------------------------

NEWS = (
    "Goedenavond, dit is het journaal. Het kabinet wil de huren volgend jaar bevriezen, "
    "maar de verhuurders zijn daar niet blij mee. Zij vrezen voor hun inkomsten."
)


def test_realistic_dutch_example():
    words = timed(NEWS, start=0.5, duration=0.3, gap=0.05, pause_after={4, 20}, pause=0.8)
    assert len(words) == 26
    constraints = CueConstraints()
    cues = split_into_cues(words)
    assert check_cues(cues, constraints) == []
    assert_well_formed(cues, words, constraints)
    # all words, in order
    assert " ".join(cue.text for cue in cues) == " ".join(word.text for word in words)
    # every cue ends at a sentence end or a comma
    for cue in cues:
        assert cue.lines[-1][-1] in ".,", cue.lines
    assert [cue.lines for cue in cues] == [
        ["Goedenavond, dit is het journaal."],
        ["Het kabinet wil de huren", "volgend jaar bevriezen,"],
        ["maar de verhuurders", "zijn daar niet blij mee."],
        ["Zij vrezen voor hun inkomsten."],
    ]


def test_empty_input():
    assert split_into_cues([]) == []
    assert split_into_cues([Word("  ", 0.0, 1.0)]) == []
    assert check_cues([]) == []
    assert to_srt([]) == ""
    assert to_text([]) == ""
    assert webvtt.from_string(to_vtt([])).captions == []


def test_sentence_end_and_pause_are_preferred_boundaries():
    words = timed(
        "Het water stijgt snel in de hele regio en de dijken worden extra bewaakt door "
        "honderden vrijwilligers uit de buurt",
        pause_after={7},
        pause=1.0,
    )
    cues = split_into_cues(words)
    assert len(cues) == 2
    assert cues[0].text == "Het water stijgt snel in de hele regio"
    assert check_cues(cues) == []


def test_long_pause_after_a_sentence_always_ends_a_cue():
    words = [Word("Ja.", 0.0, 0.3), Word("Nee.", 2.5, 2.8)]
    assert len(split_into_cues(words)) == 2
    assert len(split_into_cues(words, max_pause=None)) == 1
    assert (
        len(split_into_cues(words, max_pause=None, constraints=CueConstraints(max_duration=2))) == 2
    )
    # also at a change of speaker
    words = [Word("ja", 0.0, 0.3, "A"), Word("nee", 2.5, 2.8, "B")]
    assert len(split_into_cues(words)) == 2
    # inside a sentence only the limits cut
    words = [Word("Ja", 0.0, 0.3), Word("nee.", 2.5, 2.8)]
    assert [c.text for c in split_into_cues(words)] == ["Ja nee."]
    assert len(split_into_cues(words, CueConstraints(max_duration=2))) == 2


def test_cue_words_span_at_most_max_duration():
    words = timed(" ".join(["ja"] * 40), duration=0.25, gap=0.0)
    constraints = CueConstraints(max_duration=3.0)
    cues = split_into_cues(words, constraints)
    assert_well_formed(cues, words, constraints)
    assert len(cues) >= 4


def test_short_cue_is_extended_into_silence():
    cues = split_into_cues([Word("Ja.", 1.0, 1.2), Word("Goed.", 5.0, 5.3)])
    assert [(cue.start, cue.end) for cue in cues] == [(1.0, 2.0), (5.0, 6.0)]
    # without a frame grid, the minimum is kept to the millisecond
    plain = CueConstraints(min_duration=5 / 6, fps=0)
    cues = split_into_cues([Word("Ja.", 1.0, 1.2), Word("Goed.", 5.0, 5.3)], plain)
    assert [(cue.start, cue.end) for cue in cues] == [(1.0, 1.834), (5.0, 5.834)]


def test_fast_cue_is_extended_then_shown_earlier():
    # 31 characters need 1.824 s (46 frames at 25 fps: 1.84 s); only 0.5 s of
    # silence follows, 1 s precedes
    words = timed("Goedenavond, dit is het nieuws.", start=1.0, duration=0.2, gap=0.0)
    words += timed("Het kabinet heeft vandaag een nieuw plan gepresenteerd.", start=2.5)
    cues = split_into_cues(words)
    assert cues[0].text == "Goedenavond, dit is het nieuws."
    # the next cue starts on frame 62 (2.48 s); two frames before it
    assert cues[0].end == pytest.approx(2.4)
    assert cues[0].start == pytest.approx(cues[0].end - 1.84)
    assert check_cues(cues) == []
    plain = CueConstraints(min_gap=2 / 24, fps=0)
    cues = split_into_cues(words, plain)
    assert cues[0].end == pytest.approx(2.5 - 0.084)
    assert cues[0].start == pytest.approx(cues[0].end - 1.824)
    assert check_cues(cues, plain) == []


def test_next_cue_starts_later_when_only_that_gives_the_minimum_duration():
    # "Het weer." lasts 0.8 s, follows a cue at the reading-speed limit at once
    # (nothing to borrow before it) and is followed after 0.1 s by a slow cue with
    # time to spare: the slow cue starts max_delay at most after its first word
    words = timed("De oppositie noemt het plan onbetaalbaar en vraagt een debat in het "
                  "parlement.", start=0.0, duration=0.36, gap=0.0)  # fmt: skip
    words += timed("Het weer.", start=words[-1].end + 0.04, duration=0.4, gap=0.0)
    slow_start = words[-1].end + 0.1
    slow = "Het blijft de hele dag droog en zonnig met temperaturen tot twintig graden."
    words += timed(slow, start=slow_start, duration=0.45, gap=0.0)
    constraints = CueConstraints(max_lead=0.3)
    cues = split_into_cues(words, constraints)
    assert [c.text for c in cues][1:] == ["Het weer.", slow]
    assert cues[1].duration == pytest.approx(1.0)
    assert 0 < cues[2].start - slow_start <= 0.2 + 1e-9
    assert not kinds(check_cues(cues, constraints)) & {"too short"}
    # without the allowance the cue stays short and is reported
    strict = CueConstraints(max_lead=0.3, max_delay=0.0)
    cues = split_into_cues(words, strict)
    assert cues[1].duration < 1.0
    assert cues[2].start == pytest.approx(round(slow_start * 25) / 25, abs=0.041)
    assert "too short" in kinds(check_cues(cues, strict))
    # a next cue that needs all of its own time does not move
    words[-13:] = timed(slow, start=slow_start, duration=0.3, gap=0.0)
    cues = split_into_cues(words, constraints)
    assert cues[2].start <= slow_start + 1e-9
    assert "too short" in kinds(check_cues(cues, constraints))


def test_unavoidably_fast_speech_is_kept_and_reported():
    text = "dit is een heel erg snelle spreker die geen enkele pauze neemt tussen de woorden"
    words = timed(text, start=0.0, duration=0.1, gap=0.0)
    cues = split_into_cues(words)
    assert " ".join(cue.text for cue in cues) == text
    assert "too fast" in kinds(check_cues(cues))
    assert_well_formed(cues, words, CueConstraints())


def test_overlong_word_becomes_its_own_cue():
    long_word = "arbeidsongeschiktheidsverzekeringsmaatschappijen"
    words = timed(f"De {long_word} betaalt niet uit.", gap=0.1)
    cues = split_into_cues(words)
    assert [cue.lines for cue in cues] == [["De"], [long_word], ["betaalt niet uit."]]
    problems = check_cues(cues)
    assert any("line too long" in p and "(a single word)" in p for p in problems)


def test_overlapping_and_unordered_word_times_are_clipped():
    words = [
        Word("Eerst", 1.0, 2.0),
        Word("dit.", 1.5, 1.2),  # ends before it starts
        Word("Dan", 1.4, 1.6),  # starts before the previous word
        Word("dat.", 1.4, 1.4),
    ]
    cues = split_into_cues(words, CueConstraints(max_chars_per_line=10, max_lines=1))
    assert " ".join(cue.text for cue in cues) == "Eerst dit. Dan dat."
    assert not kinds(check_cues(cues)) & {"overlap", "out of order", "gap too small"}
    starts = [cue.start for cue in cues]
    assert starts == sorted(starts)


def test_identical_times_are_spread_out():
    words = [Word("woord", 0.0, 0.0) for _ in range(30)]
    cues = split_into_cues(words, CueConstraints(max_chars_per_line=10, max_lines=1))
    assert sum(len(cue.text.split()) for cue in cues) == 30
    assert not kinds(check_cues(cues)) & {"overlap", "out of order", "gap too small"}


def test_accepts_other_word_objects():
    class Token:
        def __init__(self, text, start, end):
            self.text, self.start, self.end = text, start, end

    cues = split_into_cues([Token("Hallo.", 0.0, 0.5)])
    assert cues == [Cue(0.0, 1.0, ["Hallo."])]


def test_custom_break_words():
    words = timed("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda")
    constraints = CueConstraints(max_chars_per_line=46)
    lines_default = split_into_cues(words, constraints)[0].lines
    lines_custom = split_into_cues(words, constraints, {"iota"})[0].lines
    assert lines_custom[1].startswith("iota")
    assert lines_default != lines_custom


# --------------------------------------------------------------------------
# Speakers
# --------------------------------------------------------------------------


def test_speaker_change_uses_dashes():
    words = timed("Hoe gaat het met je?", speaker="A") + timed(
        "Heel goed, dank je.", start=2.5, speaker="B"
    )
    cues = split_into_cues(words)
    assert [cue.lines for cue in cues] == [["- Hoe gaat het met je?", "- Heel goed, dank je."]]
    assert check_cues(cues) == []


def test_unknown_speaker_continues_the_previous_one():
    words = [
        Word("Kom", 0.0, 0.3, "A"),
        Word("je", 0.3, 0.5, None),
        Word("ook?", 0.5, 0.8, None),
        Word("Ja.", 1.2, 1.5, "B"),
    ]
    assert split_into_cues(words)[0].lines == ["- Kom je ook?", "- Ja."]
    # no speakers at all: no dashes
    plain = [Word(w.text, w.start, w.end) for w in words]
    assert split_into_cues(plain)[0].lines == ["Kom je ook? Ja."]


def test_speaker_change_ends_a_cue_when_the_dialogue_does_not_fit():
    first = timed("Wat vond u van de voorstelling van gisteravond in de schouwburg?", speaker="A")
    second = timed("Ik vond het prachtig.", start=first[-1].end + 0.1, speaker="B")
    cues = split_into_cues(first + second)
    assert [cue.text for cue in cues] == [
        " ".join(w.text for w in first),
        " ".join(w.text for w in second),
    ]
    assert not any(line.startswith("- ") for cue in cues for line in cue.lines)


def test_two_speaker_changes_never_share_a_cue():
    words = [
        Word("Ja?", 0.0, 0.3, "A"),
        Word("Nee.", 0.4, 0.7, "B"),
        Word("Toch.", 0.8, 1.1, "A"),
    ]
    cues = split_into_cues(words)
    assert len(cues) == 2
    assert all(len(cue.lines) <= 2 for cue in cues)
    one_line = split_into_cues(words[:2], CueConstraints(max_lines=1))
    assert [cue.lines for cue in one_line] == [["Ja?"], ["Nee."]]


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["Ja.", "nee", "goed,", "dank", "je"]),
                          st.sampled_from(["A", "B", None])), max_size=40))  # fmt: skip
def test_speakers_property(items):
    words = []
    t = 0.0
    for text, speaker in items:
        words.append(Word(text, t, t + 0.3, speaker))
        t += 0.4
    cues = split_into_cues(words)
    assert_well_formed(cues, words, CueConstraints())
    # who speaks each word (unknown: the speaker before)
    speakers = []
    for word in words:
        speakers.append(word.speaker or (speakers[-1] if speakers else None))
    position = 0
    for cue in cues:
        per_line = []
        for line in cue.lines:
            count = len(line.removeprefix("- ").split())
            per_line.append(set(speakers[position : position + count]))
            position += count
        if all(line.startswith("- ") for line in cue.lines):
            # a dialogue: one line per speaker
            assert len(cue.lines) == 2
            assert len(per_line[0]) == len(per_line[1]) == 1 and per_line[0] != per_line[1]
        else:
            assert not any(line.startswith("- ") for line in cue.lines)
            assert len(set().union(*per_line)) == 1


# --------------------------------------------------------------------------
# Splitting: properties
# --------------------------------------------------------------------------

VOCABULARY = [
    "de", "het", "een", "en", "of", "maar", "dat", "die", "met", "voor", "van", "in",
    "op", "naar", "omdat", "regering", "minister", "nieuws.", "vandaag,", "gisteren",
    "Amsterdam", "Jan", "Peeters", "zei:", "goed.", "Waarom?", "mensen", "jaar",
    "belastingen", "zonder", "tot", "wordt", "veel", "klein", "a", "Nederland.",
    "verkiezingen;", "Echt!", "weer…", "iedereen", "ziekenhuisopnames", "vertegenwoordigers",
]  # fmt: skip
LONG_WORDS = [
    "arbeidsongeschiktheidsverzekeringsmaatschappijen",
    "kindercarnavalsoptochtvoorbereidingswerkzaamheden,",
]


def word_streams(rate=None):
    """Random word streams; with ``rate``, no faster than ``rate`` characters per second."""
    word = st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(LONG_WORDS))
    if rate is not None:
        word = st.sampled_from(VOCABULARY)
    token = st.tuples(
        word,
        st.floats(min_value=0.1, max_value=0.6),
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=2.0)),
    )

    def build(tokens):
        words = []
        t = 0.25
        for text, duration, gap in tokens:
            if rate is not None:
                duration = max(duration, (len(text) + 1) / rate)
            words.append(Word(text, t, t + duration))
            t += duration + gap
        return words

    return st.lists(token, max_size=60).map(build)


constraints_strategy = st.builds(
    CueConstraints,
    max_chars_per_line=st.integers(min_value=12, max_value=50),
    max_lines=st.integers(min_value=1, max_value=3),
    max_cps=st.floats(min_value=10, max_value=25),
    min_duration=st.floats(min_value=0.5, max_value=1.5),
    max_duration=st.floats(min_value=3.0, max_value=8.0),
    # at most the shortest word: a cue whose words last less than min_gap and
    # are followed at once by the next cue pushes that cue a little later
    min_gap=st.floats(min_value=0.0, max_value=0.1),
    max_lead=st.floats(min_value=0.0, max_value=2.0),
    fps=st.sampled_from([0, 24, 25, 30000 / 1001, 50]),
)


@PROPERTY
@given(word_streams())
def test_split_property_default_constraints(words):
    constraints = CueConstraints(max_lead=0.3)
    cues = split_into_cues(words, constraints)
    assert_well_formed(cues, words, constraints)


@PROPERTY
@given(word_streams(), constraints_strategy)
def test_split_property_any_constraints(words, constraints):
    cues = split_into_cues(words, constraints)
    assert_well_formed(cues, words, constraints)


@PROPERTY
@given(word_streams(rate=12.0))
def test_split_property_slow_speech_is_readable(words):
    constraints = CueConstraints(max_lead=0.3)
    cues = split_into_cues(words, constraints)
    assert_well_formed(cues, words, constraints)
    problems = check_cues(cues, constraints)
    assert "too fast" not in kinds(problems), problems


@PROPERTY
@given(word_streams(rate=12.0).filter(lambda words: len(words) >= 1))
def test_split_property_min_duration_with_pauses(words):
    # every word is followed by a pause long enough to extend a short cue
    spaced = []
    t = 0.0
    for word in words:
        duration = word.end - word.start
        spaced.append(Word(word.text, t, t + duration))
        t += duration + 1.0
    cues = split_into_cues(spaced)
    problems = check_cues(cues)
    assert not kinds(problems) & {"too fast", "too short"}, problems


# --------------------------------------------------------------------------
# check_cues
# --------------------------------------------------------------------------


def test_check_cues_reports_each_kind():
    constraints = CueConstraints(max_lead=0.3)
    cues = [
        Cue(0.0, 1.0, ["a" * 43]),
        Cue(0.5, 9.0, ["een", "twee", "drie"]),
        Cue(0.2, 0.3, ["x"]),
        Cue(0.35, 1.3, ["ok"]),
        Cue(12.0, 11.0, []),
    ]
    problems = check_cues(cues, constraints)
    assert kinds(problems) == {
        "line too long",
        "too fast",
        "overlap",
        "too many lines",
        "shown too long",
        "out of order",
        "too short",
        "gap too small",
        "no text",
        "ends before it starts",
    }
    assert problems[0].startswith("cue 1 (00:00:00.000 --> 00:00:01.000): line too long")
    assert kinds(check_cues([Cue(math.nan, 1.0, ["a"]), Cue(-1.0, 1.0, ["b"])])) >= {"invalid time"}


def test_check_cues_accepts_millisecond_rounding():
    # 83 ms is two frames at 24 fps rounded to the millisecond
    cues = [Cue(0.0, 1.0, ["Goed."]), Cue(1.083, 2.1, ["Ja."])]
    assert check_cues(cues, CueConstraints(min_gap=2 / 24, fps=24)) == []


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------

SAMPLE = [
    Cue(0.5, 2.324, ["Goedenavond,", "dit is het journaal."]),
    Cue(2.408, 5.0, ["- Café & bar <open>?", "- Ja --> tot één uur."]),
    Cue(3725.25, 3727.001, ["Eén uur later."]),
]


def test_srt_round_trip():
    text = to_srt(SAMPLE)
    parsed = list(srt.parse(text))
    assert [s.index for s in parsed] == [1, 2, 3]
    for subtitle, cue in zip(parsed, SAMPLE):
        assert subtitle.start == timedelta(milliseconds=round(cue.start * 1000))
        assert subtitle.end == timedelta(milliseconds=round(cue.end * 1000))
        assert subtitle.content.split("\n") == cue.lines
    assert "01:02:05,250 --> 01:02:07,001" in text


def test_vtt_round_trip():
    text = to_vtt(SAMPLE)
    assert text.startswith("WEBVTT\n")
    vtt = webvtt.from_string(text)
    assert len(vtt.captions) == len(SAMPLE)
    unescape = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
    for caption, cue in zip(vtt.captions, SAMPLE):
        assert caption.start_time.in_milliseconds() == round(cue.start * 1000)
        assert caption.end_time.in_milliseconds() == round(cue.end * 1000)
        lines = caption.raw_text.split("\n")
        for escaped, plain in unescape.items():
            lines = [line.replace(escaped, plain) for line in lines]
        assert lines == cue.lines
    assert vtt.captions[2].start == "01:02:05.250"
    assert "&lt;open&gt;" in text and "Café &amp; bar" in text


def test_vtt_reads_back_from_file(tmp_path):
    path = tmp_path / "out.vtt"
    write_vtt(SAMPLE[:1], path)
    vtt = webvtt.read(str(path))
    assert [(c.start, c.end, c.text) for c in vtt.captions] == [
        ("00:00:00.500", "00:00:02.324", "Goedenavond,\ndit is het journaal.")
    ]
    assert path.read_text(encoding="utf-8") == to_vtt(SAMPLE[:1])


def test_write_srt_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "nieuws.srt"
    path.write_text("oud", encoding="utf-8")
    write_srt(SAMPLE, path)
    assert path.read_bytes() == to_srt(SAMPLE).encode("utf-8")
    assert os.listdir(tmp_path) == ["nieuws.srt"]
    write_srt(SAMPLE[:1], str(path))
    assert path.read_text(encoding="utf-8") == to_srt(SAMPLE[:1])
    assert os.listdir(tmp_path) == ["nieuws.srt"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_write_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        new = tmp_path / "nieuw.srt"
        write_srt(SAMPLE, new)
        assert new.stat().st_mode & 0o777 == 0o644
        old = tmp_path / "oud.vtt"
        old.write_text("oud", encoding="utf-8")
        old.chmod(0o600)
        write_vtt(SAMPLE, old)
        assert old.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "nieuws.srt"
    path.write_text("oud", encoding="utf-8")
    with pytest.raises(ValueError):
        write_srt([Cue(1.0, 0.5, ["fout"])], path)
    with pytest.raises(ValueError):
        write_vtt([Cue(0.0, 1.0, [])], path)
    assert path.read_text(encoding="utf-8") == "oud"
    assert os.listdir(tmp_path) == ["nieuws.srt"]


def test_write_cleans_up_when_the_move_fails(tmp_path, monkeypatch):
    path = tmp_path / "nieuws.vtt"

    def fail(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_vtt(SAMPLE, path)
    assert os.listdir(tmp_path) == []


def test_writers_reject_invalid_cues():
    with pytest.raises(ValueError, match="no text"):
        to_srt([Cue(0.0, 1.0, ["", " "])])
    with pytest.raises(ValueError, match="invalid time"):
        to_vtt([Cue(-1.0, 1.0, ["a"])])
    with pytest.raises(ValueError, match="before it starts"):
        to_vtt([Cue(2.0, 1.0, ["a"])])


def test_to_text():
    assert to_text(SAMPLE[:1]) == "Goedenavond, dit is het journaal.\n"


@PROPERTY
@given(word_streams())
def test_writers_round_trip_split_output(words):
    cues = split_into_cues(words)
    parsed = list(srt.parse(to_srt(cues)))
    assert [
        (s.start.total_seconds(), s.end.total_seconds(), s.content.split("\n")) for s in parsed
    ] == [(cue.start, cue.end, cue.lines) for cue in cues]
    vtt = webvtt.from_buffer(io.StringIO(to_vtt(cues)))
    assert [
        (c.start_time.in_milliseconds(), c.end_time.in_milliseconds(), c.lines) for c in vtt
    ] == [(round(cue.start * 1000), round(cue.end * 1000), cue.lines) for cue in cues]


def test_a_word_held_across_a_pause_does_not_stretch_its_cue():
    # CTC alignments can hold a token through the silence after it: "u" timed 5 s.
    words = [Word("Dank", 0.0, 0.3), Word("u.", 0.35, 5.4), Word("Tot", 6.0, 6.2),
             Word("morgen.", 6.25, 6.8)]  # fmt: skip
    cues = split_into_cues(words)
    assert [c.text for c in cues][0] == "Dank u."
    assert cues[0].end <= 1.5  # shown for its reading time, not through the pause
    assert not kinds(check_cues(cues)) & {"too short", "too fast"}
    held = split_into_cues(words, CueConstraints(word_seconds_per_char=0))
    assert held[0].end >= 5.4  # the option off: the word's own time
    with pytest.raises(ValueError, match="word_seconds_per_char"):
        CueConstraints(word_seconds_per_char=-1)


def test_a_last_cue_ending_on_a_frame_between_milliseconds():
    # found by the property test: "de" from 1/12 s, spoken end 7/12 s = frame 14 at 24 fps,
    # written 0.583 (the nearest millisecond)
    words = [Word("de", 1 / 12, 1.0)]
    constraints = CueConstraints(
        max_chars_per_line=12, max_lines=1, max_cps=10.0, min_duration=1.0, max_duration=3.0,
        min_gap=0.0, max_lead=0.0, fps=24,
    )  # fmt: skip
    cues = split_into_cues(words, constraints)
    assert_well_formed(cues, words, constraints)
    assert [(c.start, c.end) for c in cues] == [(0.083, 0.583)]
