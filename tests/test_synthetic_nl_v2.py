"""SyntheticNL generator version 2: held-out pools, voices, augmentation; version 1 unchanged."""

import csv
import hashlib
import json
import random
import re
import shutil
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
from text_pairs import generate_pairs, template_pool, vocabulary  # noqa: E402

HAVE_TOOLS = shutil.which("espeak-ng") is not None and shutil.which("sox") is not None
needs_tools = pytest.mark.skipif(
    not HAVE_TOOLS,
    reason="espeak-ng and/or sox not installed (Debian: apt-get install espeak-ng sox)",
)
VERBATIM_RE = re.compile(r"^[a-zà-ÿ' -]+$")
V1_DOMAINS = {"news", "weather", "sports", "daily", "greetings"}

# Recorded from the version 1 code before version 2 was added.
V1_PAIRS_SHA256 = "aa4fdb5574b7871d2c5bcdb794e7268b86682b561d9f63d41886fb05cbd33000"
V1_SPEAKERS_1234 = [
    ("nl+m2", 180, 55),
    ("nl", 160, 60),
    ("nl+f1", 160, 65),
    ("nl+m3", 165, 55),
    ("nl+m1", 145, 50),
    ("nl+m6", 155, 65),
]
# make_corpus.py --out DIR --size tiny --no-noise (seed 1234): rows without the
# duration column (which depends on the espeak-ng version) ...
V1_TINY_TEXT_SHA256 = {
    "train": "e99d860e4b7945663c7172ba673136929f307f3d070e8722e5858342d7ada94a",
    "valid": "b33f38db3847ce0c48932ab6a7993eac20ae3ee84333677a2694c455d30aa72b",
    "test": "4973bb994eb8e187cbaa2f435c3837c30192f1ad936f8e6e6cd6ad141f728673",
}
# ... and the file bytes and the audio, with these tool versions.
V1_TOOLS = {"espeak-ng": "eSpeak NG text-to-speech: 1.51", "sox": "sox:      SoX v14.4.2"}
V1_TINY_FILE_SHA256 = {
    "train": "42d6886d61b4a100813068e9dcea859672ab0361501c7c7844c6eb5ea7730cf9",
    "valid": "ec404ee3f749c99c20b1c87539f2b21caee6fc6ce0e04199eed87db1cded6b4a",
    "test": "f9988b6c10544b58c018a94ba3c394bf09a355533a74bd0663ad916b8d65ca77",
}
V1_TINY_WAVS_SHA256 = "591b84cc0b1724b82ff3d3730ea1806c18cb88476eac204b02a65c8f5d3248a8"


def pairs_sha256(pairs):
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(f"{pair.verbatim}\t{pair.subtitle}\t{pair.spoken}\n".encode())
    return digest.hexdigest()


def text_sha256(path):
    """Hash of the ID, wav (relative), verbatim and subtitle columns."""
    digest = hashlib.sha256()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            fields = [row["ID"], row["wav"], row["verbatim"], row["subtitle"]]
            digest.update("\t".join(fields).encode() + b"\n")
    return digest.hexdigest()


def wavs_sha256(folder):
    digest = hashlib.sha256()
    for wav in sorted((Path(folder) / "wavs").glob("*.wav")):
        digest.update(wav.name.encode())
        digest.update(wav.read_bytes())
    return digest.hexdigest()


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def speaker(row_id):
    return row_id.split("_")[0]


# --------------------------------------------------------------------------
# Version 1 is reproducible
# --------------------------------------------------------------------------


def test_v1_pairs_and_speakers_unchanged():
    pairs = generate_pairs(200, seed=3)
    assert pairs_sha256(pairs) == V1_PAIRS_SHA256
    assert pairs == generate_pairs(200, seed=3, generator=1)
    assert all(len(p.templates) in (1, 2) for p in pairs)
    assert {t.split(":")[0] for p in pairs for t in p.templates} <= V1_DOMAINS
    speakers = synthesize.make_speakers(6, seed=1234)
    assert [(s.voice, s.speed, s.pitch) for s in speakers] == V1_SPEAKERS_1234


