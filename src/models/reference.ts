/**
 * An independent plain-TypeScript forward pass for GPT-2 and the LLaMA family: loops over
 * Float64 arrays, no ONNX, no graph builder. Slow on purpose and written from the papers /
 * transformers' modelling code, so the generated graphs have something to be checked against.
 * Returns full-sequence logits [seq · vocab] for one sequence.
 */
import type { Gpt2Config } from './gpt2.js';
import type { LlamaConfig } from './llama.js';
import type { Weights } from './tensor.js';

type Vec = Float64Array;

function get(w: Weights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference forward: missing ${name}`);
  return t.data;
}

/** y[n] = Σ_k x[k]·W[k, n] for W stored [in, out] (Conv1D). */
function matVecInOut(x: Vec, w: Float32Array, inDim: number, outDim: number, bias?: Float32Array): Vec {
  const y = new Float64Array(outDim);
  for (let k = 0; k < inDim; k++) {
    const xk = x[k];
    const row = k * outDim;
    for (let n = 0; n < outDim; n++) y[n] += xk * w[row + n];
  }
  if (bias) for (let n = 0; n < outDim; n++) y[n] += bias[n];
  return y;
}

/** y[n] = Σ_k W[n, k]·x[k] for W stored [out, in] (torch Linear). */
function matVecOutIn(x: Vec, w: Float32Array, inDim: number, outDim: number, bias?: Float32Array): Vec {
  const y = new Float64Array(outDim);
  for (let n = 0; n < outDim; n++) {
    let s = bias ? bias[n] : 0;
    const row = n * inDim;
    for (let k = 0; k < inDim; k++) s += w[row + k] * x[k];
    y[n] = s;
  }
  return y;
}

function layerNorm(x: Vec, gamma: Float32Array, beta: Float32Array, eps: number): Vec {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) ** 2;
  variance /= n;
  const r = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * r * gamma[i] + beta[i]);
}

function rmsNorm(x: Vec, gamma: Float32Array, eps: number): Vec {
  let ms = 0;
  for (let i = 0; i < x.length; i++) ms += x[i] * x[i];
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * gamma[i]);
}

const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** erf by Abramowitz–Stegun 7.1.26 is too coarse for 1e-4 checks; use the series/continued fraction. */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - Math.exp(-t * t) / (t * Math.sqrt(Math.PI)) * (1 - 1 / (2 * t * t)));
}
const geluExact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/**
 * Causal multi-head attention for all positions. q[t] has H·D values, k[t]/v[t] have Hkv·D;
 * query head h reads kv head ⌊h / (H/Hkv)⌋.
 */
function causalAttention(q: Vec[], k: Vec[], v: Vec[], H: number, Hkv: number, D: number): Vec[] {
  const group = H / Hkv;
  const scale = 1 / Math.sqrt(D);
  return q.map((qt, t) => {
    const out = new Float64Array(H * D);
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const scores = new Float64Array(t + 1);
      for (let j = 0; j <= t; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += qt[h * D + d] * k[j][kvh * D + d];
        scores[j] = s * scale;
      }
      const max = Math.max(...scores);
      let z = 0;
      for (let j = 0; j <= t; j++) z += (scores[j] = Math.exp(scores[j] - max));
      for (let j = 0; j <= t; j++) {
        const p = scores[j] / z;
        for (let d = 0; d < D; d++) out[h * D + d] += p * v[j][kvh * D + d];
      }
    }
    return out;
  });
}

function logitsFrom(hs: Vec[], head: Float32Array, V: number, C: number): Float32Array {
  const out = new Float32Array(hs.length * V);
  hs.forEach((h, t) => out.set(matVecOutIn(h, head, C, V), t * V));
  return out;
}

export function gpt2Reference(cfg: Gpt2Config, w: Weights, ids: number[]): Float32Array {
  const { hiddenSize: C, numHeads: H, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const wte = get(w, 'transformer.wte.weight');
  const wpe = get(w, 'transformer.wpe.weight');
  let hs: Vec[] = ids.map((id, t) => Float64Array.from({ length: C }, (_, c) => wte[id * C + c] + wpe[t * C + c]));
  const gelu = cfg.geluApproximate === 'tanh' ? geluTanh : geluExact;
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = (n: string) => get(w, `transformer.h.${i}.${n}`);
    const qkv = hs.map((h) =>
      matVecInOut(layerNorm(h, p('ln_1.weight'), p('ln_1.bias'), cfg.layerNormEpsilon), p('attn.c_attn.weight'), C, 3 * C, p('attn.c_attn.bias')),
    );
    const ctx = causalAttention(
      qkv.map((x) => x.subarray(0, C)),
      qkv.map((x) => x.subarray(C, 2 * C)),
      qkv.map((x) => x.subarray(2 * C)),
      H, H, D,
    );
    hs = hs.map((h, t) => {
      const a = matVecInOut(ctx[t], p('attn.c_proj.weight'), C, C, p('attn.c_proj.bias'));
      const h1 = h.map((x, c) => x + a[c]);
      const m = layerNorm(h1, p('ln_2.weight'), p('ln_2.bias'), cfg.layerNormEpsilon);
      const act = matVecInOut(m, p('mlp.c_fc.weight'), C, F, p('mlp.c_fc.bias')).map(gelu);
      const out = matVecInOut(act, p('mlp.c_proj.weight'), F, C, p('mlp.c_proj.bias'));
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => layerNorm(h, get(w, 'transformer.ln_f.weight'), get(w, 'transformer.ln_f.bias'), cfg.layerNormEpsilon));
  const head = cfg.tieWordEmbeddings ? wte : get(w, 'lm_head.weight');
  return logitsFrom(final, head, V, C);
}

/** RoPE in the rotate-half convention: pairs (d, d + D/2) rotate by position·freq[d]. */
function rotate(x: Vec, heads: number, D: number, pos: number, invFreq: ArrayLike<number>): Vec {
  const out = new Float64Array(x.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    for (let d = 0; d < half; d++) {
      const angle = pos * invFreq[d];
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = x[h * D + d];
      const b = x[h * D + d + half];
      out[h * D + d] = a * c - b * s;
      out[h * D + d + half] = b * c + a * s;
    }
  }
  return out;
}

/** `invFreq` is passed in: the RoPE frequency formula is config math, checked on its own. */
export function llamaReference(cfg: LlamaConfig, w: Weights, ids: number[], invFreq: ArrayLike<number>): Float32Array {
  const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const embed = get(w, 'model.embed_tokens.weight');
  const opt = (name: string) => w.get(name)?.data;
  let hs: Vec[] = ids.map((id) => Float64Array.from(embed.subarray(id * C, (id + 1) * C)));
  for (let i = 0; i < cfg.numLayers; i++) {
    const n = `model.layers.${i}`;
    const lin = (x: Vec, name: string, inDim: number, outDim: number) =>
      matVecOutIn(x, get(w, `${n}.${name}.weight`), inDim, outDim, opt(`${n}.${name}.bias`));
    const normed = hs.map((h) => rmsNorm(h, get(w, `${n}.input_layernorm.weight`), cfg.rmsNormEps));
    const q = normed.map((x, t) => rotate(lin(x, 'self_attn.q_proj', C, H * D), H, D, t, invFreq));
    const k = normed.map((x, t) => rotate(lin(x, 'self_attn.k_proj', C, Hkv * D), Hkv, D, t, invFreq));
    const v = normed.map((x) => lin(x, 'self_attn.v_proj', C, Hkv * D));
    const ctx = causalAttention(q, k, v, H, Hkv, D);
    hs = hs.map((h, t) => {
      const a = lin(ctx[t], 'self_attn.o_proj', H * D, C);
      const h1 = h.map((x, c) => x + a[c]);
      const m = rmsNorm(h1, get(w, `${n}.post_attention_layernorm.weight`), cfg.rmsNormEps);
      const gate = lin(m, 'mlp.gate_proj', C, F);
      const up = lin(m, 'mlp.up_proj', C, F);
      const act = gate.map((g, j) => (g / (1 + Math.exp(-g))) * up[j]);
      const out = lin(act, 'mlp.down_proj', F, C);
      return h1.map((x, c) => x + out[c]);
    });
  }
  const final = hs.map((h) => rmsNorm(h, get(w, 'model.norm.weight'), cfg.rmsNormEps));
  const head = cfg.tieWordEmbeddings ? embed : get(w, 'lm_head.weight');
  return logitsFrom(final, head, V, C);
}
