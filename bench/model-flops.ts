/**
 * What a training step of a decoder costs, from its Architecture's parameter list alone (no
 * family-specific code): model FLOPs per token for MFU, and the matrix products it is made of
 * for the MatMul ceiling.
 *
 * FLOPs per token generalise nanoGPT's estimate_mfu (the PaLM paper's appendix B count) from
 * GPT-2 to any decoder: 6·N + 12·L·T·(H·D), where
 *   N  = the parameters a token's forward and backward multiply by: every parameter but the
 *        position embeddings (a lookup) and an untied token embedding (a lookup too; its
 *        separate head counts instead); a tied embedding counts once, as the head's matmul.
 *        6 = 2 (multiply-add) × 3 (forward, gradient of the input, gradient of the weight).
 *   12·L·T·(H·D) = the attention scores QKᵀ and the context A·V, 2·T·(H·D) each per token and
 *        layer, ×3 for forward and backward, over the full T×T (the causal half is not
 *        subtracted, as in nanoGPT). H·D is the query heads' width: with grouped-query
 *        attention every query head still multiplies its own scores.
 * Biases and norm weights sit in N although they are not matmuls (< 0.1 % of it here).
 */
import type { Architecture, DecoderConfig } from '../src/models/architecture.js';
import { isInOut } from '../src/models/architecture.js';
import { numel } from '../src/models/tensor.js';
import type { Shape } from './matmul-ceiling.js';

/** N above. */
export function matmulParameters(arch: Architecture<DecoderConfig>, cfg: DecoderConfig): number {
  return arch.parameters(cfg).reduce((n, p) => {
    if (p.role === 'position_embedding') return n;
    if (p.role === 'token_embedding' && !cfg.tieWordEmbeddings) return n;
    return n + numel(p.shape);
  }, 0);
}

export function modelFlopsPerToken(arch: Architecture<DecoderConfig>, cfg: DecoderConfig, seq: number): number {
  return 6 * matmulParameters(arch, cfg) + 12 * cfg.numLayers * seq * cfg.numHeads * cfg.headDim;
}

/**
 * The model's weight products at `rows` tokens: [rows, K, N] for each distinct projection
 * (K ≤ N, since the ceiling's chain runs [K,N] and its transpose alike), the head included.
 */
export function productShapes(arch: Architecture<DecoderConfig>, cfg: DecoderConfig, rows: number): Shape[] {
  const seen = new Map<string, Shape>();
  for (const p of arch.parameters(cfg)) {
    const product = p.shape.length === 2 && (p.role === 'attention' || p.role === 'mlp' || p.role === 'head' || (p.role === 'token_embedding' && cfg.tieWordEmbeddings));
    if (!product) continue;
    const [a, b] = isInOut(p) ? p.shape : [p.shape[1], p.shape[0]];
    const shape: Shape = [rows, Math.min(a, b), Math.max(a, b)];
    seen.set(shape.join('x'), shape);
  }
  return [...seen.values()];
}
