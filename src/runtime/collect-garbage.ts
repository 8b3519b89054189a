/**
 * A full V8 garbage collection, on demand. A training step's gradients come back from
 * onnxruntime-node as ArrayBuffers of hundreds of MB that V8 frees only when it next collects
 * on its own; until then the next step's gradient copies take new memory, and new memory
 * costs page faults (here up to 37k per 4-layer GPT-2 step, ~0.5 s of system time). Collecting
 * once the optimizer is done with them costs ~5 ms, and the copies reuse the freed memory.
 *
 * smox starts as a plain node script, so `--expose-gc` is turned on at the first call; a new
 * context then carries `gc`. The flag is process-wide and this works in worker threads too
 * (the workbench trains in one), collecting the calling thread's heap.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
