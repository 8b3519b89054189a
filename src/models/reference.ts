/**
 * The pieces of the architectures' independent plain-TypeScript forward passes (each family's
 * `reference`): loops over Float64 arrays, no ONNX, no graph builder. Slow on purpose and
 * written from the papers / transformers' modelling code, so the generated graphs have
 * something to be checked against.
 */
import type { Weights } from './tensor.js';

export type Vec = Float64Array;

export function get(w: Weights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference forward: missing ${name}`);
  return t.data;
}

/** y[n] = Σ_k x[k]·W[k, n] for W stored [in, out] (Conv1D). */
export function matVecInOut(x: Vec, w: Float32Array, inDim: number, outDim: number, bias?: Float32Array): Vec {
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
export function matVecOutIn(x: Vec, w: Float32Array, inDim: number, outDim: number, bias?: Float32Array): Vec {
  const y = new Float64Array(outDim);
  for (let n = 0; n < outDim; n++) {
    let s = bias ? bias[n] : 0;
    const row = n * inDim;
    for (let k = 0; k < inDim; k++) s += w[row + k] * x[k];
    y[n] = s;
  }
  return y;
}

export function layerNorm(x: Vec, gamma: Float32Array, beta: Float32Array, eps: number): Vec {
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

export function rmsNorm(x: Vec, gamma: Float32Array, eps: number): Vec {
  let ms = 0;
  for (let i = 0; i < x.length; i++) ms += x[i] * x[i];
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * gamma[i]);
}

export const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** erf by Abramowitz–Stegun 7.1.26 is too coarse for 1e-4 checks; use the series/continued fraction. */
export function erf(x: number): number {
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
export const geluExact = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** Attention variants the families need; the defaults are plain scaled causal attention. */
export interface AttentionOptions {
  /** Multiplies q·k (default 1/√D). */
  scale?: number;
  /** Sliding window: query t sees keys j with t − j < window (null: all earlier keys). */
  window?: number | null;
  /** Gemma 2's soft-capping of the scores: cap·tanh(s/cap). */
  softcap?: number | null;
}

/**
 * Causal multi-head attention for all positions. q[t] has H·D values, k[t]/v[t] have Hkv·D;
 * query head h reads kv head ⌊h / (H/Hkv)⌋.
 */
export function causalAttention(q: Vec[], k: Vec[], v: Vec[], H: number, Hkv: number, D: number, opts: AttentionOptions = {}): Vec[] {
  const group = H / Hkv;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const window = opts.window ?? null;
  const cap = opts.softcap ?? null;
  return q.map((qt, t) => {
    const out = new Float64Array(H * D);
    const first = window === null ? 0 : Math.max(0, t - window + 1);
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const scores = new Float64Array(t + 1).fill(-Infinity);
      for (let j = first; j <= t; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += qt[h * D + d] * k[j][kvh * D + d];
        s *= scale;
        scores[j] = cap === null ? s : cap * Math.tanh(s / cap);
      }
      let max = -Infinity;
      for (let j = first; j <= t; j++) max = Math.max(max, scores[j]);
      let z = 0;
      for (let j = first; j <= t; j++) z += (scores[j] = Math.exp(scores[j] - max));
      for (let j = first; j <= t; j++) {
        const p = scores[j] / z;
        for (let d = 0; d < D; d++) out[h * D + d] += p * v[j][kvh * D + d];
      }
    }
    return out;
  });
}

export function logitsFrom(hs: Vec[], head: Float32Array, V: number, C: number): Float32Array {
  const out = new Float32Array(hs.length * V);
  hs.forEach((h, t) => out.set(matVecOutIn(h, head, C, V), t * V));
  return out;
}

/** RoPE in the rotate-half convention: pairs (d, d + D/2) rotate by position·freq[d]. */
export function rotate(x: Vec, heads: number, D: number, pos: number, invFreq: ArrayLike<number>): Vec {
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


/**
 * Partial RoPE: within each head only the first `rotaryDim` features rotate, pairs
 * (d, d + rotaryDim/2) by position·freq[d]; the rest are copied (GPT-NeoX, Phi, StableLM).
 */
export function rotatePartial(x: Vec, heads: number, D: number, rotaryDim: number, pos: number, invFreq: ArrayLike<number>): Vec {
  const out = Float64Array.from(x);
  const half = rotaryDim / 2;
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
