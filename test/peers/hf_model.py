"""Hugging Face transformers as the reference for our architectures (used by the parity tests).

  python3 hf_model.py make <out_dir> <json>
      json: {"model_type": ..., "config": {...overrides}, "seed": int, "noise": float,
             "prompts": [[ids], ...], "new_tokens": int}
      Builds AutoModelForCausalLM.from_config (eager attention), adds N(0, noise) to every
      parameter so that no path is trivially zero, saves it with save_pretrained (safetensors)
      and writes <out_dir>/reference.json: per prompt the logits of every position and the
      greedy continuation.
  python3 hf_model.py logits <model_dir> <json>
      Loads a directory (ours) and prints the same reference JSON to stdout, without saving.
  python3 hf_model.py configs <json>
      json: {"<out_dir>": {"model_type": ..., "config": {...overrides}}, ...}
      Writes each config.json as transformers saves it (the lists it derives included).
  python3 hf_model.py make-from <json>
      json: {"models": {"<out_dir>": "<config_dir>", ...}, "seed", "noise", "prompts", "new_tokens"}
      As make, for models built from the config.json in each <config_dir> as transformers reads it.
  python3 hf_model.py greedy - <json>
      json: {"jobs": [{"dir": ..., "prompt": [ids], "state_dict": <file or absent>}, ...],
             "new_tokens": int}. For each job, in one process (importing torch takes seconds):
      the greedy continuation and its text (AutoTokenizer from dir). With a state_dict the
      model is built from dir's config and its weights come from torch.load(<file>), strictly
      (a bare state dict, as io/exporter's .pt writes it).
"""
import json
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer


def reference(model, prompts, new_tokens):
    """Logits of every position, and the greedy continuation by full recomputation: the whole
    sequence runs again for each token, what a KV cache must equal. (Not generate(): at phi3's
    longrope switch transformers 5 drops the cache but then runs only the newest token.)"""
    out = {"logits": [], "greedy": []}
    with torch.no_grad():
        for ids in prompts:
            x = torch.tensor([ids], dtype=torch.long)
            out["logits"].append(model(x).logits[0].float().flatten().tolist())
            seq = list(ids)
            for _ in range(new_tokens):
                seq.append(int(model(torch.tensor([seq], dtype=torch.long)).logits[0, -1].argmax()))
            out["greedy"].append(seq[len(ids):])
    return out


def make(cfg, path, spec):
    torch.manual_seed(spec.get("seed", 0))
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * spec.get("noise", 0.1))
    model.save_pretrained(path, safe_serialization=True)
    ref = reference(model, spec["prompts"], spec["new_tokens"])
    with open(f"{path}/reference.json", "w") as f:
        json.dump(ref, f)


def greedy(job, spec):
    if "state_dict" in job:
        cfg = AutoConfig.from_pretrained(job["dir"])
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32).eval()
        # strict: every parameter present under its Hugging Face name, nothing extra.
        model.load_state_dict(torch.load(job["state_dict"], weights_only=True), strict=True)
    else:
        model = AutoModelForCausalLM.from_pretrained(job["dir"], attn_implementation="eager", torch_dtype=torch.float32).eval()
    ids = reference(model, [job["prompt"]], spec["new_tokens"])["greedy"][0]
    return {"ids": ids, "text": AutoTokenizer.from_pretrained(job["dir"]).decode(ids)}


def main():
    if sys.argv[1] in ("configs", "make-from"):
        cmd, path, spec = sys.argv[1], None, json.loads(sys.argv[2])
    else:
        cmd, path, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    torch.manual_seed(spec.get("seed", 0))
    torch.set_num_threads(1)
    if cmd == "make":
        make(AutoConfig.for_model(spec["model_type"], **spec["config"]), path, spec)
    elif cmd == "configs":
        for out, c in spec.items():
            AutoConfig.for_model(c["model_type"], **c["config"]).save_pretrained(out)
    elif cmd == "make-from":
        for out, config_dir in spec["models"].items():
            make(AutoConfig.from_pretrained(config_dir), out, spec)
    elif cmd == "greedy":
        json.dump([greedy(job, spec) for job in spec["jobs"]], sys.stdout)
    elif cmd == "logits":
        model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager", torch_dtype=torch.float32).eval()
        json.dump(reference(model, spec["prompts"], spec["new_tokens"]), sys.stdout)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
