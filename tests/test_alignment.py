"""Tests for speechbrain_subtitle.alignment (CTC forced alignment, time transfer)."""

import logging
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from speechbrain_subtitle.alignment import (
    align_words,
    ctc_forced_align,
    match_forms,
    transfer_times,
    word_times,
)
from speechbrain_subtitle.subtitles import Word

EPS = 1e-9
PROPERTY = settings(max_examples=150, deadline=None, database=None)
W = "\u2581"  # SentencePiece word mark

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def random_log_probs(num_frames, vocab, seed):
    generator = torch.Generator().manual_seed(seed)
    return (2.0 * torch.randn(num_frames, vocab, generator=generator)).log_softmax(-1)


def random_tokens(length, vocab, seed, repeat_share=0.3):
    """Token ids in [1, vocab) with about ``repeat_share`` equal neighbours."""
    rng = np.random.default_rng(seed)
    tokens = [int(rng.integers(1, vocab))]
    while len(tokens) < length:
        tokens.append(tokens[-1] if rng.random() < repeat_share else int(rng.integers(1, vocab)))
    return tokens


def path_score(log_probs, tokens, spans, blank=0):
    """Log-probability of the CTC path given by token spans (blanks elsewhere)."""
    labels = torch.full((log_probs.shape[0],), blank, dtype=torch.long)
    for token, (first, last) in zip(tokens, spans):
        labels[first : last + 1] = token
    return log_probs.double().gather(1, labels[:, None]).sum().item()


def check_spans(spans, tokens, num_frames):
    """A valid CTC segmentation: one span per token, in order, inside the
    frames, and a gap between the spans of two equal neighbouring tokens."""
    assert len(spans) == len(tokens)
    previous_last, previous_token = -1, None
    for token, (first, last) in zip(tokens, spans):
        assert 0 <= first <= last < num_frames
        assert first > previous_last + (1 if token == previous_token else 0)
        previous_last, previous_token = last, token


def peaky(labels, vocab, low=-12.0):
    """Log-probabilities that put (almost) all mass on one label per frame."""
    log_probs = torch.full((len(labels), vocab), low)
    log_probs[torch.arange(len(labels)), torch.tensor(labels)] = 0.0
    return log_probs.log_softmax(-1)


def texts_and_times(words):
    return [(w.text, w.start, w.end) for w in words]


class FakePieces:
    """The two methods of a SentencePieceProcessor that align_words uses."""

    def __init__(self, pieces):
        self.table = ["<blank>", "<unk>", "<eos>", "<verbatim>", "<subtitle>", *pieces]

    def get_piece_size(self):
        return len(self.table)

    def id_to_piece(self, index):
        return self.table[index]


