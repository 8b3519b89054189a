/**
 * The workbench protocol on the calling thread: the same client and host as the worker, joined
 * by a MessageChannel, so events still cross structured cloning. The UI blocks while a tool
 * computes, which tests driving tools that only emit events do not notice; the overhead bench
 * uses it to tell the thread hop apart from the step itself.
 */
import { MessageChannel } from 'node:worker_threads';
import { serveHost } from './worker.js';
import { Bridge, type EngineBridge } from './worker-bridge.js';
import { type EngineLike, StepHost } from './worker-host.js';

export function createInProcessBridge(opts: { engine: EngineLike; env?: NodeJS.ProcessEnv }): EngineBridge {
  return new Bridge((onReply) => {
    const { port1, port2 } = new MessageChannel();
    serveHost(port1 as never, new StepHost({ engine: opts.engine, env: opts.env }));
    port2.on('message', onReply);
    return {
      send: (req) => port2.postMessage(req),
      kill: async () => {
        port1.close();
        port2.close();
      },
    };
  });
}
