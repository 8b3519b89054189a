"""The PyTorch peer of bench:train: Hugging Face transformers on PyTorch 2, as a user would
fine-tune the same model instead of with smox. AutoModelForCausalLM built from the same config
dict as our side (random weights, fp32, eager attention), trained in eager mode with the same
AdamW (lr, betas, eps, weight decay on the same tensors, global-norm clipping), batch, threads,
steps and warm-up. The loss is the model's own (labels through its loss_function) with
shift_labels set to the targets, so it is the mean cross-entropy of every position against our
targets, unshifted, exactly as our training graph computes it (transformers' own shift would
leave each row's last position out).

Prints one JSON line: tokens/s (mean over the measured steps, after the warm-up steps), the
parameter count, the first loss and this process's peak RSS. Run by bench/train.ts; usable alone:
  python3 bench/peers/torch_train.py --config '{"model_type":"gpt2","n_layer":4}' --steps 4 --warmup 2 --batch 8 --seq 128 --threads 2
"""
import argparse
import json
import resource
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM


def optimizer(model, o):
    # As our Trainer decays (src/runtime/adamw.ts decays()): matrices, not biases or norm weights.
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.endswith('.bias')]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.endswith('.bias'))]
    groups = [{'params': decay, 'weight_decay': o['weightDecay']}, {'params': rest, 'weight_decay': 0.0}]
    return torch.optim.AdamW(groups, lr=o['lr'], betas=(o['beta1'], o['beta2']), eps=o['eps'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', required=True, help='config.json as a JSON object (model_type picks the class)')
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--seq', type=int, default=128)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--optimizer', default='{"lr":1e-4,"weightDecay":0,"gradClip":1,"beta1":0.9,"beta2":0.999,"eps":1e-8}')
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    o = json.loads(a.optimizer)
    raw = json.loads(a.config)
    model_type = raw.pop('model_type')
    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **raw)
    model = AutoModelForCausalLM.from_config(config, attn_implementation='eager', dtype=torch.float32)
    model.train()
    opt = optimizer(model, o)
    vocab = config.vocab_size

    def step():
        ids = torch.randint(vocab, (a.batch, a.seq))
        targets = torch.randint(vocab, (a.batch, a.seq))
        loss = model(input_ids=ids, labels=targets, shift_labels=targets).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if o['gradClip'] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), o['gradClip'])
        opt.step()
        return loss.item()

    first_loss = None
    for _ in range(a.warmup):
        loss = step()
        first_loss = loss if first_loss is None else first_loss
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        first_loss = loss if first_loss is None else first_loss
    tokens = a.batch * a.seq
    print(json.dumps({
        'peer': f'pytorch {torch.__version__} eager, transformers {transformers.__version__}',
        'model_class': type(model).__name__, 'params': sum(p.numel() for p in model.parameters()),
        'batch': a.batch, 'seq': a.seq, 'threads': torch.get_num_threads(), 'steps': a.steps, 'warmup': a.warmup,
        'tokens_per_s': round(tokens / (sum(times) / len(times)), 1),
        'tokens_per_s_best': round(tokens / min(times), 1),
        'first_loss': round(first_loss, 4),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == '__main__':
    main()
