import { describe, expect, it } from 'vitest';
import {
  closest,
  editDistance,
  parseArgs,
  scanCommandLine,
  splitCommandLine,
} from '../../src/core/parse-args.js';
import { AUTORESOLVE, arg, UserError } from '../../src/core/tool.js';

const tool = {
  args: {
    model_path: arg.modelIn(),
    output_model_path: arg.modelOut(),
    prompt: arg.string('Once upon a time', 'prompt'),
    num_layers: arg.optionalInteger('layers', { min: 1 }),
    max_new_tokens: arg.integer(50, 'tokens', { min: 1 }),
    temperature: arg.number(0.6, 'temperature', { gt: 0 }),
    top_p: { ...arg.number(0.95, 'top p', { gt: 0, max: 1 }) },
    precision: { ...arg.integer(8, 'bits'), choices: ['4', '8', '16'] },
    do_sample: arg.boolean(true, 'sample'),
    lr_scheduler: arg.choice(['cosine', 'linear', 'constant'] as const, 'cosine', 'schedule'),
    layer_types: arg.list(['Linear'], 'layer types'),
    sizes: arg.list<number>([], 'sizes', { of: 'integer' }),
    seed: arg.seed(),
  },
  actions: { list: 'print parameter names' },
};

const parse = (...argv: string[]) => parseArgs(tool, argv);
const err = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('parseArgs: accepted spellings', () => {
  it('fills every default when nothing is given', () => {
    const p = parse();
    expect(p.action).toBe('run');
    expect(p.help).toBe(false);
    expect(p.given).toEqual([]);
    expect(p.values).toEqual({
      model_path: AUTORESOLVE,
      output_model_path: AUTORESOLVE,
      prompt: 'Once upon a time',
      num_layers: null,
      max_new_tokens: 50,
      temperature: 0.6,
      top_p: 0.95,
      precision: 8,
      do_sample: true,
      lr_scheduler: 'cosine',
      layer_types: ['Linear'],
      sizes: [],
      seed: null,
    });
  });

  it('does not share default lists between parses', () => {
    const a = parse();
    (a.values.layer_types as string[]).push('Embedding');
    expect(parse().values.layer_types).toEqual(['Linear']);
    expect(tool.args.layer_types.default).toEqual(['Linear']);
  });

  it.each([
    [['--num_layers', '4']],
    [['--num-layers', '4']],
    [['--num_layers=4']],
    [['--num-layers=4']],
    [['run', '--num_layers', '4']],
  ])('reads %j as num_layers 4', (argv) => {
    const p = parse(...argv);
    expect(p.values.num_layers).toBe(4);
    expect(p.given).toEqual(['num_layers']);
  });

  it('takes an optional run or a declared action first', () => {
    expect(parse('list').action).toBe('list');
    expect(parse('list', '--prompt', 'x').values.prompt).toBe('x');
    expect(parse('run').action).toBe('run');
  });

  it.each([
    [['--do_sample'], true],
    [['--do-sample'], true],
    [['--no-do-sample'], false],
    [['--no_do_sample'], false],
    [['--do_sample', 'false'], false],
    [['--do_sample', 'False'], false],
    [['--do_sample', 'true'], true],
    [['--do_sample', '0'], false],
    [['--do_sample', '1'], true],
    [['--do_sample', 'no'], false],
    [['--do_sample', 'yes'], true],
    [['--do_sample=false'], false],
    [['--do_sample=1'], true],
  ])('reads booleans: %j → %s', (argv, want) => {
    expect(parse(...argv).values.do_sample).toBe(want);
  });

  it('does not swallow the next flag after a bare boolean', () => {
    const p = parse('--do_sample', '--max_new_tokens', '3');
    expect(p.values).toMatchObject({ do_sample: true, max_new_tokens: 3 });
  });

  it('reads numbers in every decimal spelling, negative values as values', () => {
    expect(parse('--temperature', '1e-4').values.temperature).toBe(1e-4);
    expect(parse('--temperature', '.5').values.temperature).toBe(0.5);
    expect(parse('--temperature', '2.').values.temperature).toBe(2);
    expect(parse('--temperature=1E2').values.temperature).toBe(100);
    expect(parse('--prompt', '-5').values.prompt).toBe('-5');
  });

  it('reads integers with choices as numbers', () => {
    expect(parse('--precision', '4').values.precision).toBe(4);
    expect(parse('--max_new_tokens', '1').values.max_new_tokens).toBe(1);
  });

  it('accepts values at inclusive bounds', () => {
    expect(parse('--top_p', '1').values.top_p).toBe(1);
  });

  it('reads choices', () => {
    expect(parse('--lr_scheduler', 'linear').values.lr_scheduler).toBe('linear');
    expect(parse('--lr-scheduler=constant').values.lr_scheduler).toBe('constant');
  });

  it('reads lists comma-separated, repeated, or both; a given list replaces the default', () => {
    expect(parse('--layer_types', 'Linear,Embedding').values.layer_types).toEqual(['Linear', 'Embedding']);
    expect(parse('--layer_types', 'Embedding').values.layer_types).toEqual(['Embedding']);
    expect(parse('--layer_types', 'A', '--layer_types', 'B,C').values.layer_types).toEqual(['A', 'B', 'C']);
    expect(parse('--layer_types', '').values.layer_types).toEqual([]);
    expect(parse('--sizes', '1, 2', '--sizes=3').values.sizes).toEqual([1, 2, 3]);
  });

  it('keeps strings verbatim, = included', () => {
    expect(parse('--prompt', 'a=b c').values.prompt).toBe('a=b c');
    expect(parse('--prompt=x=y').values.prompt).toBe('x=y');
    expect(parse('--prompt=').values.prompt).toBe('');
    expect(parse('--prompt=--weird').values.prompt).toBe('--weird');
  });

  it('lets the last of a repeated scalar flag win', () => {
    expect(parse('--max_new_tokens', '3', '--max_new_tokens', '7').values.max_new_tokens).toBe(7);
  });

  it('sets a nullable argument back to unset with none/null', () => {
    expect(parse('--num_layers', 'none').values.num_layers).toBeNull();
    expect(parse('--seed', 'null').values.seed).toBeNull();
    expect(parse('--seed', '42').values.seed).toBe(42);
  });

  it('answers --help and -h anywhere without validating the rest', () => {
    expect(parse('--help').help).toBe(true);
    expect(parse('-h').help).toBe(true);
    expect(parse('--bogus', '--help').help).toBe(true);
  });
});

