import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SmolboxState } from '../../src/core/state.js';
import { arg, AUTORESOLVE } from '../../src/core/tool.js';
import { withResumedArgs } from '../../src/engine/resume-args.js';

const schema = {
  model_path: arg.modelIn(),
  dataset_path: arg.datasetIn(),
  output_model_path: arg.modelOut(),
  steps: arg.integer(10, 'steps', { min: 1 }),
  seed: arg.seed(),
  resume: { ...arg.boolean(false, 'go on'), resumes: true },
};
const defaults = { model_path: AUTORESOLVE, dataset_path: AUTORESOLVE, output_model_path: AUTORESOLVE, steps: 10, seed: null, resume: true };
const state = (over: Partial<SmolboxState> = {}): SmolboxState => ({
  model_path: 'other-model', output_model_path: null, dataset_path: null, output_dataset_path: null, created_at: '', updated_at: '', ...over,
});

let cwd: string;
beforeEach(() => {
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'smox-resume-args-'));
  fs.mkdirSync(path.join(cwd, 'cut'));
  fs.writeFileSync(path.join(cwd, 'cut', 'smolbox.json'), JSON.stringify({
    tool: 'train/x', parent: 'base', smolbox_format: 1,
    args: { model_path: 'base', dataset_path: 'data.txt', output_model_path: 'cut', steps: 40, seed: 9, gone: 1 },
  }));
});

describe('withResumedArgs', () => {
  it('fills what the command line leaves out from the interrupted run; given flags win', () => {
    const got = withResumedArgs('train/x', schema, { ...defaults, output_model_path: 'cut', steps: 50 }, ['resume', 'output_model_path', 'steps'], state(), cwd);
    expect(got).toEqual({ model_path: 'base', dataset_path: 'data.txt', output_model_path: 'cut', steps: 50, seed: 9, resume: true });
  });

  it('finds the run in the state’s output path when none is given', () => {
    const got = withResumedArgs('train/x', schema, defaults, ['resume'], state({ output_model_path: 'cut' }), cwd);
    expect(got).toMatchObject({ output_model_path: 'cut', dataset_path: 'data.txt', seed: 9 });
  });

  it('changes nothing without --resume', () => {
    const values = { ...defaults, resume: false };
    expect(withResumedArgs('train/x', schema, values, [], state({ output_model_path: 'cut' }), cwd)).toBe(values);
  });

  it('says so in one line when there is no run to continue', () => {
    expect(() => withResumedArgs('train/x', schema, defaults, ['resume'], state(), cwd)).toThrow("--resume: which run? pass the interrupted run's --output_model_path");
    expect(() => withResumedArgs('train/x', schema, { ...defaults, output_model_path: 'nowhere' }, ['resume', 'output_model_path'], state(), cwd))
      .toThrow("--resume: nowhere holds no interrupted run of train/x to continue; pass the interrupted run's --output_model_path");
    expect(() => withResumedArgs('train/y', schema, { ...defaults, output_model_path: 'cut' }, ['resume', 'output_model_path'], state(), cwd)).toThrow(/cut holds no interrupted run of train\/y/);
  });
});
