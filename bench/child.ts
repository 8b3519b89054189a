/**
 * The IPC both of bench:train's child processes speak (bench/train-run.ts and
 * bench/finetuner-run.ts, forked so that each one's peak RSS is its own): the parent passes a
 * JSON spec as argv[2]; the child may send `{ type: 'step', … }` messages while it works and
 * ends with one answer, its result or `{ type: 'error', message }`.
 */
import { type ChildProcess, fork, type StdioOptions } from 'node:child_process';

export interface ChildError {
  type: 'error';
  message: string;
}

/** Sends `m` to the parent and resolves once it is written. */
export const sendToParent = (m: object) =>
  new Promise<void>((resolve, reject) => process.send!(m, (err: Error | null) => (err ? reject(err) : resolve())));

/** In the child: runs `work` on the parent's spec, answers with its result or the error, and lets the parent go. */
export async function answerParent<S>(work: (spec: S) => Promise<object>): Promise<void> {
  try {
    await sendToParent(await work(JSON.parse(process.argv[2]) as S));
  } catch (err) {
    await sendToParent({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
  process.disconnect();
}

/**
 * In the parent: forks `script` (a file beside this one in dist/bench) with `spec`; 'step'
 * messages go to `onStep` (with the child, to reply to), the last other message is the answer.
 * A child that exits without one answers with an error naming `what`.
 */
export function forkChild<T>(
  script: string,
  spec: unknown,
  what: string,
  stdio: StdioOptions,
  onStep?: (m: { type: 'step'; seconds: number }, child: ChildProcess) => void,
): Promise<T | ChildError> {
  const child = fork(new URL(script, import.meta.url).pathname, [JSON.stringify(spec)], { stdio });
  let answer: T | ChildError | undefined;
  child.on('message', (m: { type: string }) => {
    if (m.type === 'step' && onStep) onStep(m as { type: 'step'; seconds: number }, child);
    else answer = m as T | ChildError;
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(answer ?? { type: 'error', message: `${what} exited (${signal ?? code})` }));
  });
}
