/**
 * A transformers.js causal LM as a Decoder: its own forward pass (which fills position_ids,
 * the empty first-step cache, use_cache_branch and num_logits_to_keep as each exported graph
 * declares them), with the KV cache kept here between calls. Sampling stays ours
 * (runtime/sampling.ts): transformers.js 4.3's generate leaves its top-k and top-p warpers
 * commented out and draws with an unseeded Math.random.
 */
import { DynamicCache, Tensor, type PreTrainedModel } from '@huggingface/transformers';
import { UserError } from '../core/tool.js';
import { type Decoder, keepPositions, reusablePrefix } from './decoder.js';
import { ortError } from './session.js';

type Outputs = Record<string, Tensor>;

export class TransformersJsDecoder implements Decoder {
  private cache = new DynamicCache();
  private past = 0;
  /** The token ids whose keys and values the cache holds, in order (length `past`). */
  private ids: number[] = [];
  private readonly keepsLogits: boolean;

  /** `config.vocabSize` may be 0 when config.json does not say: the first logits tell it. */
  constructor(
    private readonly model: PreTrainedModel,
    readonly config: { maxPositions: number; vocabSize: number },
    private readonly logitsMode: 'last' | 'all',
  ) {
    const session = (model as unknown as { sessions: Record<string, { inputNames: string[] }> }).sessions.model;
    this.keepsLogits = session?.inputNames.includes('num_logits_to_keep') ?? false;
  }

  get pastLength(): number {
    return this.past;
  }

  async prefill(ids: ArrayLike<number>): Promise<Float32Array> {
    this.cache = new DynamicCache();
    this.past = 0;
    this.ids = [];
    return this.step(ids);
  }

  /**
   * As DecoderSession.resume. Cutting the cache back is done for plain key/value caches only
   * ([batch, heads, positions, head_dim] each); a model with other state (a hybrid's
   * convolution or SSM state cannot be cut) starts over when the prompt parts from the cache.
   */
  async resume(ids: readonly number[]): Promise<{ logits: Float32Array; reused: number }> {
    let keep = reusablePrefix(this.ids, ids);
    if (keep < this.past && !this.truncate(keep)) keep = 0;
    if (keep <= 0) return { logits: await this.prefill(ids), reused: 0 };
    return { logits: await this.step(ids.slice(keep)), reused: keep };
  }

  /** Keeps the first `length` positions of every cached key and value; false when the cache is not only those. */
  private truncate(length: number): boolean {
    const entries = Object.entries(this.cache as unknown as Record<string, Tensor>);
    if (!entries.every(([name, t]) => /^past_key_values\.\d+\.(key|value)$/.test(name) && t.dims.length === 4 && t.dims[2] === this.past)) return false;
    const cut: Record<string, Tensor> = {};
    for (const [name, t] of entries) {
      const [batch, heads, T, headDim] = t.dims;
      cut[name] = new Tensor(t.type, keepPositions(t.data as Float32Array, batch * heads, T, length, headDim), [batch, heads, length, headDim]);
    }
    this.cache.update(cut);
    this.past = length;
    this.ids = this.ids.slice(0, length);
    return true;
  }

  async step(ids: ArrayLike<number> | number): Promise<Float32Array> {
    const tokens = typeof ids === 'number' ? [ids] : Array.from(ids);
    this.check(tokens);
    const S = tokens.length;
    const T = this.past + S;
    const inputs: Record<string, unknown> = {
      input_ids: new Tensor('int64', BigInt64Array.from(tokens, BigInt), [1, S]),
      attention_mask: new Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      past_key_values: this.cache,
    };
    // Graphs that can skip the head on all but the last position are told to when generating.
    if (this.keepsLogits && this.logitsMode === 'last') inputs.num_logits_to_keep = new Tensor('int64', [1n], []);
    let out: Outputs;
    try {
      out = (await this.model.forward(inputs)) as Outputs;
    } catch (err) {
      throw ortError(err, 'running the model in transformers.js');
    }
    const next: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) if (name.startsWith('present')) next[name.replace('present', 'past_key_values')] = t;
    this.cache.update(next);
    this.past = T;
    this.ids.push(...tokens);
    const logits = out.logits.to('float32');
    const vocab = logits.dims.at(-1)!;
    if (!this.config.vocabSize) (this.config as { vocabSize: number }).vocabSize = vocab;
    const data = logits.data as Float32Array;
    const rows = data.length / vocab;
    if (this.logitsMode === 'last') return data.subarray((rows - 1) * vocab);
    return rows === S ? data : data.subarray((rows - S) * vocab);
  }

  private check(tokens: number[]): void {
    const { vocabSize, maxPositions } = this.config;
    if (tokens.length === 0) throw new UserError('no tokens to run; give a non-empty prompt');
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || (vocabSize > 0 && t >= vocabSize)) {
        throw new UserError(`token id ${t} is outside the model's vocabulary (0..${vocabSize - 1}); the tokenizer does not match the model`);
      }
    }
    if (this.past + tokens.length > maxPositions) {
      throw new UserError(`the sequence would reach ${this.past + tokens.length} tokens, past the model's ${maxPositions} positions; use a shorter prompt or fewer new tokens`);
    }
  }
}
