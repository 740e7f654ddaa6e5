"""Tests for speechbrain_subtitle.data (manifests, audio, batch sampler)."""

import csv
import logging
import os
import statistics
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
import torch
from speechbrain.dataio.sampler import DistributedSamplerWrapper

from speechbrain_subtitle.data import (
    REQUIRED_COLUMNS,
    ManifestError,
    MixedRatioBatchSampler,
    count_text_availability,
    read_audio,
    read_manifest,
)

SR = 16000
LOGGER_NAME = "speechbrain_subtitle.data"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def make_wav(path, seconds, sample_rate=SR, channels=1, seed=0):
    """Writes float noise to path (as 16-bit PCM) and returns what is stored."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    shape = (frames,) if channels == 1 else (frames, channels)
    noise = rng.uniform(-0.5, 0.5, size=shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), noise, sample_rate, subtype="PCM_16")
    stored, _ = sf.read(str(path), dtype="float32")
    return stored


def write_manifest(path, rows, header=REQUIRED_COLUMNS):
    """Writes a CSV with the given header and rows (lists or dicts)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            if isinstance(row, dict):
                row = [row.get(name, "") for name in header]
            writer.writerow(row)
    return path


def row(row_id, wav, duration="0.5", start="", stop="", verbatim="", subtitle=""):
    """One manifest row as a dict keyed by column name."""
    return {
        "ID": row_id,
        "duration": duration,
        "wav": wav,
        "start": start,
        "stop": stop,
        "verbatim": verbatim,
        "subtitle": subtitle,
    }


@pytest.fixture
def audio_dir(tmp_path):
    """A folder with a few 16 kHz mono files: a.wav (1 s), b.wav (0.5 s)."""
    make_wav(tmp_path / "audio" / "a.wav", 1.0, seed=1)
    make_wav(tmp_path / "audio" / "b.wav", 0.5, seed=2)
    return tmp_path


def warnings_from_module(caplog):
    return [r for r in caplog.records if r.name == LOGGER_NAME and r.levelno == logging.WARNING]


# --------------------------------------------------------------------------
# read_manifest
# --------------------------------------------------------------------------


def test_read_manifest_round_trip(audio_dir, caplog):
    absolute_b = str(audio_dir / "audio" / "b.wav")
    header = REQUIRED_COLUMNS + ("speaker",)
    rows = [
        ["u1", "1.0", "audio/a.wav", "", "", "  uh hello there ", "", "spk1"],
        ["u2", "0.25", absolute_b, "0.1", "0.35", "", "Hello.", "spk2"],
        ["u3", "0.5", "audio/a.wav", "0.5", "1.0", "so yes", "Yes.", "spk1"],
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows, header=header)

    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        result = read_manifest(manifest)

    assert list(result) == ["u1", "u2", "u3"]
    u1, u2, u3 = result["u1"], result["u2"], result["u3"]
    assert set(u1) == {"wav", "start", "stop", "duration", "verbatim", "subtitle"}
    assert u1["wav"] == os.path.join(str(audio_dir), "audio", "a.wav")
    assert os.path.isabs(u1["wav"]) and os.path.isfile(u1["wav"])
    assert u1["start"] is None and u1["stop"] is None
    assert u1["duration"] == pytest.approx(1.0)
    assert u1["verbatim"] == "uh hello there"
    assert u1["subtitle"] == ""
    assert u2["wav"] == absolute_b
    assert (u2["start"], u2["stop"]) == (pytest.approx(0.1), pytest.approx(0.35))
    assert isinstance(u2["start"], float)
    assert u2["verbatim"] == "" and u2["subtitle"] == "Hello."
    assert u3["verbatim"] == "so yes" and u3["subtitle"] == "Yes."
    assert count_text_availability(result) == {
        "verbatim_only": 1,
        "subtitle_only": 1,
        "both": 1,
        "neither": 0,
    }
    summary = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("1 with verbatim only, 1 with subtitle only, 1 with both" in m for m in summary)
    assert not warnings_from_module(caplog)


