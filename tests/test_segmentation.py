"""Tests of speechbrain_subtitle.segmentation: reading, VAD on real speech, the plan.

Coverage numbers on the real recordings are printed (visible with ``-s``)
and collected in :data:`MEASURED`.
"""

import math
import pathlib
import threading

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from hypothesis import given, settings
from hypothesis import strategies as st

from speechbrain_subtitle.inference import SILENCE_PEAK
from speechbrain_subtitle.segmentation import (
    SAMPLE_RATE,
    AudioStream,
    Segment,
    SegmentationOptions,
    fixed_windows,
    plan_segments,
    segment_audio,
    speech_probabilities,
    speech_regions,
)

REAL = pathlib.Path(__file__).resolve().parent / "fixtures" / "real_speech"
PYANNOTE_WAV = REAL / "pyannote_sample.wav"
PYANNOTE_RTTM = REAL / "pyannote_sample.rttm"
LIBRIVOX = REAL / "librivox"
CLIPS = (LIBRIVOX / "fileids").read_text().split()

PROPERTY = settings(max_examples=150, deadline=None, database=None)
EPS = 1e-5  # times are rounded to the microsecond

#: Coverage measured on the real recordings (name -> fraction).
MEASURED = {}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def union(spans):
    """Sorted union of (start, end) spans."""
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def overlap(spans, others):
    """Time that two sets of spans have in common (each set made disjoint first)."""
    return sum(
        max(0.0, min(end, other_end) - max(start, other_start))
        for start, end in union(spans)
        for other_start, other_end in union(others)
    )


def spans_of(segments):
    return [(segment.start, segment.end) for segment in segments]


def rttm_speech(path):
    """Reference speech regions of an RTTM file (all speakers together)."""
    turns = []
    for line in pathlib.Path(path).read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, length = float(fields[3]), float(fields[4])
            turns.append((start, start + length))
    return union(turns)