describe('parseArgs: errors name the flag and what is accepted', () => {
  it('suggests the closest flag for an unknown one', () => {
    expect(err('--num_layer', '4')).toBe('unknown flag --num_layer; did you mean --num_layers?');
    expect(err('--layers=4')).toBe('unknown flag --layers; did you mean --num_layers?');
    expect(err('--tempreature', '1')).toContain('did you mean --temperature?');
    expect(err('--no-do-smaple')).toContain('did you mean --no_do_sample?');
    expect(err('--zzzzzzzzzz')).toBe('unknown flag --zzzzzzzzzz; see --help for the flags');
  });

  it('rejects single-dash flags other than -h', () => {
    expect(err('-x')).toContain('unknown flag -x');
  });

  it('rejects --no- on a non-boolean and a value after --no-flag', () => {
    expect(err('--no-prompt')).toContain('unknown flag --no-prompt');
    expect(err('--no-do-sample=true')).toContain('--no-do_sample takes no value');
  });

  it('names a missing value and the kind expected', () => {
    expect(err('--max_new_tokens')).toBe('--max_new_tokens needs a value (INT)');
    expect(err('--prompt', '--do_sample')).toBe('--prompt needs a value (TEXT)');
    expect(err('--lr_scheduler')).toBe('--lr_scheduler needs a value (cosine|linear|constant)');
  });

  it.each(['abc', 'NaN', 'Infinity', '0x10', '', '1,5', '1e'])('rejects the number %j', (raw) => {
    expect(err('--temperature', raw)).toBe(`--temperature expects a number (got "${raw}")`);
  });

  it('rejects non-integers for integers', () => {
    expect(err('--max_new_tokens', '2.5')).toBe('--max_new_tokens expects an integer (got "2.5")');
    expect(err('--max_new_tokens', 'ten')).toContain('expects an integer');
  });

  it('rejects values out of bounds, naming the bounds', () => {
    expect(err('--max_new_tokens', '0')).toBe('--max_new_tokens must be ≥ 1 (got 0)');
    expect(err('--temperature', '0')).toBe('--temperature must be > 0 (got 0)');
    expect(err('--top_p', '0')).toBe('--top_p must be > 0 and ≤ 1 (got 0)');
    expect(err('--top_p', '1.5')).toBe('--top_p must be > 0 and ≤ 1 (got 1.5)');
    expect(err('--seed', '-1')).toContain('--seed must be ≥ 0 and ≤ 4294967295');
  });

  it('lists the choices for a bad choice', () => {
    expect(err('--lr_scheduler', 'step')).toBe('--lr_scheduler must be one of cosine, linear, constant (got "step")');
    expect(err('--precision', '2')).toBe('--precision must be one of 4, 8, 16 (got "2")');
  });

  it('rejects a bad boolean word', () => {
    expect(err('--do_sample=maybe')).toContain('--do_sample expects true or false');
    expect(err('--do_sample', 'maybe')).toBe('--do_sample expects true or false (also yes/no, 1/0) (got "maybe")');
    expect(err('--no-do-sample', 'maybe')).toContain('unexpected argument "maybe"');
  });

  it('rejects a bad list element', () => {
    expect(err('--sizes', '1,x')).toBe('--sizes expects an integer (got "x")');
  });

  it('rejects positional junk, with the action list when there is one', () => {
    expect(err('hello')).toContain('unexpected argument "hello"');
    expect(err('hello')).toContain('actions: run, list');
    expect(err('--prompt', 'a', 'b')).toContain('unexpected argument "b"');
    expect(err('run', 'list')).toContain('unexpected argument "list"');
  });

  it('requires required arguments', () => {
    const target = { args: { name: arg.string(undefined, 'the name') } };
    expect(() => parseArgs(target, [])).toThrow('--name is required (TEXT)');
    expect(parseArgs(target, ['--name', 'x']).values.name).toBe('x');
  });

  it('says so when a tool takes no flags', () => {
    expect(() => parseArgs({ args: {} }, ['--x'])).toThrow('unknown flag --x; this tool takes no flags');
  });
});