def test_read_manifest_relative_to_manifest_folder_not_cwd(audio_dir, monkeypatch):
    sub = audio_dir / "lists"
    sub.mkdir()
    manifest = write_manifest(sub / "dev.csv", [row("u1", "../audio/a.wav", verbatim="hi")])
    monkeypatch.chdir(audio_dir / "audio")  # a cwd where the path would break
    result = read_manifest(manifest)
    assert result["u1"]["wav"] == os.path.join(str(audio_dir), "audio", "a.wav")


def test_missing_manifest_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ManifestError, match="not found") as err:
        read_manifest(missing)
    assert str(missing) in str(err.value)


def test_missing_columns_are_listed(audio_dir):
    header = ("ID", "duration", "wav", "start", "verbatim")
    manifest = write_manifest(
        audio_dir / "bad.csv", [["u1", "1.0", "audio/a.wav", "", "hi"]], header
    )
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    message = str(err.value)
    assert str(manifest) in message
    assert "stop, subtitle" in message


def test_rows_without_text_are_skipped_with_one_warning(audio_dir, caplog):
    rows = [
        row("u1", "audio/a.wav", verbatim="hi"),
        row("u2", "audio/a.wav", verbatim="  ", subtitle=""),
        row("u3", "audio/b.wav", subtitle="Hi."),
        row("u4", "audio/b.wav"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        result = read_manifest(manifest)
    assert list(result) == ["u1", "u3"]
    warnings = warnings_from_module(caplog)
    assert len(warnings) == 1
    assert "skipped 2 row(s)" in warnings[0].getMessage()


def test_too_long_rows_are_skipped_with_one_warning(audio_dir, caplog):
    rows = [
        row("u1", "audio/a.wav", duration="1.0", verbatim="a"),
        row("u2", "audio/a.wav", duration="0.9", subtitle="b"),
        row("u3", "audio/b.wav", duration="0.5", subtitle="c"),
        row("u4", "audio/a.wav", duration="0.6", start="0.4", stop="1", verbatim="d"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        result = read_manifest(manifest, max_duration=0.6)
    assert list(result) == ["u3", "u4"]
    warnings = warnings_from_module(caplog)
    assert len(warnings) == 1
    assert "skipped 2 row(s) longer than max_duration=0.6" in warnings[0].getMessage()


def test_missing_wav_names_row(audio_dir):
    rows = [
        row("u1", "audio/a.wav", verbatim="a"),
        row("lost_one", "audio/missing.wav", verbatim="b"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest, check_audio=False)
    message = str(err.value)
    assert "'lost_one'" in message
    assert "line 3" in message
    assert os.path.join("audio", "missing.wav") in message


def test_wrong_sample_rate_names_file(audio_dir):
    wav = audio_dir / "audio" / "narrow.wav"
    make_wav(wav, 0.5, sample_rate=8000)
    rows = [row("u1", "audio/a.wav", verbatim="a"), row("u2", str(wav), subtitle="b")]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    message = str(err.value)
    assert str(wav) in message
    assert "8000 Hz" in message
    assert "'u2'" in message
    assert "sox" in message
    # Without the audio check only existence is verified.
    assert list(read_manifest(manifest, check_audio=False)) == ["u1", "u2"]


def test_stereo_names_file(audio_dir):
    wav = audio_dir / "audio" / "stereo.wav"
    make_wav(wav, 0.5, channels=2)
    manifest = write_manifest(
        audio_dir / "train.csv", [row("s1", "audio/stereo.wav", verbatim="a")]
    )
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    message = str(err.value)
    assert str(wav) in message
    assert "2 channel" in message
    assert "'s1'" in message


def test_unreadable_audio_names_file(audio_dir):
    bogus = audio_dir / "audio" / "bogus.wav"
    bogus.write_bytes(b"this is not audio at all")
    manifest = write_manifest(audio_dir / "train.csv", [row("u1", "audio/bogus.wav", verbatim="a")])
    with pytest.raises(ManifestError, match="Cannot read audio file") as err:
        read_manifest(manifest)
    assert str(bogus) in str(err.value)


def test_stop_beyond_end_of_file(audio_dir):
    ok = [row("fine", "audio/b.wav", start="0.2", stop="0.53", subtitle="x")]
    manifest = write_manifest(audio_dir / "ok.csv", ok)  # within tolerance
    assert read_manifest(manifest)["fine"]["stop"] == pytest.approx(0.53)

    bad = ok + [row("late", "audio/b.wav", start="0.2", stop="0.7", verbatim="y")]
    manifest = write_manifest(audio_dir / "bad.csv", bad)
    with pytest.raises(ManifestError) as err:
        read_manifest(manifest)
    message = str(err.value)
    assert "'late'" in message and "line 3" in message
    assert "beyond the end" in message


def test_no_usable_rows(audio_dir):
    rows = [
        row("u1", "audio/a.wav"),
        row("u2", "audio/a.wav", duration="1.0", verbatim="a"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with pytest.raises(ManifestError, match="no usable rows") as err:
        read_manifest(manifest, max_duration=0.5)
    message = str(err.value)
    assert "1 skipped for having no text" in message
    assert "1 skipped for exceeding max_duration" in message


def test_duplicate_id(audio_dir):
    rows = [
        row("u1", "audio/a.wav", verbatim="a"),
        row("u1", "audio/b.wav", subtitle="b"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with pytest.raises(ManifestError, match="duplicate ID") as err:
        read_manifest(manifest)
    assert "line 3 (ID 'u1')" in str(err.value)
    assert "line 2" in str(err.value)


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"duration": "abc"}, "cannot parse duration"),
        ({"duration": "-1"}, "must not be negative"),
        ({"start": "x"}, "cannot parse start"),
        ({"start": "-0.1", "stop": "0.3"}, "must not be negative"),
        ({"start": "0.4", "stop": "0.4"}, "must be greater than start"),
        ({"start": "0.4", "stop": "0.2"}, "must be greater than start"),
    ],
)
def test_bad_numbers_name_line_and_id(audio_dir, fields, expected):
    bad = row("bad_row", "audio/a.wav", verbatim="a")
    bad.update(fields)
    rows = [row("u1", "audio/a.wav", verbatim="a"), bad]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    with pytest.raises(ManifestError, match=expected) as err:
        read_manifest(manifest)
    assert "line 3 (ID 'bad_row')" in str(err.value)
    assert str(manifest) in str(err.value)


# --------------------------------------------------------------------------
# read_audio
# --------------------------------------------------------------------------


def test_read_audio_segment_matches_file(tmp_path):
    wav = tmp_path / "a.wav"
    stored = make_wav(wav, 0.8, seed=5)
    start, stop = 0.125, 0.5
    segment = read_audio(wav, start=start, stop=stop)
    assert segment.dtype == torch.float32 and segment.dim() == 1
    assert segment.shape[0] == round((stop - start) * SR)
    first = round(start * SR)
    expected = stored[first : first + segment.shape[0]]
    assert torch.equal(segment, torch.from_numpy(expected))

    whole = read_audio(str(wav))
    assert torch.equal(whole, torch.from_numpy(stored))
    assert torch.equal(read_audio(wav, start=0.5), torch.from_numpy(stored[8000:]))
    assert torch.equal(read_audio(wav, stop=0.25), torch.from_numpy(stored[:4000]))


def test_read_audio_rejects_wrong_format(tmp_path):
    narrow = tmp_path / "narrow.wav"
    make_wav(narrow, 0.3, sample_rate=8000)
    with pytest.raises(ManifestError, match="8000 Hz") as err:
        read_audio(narrow)
    assert str(narrow) in str(err.value)

    stereo = tmp_path / "stereo.wav"
    make_wav(stereo, 0.3, channels=2)
    with pytest.raises(ManifestError, match="2 channel") as err:
        read_audio(stereo)
    assert str(stereo) in str(err.value)


def test_read_audio_empty_or_missing(tmp_path):
    wav = tmp_path / "short.wav"
    make_wav(wav, 0.3)
    with pytest.raises(ManifestError, match="Empty audio segment") as err:
        read_audio(wav, start=0.5, stop=0.6)
    assert str(wav) in str(err.value) and "start=0.5" in str(err.value)
    with pytest.raises(ManifestError, match="Cannot read audio file"):
        read_audio(tmp_path / "missing.wav")


# --------------------------------------------------------------------------
# MixedRatioBatchSampler
# --------------------------------------------------------------------------


def random_lengths(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=generator) * 19 + 1).tolist()


def split(batch, verbatim_set):
    verbatim = [i for i in batch if i in verbatim_set]
    subtitle = [i for i in batch if i not in verbatim_set]
    return verbatim, subtitle


def make_sampler(n_verbatim=50, n_subtitle=20, batch_size=6, **kwargs):
    verbatim = list(range(n_verbatim))
    subtitle = list(range(n_verbatim, n_verbatim + n_subtitle))
    lengths = random_lengths(n_verbatim + n_subtitle)
    sampler = MixedRatioBatchSampler(verbatim, subtitle, lengths, batch_size, **kwargs)
    return sampler, verbatim, subtitle


@pytest.mark.parametrize(
    "n_verbatim, n_subtitle, batch_size, fraction",
    [(50, 20, 6, 0.5), (10, 43, 8, 0.25), (30, 30, 5, 0.6), (7, 3, 4, 0.5)],
)
def test_sampler_ratio_and_coverage(n_verbatim, n_subtitle, batch_size, fraction):
    sampler, verbatim, subtitle = make_sampler(
        n_verbatim, n_subtitle, batch_size, verbatim_fraction=fraction, seed=3
    )
    n_v = round(batch_size * fraction)
    n_s = batch_size - n_v
    verbatim_set = set(verbatim)
    batches = list(sampler)
    assert len(batches) == len(sampler)

    verbatim_used, subtitle_used = [], []
    for position, batch in enumerate(batches):
        v, s = split(batch, verbatim_set)
        assert batch == v + s  # verbatim share first
        verbatim_used += v
        subtitle_used += s
        if position < len(batches) - 1:
            assert (len(v), len(s)) == (n_v, n_s)
        else:
            assert 1 <= len(v) <= n_v and 1 <= len(s) <= n_s

    verbatim_leads = n_verbatim * n_s >= n_subtitle * n_v
    lead_used, lead_pool = (
        (verbatim_used, verbatim) if verbatim_leads else (subtitle_used, subtitle)
    )
    follow_used, follow_pool = (
        (subtitle_used, subtitle) if verbatim_leads else (verbatim_used, verbatim)
    )
    # The larger pool: every index exactly once per epoch.
    assert sorted(lead_used) == lead_pool
    # The cycled pool: all indices used, none twice before all were used once.
    counts = Counter(follow_used)
    assert set(counts) == set(follow_pool)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_sampler_partial_last_batch_keeps_ratio():
    # 50 verbatim rows in shares of 3 -> 16 full batches + one with 2.
    sampler, verbatim, _ = make_sampler(50, 20, 6, verbatim_fraction=0.5)
    batches = list(sampler)
    assert len(batches) == 17
    v, s = split(batches[-1], set(verbatim))
    assert (len(v), len(s)) == (2, 2)


def test_sampler_no_order_shuffle_keeps_given_order():
    sampler = MixedRatioBatchSampler(
        verbatim_pool=[0, 1, 2, 3, 4, 5, 6],
        subtitle_pool=[10, 11, 12],
        lengths={i: float(20 - i) for i in list(range(7)) + [10, 11, 12]},
        batch_size=4,
        verbatim_fraction=0.5,
        shuffle=False,
    )
    expected = [[0, 1, 10, 11], [2, 3, 12, 10], [4, 5, 11, 12], [6, 10]]
    assert list(sampler) == expected
    sampler.set_epoch(5)
    assert list(sampler) == expected
    assert len(sampler) == 4


def test_sampler_small_cycled_pool_has_no_repeats_within_batch():
    # 5 subtitle rows, 3 per batch: permutations are chained, and length
    # sorting must not put two copies of one index in the same batch.
    for seed in range(10):
        sampler, verbatim, _ = make_sampler(60, 5, 6, seed=seed)
        for batch in sampler:
            _, s = split(batch, set(verbatim))
            assert len(s) == len(set(s))


def test_sampler_deterministic_per_seed_and_epoch():
    first, _, _ = make_sampler(seed=7)
    second, _, _ = make_sampler(seed=7)
    epoch0 = list(first)
    assert list(second) == epoch0
    assert list(first) == epoch0  # iterating again does not advance anything

    first.set_epoch(1)
    epoch1 = list(first)
    assert epoch1 != epoch0
    second.set_epoch(1)
    assert list(second) == epoch1

    first.set_epoch(0)
    assert list(first) == epoch0

    other_seed, _, _ = make_sampler(seed=8)
    assert list(other_seed) != epoch0


def test_sampler_length_bucketing_reduces_spread():
    n = 240
    lengths = random_lengths(2 * n, seed=11)
    verbatim = list(range(n))
    subtitle = list(range(n, 2 * n))

    def mean_spread(bucket_batches):
        spreads = []
        for seed in range(3):
            sampler = MixedRatioBatchSampler(
                verbatim,
                subtitle,
                lengths,
                batch_size=8,
                bucket_batches=bucket_batches,
                seed=seed,
            )
            for batch in sampler:
                v, s = split(batch, set(verbatim))
                for share in (v, s):
                    share_lengths = [lengths[i] for i in share]
                    spreads.append(max(share_lengths) - min(share_lengths))
        return statistics.mean(spreads)

    bucketed = mean_spread(20)
    unbucketed = mean_spread(0)
    # Windows of 80 sorted items vs random shares of 4 from lengths in
    # [1, 20): roughly 1 vs 11 on average, so a factor 3 margin is safe.
    assert bucketed * 3 < unbucketed


def test_sampler_bucketing_pairs_similar_lengths():
    # Lengths grow with the index in both pools; after sorting within
    # windows, the i-th verbatim share meets the i-th subtitle share, so
    # their lengths correlate strongly.
    n = 200
    lengths = [float(i % n) for i in range(2 * n)]
    sampler = MixedRatioBatchSampler(
        list(range(n)), list(range(n, 2 * n)), lengths, 8, bucket_batches=50
    )
    gaps = []
    for batch in sampler:
        v, s = split(batch, set(range(n)))
        gaps.append(
            abs(statistics.mean(lengths[i] for i in v) - statistics.mean(lengths[i] for i in s))
        )
    assert statistics.mean(gaps) < 20  # random pairing would give about 66


@pytest.mark.parametrize("empty", ["subtitle", "verbatim"])
def test_sampler_single_pool_degrades(empty, caplog):
    pool = list(range(3, 26))
    lengths = random_lengths(30)
    pools = ([], pool) if empty == "verbatim" else (pool, [])
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        sampler = MixedRatioBatchSampler(*pools, lengths, batch_size=5, seed=1)
        batches = list(sampler)
        list(sampler)
    warnings = warnings_from_module(caplog)
    assert len(warnings) == 1
    assert f"the {empty} pool is empty" in warnings[0].getMessage()
    assert len(sampler) == len(batches) == 5
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(i for b in batches for i in b) == pool


@pytest.mark.parametrize(
    "batch_size, fraction, match",
    [
        (4, 0.0, "strictly between 0 and 1"),
        (4, 1.0, "strictly between 0 and 1"),
        (4, 1.5, "strictly between 0 and 1"),
        (4, -0.2, "strictly between 0 and 1"),
        (1, 0.5, "at least one of each"),
        (4, 0.1, "gives 0 verbatim"),
        (4, 0.9, "and 0 subtitle"),
        (0, 0.5, "at least 1"),
    ],
)
def test_sampler_bad_arguments(batch_size, fraction, match):
    with pytest.raises(ValueError, match=match):
        MixedRatioBatchSampler([0, 1], [2, 3], [1.0] * 4, batch_size, fraction)


def test_sampler_rejects_empty_pools_and_missing_lengths():
    with pytest.raises(ValueError, match="both the verbatim and the subtitle"):
        MixedRatioBatchSampler([], [], [], 4)
    with pytest.raises(ValueError, match="No length given for dataset index 9"):
        MixedRatioBatchSampler([0, 1], [9], [1.0, 1.0], 2)


@pytest.mark.parametrize("n_verbatim", [50, 53])  # 17 and 18 batches
def test_sampler_under_distributed_wrapper(n_verbatim):
    sampler, verbatim, _ = make_sampler(n_verbatim, 20, 6, seed=4)
    sampler.set_epoch(2)
    expected = list(sampler)
    all_batches = {tuple(b) for b in expected}

    per_rank = []
    for rank in (0, 1):
        wrapped = DistributedSamplerWrapper(sampler, num_replicas=2, rank=rank, shuffle=False)
        wrapped.set_epoch(2)
        batches = [list(b) for b in wrapped]
        assert len(batches) == len(wrapped) == (len(expected) + 1) // 2
        per_rank.append(batches)

    seen = {tuple(b) for batches in per_rank for b in batches}
    assert seen == all_batches
    # Rank r gets batches r, r + 2, ... (padded with the first ones).
    assert per_rank[0][0] == expected[0] and per_rank[1][0] == expected[1]
    n_v, n_s = sampler.verbatim_share, sampler.subtitle_share
    last = tuple(expected[-1])
    for batches in per_rank:
        for batch in batches:
            v, s = split(batch, set(verbatim))
            if tuple(batch) != last:
                assert (len(v), len(s)) == (n_v, n_s)
            else:
                assert len(v) >= 1 and len(s) >= 1


def test_sampler_distributed_wrapper_forwards_epoch():
    sampler, _, _ = make_sampler(seed=4)
    wrapped = DistributedSamplerWrapper(sampler, num_replicas=2, rank=0, shuffle=False)
    wrapped.set_epoch(0)
    epoch0 = [list(b) for b in wrapped]
    wrapped.set_epoch(1)
    assert sampler.epoch == 1
    assert [list(b) for b in wrapped] != epoch0


def test_sampler_feeds_a_dataloader():
    sampler, _, _ = make_sampler(12, 6, 4, seed=2)
    data = [i * 10 for i in range(18)]
    loader = torch.utils.data.DataLoader(data, batch_sampler=sampler)
    batches = [b.tolist() for b in loader]
    assert batches == [[i * 10 for i in b] for b in sampler]


def test_from_rows_builds_pools_from_manifest(audio_dir):
    rows = [
        row("u1", "audio/a.wav", duration="1.0", verbatim="a"),
        row("u2", "audio/b.wav", duration="0.5", subtitle="b"),
        row(
            "u3",
            "audio/a.wav",
            duration="0.4",
            start="0.1",
            stop="0.5",
            verbatim="c",
            subtitle="C.",
        ),
        row("u4", "audio/a.wav", duration="0.3", start="0.5", stop="0.8", subtitle="d"),
        row("u5", "audio/b.wav", duration="0.2", stop="0.2", verbatim="e"),
    ]
    manifest = write_manifest(audio_dir / "train.csv", rows)
    read = read_manifest(manifest)
    sampler = MixedRatioBatchSampler.from_rows(read, batch_size=2, shuffle=False)
    assert sampler.verbatim_pool == [0, 2, 4]
    assert sampler.subtitle_pool == [1, 3]
    assert sampler._lengths == {0: 1.0, 1: 0.5, 2: 0.4, 3: 0.3, 4: 0.2}
    assert list(sampler) == [[0, 1], [2, 3], [4, 1]]

    shuffled = MixedRatioBatchSampler.from_rows(read, batch_size=4, verbatim_fraction=0.75, seed=3)
    assert (shuffled.verbatim_share, shuffled.subtitle_share) == (3, 1)
    # Two subtitle rows, one per batch: the subtitle pool leads (2 batches)
    # and the three verbatim rows are each used twice.
    batches = list(shuffled)
    assert len(batches) == len(shuffled) == 2
    assert sorted(b[3] for b in batches) == [1, 3]
    assert sorted(i for b in batches for i in b[:3]) == [0, 0, 2, 2, 4, 4]