def energy_speech_span(wav, floor_db=-35.0, hop=320):
    """First and last 20 ms frame louder than ``floor_db`` dBFS: where a clip's
    speech starts and ends (the LibriVox clips have a noise floor of about
    -45 to -55 dBFS and speech well above -35 dBFS)."""
    frames = wav[: len(wav) // hop * hop].view(-1, hop)
    level = 20 * torch.log10(frames.pow(2).mean(dim=1).sqrt() + 1e-9)
    loud = (level > floor_db).nonzero().flatten()
    return loud[0].item() * hop / SAMPLE_RATE, (loud[-1].item() + 1) * hop / SAMPLE_RATE


def check_plan(segments, options, regions=()):
    """The properties every plan has: sorted, disjoint, not too long, every
    region covered, and no short segment that could have joined a neighbour."""
    for segment in segments:
        assert 0 <= segment.start < segment.end
        assert segment.duration <= options.max_duration + EPS
    for before, after in zip(segments, segments[1:]):
        assert before.end <= after.start, (before, after)
        if min(before.duration, after.duration) < options.min_duration:
            # merging them must break a limit
            assert (
                after.end - before.start > options.max_duration - EPS
                or after.start - before.end > options.max_merge_gap - EPS
            ), (before, after)
    spans = union(spans_of(segments))
    for start, end in union(regions):
        assert overlap([(start, end)], spans) >= (end - start) - EPS * (1 + len(spans))


# ---------------------------------------------------------------------------
# Files made by the tests
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyannote_audio():
    wav, rate = sf.read(PYANNOTE_WAV, dtype="float32")
    assert rate == SAMPLE_RATE
    return torch.from_numpy(wav)


@pytest.fixture(scope="module")
def pyannote_result():
    return segment_audio(AudioStream(PYANNOTE_WAV))


@pytest.fixture(scope="module")
def stereo_44k(tmp_path_factory, pyannote_audio):
    """The pyannote sample at 44.1 kHz in stereo (louder left, softer right), as float."""
    high = torchaudio.functional.resample(pyannote_audio, SAMPLE_RATE, 44100)
    stereo = torch.stack([1.25 * high, 0.75 * high], dim=1).numpy()  # mean: the sample
    path = tmp_path_factory.mktemp("stereo") / "sample_44k.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    return path, torch.from_numpy(stereo)


def write(path, wav, rate=SAMPLE_RATE, **kwargs):
    sf.write(path, np.asarray(wav, dtype="float32"), rate, **kwargs)
    return path


# ---------------------------------------------------------------------------
# VAD on real speech
# ---------------------------------------------------------------------------


def test_pyannote_sample_segments_cover_reference_speech(pyannote_result):
    options = SegmentationOptions()
    segments, method = pyannote_result
    assert method == "vad"
    reference = rttm_speech(PYANNOTE_RTTM)
    speech = sum(end - start for start, end in reference)
    covered = overlap(reference, spans_of(segments)) / speech
    MEASURED["pyannote_sample: segments cover reference speech"] = covered
    print(
        f"\npyannote sample: {len(segments)} segments {spans_of(segments)} cover "
        f"{covered:.1%} of the {speech:.2f} s of reference speech"
    )
    assert covered >= 0.9
    check_plan(segments, options)
    # the 6.7 s of silence before the conversation is not decoded
    assert segments[0].start >= reference[0][0] - 0.5
    # and the segments hold little besides speech
    total = sum(segment.duration for segment in segments)
    assert total <= 1.1 * speech


def test_pyannote_sample_regions_match_reference(pyannote_audio):
    stream = AudioStream(PYANNOTE_WAV)
    probs, window_seconds, peak = speech_probabilities(stream)
    assert window_seconds == 512 / 16000
    assert len(probs) == math.ceil(stream.frames / 512)
    assert peak == pytest.approx(float(pyannote_audio.abs().max()))
    regions = speech_regions(probs, window_seconds, duration=stream.duration)
    reference = rttm_speech(PYANNOTE_RTTM)
    found = sum(end - start for start, end in regions)
    recall = overlap(reference, regions) / sum(end - start for start, end in reference)
    precision = overlap(reference, regions) / found
    MEASURED["pyannote_sample: VAD regions recall"] = recall
    MEASURED["pyannote_sample: VAD regions precision"] = precision
    print(f"\npyannote sample: VAD regions recall {recall:.1%}, precision {precision:.1%}")
    assert recall >= 0.9
    assert precision >= 0.9
    for before, after in zip(regions, regions[1:]):
        assert before[1] <= after[0]


def test_vad_state_runs_on_across_blocks():
    """Small blocks (not a multiple of the 512-sample window) give the
    probabilities of one pass over the whole file."""
    stream = AudioStream(PYANNOTE_WAV)
    whole, _, peak = speech_probabilities(stream, SegmentationOptions(block=60.0))
    pieces, _, peak_pieces = speech_probabilities(stream, SegmentationOptions(block=1.3))
    assert len(whole) == len(pieces)
    torch.testing.assert_close(whole, pieces, atol=1e-5, rtol=0)
    assert peak == peak_pieces


def test_resampled_stereo_gives_the_same_segments(stereo_44k, pyannote_result):
    path, _ = stereo_44k
    stream = AudioStream(path)  # 44.1 kHz stereo, read at 16 kHz
    segments, method = segment_audio(stream)
    assert method == "vad"
    expected = spans_of(pyannote_result[0])
    assert len(segments) == len(expected)
    for segment, (start, end) in zip(segments, expected):
        assert segment.start == pytest.approx(start, abs=0.1)
        assert segment.end == pytest.approx(end, abs=0.1)
    # a stream at another rate than 16 kHz is read again at 16 kHz for the VAD
    other = AudioStream(path, sample_rate=8000)
    assert spans_of(segment_audio(other)[0]) == spans_of(segments)


@pytest.mark.parametrize("clip", CLIPS)
def test_librivox_clip_speech_is_covered(clip):
    stream = AudioStream(LIBRIVOX / f"{clip}.wav")
    segments, method = segment_audio(stream)
    assert method == "vad"
    assert len(segments) >= 1
    check_plan(segments, SegmentationOptions())
    start, end = energy_speech_span(stream.read(0, stream.duration))
    covered = overlap([(start, end)], spans_of(segments)) / (end - start)
    of_clip = sum(segment.duration for segment in segments) / stream.duration
    MEASURED[f"librivox {clip}: segments cover speech span"] = covered
    print(
        f"\n{clip}: speech {start:.2f}-{end:.2f} s of {stream.duration:.2f} s, segments "
        f"{spans_of(segments)} cover {covered:.1%} of it ({of_clip:.1%} of the clip)"
    )
    # measured: 99.8 % to 100 % (the segments include the padding)
    assert covered >= 0.95


def test_silences_between_clips_end_segments(tmp_path):
    """Clips joined with 3 s pauses (low noise, about -54 dBFS) give segments
    that never span a pause (max_merge_gap is 1 s)."""
    rng = np.random.default_rng(0)
    pieces, clips, position = [], [], 0.0
    for clip in CLIPS:
        wav, rate = sf.read(LIBRIVOX / f"{clip}.wav", dtype="float32")
        assert rate == SAMPLE_RATE
        if pieces:
            pieces.append(rng.normal(0, 0.002, 3 * SAMPLE_RATE))
            position += 3.0
        speech = energy_speech_span(torch.from_numpy(wav))
        clips.append((position + speech[0], position + speech[1]))
        pieces.append(wav)
        position += len(wav) / SAMPLE_RATE
    path = write(tmp_path / "joined.wav", np.concatenate(pieces))
    options = SegmentationOptions()
    segments, method = segment_audio(AudioStream(path), options)
    assert method == "vad"
    check_plan(segments, options, regions=[])
    for segment in segments:
        touched = [clip for clip in clips if overlap([clip], [(segment.start, segment.end)])]
        assert len(touched) == 1, (segment, clips)
    for clip in clips:
        assert overlap([clip], spans_of(segments)) >= 0.95 * (clip[1] - clip[0])


# ---------------------------------------------------------------------------
# No speech
# ---------------------------------------------------------------------------


def test_silence_gives_no_segments(tmp_path):
    rng = np.random.default_rng(1)
    quiet = rng.uniform(-0.5, 0.5, 20 * SAMPLE_RATE) * SILENCE_PEAK  # peak below SILENCE_PEAK
    path = write(tmp_path / "quiet.flac", quiet, subtype="PCM_24")
    assert segment_audio(AudioStream(path)) == ([], "silence")
    path = write(tmp_path / "zeros.wav", np.zeros(5 * SAMPLE_RATE))
    assert segment_audio(AudioStream(path)) == ([], "silence")


@pytest.mark.parametrize(
    "name, make",
    [
        ("noise", lambda t, rng: rng.normal(0, 0.01, len(t))),  # about -40 dBFS
        ("tone", lambda t, rng: 0.3 * np.sin(2 * np.pi * 440 * t)),
    ],
)
def test_non_speech_gives_no_segments_unless_the_fallback_is_forced(tmp_path, name, make):
    duration = 40.0
    t = np.arange(int(duration * 22050)) / 22050
    path = write(tmp_path / f"{name}.wav", make(t, np.random.default_rng(2)), 22050)
    stream = AudioStream(path)
    probs, window_seconds, peak = speech_probabilities(stream)
    assert peak >= SILENCE_PEAK
    assert not speech_regions(probs, window_seconds, duration=stream.duration)
    assert segment_audio(stream) == ([], "nonspeech")  # noise and tones are not decoded
    options = SegmentationOptions(fallback_threshold=0.0)  # decode every window anyway
    segments, method = segment_audio(stream, options)
    assert method == "fixed"
    assert segments == fixed_windows(stream.duration, options)
    assert len(segments) == 3
    kept = [segment.kept for segment in segments]
    assert kept[0][0] == 0.0 and kept[-1][1] == stream.duration
    assert all(a[1] == b[0] for a, b in zip(kept, kept[1:]))


def test_progress_bar_and_threads(capsys):
    threads = torch.get_num_threads()
    speech_probabilities(AudioStream(LIBRIVOX / f"{CLIPS[1]}.wav"), progress=True)
    assert "VAD" in capsys.readouterr().err
    assert torch.get_num_threads() == threads  # the VAD's single thread is undone


def test_concurrent_calls_take_turns():
    stream = AudioStream(LIBRIVOX / f"{CLIPS[1]}.wav")
    expected = speech_probabilities(stream)[0]
    results = [None, None]

    def run(index):
        results[index] = speech_probabilities(stream)[0]

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for result in results:
        torch.testing.assert_close(result, expected)


# ---------------------------------------------------------------------------
# AudioStream
# ---------------------------------------------------------------------------


def test_stream_reads_ranges_like_the_whole_file(stereo_44k):
    path, stereo = stereo_44k
    stream = AudioStream(path)
    assert (stream.source_rate, stream.channels, stream.frames) == (44100, 2, len(stereo))
    assert stream.duration == pytest.approx(30.0)
    full = torchaudio.functional.resample(stereo.mean(dim=1), 44100, SAMPLE_RATE)
    assert stream.num_samples == len(full)
    for start, end in [(3.21, 11.5), (0.0, 1.0), (29.5, 30.0), (12.345678, 12.4)]:
        part = stream.read(start, end)
        first, last = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
        assert part.dtype == torch.float32 and part.dim() == 1
        torch.testing.assert_close(part, full[first:last], atol=1e-5, rtol=0)
    # times are clipped to the file
    torch.testing.assert_close(stream.read(-2.0, 0.5), full[:8000], atol=1e-5, rtol=0)
    torch.testing.assert_close(stream.read(29.0, 99.0), full[29 * 16000 :], atol=1e-5, rtol=0)
    assert len(stream.read(0, stream.duration)) == len(full)
    assert stream.read(5.0, 5.0).numel() == 0
    assert stream.read(6.0, 5.0).numel() == 0
    assert stream.read(40.0, 50.0).numel() == 0


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("seconds", [0.7, 7.0])
def test_blocks_join_into_the_whole_file(tmp_path, pyannote_audio, rate, seconds):
    wav = pyannote_audio[: 10 * SAMPLE_RATE]
    source = torchaudio.functional.resample(wav, SAMPLE_RATE, rate)
    stereo = torch.stack([source, 0.5 * source], dim=1)
    path = write(tmp_path / "x.flac", stereo.numpy().clip(-1, 1), rate, subtype="PCM_24")
    stream = AudioStream(path)
    decoded = torch.from_numpy(sf.read(path, dtype="float32")[0]).mean(dim=1)
    full = torchaudio.functional.resample(decoded, rate, SAMPLE_RATE)
    blocks = list(stream.blocks(seconds))
    position = 0
    for start, block in blocks:
        assert start == pytest.approx(position / SAMPLE_RATE)
        position += len(block)
    assert all(len(block) == round(seconds * SAMPLE_RATE) for _, block in blocks[:-1])
    joined = torch.cat([block for _, block in blocks])
    assert len(joined) == len(full)  # exact, not only within a few samples
    torch.testing.assert_close(joined, full, atol=1e-5, rtol=0)


def test_stream_at_another_rate(tmp_path, pyannote_audio):
    path = write(tmp_path / "x.wav", pyannote_audio[:SAMPLE_RATE])
    stream = AudioStream(path, sample_rate=8000)
    assert len(stream.read(0.25, 0.75)) == 4000
    assert sum(len(block) for _, block in stream.blocks(0.3)) == 8000


def test_stream_errors(tmp_path, pyannote_audio):
    with pytest.raises(FileNotFoundError, match="not found"):
        AudioStream(tmp_path / "missing.wav")
    with pytest.raises(FileNotFoundError, match="directory"):
        AudioStream(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty \(0 bytes\)"):
        AudioStream(tmp_path / "empty.wav")
    (tmp_path / "notes.wav").write_text("These are not audio samples.\n" * 20)
    with pytest.raises(ValueError, match="corrupt or its format is not supported"):
        AudioStream(tmp_path / "notes.wav")
    (tmp_path / "garbage.wav").write_bytes(np.random.default_rng(3).bytes(5000))
    with pytest.raises(ValueError, match="corrupt or its format is not supported"):
        AudioStream(tmp_path / "garbage.wav")
    whole = write(tmp_path / "whole.wav", pyannote_audio[:SAMPLE_RATE], subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes(whole.read_bytes()[:30])  # header cut short
    with pytest.raises(ValueError, match="cut.wav"):
        AudioStream(tmp_path / "cut.wav")
    write(tmp_path / "nothing.wav", np.zeros(0))  # a header and no samples
    with pytest.raises(ValueError, match="no audio samples"):
        AudioStream(tmp_path / "nothing.wav")
    with pytest.raises(ValueError, match="sample_rate"):
        AudioStream(whole, sample_rate=0)
    with pytest.raises(ValueError, match="positive"):
        next(AudioStream(whole).blocks(0))


def test_truncated_files(tmp_path, pyannote_audio):
    wav = write(tmp_path / "full.wav", pyannote_audio[: 4 * SAMPLE_RATE], subtype="PCM_16")
    header = wav.stat().st_size - 4 * SAMPLE_RATE * 2
    (tmp_path / "half.wav").write_bytes(wav.read_bytes()[: header + 2 * SAMPLE_RATE * 2])
    stream = AudioStream(tmp_path / "half.wav")  # libsndfile reads what is there
    assert stream.duration == pytest.approx(2.0)
    assert len(stream.read(0, 10)) == 2 * SAMPLE_RATE
    flac = write(tmp_path / "full.flac", pyannote_audio, subtype="PCM_16")
    (tmp_path / "half.flac").write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    stream = AudioStream(tmp_path / "half.flac")  # the header still says 30 s
    with pytest.raises(ValueError, match="corrupt or truncated"):
        segment_audio(stream, SegmentationOptions(block=5.0))


# ---------------------------------------------------------------------------
# speech_regions
# ---------------------------------------------------------------------------


def test_regions_hysteresis_and_limits():
    w = 0.1
    options = SegmentationOptions(min_speech=0.25, min_silence=0.3, pad=0.0)
    # 0.4 sits between the thresholds: it continues speech, never starts it
    probs = [0.4, 0.9, 0.9, 0.4, 0.4, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.4, 0.9, 0.1]
    # the two-window pause at 0.6 s is shorter than min_silence; 0.9 s starts a
    # three-window pause; the single window at 1.3 s is shorter than min_speech
    assert speech_regions(probs, w, options) == [(0.1, 0.9)]
    padded = speech_regions(probs, w, SegmentationOptions(min_silence=0.3, pad=0.3))
    assert padded == [(0.0, 1.2)]
    # regions closer than twice the padding meet halfway
    probs = [0.0] * 10 + [0.9] * 5 + [0.0] * 3 + [0.9] * 5 + [0.0] * 10
    meet = speech_regions(probs, w, SegmentationOptions(min_silence=0.1, pad=0.2))
    assert meet == [(0.8, 1.65), (1.65, 2.5)]
    # duration clips the last region
    assert speech_regions([0.9] * 10, w, options, duration=0.95) == [(0.0, 0.95)]
    assert speech_regions([], w) == []
    with pytest.raises(ValueError, match="window_seconds"):
        speech_regions([0.9], 0.0)


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(0, 400),
    threshold=st.floats(0.05, 0.95),
    min_speech=st.floats(0.0, 1.0),
    min_silence=st.floats(0.0, 1.0),
    pad=st.floats(0.0, 0.5),
)
def test_regions_properties(seed, count, threshold, min_speech, min_silence, pad):
    rng = np.random.default_rng(seed)
    probs = (rng.random(count) < rng.random()).astype(float) * rng.random(count)
    options = SegmentationOptions(
        threshold=threshold, min_speech=min_speech, min_silence=min_silence, pad=pad
    )
    w = 0.032
    duration = count * w
    regions = speech_regions(probs, w, options)
    for start, end in regions:
        assert 0.0 <= start < end <= duration + EPS
        assert end - start >= min_speech - EPS
    for before, after in zip(regions, regions[1:]):
        assert before[1] <= after[0]
    # without min_speech every window at or above the threshold is speech
    kept_all = speech_regions(
        probs, w, SegmentationOptions(threshold=threshold, min_speech=0.0, pad=0.0)
    )
    as_float32 = probs.astype(np.float32).astype(float)  # what speech_regions compares
    for index in np.flatnonzero(as_float32 >= threshold):
        window = (index * w, min(duration, (index + 1) * w))
        assert overlap([window], kept_all) >= window[1] - window[0] - EPS


# ---------------------------------------------------------------------------
# plan_segments
# ---------------------------------------------------------------------------


def test_plan_merges_up_to_max_and_stops_at_long_pauses():
    options = SegmentationOptions()
    regions = [(0.0, 1.0), (1.5, 2.5), (3.0, 4.0), (10.0, 11.0), (11.2, 13.0), (30.0, 30.5)]
    segments = plan_segments(regions, options)
    assert spans_of(segments) == [(0.0, 4.0), (10.0, 13.0), (30.0, 30.5)]
    check_plan(segments, options, regions)


def test_plan_balances_instead_of_leaving_a_short_tail():
    """16 s of talk in 1.8 s stretches: two segments cut at the longest pause
    (7.8-8.6 s), not 15 s and 1 s."""
    starts = [0.0, 2.0, 4.0, 6.0, 8.6, 10.6, 12.6, 14.6]
    regions = [(start, round(start + 1.8, 6)) for start in starts]
    segments = plan_segments(regions)
    assert len(segments) == 2
    assert segments[0].end == 7.8 and segments[1].start == 8.6
    check_plan(segments, SegmentationOptions(), regions)


def test_plan_keeps_isolated_short_regions_short():
    segments = plan_segments([(2.0, 3.0), (5.0, 5.5)])
    assert spans_of(segments) == [(2.0, 3.0), (5.0, 5.5)]
    # too long together
    segments = plan_segments([(0.0, 14.5), (14.6, 15.5)])
    assert spans_of(segments) == [(0.0, 14.5), (14.6, 15.5)]


def test_plan_cuts_long_regions_at_the_quietest_window():
    w = 0.032
    probs = torch.full((round(40 / w),), 0.95)
    dip = round(8.0 / w)
    probs[dip] = 0.2
    segments = plan_segments([(0.0, 20.0)], probs=probs, window_seconds=w)
    assert len(segments) == 2
    assert segments[0].end == pytest.approx((dip + 0.5) * w)
    assert segments[0].end == segments[1].start
    # without probabilities: equal parts
    assert spans_of(plan_segments([(0.0, 20.0)])) == [(0.0, 10.0), (10.0, 20.0)]
    # a dip too far from the middle (a part would exceed max_duration) is ignored
    probs[dip] = 0.95
    probs[round(3.0 / w)] = 0.0
    segments = plan_segments([(0.0, 20.0)], probs=probs, window_seconds=w)
    assert all(segment.duration <= 15.0 for segment in segments)
    assert segments[0].end > 5.0
    with pytest.raises(ValueError, match="window_seconds"):
        plan_segments([(0.0, 20.0)], probs=probs)


def test_plan_clips_and_sorts():
    segments = plan_segments([(8.0, 9.0), (-1.0, 0.5), (0.2, 1.0), (9.5, 12.0)], duration=11.0)
    assert spans_of(segments) == [(0.0, 1.0), (8.0, 11.0)]
    assert plan_segments([]) == []
    assert plan_segments([(3.0, 3.0)]) == []


region_lists = st.lists(
    st.tuples(st.floats(0.0, 300.0), st.floats(0.01, 40.0)).map(
        lambda pair: (pair[0], pair[0] + pair[1])
    ),
    max_size=40,
)
plan_options = st.builds(
    lambda low, extra, gap: SegmentationOptions(
        min_duration=low, max_duration=low + extra, max_merge_gap=gap
    ),
    st.floats(0.1, 10.0),
    st.floats(0.0, 20.0),
    st.floats(0.0, 3.0),
)


@PROPERTY
@given(regions=region_lists, options=plan_options)
def test_plan_properties(regions, options):
    segments = plan_segments(regions, options)
    check_plan(segments, options, regions)
    merged = union(regions)
    # no speech is invented at the edges: each segment starts and ends in speech
    for segment in segments:
        assert overlap([(segment.start, segment.start + EPS)], merged) > 0
        assert overlap([(segment.end - EPS, segment.end)], merged) > 0
    # no segment spans a pause longer than max_merge_gap
    for (_, pause_start), (pause_end, _) in zip(merged, merged[1:]):
        if pause_end - pause_start > options.max_merge_gap + EPS:
            for segment in segments:
                assert not (segment.start < pause_start and segment.end > pause_end)


@PROPERTY
@given(regions=region_lists, options=plan_options, seed=st.integers(0, 2**32 - 1))
def test_plan_properties_with_probabilities(regions, options, seed):
    w = 0.25
    probs = np.random.default_rng(seed).random(round(350 / w))
    segments = plan_segments(regions, options, probs=probs, window_seconds=w)
    check_plan(segments, options, regions)


# ---------------------------------------------------------------------------
# fixed_windows
# ---------------------------------------------------------------------------


def test_fixed_windows_examples():
    assert fixed_windows(10.0) == [Segment(0.0, 10.0, 0.0, 10.0)]
    assert fixed_windows(15.0005) == [Segment(0.0, 15.0005, 0.0, 15.0005)]
    # a window that just misses the end is not followed by a near copy of itself
    assert len(fixed_windows(41.0 - 1e-8)) == 3
    assert len(fixed_windows(41.0 + 1e-8)) == 3
    assert len(fixed_windows(41.01)) == 4
    windows = fixed_windows(2.00001, SegmentationOptions(window=1.0, overlap=0.0))
    assert spans_of(windows) == [(0.0, 1.0), (1.0, 2.00001)]
    assert fixed_windows(0.0) == []
    windows = fixed_windows(41.0)
    assert spans_of(windows) == [(0.0, 15.0), (13.0, 28.0), (26.0, 41.0)]
    assert [window.kept for window in windows] == [(0.0, 14.0), (14.0, 27.0), (27.0, 41.0)]


@PROPERTY
@given(
    duration=st.floats(0.01, 4000.0),
    window=st.floats(1.0, 30.0),
    share=st.floats(0.0, 0.9),
)
def test_fixed_windows_tile_the_file(duration, window, share):
    options = SegmentationOptions(window=window, overlap=share * window)
    windows = fixed_windows(duration, options)
    step = window - options.overlap
    # never more windows than plain stepping needs; one when the file fits
    assert len(windows) <= max(1, math.ceil((duration - window) / step) + 1)
    assert (len(windows) == 1) == (duration <= window + 0.001)
    kept = [segment.kept for segment in windows]
    assert kept[0][0] == 0.0 and kept[-1][1] == duration
    for before, after in zip(kept, kept[1:]):
        assert before[1] == after[0]  # exactly: no gap, no overlap
    for segment, (keep_start, keep_end) in zip(windows, kept):
        assert 0.0 <= segment.start and segment.end <= duration
        assert min(window, duration) - EPS <= segment.duration <= window + 0.001
        assert segment.start - EPS <= keep_start < keep_end <= segment.end + EPS
    for before, after in zip(windows, windows[1:]):
        assert before.start < after.start
        assert before.end - after.start >= options.overlap - EPS


# ---------------------------------------------------------------------------
# Options and segments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_duration": 0.0}, "min_duration must be positive"),
        ({"max_duration": -1.0}, "max_duration must be positive"),
        ({"min_duration": 20.0}, "must not exceed max_duration"),
        ({"threshold": 0.0}, "threshold must lie between 0 and 1"),
        ({"threshold": 1.0}, "threshold must lie between 0 and 1"),
        ({"window": 0.0}, "window must be positive"),
        ({"overlap": 15.0}, "overlap .* must be shorter than window"),
        ({"overlap": -1.0}, "overlap must not be negative"),
        ({"block": 0.0}, "block must be positive"),
        ({"pad": -0.1}, "pad must not be negative"),
        ({"min_speech": float("nan")}, "min_speech must be a finite number"),
        ({"max_duration": float("inf")}, "max_duration must be a finite number"),
        ({"max_merge_gap": "1"}, "max_merge_gap must be a finite number"),
        ({"min_silence": True}, "min_silence must be a finite number"),
    ],
)
def test_options_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SegmentationOptions(**kwargs)


