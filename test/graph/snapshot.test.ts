/**
 * "Process replay" for the generated graphs: the op list, node names and I/O of fixed tiny
 * configs are snapshotted, so a refactor that changes a graph shows up in review. Update
 * deliberately with `npx vitest run test/graph -u`.
 */
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/graph/builder.js';
import { buildDecoderGraph } from '../../src/models/architecture.js';
import { architectureFor } from '../../src/models/index.js';

function describeGraph(g: Graph): string {
  const io = (v: { name: string; dtype: string; shape: (number | string)[] }) => `${v.name}: ${v.dtype}[${v.shape.join(', ')}]`;
  return [
    ...g.inputs.map((v) => `input ${io(v)}`),
    ...[...g.params.values()].map((v) => `param ${io(v)}`),
    ...g.nodes.map((n) => `${n.opType} ${n.name} -> ${n.outputs.map((o) => `[${o.shape.join(', ')}]`).join(' ')}`),
    ...g.outputs.map((v) => `output ${io(v)}`),
  ].join('\n');
}

const CONFIGS: Record<string, Record<string, unknown>> = {
  gpt2: { model_type: 'gpt2', vocab_size: 50, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 },
  llama: {
    model_type: 'llama', vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16,
  },
};

describe('graph snapshots', () => {
  for (const [name, raw] of Object.entries(CONFIGS)) {
    for (const logits of ['last', 'all'] as const) {
      it(`${name}, logits: ${logits}`, () => {
        const arch = architectureFor(raw);
        const g = buildDecoderGraph(arch, arch.normalizeConfig(raw), { logits });
        expect(describeGraph(g)).toMatchSnapshot();
      });
    }
  }
});
