"""Fine-tuning a model imported by ``import-nelf`` (``--pretrained_path``), then
exporting it: the token ids, front end and normalizer of the pretrained model
are kept, the model learns, and the export loads back with the same licence.

The imported model is a tiny random fixture (``tests/fixtures/nelf``), trained
here on the six tiny utterances with texts its 48-token list can spell.
"""

import csv
import json
import pathlib

import pytest
import torch
from conftest import FIXTURES, HPARAMS

from speechbrain_subtitle import train
from speechbrain_subtitle.hub import export_model
from speechbrain_subtitle.inference import SubtitleASR
from speechbrain_subtitle.nelf import import_nelf
from speechbrain_subtitle.tokenizer import TokenListTokenizer, load_tokenizer

CASE = FIXTURES / "nelf" / "conv2d_none_interctc"
# (verbatim, subtitle): only pieces of the fixture's token list, no <unk>
TEXTS = {
    "utt1": ("ze komt niet", "De man komt niet."),
    "utt2": ("twintig procent", "20 procent."),
    "utt3": ("waar is het journaal", "Dat is het journaal."),
    "utt4": ("ja ja dat is waar", "Dat is waar."),
    "utt5": ("allee we gaan", ""),
    "utt6": ("", "Gaan we morgen."),
}


def _manifest(path):
    with open(FIXTURES / "tiny.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            row["wav"] = str(FIXTURES / row["wav"])
            row["verbatim"], row["subtitle"] = TEXTS[row["ID"]]
            writer.writerow(row)
    return path


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """``(imported folder, experiment folder, brain)`` after 150 epochs."""
    tmp = tmp_path_factory.mktemp("finetune")
    imported = import_nelf(CASE, tmp / "imported")
    manifest = str(_manifest(tmp / "train.csv"))
    out = tmp / "run"
    brain = train.main(
        [str(HPARAMS / "train_tiny.yaml"), f"--output_folder={out}", "--device=cpu",
         f"--pretrained_path={imported}", f"--train_csv={manifest}",
         f"--valid_csv={manifest}", f"--test_csvs=[{manifest}]", "--number_of_epochs=150",
         "--lr=0.01", "--valid_search_interval=50"]
    )  # fmt: skip
    return imported, out, brain


def test_fine_tuning_keeps_the_pretrained_token_ids(finetuned):
    imported, out, brain = finetuned
    tokenizer = load_tokenizer(out / "save" / "tokenizer.model")
    assert isinstance(tokenizer, TokenListTokenizer)
    assert tokenizer.token_list == load_tokenizer(imported / "tokenizer.ckpt").token_list
    sos_eos = len(tokenizer) - 1
    model = brain.hparams.model
    assert (model.verbatim_bos_index, model.subtitle_bos_index, model.eos_index) == (sos_eos,) * 3
    # the batches the model trained on start and end with <sos/eos>
    dataset = train.make_dataset(
        train.read_manifest(str(out.parent / "train.csv")), tokenizer, **train.dataset_kwargs(
            brain.hparams.__dict__
        )
    )  # fmt: skip
    item = dataset[0]
    assert item["verbatim_bos"][0] == sos_eos and item["verbatim_eos"][-1] == sos_eos
    assert item["verbatim_eos"][:-1].tolist() == tokenizer.encode(TEXTS["utt1"][0])


def test_fine_tuning_keeps_the_front_end_and_normalizer(finetuned):
    imported, _, brain = finetuned
    mvn = torch.load(imported / "normalizer.ckpt", weights_only=True)
    assert all(torch.equal(brain.hparams.normalize.state_dict()[k], v) for k, v in mvn.items())
    fbank = torch.load(imported / "features.ckpt", weights_only=True)
    state = brain.hparams.compute_features.state_dict()
    assert fbank and all(torch.equal(state[k], v) for k, v in fbank.items())


def test_the_imported_model_learns_its_training_texts(finetuned):
    imported, out, brain = finetuned
    log = (out / "train_log.txt").read_text().splitlines()
    first_loss = float(log[0].split("valid loss: ")[1].split(",")[0])
    assert first_loss > 4.0  # random fixture weights: nothing known at the start
    stats = brain.last_stats  # beam search with CTC on the training utterances
    assert stats["WER_verbatim"] <= 10.0 and stats["WER_subtitle"] <= 10.0, stats


def test_the_fine_tuned_model_exports_and_loads_back(finetuned, tmp_path):
    imported, out, brain = finetuned
    folder = export_model(out, tmp_path / "exported")
    assert (folder / "features.ckpt").is_file()
    asr = SubtitleASR.from_hparams(source=str(folder), savedir=str(folder))
    assert isinstance(asr.tokenizer, TokenListTokenizer)
    trained = brain.hparams.model.state_dict()
    assert all(torch.equal(trained[k], v) for k, v in asr.model.state_dict().items())
    # greedy search of the exported model writes the training texts
    result = asr.transcribe_file(str(FIXTURES / "wavs" / "utt3.wav"), greedy=True)
    assert (result.verbatim, result.subtitle) == TEXTS["utt3"]
    # weights derived from CC BY-NC weights stay CC BY-NC
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["card"]["license"] == "cc-by-nc-4.0"
    assert config["fine_tuned_from"] == str(imported)
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "license: cc-by-nc-4.0" in card and "Apache" not in card


def test_our_own_exports_keep_the_apache_licence(tmp_path):
    # the licence is only carried over from a pretrained folder that has one
    card = {"data_note": "x"}
    config = {}
    from speechbrain_subtitle.hub import _carry_licence

    _carry_licence({"pretrained_path": None}, pathlib.Path(tmp_path), card, config)
    assert card == {"data_note": "x"} and config == {}
    (tmp_path / "config.json").write_text(json.dumps({"card": {"license": "apache-2.0"}}))
    _carry_licence({"pretrained_path": "org/model"}, tmp_path, card, config)
    assert "license" not in card and config == {"fine_tuned_from": "org/model"}
