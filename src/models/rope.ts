/**
 * Rotary position embeddings as configs describe them, shared by every RoPE family (as
 * mlx-lm's rope_utils): where the base and scaling live in config.json, and the inverse
 * frequencies they give. transformers ≥ 5 writes `rope_parameters` ({rope_type, rope_theta,
 * factor…}); older configs write `rope_theta` and `rope_scaling` at the top level. Both read
 * the same; an unknown rope_type is an error, never a silently different model.
 */
import { UserError } from '../core/tool.js';
import type { RotaryOptions } from '../graph/layers.js';
import type { GgufValue } from '../export/gguf-format.js';
import { ConfigReader } from './architecture.js';

/**
 * rope scaling, normalised: none, linear (positions / factor), Llama 3's frequency bands, or
 * longrope (Phi-3: one factor per frequency, short within the original context and long past
 * it, cos/sin scaled by the attention factor).
 */
export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

/** Scalings only some families wire through (longrope needs the cos/sin scale and the switch in rotaryTables). */
export interface RopeSupport {
  longrope?: boolean;
}

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
export function readRope(
  raw: Record<string, unknown>,
  where: string,
  defaultTheta: number,
  layerType?: string,
  support: RopeSupport = {},
): RopeConfig {
  let params = raw.rope_parameters as Record<string, unknown> | null | undefined;
  let at = `${where} config.json rope_parameters`;
  if (params && layerType && typeof params[layerType] === 'object') {
    params = params[layerType] as Record<string, unknown>;
    at += `.${layerType}`;
  }
  if (params && typeof params === 'object') {
    const r = new ConfigReader(params, at);
    return { ropeTheta: r.number('rope_theta', defaultTheta), ropeScaling: ropeScaling(params, at, raw, support) };
  }
  const r = new ConfigReader(raw, `${where} config.json`);
  const scaling = raw.rope_scaling as Record<string, unknown> | null | undefined;
  return {
    ropeTheta: r.number('rope_theta', defaultTheta),
    ropeScaling: scaling ? ropeScaling(scaling, `${where} config.json rope_scaling`, raw, support) : { type: 'none' },
  };
}

function ropeScaling(s: Record<string, unknown>, at: string, raw: Record<string, unknown>, support: RopeSupport): RopeScaling {
  let type = String(s.rope_type ?? s.type ?? 'default');
  if (type === 'su') type = 'longrope'; // Phi-3's first name for it
  if (type === 'longrope' && support.longrope) return longrope(s, at, raw);
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
  throw new UserError(`${at}: rope type "${type}" is not supported; use default, linear${support.longrope ? ', llama3 or longrope' : ' or llama3'}`);
}

/**
 * Longrope as transformers' _compute_longrope_parameters reads it: the original context from
 * the config's top-level original_max_position_embeddings (Phi-3 keeps it there, and it wins),
 * else rope_parameters', else max_position_embeddings; factor defaults to max/original; the
 * attention factor to √(1 + ln factor / ln original) (1 when factor ≤ 1).
 */
function longrope(s: Record<string, unknown>, at: string, raw: Record<string, unknown>): RopeScaling {
  const r = new ConfigReader(s, at);
  const top = new ConfigReader(raw, at.replace(/ rope_\w+$/, ''));
  const factors = (key: string): number[] => {
    const v = s[key];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw new UserError(`${at}: "${key}" must be a list of positive numbers (one per rotary frequency), got ${JSON.stringify(v)}`);
    }
    return v as number[];
  };
  const originalMaxPositions = top.has('original_max_position_embeddings')
    ? top.int('original_max_position_embeddings')
    : r.has('original_max_position_embeddings') ? r.int('original_max_position_embeddings') : top.int('max_position_embeddings');
  const factor = r.has('factor') ? r.number('factor') : top.int('max_position_embeddings') / originalMaxPositions;
  const attentionFactor = r.has('attention_factor')
    ? r.number('attention_factor')
    : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMaxPositions));
  return { type: 'longrope', shortFactor: factors('short_factor'), longFactor: factors('long_factor'), originalMaxPositions, attentionFactor };
}

/**
 * Inverse frequencies θ_i = theta^(−2i/dim) for the `dim` rotated features, with the scaling
 * applied as transformers' `_compute_llama3_parameters` does: long wavelengths slowed by
 * `factor`, short ones kept, the band between interpolated smoothly. Longrope divides each by
 * its short factor here (the frequencies within the original context); `rotaryOptions` has
 * the long ones.
 */
export function inverseFrequencies(theta: number, s: RopeScaling, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    let f = 1 / Math.pow(theta, (2 * i) / dim);
    if (s.type === 'linear') f /= s.factor;
    else if (s.type === 'longrope') f /= s.shortFactor[i];
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

/** What rotaryTables needs beyond the frequencies: longrope's cos/sin scale and its long-context frequencies. */
export function rotaryOptions(theta: number, s: RopeScaling, dim: number): RotaryOptions {
  if (s.type !== 'longrope') return {};
  const long = inverseFrequencies(theta, { ...s, shortFactor: s.longFactor }, dim);
  return { scale: s.attentionFactor, long: { invFreq: long, from: s.originalMaxPositions } };
}

/** Throws unless longrope's factor lists have one entry per rotary frequency (`dim` rotated features). */
export function checkRopeFactors(s: RopeScaling, dim: number, where: string): void {
  if (s.type !== 'longrope') return;
  for (const [key, list] of [['short_factor', s.shortFactor], ['long_factor', s.longFactor]] as const) {
    if (list.length !== dim / 2) throw new UserError(`${where}: rope "${key}" has ${list.length} entries; the ${dim} rotary features need ${dim / 2}`);
  }
}

/**
 * Longrope factors for `count` rotary frequencies instead of `factors.length`: entry j scales
 * the frequency theta^(−j/count), which the old list scaled at fractional index j·old/count, so
 * each frequency both head sizes share keeps its factor and the ones between are interpolated
 * (the reinitializer's new head size; the factors were searched per frequency, not per index).
 */
export function resampleRopeFactors(factors: readonly number[], count: number): number[] {
  return Array.from({ length: count }, (_, j) => {
    const x = Math.min((j * factors.length) / count, factors.length - 1);
    const i = Math.floor(x);
    return i + 1 < factors.length ? factors[i] + (x - i) * (factors[i + 1] - factors[i]) : factors[i];
  });
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