# --------------------------------------------------------------------------
# ctc_forced_align
# --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    "num_frames, length, vocab, seed",
    [
        (1, 1, 5, 0),
        (6, 3, 4, 1),
        (20, 8, 5, 2),  # small vocabulary: many repeats
        (50, 20, 30, 3),
        (120, 40, 12, 4),
        (400, 150, 200, 5),
        (375, 120, 5000, 6),
    ],
)
def test_viterbi_matches_torchaudio(num_frames, length, vocab, seed):
    functional = pytest.importorskip("torchaudio.functional")
    if not hasattr(functional, "forced_align"):
        pytest.skip("torchaudio has no forced_align")
    log_probs = random_log_probs(num_frames, vocab, seed)
    tokens = random_tokens(length, vocab, seed)
    repeats = sum(a == b for a, b in zip(tokens, tokens[1:]))
    if num_frames < length + repeats:
        tokens = tokens[: num_frames // 2] or tokens[:1]

    spans = ctc_forced_align(log_probs, tokens)

    labels, _ = functional.forced_align(
        log_probs[None], torch.tensor([tokens], dtype=torch.int32), blank=0
    )
    reference = [
        (span.start, span.end - 1)
        for span in functional.merge_tokens(labels[0], torch.zeros(num_frames), blank=0)
    ]
    check_spans(spans, tokens, num_frames)
    check_spans(reference, tokens, num_frames)
    ours, theirs = path_score(log_probs, tokens, spans), path_score(log_probs, tokens, reference)
    assert ours == pytest.approx(theirs, abs=1e-4)
    # With continuous random scores the best path is unique (no ties).
    assert spans == reference


def test_viterbi_is_optimal_on_tiny_inputs():
    """Against every CTC path, enumerated, for a few tiny cases."""
    import itertools

    for seed in range(6):
        log_probs = random_log_probs(5, 3, seed)
        tokens = [[1], [1, 2], [2, 2], [1, 1, 2]][seed % 4]
        best = -math.inf
        for labels in itertools.product(range(3), repeat=5):
            collapsed = [k for i, k in enumerate(labels) if k and (i == 0 or labels[i - 1] != k)]
            if collapsed == tokens:
                best = max(best, sum(log_probs[t, k].item() for t, k in enumerate(labels)))
        spans = ctc_forced_align(log_probs, tokens)
        check_spans(spans, tokens, 5)
        assert path_score(log_probs, tokens, spans) == pytest.approx(best, abs=1e-5)


def test_peaky_path_gives_its_exact_spans():
    # frame:  0  1  2  3  4  5  6  7  8  9 10 11 12
    labels = [0, 5, 5, 0, 6, 0, 0, 6, 7, 7, 7, 0, 0]
    spans = ctc_forced_align(peaky(labels, vocab=9), [5, 6, 6, 7])
    assert spans == [(1, 2), (4, 4), (7, 7), (8, 10)]


def test_peaky_path_without_blanks_between_different_tokens():
    labels = [5, 6, 6, 7, 8, 8]
    assert ctc_forced_align(peaky(labels, vocab=9), [5, 6, 7, 8]) == [
        (0, 0),
        (1, 2),
        (3, 3),
        (4, 5),
    ]


def test_tight_alignment_with_repeats():
    """T == L + repeats: one frame per token and one blank between equal tokens."""
    log_probs = random_log_probs(6, 4, seed=7)
    assert ctc_forced_align(log_probs, [1, 1, 2, 2]) == [(0, 0), (2, 2), (3, 3), (5, 5)]


def test_numpy_input_and_tensor_tokens_give_the_same_spans():
    log_probs = random_log_probs(60, 10, seed=8)
    tokens = random_tokens(20, 10, seed=8)
    expected = ctc_forced_align(log_probs, tokens)
    assert ctc_forced_align(log_probs.numpy(), tokens) == expected
    assert ctc_forced_align(log_probs, torch.tensor(tokens)) == expected
    assert ctc_forced_align(log_probs.double(), tokens) == expected


def test_minus_infinity_still_gives_a_valid_path():
    log_probs = random_log_probs(10, 6, seed=9)
    log_probs[:, 3] = -math.inf  # the token can never be emitted
    log_probs[4, :] = -math.inf
    tokens = [1, 3, 3, 2]
    check_spans(ctc_forced_align(log_probs, tokens), tokens, 10)


def test_impossible_alignments_raise():
    log_probs = random_log_probs(3, 8, seed=10)
    assert len(ctc_forced_align(log_probs, [5, 6, 7])) == 3
    with pytest.raises(ValueError, match="at least 4 frames"):
        ctc_forced_align(log_probs, [5, 5, 6])
    with pytest.raises(ValueError, match="at least 4 frames"):
        ctc_forced_align(log_probs, [5, 6, 7, 1])
    with pytest.raises(ValueError, match="blank"):
        ctc_forced_align(log_probs, [5, 0])
    with pytest.raises(ValueError, match="blank"):
        ctc_forced_align(log_probs, [5, 2], blank=2)
    with pytest.raises(ValueError, match="token ids"):
        ctc_forced_align(log_probs, [8])
    with pytest.raises(ValueError, match="shape"):
        ctc_forced_align(log_probs[None], [5])


def test_no_tokens_give_no_spans():
    assert ctc_forced_align(random_log_probs(4, 5, seed=11), []) == []
    assert ctc_forced_align(torch.zeros(0, 5), []) == []


def test_other_blank_id():
    labels = [3, 1, 1, 3, 2]
    assert ctc_forced_align(peaky(labels, vocab=4), [1, 2], blank=3) == [(1, 2), (4, 4)]


# --------------------------------------------------------------------------
# word_times and align_words
# --------------------------------------------------------------------------


def test_word_times_groups_pieces_into_words():
    pieces = ["▁goe", "den", "avond", "▁", "20", "▁", "▁pro", "cent", "▁"]
    spans = [(0, 1), (2, 2), (3, 5), (7, 7), (8, 9), (10, 10), (11, 12), (13, 14), (15, 15)]
    words = word_times(pieces, spans, frame_shift=0.04, offset=2.0)
    assert texts_and_times(words) == [
        ("goedenavond", 2.0, 2.24),
        ("20", 2.28, 2.4),
        # a lone "▁" before a piece that starts a word itself joins that word
        ("procent", 2.4, 2.6),
    ]


def test_word_times_first_piece_inside_a_word_and_default_offset():
    words = word_times(["avond", "▁ja"], [(0, 0), (3, 4)], frame_shift=0.04)
    assert texts_and_times(words) == [("avond", 0.0, 0.04), ("ja", 0.12, 0.2)]
    assert word_times([], [], frame_shift=0.04) == []
    with pytest.raises(ValueError):
        word_times(["▁ja"], [], frame_shift=0.04)


def test_align_words_drops_special_ids():
    tokenizer = FakePieces(["▁dit", "▁is", "▁het", "▁nieuws", "▁nie", "uws"])
    # ids 5.. are the pieces; 3 = <verbatim>, 2 = <eos>, 1 = <unk>, 99 is out of vocabulary
    labels = [0, 5, 0, 6, 6, 0, 7, 9, 10, 0]
    log_probs = peaky(labels, vocab=12)
    words = align_words(log_probs, [3, 5, 1, 6, 7, 9, 10, 2, 99], tokenizer, 0.04, offset=1.0)
    assert texts_and_times(words) == [
        ("dit", 1.04, 1.08),
        ("is", 1.12, 1.2),
        ("het", 1.24, 1.28),
        ("nieuws", 1.28, 1.36),
    ]
    assert align_words(log_probs, [0, 2, 3, 4, 99], tokenizer, 0.04) == []


def test_align_words_with_a_trained_tokenizer(tiny_tokenizer):
    text = "ja dat is waar"
    ids = tiny_tokenizer.encode_as_ids(text)
    labels = [0]
    for token in ids:
        labels += [token, token, 0]
    log_probs = peaky(labels, vocab=tiny_tokenizer.get_piece_size())
    words = align_words(log_probs, [3, *ids, 2], tiny_tokenizer, frame_shift=0.04)
    assert [w.text for w in words] == text.split()
    starts = [w.start for w in words]
    assert starts == sorted(starts) and starts[0] == pytest.approx(0.04)
    assert words[-1].end == pytest.approx(0.04 * (len(labels) - 1))


def test_align_words_falls_back_to_spreading_by_characters(caplog):
    tokenizer = FakePieces(["▁ja", "▁ja", "▁goe", "d"])
    log_probs = random_log_probs(3, 9, seed=12)
    # "ja ja" needs a blank between the repeats: 5 tokens need 6 frames, there are 3
    with caplog.at_level(logging.DEBUG, logger="speechbrain_subtitle.alignment"):
        words = align_words(log_probs, [5, 5, 7, 8, 6], tokenizer, 0.04, offset=10.0)
    assert "Too few frames" in caplog.text
    # words ja, ja, goed, ja: 2 + 2 + 4 + 2 = 10 characters over 3 * 0.04 s
    assert [w.text for w in words] == ["ja", "ja", "goed", "ja"]
    bounds = [10.0, 10.024, 10.048, 10.096, 10.12]
    assert [w.start for w in words] == pytest.approx(bounds[:-1])
    assert [w.end for w in words] == pytest.approx(bounds[1:])


# --------------------------------------------------------------------------
# match_forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, forms",
    [
        ("Twintig,", ["twintig"]),
        ("20", ["twintig"]),
        ("2,5%", ["twee", "komma", "vijf", "procent"]),
        ("Oost-Vlaanderen", ["oost", "vlaanderen"]),
        ("1996", ["negentienhonderdzesennegentig"]),
        ("euh", ["euh"]),  # fillers stay words when matching
        ("auto's", ["auto's"]),
        ("...", []),
        ("-", []),
        ("", []),
    ],
)
def test_match_forms(text, forms):
    assert match_forms(text) == forms


