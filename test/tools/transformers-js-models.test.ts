/**
 * Ready-made ONNX models in the transformers.js layout, run through transformers.js: a model
 * directory made from the embedded model by our own ONNX exporter (fp32 as onnx/model.onnx, our
 * int8 and int4 quantizations as model_quantized.onnx and model_q4.onnx, as the hub names
 * them), imported, sampled (greedy ids as our engine gives on the original, seeds, top-p,
 * streaming, Ctrl-C, chat turns reading the KV cache), scored (our perplexity), held in
 * memory, copied by the exporter, and refused by every tool that needs our weights.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { transformersJsGreedy } from '../../bench/peers/transformers-js.js';
import type { ToolEvent } from '../../src/core/events.js';
import { readState } from '../../src/core/state.js';
import { Engine } from '../../src/engine/engine.js';
import { runTool } from '../../src/engine/run-tool.js';
import { stateRows } from '../../src/tui/StatePanel.js';
import { CHATML_TEMPLATE, run, tokensOf, toolWorkspace, writeChatModel } from './fixtures.js';

const PROMPT = 'ROMEO:\n';
const N = 24;
const { engine, cwd, step } = toolWorkspace('smolbox-tjs-model-', true);

const greedy = (model: string, n = N) => step(['infer/sampler', '--model_path', model, '--prompt', PROMPT, '--max_new_tokens', String(n), '--no-do-sample']);
const perplexity = (model: string) => step(['eval/perplexity', '--model_path', model, '--dataset_path', 'builtin:tiny_shakespeare', '--max_tokens', '600']);

/** Our greedy ids and perplexity on the embedded model and its int8 and int4 quantizations. */
const ours: Record<string, { ids: unknown; perplexity: number }> = {};

beforeAll(async () => {
  await step(['io/exporter', '--model_path', 'builtin:shakespeare-char', '--export_format', 'onnx', '--export_model_path', 'tjs']);
  ours.fp32 = { ids: (await greedy('builtin:shakespeare-char')).generated_ids, perplexity: (await perplexity('builtin:shakespeare-char')).perplexity as number };
  for (const [bits, dtype, suffix] of [['8', 'q8', '_quantized'], ['4', 'q4', '_q4']]) {
    await step(['transform/quantizer', '--model_path', 'builtin:shakespeare-char', '--precision', bits, '--output_model_path', `ours-${dtype}`]);
    await step(['io/exporter', '--model_path', `ours-${dtype}`, '--export_format', 'onnx', '--export_model_path', `onnx-${dtype}`]);
    fs.copyFileSync(path.join(cwd, `onnx-${dtype}`, 'onnx', 'model.onnx'), path.join(cwd, 'tjs', 'onnx', `model${suffix}.onnx`));
    ours[dtype] = { ids: (await greedy(`ours-${dtype}`)).generated_ids, perplexity: (await perplexity(`ours-${dtype}`)).perplexity as number };
  }
  // A hub model carries no smolbox.json: nothing of ours in the directory.
  fs.rmSync(path.join(cwd, 'tjs', 'smolbox.json'));
}, 300_000);

describe('io/importer on a transformers.js-layout directory', () => {
  it('takes the smallest variant that runs on the CPU by default, says so, and records the variant as model_path', async () => {
    const r = await run(cwd, engine, ['io/importer', '--model_path', 'tjs']);
    expect(r.ok, r.error).toBe(true);
    expect(r.result?.message).toMatch(/^imported tjs: gpt2, ONNX run by transformers\.js: onnx\/model_q4\.onnx \(q4: the smallest that runs on the CPU, of fp32, q8, q4\)/);
    expect(readState(cwd)?.model_path).toBe('tjs/onnx/model_q4.onnx');
    // The state panel says who holds the model.
    expect(engine.summary()).toMatchObject({ modelType: 'gpt2', engine: 'transformers.js (onnx/model_q4.onnx)', dtype: 'q4', parameters: null });
    const info = { threads: 1, model: engine.summary(), paramNames: engine.parameterNames(), builtins: { models: [], datasets: [] } };
    expect(new Map(stateRows(readState(cwd), info, cwd, 60)).get('engine')).toBe('transformers.js (onnx/model_q4.onnx)');
    expect(info.paramNames).toEqual([]);
  });

  it('--dtype picks a variant; one the model lacks is one line naming those it has, and the state stays', async () => {
    await step(['io/importer', '--model_path', 'tjs', '--dtype', 'fp32']);
    expect(readState(cwd)?.model_path).toBe('tjs/onnx/model.onnx');
    const r = await run(cwd, engine, ['io/importer', '--model_path', 'tjs', '--dtype', 'bnb4']);
    expect(r.error).toBe('tjs has no bnb4 ONNX variant (onnx/model_bnb4.onnx); it has fp32, q8, q4');
    expect(readState(cwd)?.model_path).toBe('tjs/onnx/model.onnx');
  });
});