def test_segment():
    segment = Segment(1.0, 4.0)
    assert segment.duration == 3.0 and segment.kept == (1.0, 4.0)
    assert Segment(1.0, 4.0, keep_end=3.5).kept == (1.0, 3.5)
    with pytest.raises(ValueError, match="before its start"):
        Segment(4.0, 1.0)


def test_the_onnx_vad_gives_the_torchscript_probabilities(monkeypatch):
    """onnxruntime (a dependency) runs silero's ONNX export, about 1.8x faster; its
    speech probabilities must be those of the TorchScript model."""
    import onnxruntime  # noqa: F401
    from silero_vad import load_silero_vad
    from silero_vad.utils_vad import OnnxWrapper

    from speechbrain_subtitle import segmentation

    assert isinstance(segmentation._silero_model(), OnnxWrapper)
    onnx, window, peak = segmentation.speech_probabilities(PYANNOTE_WAV)
    monkeypatch.setattr(segmentation, "_silero_model", lambda: load_silero_vad())
    jit, window_jit, peak_jit = segmentation.speech_probabilities(PYANNOTE_WAV)
    assert (window, peak) == (window_jit, peak_jit)
    assert onnx.shape == jit.shape and len(onnx) > 100
    assert (jit > 0.5).any() and (jit < 0.1).any()  # speech and pauses
    torch.testing.assert_close(onnx, jit, atol=1e-4, rtol=0)
