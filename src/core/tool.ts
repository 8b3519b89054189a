/**
 * The declarative tool contract. A tool module's default export is `defineTool({...})`:
 * its argument schema is the single source for parsing, --help, completion, history records
 * and replay lines. Importing a tool module must stay cheap (no ORT, no React at top level):
 * heavy modules are imported inside `run`.
 */
import type { Emitter, ToolResult } from './events.js';

/** The sentinel an autoresolving path argument holds until it is resolved from the state. */
export const AUTORESOLVE = '<AUTO>';

/** The four state keys a path argument can resolve from (Python smolbox's names). */
export type StateKey = 'model_path' | 'output_model_path' | 'dataset_path' | 'output_dataset_path';
export const STATE_KEYS: readonly StateKey[] = [
  'model_path',
  'output_model_path',
  'dataset_path',
  'output_dataset_path',
];

/** What Tab completion offers for an argument's value. */
export type CompletionKind =
  | 'path' // files and directories
  | 'model' // model directories, builtin: models, hub ids from the cache
  | 'dataset' // dataset files/dirs, builtin: datasets
  | 'param-name'; // parameter names of the loaded model

export type ArgKind = 'string' | 'number' | 'integer' | 'boolean' | 'choice' | 'list';

/** One argument of a tool. */
export interface ArgSpec<T = unknown> {
  kind: ArgKind;
  /** Value when the flag is not given. `undefined` with `required` means it must be given. */
  default: T;
  help: string;
  required?: boolean;
  /** Inclusive bounds for number/integer. */
  min?: number;
  max?: number;
  /** Exclusive lower bound for number (e.g. temperature > 0 when sampling, top_p in (0,1]). */
  gt?: number;
  /** Allowed values for choice (and for each element of a choice list). */
  choices?: readonly string[];
  /** Element kind for list arguments. */
  of?: 'string' | 'number' | 'integer';
  /**
   * Input paths resolve AUTORESOLVE from this state key; output paths resolve to the state's
   * value or a fresh `.smolbox/<uuid>/`.
   */
  /**
   * Fills from / flows into the state. `adopt`: an input given on the command line becomes
   * the state's value once the tool succeeds (the importer's model_path).
   */
  resolves?: { key: StateKey; direction: 'in' | 'out'; adopt?: boolean };
  complete?: CompletionKind;
  /** Value is a random seed: when left unset the runner draws one and records it. */
  seed?: boolean;
  /**
   * A boolean that continues an interrupted run of the step. A replay runs every step whole
   * (the interrupted run is not in it, and a resumed run ends where a whole one would), so
   * export-script leaves the flag out.
   */
  resumes?: boolean;
}

export type ArgsSchema = Record<string, ArgSpec>;

/** The TypeScript type of a parsed argument value. */
export type ArgValue<S extends ArgSpec> = S extends ArgSpec<infer T> ? T : never;
export type ArgValues<A extends ArgsSchema> = { [K in keyof A]: ArgValue<A[K]> };

/** Builders for argument specs; the names mirror the Python smolbox's arguments. */
export const arg = {
  modelIn: (help = 'input model (directory, hub id or builtin:name)'): ArgSpec<string> => ({
    kind: 'string', default: AUTORESOLVE, help,
    resolves: { key: 'model_path', direction: 'in' }, complete: 'model',
  }),
  modelOut: (help = 'where to write the output model'): ArgSpec<string> => ({
    kind: 'string', default: AUTORESOLVE, help,
    resolves: { key: 'output_model_path', direction: 'out' }, complete: 'path',
  }),
  datasetIn: (help = 'input dataset (file, directory, hub id or builtin:name)'): ArgSpec<string> => ({
    kind: 'string', default: AUTORESOLVE, help,
    resolves: { key: 'dataset_path', direction: 'in' }, complete: 'dataset',
  }),
  datasetOut: (help = 'where to write the output dataset'): ArgSpec<string> => ({
    kind: 'string', default: AUTORESOLVE, help,
    resolves: { key: 'output_dataset_path', direction: 'out' }, complete: 'path',
  }),
  string: (def: string | undefined, help: string, opts: Partial<ArgSpec<string>> = {}): ArgSpec<string> => ({
    kind: 'string', default: def as string, help, required: def === undefined && !opts.seed, ...opts,
  }),
  optionalString: (help: string, opts: Partial<ArgSpec<string | null>> = {}): ArgSpec<string | null> => ({
    kind: 'string', default: null, help, ...opts,
  }),
  number: (def: number, help: string, opts: Pick<ArgSpec, 'min' | 'max' | 'gt'> = {}): ArgSpec<number> => ({
    kind: 'number', default: def, help, ...opts,
  }),
  integer: (def: number, help: string, opts: Pick<ArgSpec, 'min' | 'max'> = {}): ArgSpec<number> => ({
    kind: 'integer', default: def, help, ...opts,
  }),
  /** An integer that may be left unset (null), e.g. reinitializer's num_layers. */
  optionalInteger: (help: string, opts: Pick<ArgSpec, 'min' | 'max'> = {}): ArgSpec<number | null> => ({
    kind: 'integer', default: null, help, ...opts,
  }),
  /** A random seed: unset means "draw one"; the drawn value is recorded for replay. */
  seed: (help = 'random seed (drawn and recorded when not given)'): ArgSpec<number | null> => ({
    kind: 'integer', default: null, help, min: 0, max: 2 ** 32 - 1, seed: true,
  }),
  boolean: (def: boolean, help: string): ArgSpec<boolean> => ({ kind: 'boolean', default: def, help }),
  choice: <C extends string>(choices: readonly C[], def: C, help: string): ArgSpec<C> => ({
    kind: 'choice', default: def, help, choices,
  }),
  list: <T extends string | number>(
    def: T[], help: string, opts: { of?: 'string' | 'number' | 'integer'; choices?: readonly string[] } = {},
  ): ArgSpec<T[]> => ({ kind: 'list', default: def, help, of: opts.of ?? 'string', choices: opts.choices }),
};

/** What a tool gets to work with. Tools never touch `.smolbox/` files directly. */
export interface ToolContext {
  /** The directory smox runs in (the one holding `.smolbox/`). */
  cwd: string;
  emit: Emitter;
  /** Aborted on Ctrl-C / SIGTERM / workbench cancel; long loops must check it. */
  signal: AbortSignal;
  /** The sub-action after the tool name (`run` by default; e.g. tweaker's `list`). */
  action: string;
  /** User preferences (threads, sampling defaults, …). */
  config: Readonly<Record<string, unknown>>;
  /** True when output goes to a machine (--json): print nothing but events. */
  json: boolean;
  /**
   * Engine services (model cache, datasets, …). Typed by the engine; tools import the type
   * from src/engine so this file stays free of heavy imports.
   */
  engine: unknown;
}

export interface ToolDefinition<A extends ArgsSchema = ArgsSchema> {
  /** One line for `smox ls` and completion lists. */
  summary: string;
  /** A few more lines for --help. */
  description?: string;
  args: A;
  /** Sub-actions besides `run` (name → one-line summary), e.g. `{ list: 'print parameter names' }`. */
  actions?: Record<string, string>;
  run(ctx: ToolContext, args: ArgValues<A>): Promise<ToolResult>;
}

/** Identity at run time; gives tool modules typed `args` in `run`. */
export function defineTool<A extends ArgsSchema>(def: ToolDefinition<A>): ToolDefinition<A> {
  return def;
}

/** Thrown for problems the user can fix; the message is the one line they see. */
export class UserError extends Error {
  override name = 'UserError';
}
