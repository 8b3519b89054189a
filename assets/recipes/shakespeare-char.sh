#!/usr/bin/env bash
# Rebuilds builtin:shakespeare-char (assets/models/shakespeare-char) with smolbox itself:
# a fresh 5-layer, 192-wide GPT-2 with a character tokenizer (assets/recipes/shakespeare-char/),
# fine-tuned on builtin:tiny_shakespeare, scored on its validation split, stored as fp16.
# Usage: assets/recipes/shakespeare-char.sh [work-dir]   (about 45 minutes on 2 cores)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
smox() { node "$repo/dist/src/cli.js" "$@"; }
work="${1:-$(mktemp -d)}"
mkdir -p "$work" && cd "$work"

smox init
smox transform/reinitializer --model_path "$repo/assets/recipes/shakespeare-char" --seed 1337
smox train/finetuner --dataset_path builtin:tiny_shakespeare --max_seq_length 256 --batch_size 16 \
  --learning_rate 1.5e-3 --lr_scheduler cosine --warmup_steps 100 --max_steps 2500 \
  --weight_decay 0.1 --grad_clip 1 --eval_every 250 --save_every 250 --seed 1337
smox eval/perplexity --dataset_path builtin:tiny_shakespeare
smox transform/quantizer --precision 16 --layer_types Conv1D,Embedding
smox eval/perplexity --dataset_path builtin:tiny_shakespeare
smox infer/sampler --prompt "ROMEO:" --max_new_tokens 200 --seed 1
smox io/exporter --export_format hf --export_model_path "$repo/assets/models/shakespeare-char"