describe('infer/sampler and eval/perplexity through transformers.js', () => {
  it('fp32, q8 and q4 variants greedy-decode the ids our engine gives on the model they were made from', async () => {
    const theirs: Record<string, unknown> = {};
    for (const [dtype, file] of [['fp32', 'model.onnx'], ['q8', 'model_quantized.onnx'], ['q4', 'model_q4.onnx']]) {
      const data = await greedy(`tjs/onnx/${file}`);
      expect(data.engine).toBe(`transformers.js (onnx/${file})`);
      theirs[dtype] = data.generated_ids;
    }
    expect(theirs).toEqual({ fp32: ours.fp32.ids, q8: ours.q8.ids, q4: ours.q4.ids });
    expect((theirs.fp32 as number[]).length).toBe(N);
  });

  it('scores the validation text as our engine does (fp32, q8, q4)', async () => {
    for (const [dtype, file] of [['fp32', 'model.onnx'], ['q8', 'model_quantized.onnx'], ['q4', 'model_q4.onnx']]) {
      const data = await perplexity(`tjs/onnx/${file}`);
      expect(data.engine).toBe(`transformers.js (onnx/${file})`);
      expect(Math.abs((data.perplexity as number) / ours[dtype].perplexity - 1), dtype).toBeLessThan(1e-4);
    }
  });

  it('streams its tokens, reports tokens/s, repeats a seed, and honours top_p (tiny top_p is greedy; 1 is not)', async () => {
    const sample = async (topP: string, seed: string) => {
      const r = await run(cwd, engine, ['infer/sampler', '--model_path', 'tjs/onnx/model.onnx', '--prompt', PROMPT, '--max_new_tokens', String(N), '--temperature', '3', '--top_k', '0', '--top_p', topP, '--seed', seed]);
      expect(r.ok, r.error).toBe(true);
      return { text: tokensOf(r.events), metrics: r.result?.metrics as Record<string, number> };
    };
    const wide = await sample('1', '11');
    expect(wide.metrics.tokens_per_s).toBeGreaterThan(0);
    expect(wide.metrics.new_tokens).toBe(N);
    expect(await sample('1', '11')).toMatchObject({ text: wide.text });
    const narrow = await sample('0.001', '11');
    const greedyText = PROMPT + ((await greedy('tjs/onnx/model.onnx')).text as string);
    expect(narrow.text).toBe(greedyText);
    // At temperature 3 over 65 characters, 24 draws from the whole distribution are not all the argmax.
    expect(wide.text).not.toBe(greedyText);
  });

  it('Ctrl-C stops generation: cancelled, fewer tokens than asked', async () => {
    const ac = new AbortController();
    const events: ToolEvent[] = [];
    const out = await runTool('infer/sampler', ['--model_path', 'tjs/onnx/model_q4.onnx', '--prompt', PROMPT, '--max_new_tokens', '200'], {
      cwd,
      engine,
      signal: ac.signal,
      sink: (e) => {
        events.push(e);
        if (e.type === 'token' && events.filter((x) => x.type === 'token').length === 6) ac.abort();
      },
    });
    expect(out).toMatchObject({ ok: false, failure: 'cancelled', error: 'infer/sampler: cancelled' });
    expect(events.filter((e) => e.type === 'token').length).toBeLessThan(10);
  });

  it('chats through its tokenizer\'s template: the second turn reads the first from the KV cache and replies as our engine does', async () => {
    writeChatModel(path.join(cwd, 'chat'), CHATML_TEMPLATE, { config: { n_positions: 256 }, seed: 3 });
    await step(['io/exporter', '--model_path', 'chat', '--export_format', 'onnx', '--export_model_path', 'chat-onnx']);
    type Turn = { prompt_ids: number[]; generated_ids: number[]; text: string; cached_tokens: number; engine: string };
    const turns = async (e: Engine, model: string): Promise<Turn[]> => {
      const say = async (prompt: string, messages: object[]) => {
        const r = await run(cwd, e, ['infer/sampler', '--model_path', model, '--chat', '--messages', JSON.stringify(messages), '--prompt', prompt, '--max_new_tokens', '12', '--no-do-sample'], true);
        expect(r.ok, r.error).toBe(true);
        return r.result?.data as Turn;
      };
      const first = await say('Hello there!', []);
      return [first, await say('And then?', [{ role: 'user', content: 'Hello there!' }, { role: 'assistant', content: first.text }])];
    };
    const theirs = await turns(engine, 'chat-onnx');
    const oursEngine = new Engine({ threads: 1 });
    const mine = await turns(oursEngine, 'chat');
    await oursEngine.release();
    expect(theirs.map((t) => t.engine)).toEqual(['transformers.js (onnx/model.onnx)', 'transformers.js (onnx/model.onnx)']);
    expect(theirs.map((t) => t.generated_ids)).toEqual(mine.map((t) => t.generated_ids));
    // The cache held the first prompt and every reply token but the last (never fed back).
    expect(theirs[1].cached_tokens).toBe(theirs[0].prompt_ids.length + theirs[0].generated_ids.length - 1);
    expect(theirs[1].cached_tokens).toBe(mine[1].cached_tokens);
    // An edited earlier reply: the cache is cut back to the common prefix, and the reply is a fresh run's.
    const edited = ['--messages', JSON.stringify([{ role: 'user', content: 'Hello there!' }, { role: 'assistant', content: `No.${theirs[0].text}` }]), '--prompt', 'And then?'];
    const line = ['infer/sampler', '--model_path', 'chat-onnx', '--chat', ...edited, '--max_new_tokens', '12', '--no-do-sample'];
    const cut = (await run(cwd, engine, line, true)).result?.data as Turn;
    const fresh = new Engine({ threads: 1 });
    const whole = (await run(cwd, fresh, line, true)).result?.data as Turn;
    await fresh.release();
    expect(cut.cached_tokens).toBeGreaterThan(0);
    expect(cut.cached_tokens).toBeLessThan(theirs[1].cached_tokens);
    expect(whole.cached_tokens).toBe(0);
    expect(cut.generated_ids).toEqual(whole.generated_ids);
  });

  it('keeps the loaded model in memory between steps, as it keeps ours', async () => {
    const opts = { cwd };
    const first = await engine.load('tjs/onnx/model_q4.onnx', opts);
    const again = await engine.load('tjs/onnx/model_q4.onnx', opts);
    expect(first.kind).toBe('transformers.js');
    expect(again.model).toBe(first.model);
  });
});

