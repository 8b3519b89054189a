import { describe, expect, it } from 'vitest';
import { FRESH_OUTPUT, resolvePathArgs } from '../../src/core/resolve.js';
import { freshState, nextState, type SmolboxState } from '../../src/core/state.js';
import { arg, AUTORESOLVE, UserError } from '../../src/core/tool.js';

const schema = {
  model_path: arg.modelIn(),
  output_model_path: arg.modelOut(),
  dataset_path: arg.datasetIn(),
  words: arg.integer(2, 'n'),
};
const auto = { model_path: AUTORESOLVE, output_model_path: AUTORESOLVE, dataset_path: AUTORESOLVE, words: 2 };
const state = (over: Partial<SmolboxState> = {}): SmolboxState => ({ ...freshState(), model_path: 'gpt2', dataset_path: 'data.txt', ...over });

describe('resolvePathArgs', () => {
  it('fills inputs from the state and gives a fresh .smolbox/<uuid> output', () => {
    const { values, stateChanges } = resolvePathArgs(schema, auto, state(), '/tmp');
    expect(values.model_path).toBe('gpt2');
    expect(values.dataset_path).toBe('data.txt');
    expect(values.words).toBe(2);
    expect(values.output_model_path).toMatch(FRESH_OUTPUT);
    expect(String(values.output_model_path).startsWith('.smolbox')).toBe(true); // relative, like Python
    expect(stateChanges).toEqual({ output_model_path: values.output_model_path });
  });

  it('gives a new uuid each time', () => {
    const a = resolvePathArgs(schema, auto, state(), '/tmp').values.output_model_path;
    const b = resolvePathArgs(schema, auto, state(), '/tmp').values.output_model_path;
    expect(a).not.toBe(b);
  });

  it('uses an output path the state already holds', () => {
    const { values, stateChanges } = resolvePathArgs(schema, auto, state({ output_model_path: 'chosen' }), '/tmp');
    expect(values.output_model_path).toBe('chosen');
    expect(stateChanges).toEqual({ output_model_path: 'chosen' });
  });

  it('keeps explicit values and records an explicit output, so next_state moves it', () => {
    const s = state();
    const { values, stateChanges } = resolvePathArgs(schema, { ...auto, model_path: 'mine', output_model_path: 'out-a' }, s, '/tmp');
    expect(values).toMatchObject({ model_path: 'mine', output_model_path: 'out-a' });
    expect(stateChanges).toEqual({ output_model_path: 'out-a' });
    expect(nextState({ ...s, ...stateChanges })).toMatchObject({ model_path: 'out-a', output_model_path: null });
  });

  it('an unset input is a UserError that says how to set it', () => {
    expect(() => resolvePathArgs(schema, auto, state({ model_path: null }), '/tmp')).toThrow(UserError);
    expect(() => resolvePathArgs(schema, auto, state({ model_path: null }), '/tmp')).toThrow(
      '--model_path is not set: pass --model_path <dir|hub id|builtin:name> or run `smox set model_path …`',
    );
    expect(() => resolvePathArgs(schema, auto, state({ dataset_path: null }), '/tmp')).toThrow(/--dataset_path is not set: pass --dataset_path <file\|dir\|hub id\|builtin:name>/);
  });

  it('names the argument, not only the key, for a differently named path argument', () => {
    const s2 = { base: arg.modelIn() };
    expect(() => resolvePathArgs(s2, { base: AUTORESOLVE }, state({ model_path: null }), '/tmp')).toThrow(/--base is not set: pass --base .* or run `smox set model_path …`/);
  });

  it('does not touch the disk or the input values', () => {
    const values = { ...auto };
    resolvePathArgs(schema, values, state(), '/nonexistent');
    expect(values).toEqual(auto);
  });
});
