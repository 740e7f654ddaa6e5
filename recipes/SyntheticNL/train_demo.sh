#!/usr/bin/env bash
# Trains the demo model (models/synthetic-nl-c8-demo) on a SyntheticNL corpus in three steps:
#   1. CTC-only pre-training of the acoustic encoder (ctc_pretrain.py pretrain);
#   2. joint C8 training (train.py, hparams/c8_demo.yaml) from that encoder and CTC head,
#      with freshly initialised decoders, for a wall-clock budget (max_train_minutes);
#   3. export: the average of the 5 best checkpoints, float16 (speechbrain-subtitle export).
# Joint training from scratch on these small corpora leaves the CTC head all-blank and the
# decoders writing training sentences (README.md); step 1 avoids that.
#
# Usage (from the repository root):
#   bash recipes/SyntheticNL/train_demo.sh DATA TOKENIZER WORKDIR [DEVICE] [CTC_MIN] [JOINT_MIN]
#     DATA       corpus folder (make_corpus.py; train/valid/test.csv)
#     TOKENIZER  a SentencePiece model with 256 pieces trained on DATA's texts
#                (train.py writes one into <output_folder>/save/tokenizer.model)
#     WORKDIR    created: ctc.pt, experiment/ (training output), export/ (model folder)
#     DEVICE     cpu (default) or cuda:0
#     CTC_MIN    minutes for step 1 (default 60); JOINT_MIN minutes for step 2 (default 600)
# Environment: PYTHON (default: python), WORKERS (audio-reading processes, default 2),
#   BATCH (default 32), EXTRA (more train.py overrides, e.g. "--valid_search_interval=5").
# Synthetic espeak-ng speech: numbers measured on it say nothing about real speech.
set -uo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,20p' "$0"
    exit 2
fi
data=$1 tokenizer=$2 work=$3 device=${4:-cpu} ctc_min=${5:-60} joint_min=${6:-600}
py=${PYTHON:-python} workers=${WORKERS:-2} batch=${BATCH:-32}
here=$(dirname "$0")
mkdir -p "$work"

"$py" "$here/ctc_pretrain.py" pretrain --data_folder "$data" --tokenizer "$tokenizer" \
    --steps 100000 --batch_size "$batch" --lr 0.0008 --warmup 500 --report 500 \
    --device "$device" --num_workers "$workers" --max_minutes "$ctc_min" \
    --checkpoint "$work/ctc.pt" || exit 1

# shellcheck disable=SC2086
"$py" "$here/train.py" "$here/hparams/c8_demo.yaml" --data_folder="$data" \
    --output_folder="$work/experiment" --tokenizer_file="$tokenizer" \
    --encoder_init="$work/ctc.pt" --device="$device" --num_workers="$workers" \
    --batch_size="$batch" --lr=0.0008 --n_warmup_steps=1000 --number_of_epochs=1000 \
    --max_train_minutes="$joint_min" ${EXTRA:-}
status=$?
# Export even when the test evaluation failed: the checkpoints are there.
"$py" -m speechbrain_subtitle.cli export --experiment "$work/experiment" --out "$work/export" \
    --average 5 --half --force || exit 1
exit $status
