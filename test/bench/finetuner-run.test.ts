import { fork } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FinetunerResult, FinetunerSpec } from '../../bench/finetuner-run.js';
import { ensureBuilt, repoRoot } from '../cli/built-cli.js';

/** The runner as bench:train forks it: the built file, a spec as argv[2], one message back. */
function runBuilt(spec: FinetunerSpec): Promise<FinetunerResult | { type: 'error'; message: string }> {
  const child = fork(path.join(repoRoot, 'dist', 'bench', 'finetuner-run.js'), [JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let answer: FinetunerResult | { type: 'error'; message: string } | undefined;
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.on('message', (m: typeof answer) => (answer = m));
  return new Promise((resolve) => child.on('exit', (code) => resolve(answer ?? { type: 'error', message: `exit ${code}: ${stderr}` })));
}

const VOCAB = 96;
const tiny: FinetunerSpec = {
  config: { model_type: 'gpt2', n_layer: 2, n_embd: 32, n_head: 2, vocab_size: VOCAB, n_positions: 64, tie_word_embeddings: true },
  batch: 2, seq: 16, steps: 2, threads: 1, lr: 1e-3, weightDecay: 0, gradClip: 1,
};

describe('bench:train finetuner run', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('trains a random model of the given config with the real tool and reports its steady-state rate apart from warm-up', async () => {
    const r = await runBuilt(tiny);
    expect(r.type, 'message' in r ? r.message : '').toBe('result');
    const result = r as FinetunerResult;
    // The tool's two warm-up steps, then the measured ones.
    expect(result.steadySteps).toBe(2);
    expect(result.tokensPerS).toBeGreaterThan(0);
    expect(result.warmupS).toBeGreaterThan(0);
    // A random start over this config's vocabulary: the model was built from it.
    expect(Math.abs(result.firstLoss - Math.log(VOCAB))).toBeLessThan(0.5);
    expect(result.peakRssMb).toBeGreaterThan(50);
  }, 120_000);

  it('answers a config it cannot build with an error naming the step that failed', async () => {
    const r = await runBuilt({ ...tiny, config: { ...tiny.config, model_type: 'nonesuch' } });
    expect(r.type).toBe('error');
    expect('message' in r && r.message).toMatch(/^transform\/reinitializer failed: .*nonesuch/);
  }, 120_000);
});