@needs_tools
def test_v1_corpus_unchanged(tmp_path):
    out = tmp_path / "g1"
    args = ["--out", str(out), "--size", "tiny", "--no-noise", "--quiet", "--generator", "1"]
    assert make_corpus.main(args) == 0
    assert not (out / "test_unseen.csv").exists()
    for name, expected in V1_TINY_TEXT_SHA256.items():
        assert text_sha256(out / f"{name}.csv") == expected, name
    info = json.loads((out / "corpus_info.json").read_text(encoding="utf-8"))
    assert info["generator"] == 1 and info["generator_version"] == "1.0"
    assert "augmentation" not in info and "test_unseen" not in info["splits"]
    if info["tools"] != V1_TOOLS:
        pytest.skip(f"audio hashes were recorded with {V1_TOOLS}, not {info['tools']}")
    for name, expected in V1_TINY_FILE_SHA256.items():
        assert hashlib.sha256((out / f"{name}.csv").read_bytes()).hexdigest() == expected
    assert wavs_sha256(out) == V1_TINY_WAVS_SHA256


# --------------------------------------------------------------------------
# Templates, vocabulary and the held-out pools
# --------------------------------------------------------------------------


def test_v2_templates_and_vocabulary_are_larger():
    new = sum(len(entries) for entries in text_pairs.TEMPLATES_V2_EXTRA.values())
    assert new >= 40
    new_domains = set(text_pairs.TEMPLATES_V2) - V1_DOMAINS
    assert len(new_domains) >= 2
    old = vocabulary("seen", generator=1)
    full = text_pairs.LEXICON_V2
    for name in ("place", "first", "last", "club", "region", "holiday", "race", "river"):
        assert len(full[name]) >= 1.3 * len(old[name]), name
    assert len(set(full["place"])) == len(full["place"])


def test_pools_are_split_by_stable_hash():
    seen, unseen = template_pool("seen"), template_pool("unseen")
    assert not set(seen) & set(unseen)
    assert len(seen) + len(unseen) == sum(len(e) for e in text_pairs.TEMPLATES_V2.values())
    for domain, entries in text_pairs.TEMPLATES_V2.items():
        held = sum(t.domain == domain for t in unseen.values())
        assert held == max(1, round(0.2 * len(entries))), domain
        assert any(t.domain == domain for t in seen.values()), domain
    # The choice depends on the texts only, not on their order.
    texts = [t.text for t in seen.values()] + [t.text for t in unseen.values()]
    shuffled = texts[:]
    random.Random(1).shuffle(shuffled)
    assert text_pairs.held_out(texts, 0.2, "x") == text_pairs.held_out(shuffled, 0.2, "x")
    seen_vocab, unseen_vocab = vocabulary("seen"), vocabulary("unseen")
    for name, items in text_pairs.LEXICON_V2.items():
        if name in text_pairs.SHARED_VOCABULARY:
            assert seen_vocab[name] == unseen_vocab[name] == tuple(items)
            continue
        assert not set(seen_vocab[name]) & set(unseen_vocab[name]), name
        assert set(seen_vocab[name]) | set(unseen_vocab[name]) == set(items), name
        assert len(unseen_vocab[name]) == max(1, round(0.25 * len(items))), name
    with pytest.raises(ValueError):
        generate_pairs(3, generator=1, pool="unseen")
    with pytest.raises(ValueError):
        generate_pairs(3, generator=3)


def filler_values(name, value):
    """(vocabulary list, entry) pairs of one recorded slot filler."""
    if name == "person":
        first, last = value.split(" ", 1)
        return [("first", first), ("last", last)]
    if name == "road":
        return [("road", value.split()[-1])]
    return [(name, value)]


def vocab_keys(pool):
    keys = {}
    for name, items in vocabulary(pool).items():
        if name == "road":
            keys[name] = {f"{letter.upper()}{number}" for letter, number in items}
        else:
            keys[name] = set(items)
    return keys


def test_pool_separation():
    seen_ids, unseen_ids = set(template_pool("seen")), set(template_pool("unseen"))
    seen_vocab, unseen_vocab = vocab_keys("seen"), vocab_keys("unseen")
    private_unseen = {
        name: unseen_vocab[name] - seen_vocab[name]
        for name in unseen_vocab
        if name not in text_pairs.SHARED_VOCABULARY
    }
    seen_pairs = generate_pairs(2000, seed=0, generator=2, pool="seen")
    used = set()
    for pair in seen_pairs:
        assert set(pair.templates) <= seen_ids, pair
        used |= set(pair.templates)
        for name, value in pair.fillers:
            for vocab, entry in filler_values(name, value):
                assert entry in seen_vocab[vocab], (vocab, entry, pair)
                assert entry not in private_unseen.get(vocab, ()), (vocab, entry, pair)
    assert len(used) > 0.9 * len(seen_ids)
    assert {t.split(":")[0] for t in used} >= set(text_pairs.TEMPLATES_V2)
    unseen_pairs = generate_pairs(600, seed=0, generator=2, pool="unseen")
    for pair in unseen_pairs:
        assert pair.templates and set(pair.templates) <= unseen_ids, pair
        for name, value in pair.fillers:
            for vocab, entry in filler_values(name, value):
                assert entry in unseen_vocab[vocab], (vocab, entry, pair)
    assert not {p.subtitle for p in seen_pairs} & {p.subtitle for p in unseen_pairs}
    assert generate_pairs(50, seed=0, generator=2, pool="unseen") == unseen_pairs[:50]
    assert generate_pairs(50, seed=0, generator=2) == seen_pairs[:50]