# --------------------------------------------------------------------------
# transfer_times
# --------------------------------------------------------------------------


def timed(*items, start=0.0, duration=0.3, gap=0.1):
    """Verbatim words one after the other."""
    words, t = [], start
    for text in items:
        words.append(Word(text, round(t, 6), round(t + duration, 6)))
        t += duration + gap
    return words


def test_exact_matches_carry_exact_times():
    verbatim = timed("het", "is", "twintig", "graden")
    for shown in (["Het", "is", "Twintig", "graden."], ["Het", "is", "20", "graden."]):
        words = transfer_times(shown, verbatim)
        assert [w.text for w in words] == shown
        assert [(w.start, w.end) for w in words] == [(w.start, w.end) for w in verbatim]


def test_fillers_and_repetitions_are_skipped():
    verbatim = timed("ja", "euh", "ik", "ik", "denk", "dat")
    words = transfer_times(["Ik", "denk", "dat."], verbatim)
    # "Ik" takes the second "ik", the one next to "denk".
    assert texts_and_times(words) == [
        ("Ik", verbatim[3].start, verbatim[3].end),
        ("denk", verbatim[4].start, verbatim[4].end),
        ("dat.", verbatim[5].start, verbatim[5].end),
    ]


def test_repetition_at_the_end_takes_the_last_occurrence():
    verbatim = timed("dat", "is", "waar", "waar")
    words = transfer_times(["Dat", "is", "waar."], verbatim)
    assert (words[2].start, words[2].end) == (verbatim[3].start, verbatim[3].end)


