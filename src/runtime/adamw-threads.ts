/**
 * AdamW (and the gradient norm before it) spread over threads: the main thread updates one
 * share of the parameters while worker threads update the others. During the optimizer step
 * ORT's threads are idle. The update is memory-bound (28 bytes per parameter, plus the copies
 * through the SIMD kernel's scratch), so two threads gain less than 2×.
 *
 * Arrays move to a worker and back by transfer (no copy): ORT reads only plain ArrayBuffers
 * (it rejects SharedArrayBuffer inputs), and its gradient outputs are plain, transferable
 * buffers. After each call the slots hold the returned arrays, gradients included (the trainer
 * keeps its gradient buffers from step to step); callers re-wrap anything (ORT tensors) that
 * referenced the old ones.
 */
import { Worker } from 'node:worker_threads';
import { adamwUpdate, sumOfSquares, updateScalars, type AdamWHyper } from './adamw.js';
import { adamwWasmBytes, CHUNK, MAKE_KERNELS_SOURCE } from './adamw-wasm.js';

/** One parameter's optimizer view: weights, moments, this step's gradient and its decay. */
export interface OptimizerSlot {
  data: Float32Array;
  m: Float32Array;
  v: Float32Array;
  grad: Float32Array;
  weightDecay: number;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { update, sumOfSquares } = new Function('bytes', 'CHUNK', ${JSON.stringify(MAKE_KERNELS_SOURCE)})(workerData.wasm, ${CHUNK});
${transferList.toString()}
parentPort.on('message', (msg) => {
  try {
    if (msg.op === 'sumsq') {
      let sum = 0;
      for (const g of msg.grads) sum += sumOfSquares(g);
      parentPort.postMessage({ sum, grads: msg.grads }, transferList(msg.grads));
    } else {
      for (const it of msg.items) update(it.p, it.g, it.m, it.v, ...it.scalars);
      const items = msg.items.map((it) => ({ p: it.p, g: it.g, m: it.m, v: it.v }));
      parentPort.postMessage({ items }, transferList(items.flatMap((it) => [it.p, it.g, it.m, it.v])));
    }
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.stack) || err) });
  }
});
`;

/** Buffers that can move without a copy: arrays that own their whole buffer (others are cloned). */
function transferList(arrays: Float32Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  for (const a of arrays) if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) seen.add(a.buffer);
  return [...seen] as ArrayBuffer[];
}

interface Reply {
  sum?: number;
  grads?: Float32Array[];
  items?: { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array }[];
  error?: string;
}

export class AdamWThreads {
  private readonly workers: Worker[];
  /** groups[0] runs on the main thread, groups[i + 1] on workers[i]; slot indices balanced by size. */
  private readonly groups: number[][];

  /** `threads` − 1 workers; `sizes` are the slots' element counts, used to balance the shares. */
  constructor(threads: number, sizes: number[]) {
    const n = Math.max(1, Math.min(threads, sizes.length));
    this.groups = Array.from({ length: n }, () => []);
    const load = new Array<number>(n).fill(0);
    const order = sizes.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0]);
    for (const [size, i] of order) {
      const lightest = load.indexOf(Math.min(...load));
      this.groups[lightest].push(i);
      load[lightest] += size;
    }
    this.workers = Array.from({ length: n - 1 }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasm: adamwWasmBytes() } });
      w.unref();
      return w;
    });
  }

  /** Σ over all slots of Σ grad². */
  async sumOfSquares(slots: OptimizerSlot[]): Promise<number> {
    const replies = this.send((w, group) => {
      const grads = group.map((i) => slots[i].grad);
      w.postMessage({ op: 'sumsq', grads }, transferList(grads));
    });
    let sum = this.groups[0].reduce((s, i) => s + sumOfSquares(slots[i].grad), 0);
    (await replies).forEach((r, k) => {
      sum += r.sum!;
      this.groups[k + 1].forEach((i, j) => (slots[i].grad = r.grads![j]));
    });
    return sum;
  }

  /** AdamW on every slot at step `t`, with grad·gradScale as the gradient. */
  async update(slots: OptimizerSlot[], t: number, gradScale: number, hyper: Omit<AdamWHyper, 'weightDecay'>): Promise<void> {
    const scalars = (s: OptimizerSlot) => updateScalars(t, gradScale, { ...hyper, weightDecay: s.weightDecay });
    const replies = this.send((w, group) => {
      const items = group.map((i) => ({ p: slots[i].data, g: slots[i].grad, m: slots[i].m, v: slots[i].v, scalars: scalars(slots[i]) }));
      w.postMessage({ op: 'adamw', items }, transferList(items.flatMap((it) => [it.p, it.g, it.m, it.v])));
    });
    for (const i of this.groups[0]) {
      const s = slots[i];
      adamwUpdate(s.data, s.grad, s.m, s.v, t, gradScale, { ...hyper, weightDecay: s.weightDecay });
    }
    (await replies).forEach((r, k) => {
      this.groups[k + 1].forEach((i, j) => {
        const it = r.items![j];
        Object.assign(slots[i], { data: it.p, grad: it.g, m: it.m, v: it.v });
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Posts one message per worker and collects the replies; workers keep the process alive only meanwhile. */
  private send(post: (w: Worker, group: number[]) => void): Promise<Reply[]> {
    return Promise.all(
      this.workers.map((w, k) => {
        const reply = new Promise<Reply>((resolve, reject) => {
          const onError = (err: Error) => {
            w.off('message', onMessage);
            reject(err);
          };
          const onMessage = (r: Reply) => {
            w.off('error', onError);
            w.unref();
            if (r.error) reject(new Error(`optimizer worker failed: ${r.error}`));
            else resolve(r);
          };
          w.once('message', onMessage);
          w.once('error', onError);
        });
        w.ref();
        post(w, this.groups[k + 1]);
        return reply;
      }),
    );
  }
}