@pytest.mark.parametrize("pool", ["seen", "unseen"])
def test_every_template_realizes(pool):
    slots = text_pairs.SLOTS_V2[pool]
    config = text_pairs.PhenomenaConfig(colloquial=0.8)
    rng = random.Random(f"realize-{pool}")
    for template in template_pool(pool).values():
        for _ in range(5):
            words, subtitle, _ = text_pairs.realize_template(template, rng, config, slots)
            verbatim = " ".join(words)
            assert verbatim and VERBATIM_RE.match(verbatim), (template.text, verbatim)
            assert not re.search(r"\d", verbatim), template.text
            first = subtitle[3:] if subtitle.startswith(("'s ", "'t ")) else subtitle
            assert first[0].isupper() and subtitle[-1] in ".?!", (template.text, subtitle)
            assert not re.search(r"[{}<>\[\]|^=]", subtitle), (template.text, subtitle)
            # Colloquial forms and inserted particles stay out of the subtitle.
            tokens = set(re.sub(r"[.,?!](\s|$)", " ", subtitle.lower()).split())
            assert not tokens & {"nie", "'t", "ge", "'k", "da's", "allee", "hé", "euh"}, subtitle


# --------------------------------------------------------------------------
# A tiny version 2 corpus
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_v2(tmp_path_factory):
    if not HAVE_TOOLS:
        pytest.skip("espeak-ng and/or sox not installed (Debian: apt-get install espeak-ng sox)")
    out = tmp_path_factory.mktemp("synth_v2") / "tiny"
    info = synthesize.build_corpus(out, size="tiny", seed=77, jobs=2, progress=False)
    return out, info


@needs_tools
def test_tiny_v2_has_test_unseen_with_held_out_speakers(tiny_v2):
    out, info = tiny_v2
    assert info["generator"] == 2 and info["generator_version"] == "2.0"
    manifests = {n: read_rows(out / f"{n}.csv") for n in ("train", "valid", "test", "test_unseen")}
    for rows in manifests.values():
        assert list(rows[0]) == list(synthesize.MANIFEST_COLUMNS)
    counts = {name: len(rows) for name, rows in manifests.items()}
    assert counts == {"train": 36, "valid": 2, "test": 2, "test_unseen": 2}
    assert all(r["verbatim"] and r["subtitle"] for r in manifests["test_unseen"])
    unseen_speakers = {speaker(r["ID"]) for r in manifests["test_unseen"]}
    others = {speaker(r["ID"]) for n in ("train", "valid", "test") for r in manifests[n]}
    assert unseen_speakers and not unseen_speakers & others
    assert unseen_speakers <= set(info["test_unseen_speakers"])
    by_split = {name: split["speakers"] for name, split in info["splits"].items()}
    unseen_voices = {s["voice"] for s in by_split["test_unseen"]}
    other_voices = {s["voice"] for n, spk in by_split.items() if n != "test_unseen" for s in spk}
    assert not unseen_voices & other_voices
    assert not unseen_voices & set(synthesize.VOICES_V2)
    low, high = synthesize.SPEED_RANGE_V2
    plow, phigh = synthesize.PITCH_RANGE_V2
    assert any(
        not low <= s["speed"] <= high and not plow <= s["pitch"] <= phigh
        for s in by_split["test_unseen"]
    )
    for name, speakers in by_split.items():
        if name != "test_unseen":
            assert all(low <= s["speed"] <= high and plow <= s["pitch"] <= phigh for s in speakers)
    # The test_unseen texts are the unseen pool's; every wav exists.
    expected = generate_pairs(2, seed=77, generator=2, pool="unseen")
    assert [r["subtitle"] for r in manifests["test_unseen"]] == [p.subtitle for p in expected]
    for rows in manifests.values():
        for row in rows:
            assert sf.info(str(out / row["wav"])).samplerate == 16000
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC SPEECH" in readme and "test_unseen.csv" in readme
    assert "--generator 1" in readme
    # test_unseen_new.csv: the test_unseen rows whose templates generator 1 lacks
    old = set(template_pool("seen", generator=1))
    templates = info["test_unseen_templates"]
    assert set(templates) == {r["ID"] for r in manifests["test_unseen"]}
    new = [r["ID"] for r in manifests["test_unseen"] if not old & set(templates[r["ID"]])]
    assert [r["ID"] for r in read_rows(out / "test_unseen_new.csv")] == new
    assert info["test_unseen_new_rows"] == len(new)
    many = generate_pairs(300, seed=77, generator=2, pool="unseen")
    fresh = [p for p in many if not old & set(p.templates)]
    assert 0 < len(fresh) < len(many)


