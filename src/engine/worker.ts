/**
 * The workbench's engine thread. onnxruntime's `run()` blocks the event loop while it
 * computes, so the Engine (models, ORT sessions) lives here and the Ink UI on the main thread
 * only exchanges messages (worker-protocol.ts): it stays responsive, and a `cancel` message
 * reaches this thread between two ORT runs, where the tool checks its AbortSignal.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import type { PendingStep } from './abandoned-step.js';
import type { HostReply, HostRequest, WorkbenchEvent } from './worker-protocol.js';
import { StepHost } from './worker-host.js';

/** The part of a MessagePort the host loop uses (a MessageChannel port in tests). */
export interface PortLike {
  postMessage(message: HostReply): void;
  on(event: 'message', listener: (message: HostRequest) => void): unknown;
  close?(): void;
}

/**
 * Answers requests on `port` with `host`: one step at a time is what the UI sends, but ids
 * keep events and cancels tied to their step regardless.
 */
export function serveHost(port: PortLike, host: StepHost): void {
  const running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  port.postMessage({ type: 'ready', info: host.info() });
  port.on('message', (req) => {
    switch (req.type) {
      case 'step': {
        const controller = new AbortController();
        const sink = (event: WorkbenchEvent) => port.postMessage({ type: 'event', id: req.id, event });
        const onStart = (pending: PendingStep) => port.postMessage({ type: 'started', id: req.id, pending });
        const done = host
          .step(req.words, req.cwd, sink, controller.signal, { columns: req.columns, onStart })
          .catch((err: unknown) => {
            // runTool reports its own failures; this is a bug in the host, still one line.
            const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
            sink({ type: 'error', message });
            return { ok: false, failure: 'run' as const, error: message };
          })
          .then((outcome) => {
            running.delete(req.id);
            port.postMessage({ type: 'done', id: req.id, outcome, info: host.info() });
          });
        running.set(req.id, { controller, done });
        return;
      }
      case 'cancel':
        running.get(req.id)?.controller.abort();
        return;
      case 'close': {
        // A step cancelled here still records itself (and removes its empty output directory)
        // before the models go.
        const steps = [...running.values()];
        for (const s of steps) s.controller.abort();
        void Promise.allSettled(steps.map((s) => s.done)).then(() => host.release()).finally(() => {
          port.postMessage({ type: 'closed' });
          port.close?.();
        });
        return;
      }
    }
  });
}

async function start(port: PortLike): Promise<void> {
  const [{ Engine }, { readConfig }] = await Promise.all([import('./engine.js'), import('../core/config.js')]);
  const threads = readConfig().threads;
  serveHost(port, new StepHost({ engine: new Engine({ threads: typeof threads === 'number' ? threads : undefined }) }));
}

if (!isMainThread && parentPort) await start(parentPort as unknown as PortLike);
