import { describe, expect, it } from 'vitest';
import { columns, flagNote, mainHelp, toolHelp, toolList } from '../../src/core/help.js';
import { loadTool } from '../../src/core/registry.js';
import { arg } from '../../src/core/tool.js';

describe('toolHelp', () => {
  it('lists every flag with its type, default and bounds, AUTO explained', async () => {
    const t = await loadTool('infer/sampler', {});
    const text = toolHelp(t.name, t.def);
    expect(text.split('\n')[0]).toBe('usage: smox infer/sampler [--flag value …]');
    expect(text).toContain(t.def.summary);
    for (const name of Object.keys(t.def.args)) expect(text).toMatch(new RegExp(`--${name}\\b`));
    expect(text).toMatch(/--model_path PATH +.*\[default: <AUTO> = the state's model_path\]/);
    expect(text).toMatch(/--max_new_tokens INT +tokens to generate at most \[default: 50; ≥ 1\]/);
    expect(text).toMatch(/--top_p NUM +.*\[default: 0\.95; > 0 and ≤ 1\]/);
    expect(text).toMatch(/--do_sample, --no-do_sample +.*\[default: true\]/);
    expect(text).toMatch(/--prompt TEXT +.*\[default: "Once upon a time"\]/);
    expect(text).toMatch(/--device auto\|cpu\|cuda/);
    expect(text).toMatch(/--seed INT +.*\[default: random\]/);
    expect(text).toContain('--json');
  });

  it('shows actions and output paths', async () => {
    const tweaker = await loadTool('infer/tweaker', {});
    const text = toolHelp(tweaker.name, tweaker.def);
    expect(text.split('\n')[0]).toBe('usage: smox infer/tweaker [run|list] [--flag value …]');
    expect(text).toMatch(/ list +print parameter names, shapes and counts/);
    const q = await loadTool('transform/quantizer', {});
    const qText = toolHelp(q.name, q.def);
    expect(qText).toContain("[default: <AUTO> = the state's output_model_path or a new .smolbox/<uuid>/]");
    expect(qText).toMatch(/--precision 4\|8\|16 +.*\[default: 8\]/);
    expect(qText).toMatch(/--layer_types Linear\|Conv1D\|Embedding,…\s+.*\[default: Linear\]/);
  });

  it('notes required flags and empty tools', () => {
    const text = toolHelp('x/y', { summary: 's', args: { name: arg.string(undefined, 'who') } });
    expect(text).toMatch(/--name TEXT +who \[required\]/);
    expect(toolHelp('x/z', { summary: 's', args: {} })).toContain('flags:\n  (none)');
  });
});

describe('listings', () => {
  it('aligns two columns and wraps an over-long left entry', () => {
    expect(columns([['a', 'one'], ['bbb', 'two']])).toEqual(['  a    one', '  bbb  two']);
    expect(columns([['x'.repeat(5), 'long'], ['y', 'short']], '', 3)).toEqual(['xxxxx\n     long', 'y    short']);
  });

  it('groups tools by category and marks user tools', () => {
    const lines = toolList([
      { name: 'infer/sampler', category: 'infer', summary: 'sample', origin: 'builtin' },
      { name: 'hello', category: 'user', summary: 'say hi', origin: 'user' },
      { name: 'eval/perplexity', category: 'eval', summary: 'score', origin: 'builtin' },
    ]);
    expect(lines).toEqual(['  eval/perplexity  score', '', '  infer/sampler    sample', '', '  hello            say hi (user tool)']);
  });

  it('puts commands and tools in smox --help', () => {
    const text = mainHelp({
      version: '9.9.9',
      commands: [{ name: 'set', summary: 'set a state key', usage: 'smox set <key> <value>' }],
      tools: [{ name: 'infer/sampler', category: 'infer', summary: 'sample', origin: 'builtin' }],
    });
    expect(text).toContain('smolbox 9.9.9');
    expect(text).toMatch(/commands:\n  set <key> <value>  set a state key/);
    expect(text).toMatch(/tools:\n  infer\/sampler  sample/);
  });

  it('explains defaults in one bracket', () => {
    expect(flagNote(arg.list([], 'l'))).toBe('[default: (empty)]');
    expect(flagNote(arg.optionalInteger('n', { min: 1 }))).toBe('[default: none; ≥ 1]');
  });
});