@needs_tools
def test_tiny_v2_augmentation_record(tiny_v2):
    out, info = tiny_v2
    rows = info["augmentation"]["rows"]
    splits = info["splits"]
    assert splits["valid"]["augmented_rows"] == splits["test"]["augmented_rows"] == 0
    assert splits["test_unseen"]["augmented_rows"] == splits["test_unseen"]["rows"]
    train_rows = splits["train_verbatim"]["rows"] + splits["train_subtitle"]["rows"]
    train_aug = (
        splits["train_verbatim"]["augmented_rows"] + splits["train_subtitle"]["augmented_rows"]
    )
    assert 0.2 * train_rows <= train_aug <= 0.8 * train_rows
    unseen = [rows[r["ID"]] for r in read_rows(out / "test_unseen.csv")]
    assert all(15 <= a["snr_db"] <= 30 for a in unseen)
    assert sum("reverb" in a for a in unseen) == len(unseen) // 2
    for name in ("valid", "test"):
        assert not {r["ID"] for r in read_rows(out / f"{name}.csv")} & set(rows)
    for aug in rows.values():
        assert "snr_db" in aug or "reverb" in aug
        if "snr_db" in aug:
            assert 10 <= aug["snr_db"] <= 30


@needs_tools
def test_tiny_v2_is_repeatable(tiny_v2, tmp_path):
    out, info = tiny_v2
    again = tmp_path / "again"
    synthesize.build_corpus(again, size="tiny", seed=77, jobs=2, progress=False)
    assert wavs_sha256(again) == wavs_sha256(out)
    for name in ("train", "valid", "test", "test_unseen"):
        assert (again / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()
    info_again = json.loads((again / "corpus_info.json").read_text(encoding="utf-8"))
    assert info_again["augmentation"] == info["augmentation"]


@needs_tools
def test_augmentation_changes_audio(tmp_path):
    text = "de trein naar gent heeft twintig minuten vertraging"
    clean, noisy, reverb = tmp_path / "clean.wav", tmp_path / "noisy.wav", tmp_path / "rev.wav"
    synthesize.synthesize(text, clean, voice="nl+m3", seed=[5, 1])
    synthesize.synthesize(text, noisy, voice="nl+m3", seed=[5, 1], snr_db=20, noise_color="pink")
    synthesize.synthesize(text, reverb, voice="nl+m3", seed=[5, 1], reverb=[60, 50, 80])
    a, b = sf.read(clean)[0], sf.read(noisy)[0]
    assert len(a) == len(b) and not np.array_equal(a, b)
    snr = 20 * np.log10(synthesize.speech_level(a) / np.sqrt(np.mean((b - a) ** 2)))
    assert snr == pytest.approx(20, abs=1.0)
    c = sf.read(reverb)[0]
    assert clean.read_bytes() != reverb.read_bytes() and len(c) != len(a)
    again = tmp_path / "again.wav"
    synthesize.synthesize(text, again, voice="nl+m3", seed=[5, 1], snr_db=20, noise_color="pink")
    assert again.read_bytes() == noisy.read_bytes()


@needs_tools
def test_cli_generator_and_no_augment(tmp_path):
    out = tmp_path / "cli"
    args = ["--out", str(out), "--utterances", "8", "--quiet", "--no-augment"]
    assert make_corpus.main(args) == 0
    info = json.loads((out / "corpus_info.json").read_text(encoding="utf-8"))
    assert info["generator"] == 2 and not info["augmentation"]["rows"]
    assert len(read_rows(out / "test_unseen.csv")) == 2
    assert "--no-augment" in (out / "README.txt").read_text(encoding="utf-8")
    assert make_corpus.main([*args, "--overwrite", "--generator", "1"]) == 0
    assert not (out / "test_unseen.csv").exists()
    assert not (out / "test_unseen_new.csv").exists()
