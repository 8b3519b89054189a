/**
 * Regular expressions typed by a person (`--param_pattern`, the tweaker's `--deltas`), run with
 * a time budget. V8's backtracking engine takes exponential time on patterns like `(.*.*)*X`,
 * and while it runs the event loop is blocked, so not even SIGTERM gets through. Matching runs
 * in a vm script with a timeout (V8 interrupts the regex when it expires) and breakOnSigint
 * (Ctrl-C interrupts it at once); a pattern that needs longer than the budget over a model's few
 * hundred names is a mistake, reported in one line.
 */
import vm from 'node:vm';
import { UserError } from './tool.js';

/** What a pattern may take over all names of a model; real ones take microseconds. */
export const REGEX_BUDGET_MS = 500;

/** Compiles `pattern` to match whole names; an invalid one is a UserError naming `flag`. */
export function wholeNameRegex(pattern: string, flag: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new UserError(`${flag} "${pattern}" is not a valid regex: ${(e as Error).message}`);
  }
}

/** The names `re` matches, or a UserError when matching runs past the budget or is interrupted. */
export function matchNames(re: RegExp, names: readonly string[], flag: string, pattern: string): string[] {
  try {
    return vm.runInNewContext('names.filter((n) => re.test(n))', { re, names }, { timeout: REGEX_BUDGET_MS, breakOnSigint: true }) as string[];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new UserError(`${flag} "${pattern}" takes over ${REGEX_BUDGET_MS / 1000} s to match the parameter names (nested quantifiers like (a*)* backtrack exponentially); simplify it`);
    }
    if (code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') throw new UserError(`${flag}: matching "${pattern}" was interrupted`);
    throw e;
  }
}