def test_similar_forms_are_substituted():
    verbatim = timed("da", "is", "goe", "hè")
    words = transfer_times(["Dat", "is", "goed."], verbatim)
    assert [(w.start, w.end) for w in words] == [(w.start, w.end) for w in verbatim[:3]]


def test_substitution_prefers_the_similar_word():
    # "goed" could replace "zeer" or "goe"; the similar one wins.
    verbatim = timed("dat", "is", "zeer", "goe")
    words = transfer_times(["Dat", "is", "goed."], verbatim)
    assert (words[2].start, words[2].end) == (verbatim[3].start, verbatim[3].end)


def test_added_word_is_interpolated_between_neighbours():
    verbatim = [Word("hij", 0.0, 0.2), Word("is", 0.3, 0.4), Word("vertrokken", 1.0, 1.6)]
    words = transfer_times(["Hij", "is", "gisteren", "vertrokken."], verbatim)
    assert texts_and_times(words) == [
        ("Hij", 0.0, 0.2),
        ("is", 0.3, 0.4),
        ("gisteren", 0.4, 1.0),
        ("vertrokken.", 1.0, 1.6),
    ]


def test_added_words_share_the_gap_by_characters():
    verbatim = [Word("hij", 0.0, 0.2), Word("vertrokken", 1.2, 1.6)]
    words = transfer_times(["Hij", "is", "gisteren", "vertrokken."], verbatim)
    # "is" + "gisteren" = 2 + 8 characters over [0.2, 1.2]
    assert texts_and_times(words)[1:3] == [("is", 0.2, 0.4), ("gisteren", 0.4, 1.2)]


def test_rephrased_word_is_placed_between_neighbours():
    verbatim = timed("we", "gaan", "da", "morgen", "eens", "bekijken")
    words = transfer_times(["We", "bekijken", "het", "morgen."], verbatim)
    assert [w.text for w in words] == ["We", "bekijken", "het", "morgen."]
    # "morgen" matches exactly; "bekijken" cannot both come before "morgen" and
    # match the verbatim "bekijken" after it, so it takes a word in between.
    assert (words[3].start, words[3].end) == (verbatim[3].start, verbatim[3].end)
    assert words[0].start == verbatim[0].start
    assert verbatim[0].end <= words[1].start <= words[2].start <= words[3].start