describe('tools that need our weights', () => {
  it('refuse an ONNX model in one line naming what they need and the way to ONNX; nothing is written', async () => {
    await step(['io/importer', '--model_path', 'tjs']);
    const before = fs.readdirSync(path.join(cwd, '.smolbox')).sort();
    const lines = [
      ['transform/pruner'],
      ['transform/quantizer'],
      ['transform/editor', '--param_pattern', 'h.0.*'],
      ['transform/reinitializer', '--num_layers', '1'],
      ['train/finetuner', '--dataset_path', 'builtin:tiny_shakespeare', '--max_steps', '1'],
      ['infer/tweaker', '--deltas', 'x=1'],
      ['io/exporter', '--export_format', 'safetensors', '--export_model_path', 'out-hf'],
    ];
    for (const line of lines) {
      const r = await run(cwd, engine, line);
      expect(r.ok, line[0]).toBe(false);
      expect(r.error!.includes('\n'), line[0]).toBe(false);
      expect(r.error, line[0]).toMatch(/^tjs\/onnx\/model_q4\.onnx is a transformers\.js ONNX model \(onnx\/model_q4\.onnx\).* needs a safetensors checkpoint of a supported architecture/);
      expect(r.error, line[0]).toMatch(/--export_format onnx/);
    }
    expect(fs.readdirSync(path.join(cwd, '.smolbox')).sort()).toEqual(before);
    expect(fs.existsSync(path.join(cwd, 'out-hf'))).toBe(false);
    expect(readState(cwd)?.model_path).toBe('tjs/onnx/model_q4.onnx');
  });

  it('io/exporter --export_format onnx copies the variant, which transformers.js\' own pipeline loads and decodes to our ids', async () => {
    const data = await step(['io/exporter', '--export_format', 'onnx', '--export_model_path', 'copy-q4']);
    expect((data.files as string[]).sort()).toEqual(['config.json', 'onnx/model_q4.onnx', 'smolbox.json', 'tokenizer.json', 'tokenizer_config.json']);
    const [peer] = await transformersJsGreedy([{ dir: path.join(cwd, 'copy-q4'), prompt: PROMPT, n: N, dtype: 'q4' }]);
    expect(peer).toMatchObject({ ids: ours.q4.ids });
  });
});