describe('splitCommandLine', () => {
  it.each([
    ['infer/sampler --prompt hi', ['infer/sampler', '--prompt', 'hi']],
    ['  a   b  ', ['a', 'b']],
    [`--prompt 'Once upon a time'`, ['--prompt', 'Once upon a time']],
    [`--prompt "say \\"hi\\" \\\\ $x"`, ['--prompt', 'say "hi" \\ $x']],
    [`--prompt 'it'"'"'s'`, ['--prompt', "it's"]],
    [`a\\ b c`, ['a b', 'c']],
    [`--deltas=h.0.w=1,"x y"`, ['--deltas=h.0.w=1,x y']],
    [`''`, ['']],
    ['', []],
  ])('splits %j', (line, words) => {
    expect(splitCommandLine(line)).toEqual(words);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitCommandLine(`--prompt "open`)).toThrow(UserError);
    expect(() => splitCommandLine(`--prompt 'open`)).toThrow('unterminated single quote');
  });

  it('reports word positions and an open quote for completion', () => {
    const { words, open } = scanCommandLine(`ab "c d`);
    expect(open).toBe('"');
    expect(words).toEqual([
      { value: 'ab', start: 0, end: 2 },
      { value: 'c d', start: 3, end: 7 },
    ]);
  });
});

describe('closest', () => {
  it('measures edits', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('finds near names and substrings, nothing for far ones', () => {
    expect(closest('infer/smapler', ['infer/sampler', 'io/importer'])).toBe('infer/sampler');
    expect(closest('sampler', ['infer/sampler', 'io/importer'])).toBe('infer/sampler');
    expect(closest('qqq', ['infer/sampler'])).toBeUndefined();
  });
});