def test_words_at_the_edges_reach_start_and_end():
    verbatim = [Word("dat", 1.0, 1.2), Word("klopt", 1.3, 1.6)]
    words = transfer_times(["Ja,", "dat", "klopt", "hoor."], verbatim, start=0.5, end=2.0)
    assert texts_and_times(words) == [
        ("Ja,", 0.5, 1.0),
        ("dat", 1.0, 1.2),
        ("klopt", 1.3, 1.6),
        ("hoor.", 1.6, 2.0),
    ]
    # without start and end the added words get no duration
    words = transfer_times(["Ja,", "dat", "klopt", "hoor."], verbatim)
    assert texts_and_times(words)[::3] == [("Ja,", 1.0, 1.0), ("hoor.", 1.6, 1.6)]


def test_words_without_forms_are_interpolated():
    verbatim = timed("dat", "is", "waar")
    words = transfer_times(["Dat", "-", "is", "waar", "..."], verbatim, end=2.0)
    assert texts_and_times(words)[1] == ("-", verbatim[0].end, verbatim[1].start)
    assert texts_and_times(words)[4] == ("...", verbatim[2].end, 2.0)


@pytest.mark.parametrize(
    "shown, said",
    [
        ("21", ["een", "en", "twintig"]),
        ("eenentwintig", ["een", "en", "twintig"]),
        ("22", ["twee", "en", "twintig"]),  # tweeëntwintig: the trema is ignored
        ("1500", ["vijftien", "honderd"]),
        ("1996", ["negentien", "honderd", "zes", "en", "negentig"]),
    ],
)
def test_number_said_in_several_words(shown, said):
    verbatim = timed("het", "waren", *said, "mensen")
    words = transfer_times(["Het", "waren", shown, "mensen."], verbatim)
    number = words[2]
    assert (number.start, number.end) == (verbatim[2].start, verbatim[-2].end)
    assert (words[3].start, words[3].end) == (verbatim[-1].start, verbatim[-1].end)
    assert (words[1].start, words[1].end) == (verbatim[1].start, verbatim[1].end)


def test_one_verbatim_word_split_in_the_subtitle():
    verbatim = [Word("dat", 0.0, 0.2), Word("tenminste", 0.3, 1.2)]
    words = transfer_times(["Dat", "ten", "minste."], verbatim)
    # "ten" + "minste" = "tenminste": the word's time is shared by length
    assert texts_and_times(words) == [("Dat", 0.0, 0.2), ("ten", 0.3, 0.6), ("minste.", 0.6, 1.2)]


def test_number_in_other_words_stays_in_order():
    verbatim = timed("er", "waren", "duizend", "vijfhonderd", "mensen")
    words = transfer_times(["Er", "waren", "1500", "mensen."], verbatim)
    assert (words[3].start, words[3].end) == (verbatim[4].start, verbatim[4].end)
    assert verbatim[2].start <= words[2].start <= words[2].end <= verbatim[3].end


def test_verbatim_word_with_several_forms_shares_its_time():
    verbatim = [Word("in", 0.0, 0.2), Word("oost-vlaanderen", 0.2, 1.2)]
    words = transfer_times(["In", "Oost-Vlaanderen"], verbatim)
    assert texts_and_times(words) == [("In", 0.0, 0.2), ("Oost-Vlaanderen", 0.2, 1.2)]
    words = transfer_times(["In", "Oost", "Vlaanderen"], verbatim)
    # 4 + 10 characters
    assert [w.start for w in words] == pytest.approx([0.0, 0.2, 0.2 + 1.0 * 4 / 14])
    assert words[2].end == 1.2


def test_speaker_is_carried_over():
    verbatim = [Word("ja", 0.0, 0.2, "A"), Word("nee", 0.5, 0.7, "B")]
    words = transfer_times(["Ja.", "Echt?", "Nee."], verbatim)
    assert [w.speaker for w in words] == ["A", None, "B"]


