/**
 * Rotary position embeddings as configs describe them, shared by every RoPE family (as
 * mlx-lm's rope_utils): where the base and scaling live in config.json, and the inverse
 * frequencies they give. transformers ≥ 5 writes `rope_parameters` ({rope_type, rope_theta,
 * factor…}); older configs write `rope_theta` and `rope_scaling` at the top level. Both read
 * the same; an unknown rope_type is an error, never a silently different model.
 */
import { UserError } from '../core/tool.js';
import type { GgufValue } from '../export/gguf-format.js';
import { ConfigReader } from './architecture.js';

/** rope scaling, normalised: none, linear (positions / factor) or Llama 3's frequency bands. */
export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** The base and scaling a config's rotary embedding uses. */
export interface RopeConfig {
  ropeTheta: number;
  ropeScaling: RopeScaling;
}

/**
 * Reads the rope of `raw` (`where` names the model type in messages). `layerType` picks one
 * entry where rope_parameters is keyed by layer type (Gemma 3: full_attention /
 * sliding_attention).
 */
export function readRope(raw: Record<string, unknown>, where: string, defaultTheta: number, layerType?: string): RopeConfig {
  let params = raw.rope_parameters as Record<string, unknown> | null | undefined;
  let at = `${where} config.json rope_parameters`;
  if (params && layerType && typeof params[layerType] === 'object') {
    params = params[layerType] as Record<string, unknown>;
    at += `.${layerType}`;
  }
  if (params && typeof params === 'object') {
    const r = new ConfigReader(params, at);
    return { ropeTheta: r.number('rope_theta', defaultTheta), ropeScaling: ropeScaling(params, at) };
  }
  const r = new ConfigReader(raw, `${where} config.json`);
  const scaling = raw.rope_scaling as Record<string, unknown> | null | undefined;
  return {
    ropeTheta: r.number('rope_theta', defaultTheta),
    ropeScaling: scaling ? ropeScaling(scaling, `${where} config.json rope_scaling`) : { type: 'none' },
  };
}

function ropeScaling(s: Record<string, unknown>, at: string): RopeScaling {
  const type = String(s.rope_type ?? s.type ?? 'default');
  const r = new ConfigReader(s, at);
  if (type === 'default') return { type: 'none' };
  if (type === 'linear') return { type: 'linear', factor: r.number('factor') };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: r.number('factor'),
      lowFreqFactor: r.number('low_freq_factor'),
      highFreqFactor: r.number('high_freq_factor'),
      originalMaxPositions: r.int('original_max_position_embeddings'),
    };
  }
  throw new UserError(`${at}: rope type "${type}" is not supported; use default, linear or llama3`);
}

/**
 * Inverse frequencies θ_i = theta^(−2i/dim) for the `dim` rotated features, with the scaling
 * applied as transformers' `_compute_llama3_parameters` does: long wavelengths slowed by
 * `factor`, short ones kept, the band between interpolated smoothly.
 */
export function inverseFrequencies(theta: number, s: RopeScaling, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    let f = 1 / Math.pow(theta, (2 * i) / dim);
    if (s.type === 'linear') f /= s.factor;
    else if (s.type === 'llama3') {
      const wavelen = (2 * Math.PI) / f;
      const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
      const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
      if (wavelen > lowFreqWavelen) f /= s.factor;
      else if (wavelen >= highFreqWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    out[i] = f;
  }
  return out;
}

/**
 * How many features of each head rotate (partial RoPE: GPT-NeoX, Phi, StableLM), as
 * transformers computes it: int(head_dim · partial_rotary_factor). transformers ≥ 5 keeps the
 * factor in rope_parameters; older configs at the top level under `legacyKey` (rotary_pct for
 * GPT-NeoX, partial_rotary_factor for Phi and StableLM). Must come out even and non-zero.
 */
export function rotaryDimension(raw: Record<string, unknown>, where: string, headDim: number, legacyKey: string, fallback: number): number {
  const params = raw.rope_parameters as Record<string, unknown> | null | undefined;
  const inParams = params && typeof params === 'object' && params.partial_rotary_factor != null;
  const at = inParams ? `${where} config.json rope_parameters` : `${where} config.json`;
  const factor = new ConfigReader(inParams ? params : raw, at).number(inParams ? 'partial_rotary_factor' : legacyKey, fallback);
  const dim = Math.floor(headDim * factor);
  if (factor > 1 || dim < 2 || dim % 2 !== 0) {
    const key = inParams ? 'partial_rotary_factor' : legacyKey;
    throw new UserError(`${at}: "${key}" ${factor} rotates ${dim} of ${headDim} head features; it must give an even number between 2 and head_dim`);
  }
  return dim;
}

/**
 * A partial_rotary_factor for a fresh config with heads of `headDim` features: `preferred` if
 * it rotates an even number of them, else the next of ½ and 1 that does (binary fractions, so
 * int(head_dim · factor) is exact).
 */
export function partialRotaryFactorFor(headDim: number, preferred: number): number {
  return [preferred, 0.5, 1].find((f) => f >= preferred && Math.floor(headDim * f) >= 2 && Math.floor(headDim * f) % 2 === 0) ?? 1;
}

/** GGUF's rope.scaling.* keys for a scaling; a UserError for what llama.cpp's GGUF cannot say. */
export function ggufRopeScaling(s: RopeScaling): [string, GgufValue][] {
  if (s.type === 'none') return [];
  if (s.type === 'linear') return [['rope.scaling.type', { type: 'string', value: 'linear' }], ['rope.scaling.factor', { type: 'f32', value: s.factor }]];
  throw new UserError(`--export_format gguf: rope_scaling "${s.type}" is not supported in GGUF export yet; use onnx or safetensors`);
}