def test_no_verbatim_words():
    words = transfer_times(["Goed", "zo."], [], start=1.0, end=2.0)
    # 4 + 3 characters
    assert [w.text for w in words] == ["Goed", "zo."]
    assert [w.start for w in words] == pytest.approx([1.0, 1.0 + 4 / 7])
    assert [w.end for w in words] == pytest.approx([1.0 + 4 / 7, 2.0])
    assert transfer_times([], [], start=0.0, end=1.0) == []
    assert transfer_times([], timed("ja")) == []
    with pytest.raises(ValueError):
        transfer_times(["Goed."], [])
    with pytest.raises(ValueError):
        transfer_times(["Goed."], [], start=1.0)
    with pytest.raises(ValueError):
        transfer_times(["Goed."], timed("goed"), start=2.0, end=1.0)


def test_verbatim_times_are_clipped_to_the_stream():
    verbatim = [Word("ja", 0.0, 0.5), Word("goed", 0.6, 1.5)]
    words = transfer_times(["Ja,", "goed."], verbatim, start=0.2, end=1.0)
    assert texts_and_times(words) == [("Ja,", 0.2, 0.5), ("goed.", 0.6, 1.0)]


# --------------------------------------------------------------------------
# transfer_times: guarantees
# --------------------------------------------------------------------------

SHOWN = [
    "Ik", "denk", "dat", "het", "goed", "is.", "Twintig,", "20", "21", "2,5%", "1500", "...",
    "-", "Oost-Vlaanderen", "euh", "ja", "Nee!", "da's", "auto's", "gisteren", "1.500", "3de",
]  # fmt: skip
SAID = [
    "ik", "ik", "denk", "da", "dat", "het", "goe", "goed", "is", "twintig", "een", "en",
    "vijftien", "honderd", "duizend", "vijfhonderd", "oost-vlaanderen", "euh", "ja", "ggg",
    "*", "twee", "komma", "vijf", "procent", "derde",
]  # fmt: skip

word_text = st.one_of(
    st.sampled_from(SHOWN),
    st.text(alphabet="abcdeëz019,.%-' ", min_size=0, max_size=8),
)
verbatim_items = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(SAID), st.text(alphabet="abdeiz09-*", max_size=6)),
        st.floats(0.0, 1.0),  # duration
        st.floats(0.0, 0.5),  # gap before
    ),
    max_size=25,
)


def check_guarantees(words, shown, start, end):
    assert [w.text for w in words] == shown
    previous = -math.inf
    for word in words:
        assert start - EPS <= word.start <= word.end <= end + EPS
        assert word.start >= previous
        previous = word.start


@PROPERTY
@given(
    shown=st.lists(word_text, max_size=25),
    items=verbatim_items,
    lead=st.one_of(st.none(), st.floats(0.0, 2.0)),
    tail=st.one_of(st.none(), st.floats(0.0, 2.0)),
    origin=st.floats(0.0, 100.0),
)
def test_transfer_times_guarantees(shown, items, lead, tail, origin):
    verbatim, t = [], origin
    for text, duration, gap in items:
        t += gap
        verbatim.append(Word(text, t, t + duration))
        t += duration
    start = None if lead is None else origin - lead
    end = None if tail is None else t + tail
    if not verbatim and (start is None or end is None):
        with pytest.raises(ValueError):
            transfer_times(shown, verbatim, start, end)
        return
    words = transfer_times(shown, verbatim, start, end)
    check_guarantees(
        words,
        shown,
        min(w.start for w in verbatim) if start is None else start,
        max(w.end for w in verbatim) if end is None else end,
    )


@PROPERTY
@given(
    shown=st.lists(word_text, max_size=20),
    verbatim=st.lists(
        st.builds(Word, st.sampled_from(SAID), st.floats(-5.0, 15.0), st.floats(-5.0, 15.0)),
        max_size=20,
    ),
    start=st.floats(0.0, 5.0),
    length=st.floats(0.0, 5.0),
)
def test_transfer_times_guarantees_with_disordered_verbatim_times(shown, verbatim, start, length):
    words = transfer_times(shown, verbatim, start, start + length)
    check_guarantees(words, shown, start, start + length)
