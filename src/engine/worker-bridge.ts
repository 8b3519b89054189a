/**
 * The UI side of the engine worker: `step(words)` sends one line to the engine and streams its
 * events back; `cancel()` aborts it (the worker aborts runTool's signal); `close()` releases
 * the models and ends the thread. The workbench uses `createWorkerBridge`; tests can use
 * in-process-bridge.ts, the same client over a MessageChannel on the calling thread. This
 * module imports no engine code, so the UI thread loads none — only abandoned-step.ts, which
 * records a step whose engine was killed or died under it.
 */
import { Worker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { type PendingStep, recordAbandoned } from './abandoned-step.js';
import type { EngineInfo, HostReply, HostRequest, StepOutcome, WorkbenchEvent } from './worker-protocol.js';

export type { EngineInfo, ModelSummary, StepOutcome, WorkbenchEvent } from './worker-protocol.js';

export interface StepResult {
  outcome: StepOutcome;
  /** The engine after the step: the model it left in memory, threads. */
  info: EngineInfo;
}

/** The engine as the workbench drives it. One step at a time. */
export interface EngineBridge {
  /** The engine's info once it has started (builtins, threads). */
  ready(): Promise<EngineInfo>;
  /** Runs one workbench line (split into words) in `cwd`; events go to `sink` as they come. */
  step(words: string[], cwd: string, sink: (e: WorkbenchEvent) => void, opts?: { columns?: number }): Promise<StepResult>;
  /** Asks the running step to stop at its next clean point; nothing when idle. */
  cancel(): void;
  /**
   * Ends the engine: politely (a running step cancelled and recorded, models released) or, with
   * `force`, at once (a running step is recorded as cancelled from here).
   */
  close(opts?: { force?: boolean }): Promise<void>;
}

/** Both ends of a connection to a host: messages, and how to end it. */
export interface Connection {
  send(req: HostRequest): void;
  /** Ends the connection without waiting for the host. */
  kill(): Promise<void>;
}

interface Pending {
  id: number;
  sink: (e: WorkbenchEvent) => void;
  resolve: (r: StepResult) => void;
  /** Set once the host says a tool began: what to record if the host is gone before it ends. */
  started?: PendingStep;
}

const NO_INFO: EngineInfo = { threads: 0, model: null, paramNames: [], builtins: { models: [], datasets: [] } };

/**
 * The protocol client over any connection. `connect` is called lazily and again after the
 * host died (a crashed worker), so the next step gets a fresh engine rather than an error.
 */
export class Bridge implements EngineBridge {
  private conn: Connection | null = null;
  private nextId = 1;
  private current: Pending | null = null;
  private info: EngineInfo | null = null;
  private readyWaiters: ((info: EngineInfo) => void)[] = [];
  private closedWaiter: (() => void) | null = null;

  constructor(private readonly connect: (onReply: (r: HostReply) => void, onGone: (why: string) => void) => Connection) {}

  private connection(): Connection {
    this.conn ??= this.connect(
      (r) => this.onReply(r),
      (why) => this.onGone(why),
    );
    return this.conn;
  }

  private onReply(r: HostReply): void {
    switch (r.type) {
      case 'ready':
        this.info = r.info;
        for (const w of this.readyWaiters.splice(0)) w(r.info);
        return;
      case 'started':
        if (this.current?.id === r.id) this.current.started = r.pending;
        return;
      case 'event':
        if (this.current?.id === r.id) this.current.sink(r.event);
        return;
      case 'done': {
        this.info = r.info;
        if (this.current?.id !== r.id) return;
        const { resolve } = this.current;
        this.current = null;
        resolve({ outcome: r.outcome, info: r.info });
        return;
      }
      case 'closed':
        this.closedWaiter?.();
        return;
    }
  }

  /** The host ended on its own (a crash): the running step fails with one line. */
  private onGone(why: string): void {
    this.conn = null;
    this.closedWaiter?.();
    for (const w of this.readyWaiters.splice(0)) w(this.info ?? NO_INFO);
    const pending = this.current;
    if (!pending) return;
    this.current = null;
    const error = `the engine stopped (${why}); the next step starts a fresh one`;
    if (pending.started) void recordAbandoned(pending.started, { status: 'error', error });
    pending.sink({ type: 'error', message: error });
    pending.resolve({ outcome: { ok: false, failure: 'run', error }, info: this.info ?? NO_INFO });
  }

  /** Extra output of the host (a stray console.log in a tool) as log lines of the running step. */
  forward(text: string, level: 'info' | 'warn'): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.current?.sink({ type: 'log', level, message: line });
  }

  ready(): Promise<EngineInfo> {
    this.connection();
    if (this.info) return Promise.resolve(this.info);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  step(words: string[], cwd: string, sink: (e: WorkbenchEvent) => void, opts: { columns?: number } = {}): Promise<StepResult> {
    if (this.current) return Promise.reject(new Error('a step is already running'));
    const conn = this.connection();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.current = { id, sink, resolve };
      conn.send({ type: 'step', id, words, cwd, ...(opts.columns ? { columns: opts.columns } : {}) });
    });
  }

  cancel(): void {
    if (this.current && this.conn) this.conn.send({ type: 'cancel', id: this.current.id });
  }

  async close(opts: { force?: boolean } = {}): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    if (!opts.force) {
      // Wait for the host to release its sessions, but not forever.
      const closed = new Promise<void>((resolve) => (this.closedWaiter = resolve));
      conn.send({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    this.conn = null;
    await conn.kill();
    // A step still running was cut off with the engine: it is recorded as cancelled from here.
    const cut = this.current;
    this.current = null;
    if (!cut) return;
    const error = cut.started?.record.error ?? 'cancelled';
    if (cut.started) await recordAbandoned(cut.started, { status: 'cancelled', error });
    cut.resolve({ outcome: { ok: false, failure: 'cancelled', error }, info: this.info ?? NO_INFO });
  }
}

/** Line-buffers a stream, handing over whole lines. */
function lines(stream: Readable, onText: (text: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    const cut = buf.lastIndexOf('\n');
    if (cut < 0) return;
    onText(buf.slice(0, cut + 1));
    buf = buf.slice(cut + 1);
  });
}

export interface WorkerBridgeOptions {
  /** The worker module; worker.js next to this file by default (dist/ when built). */
  workerUrl?: URL;
  env?: NodeJS.ProcessEnv;
}

/** The workbench's bridge: the engine in a worker_threads worker. */
export function createWorkerBridge(opts: WorkerBridgeOptions = {}): EngineBridge {
  const url = opts.workerUrl ?? new URL('./worker.js', import.meta.url);
  const bridge: Bridge = new Bridge((onReply, onGone) => {
    // stdout/stderr piped, so a tool printing directly cannot tear the Ink frame.
    const worker = new Worker(url, { env: opts.env ?? process.env, stdout: true, stderr: true });
    lines(worker.stdout, (t) => bridge.forward(t, 'info'));
    lines(worker.stderr, (t) => bridge.forward(t, 'warn'));
    let ended = false;
    worker.on('message', onReply);
    worker.on('error', (err) => {
      ended = true;
      onGone(err.message.split('\n')[0]);
    });
    worker.on('exit', (code) => {
      if (!ended) onGone(`exit code ${code}`);
      ended = true;
    });
    return {
      send: (req) => worker.postMessage(req),
      kill: async () => {
        ended = true;
        await worker.terminate();
      },
    };
  });
  return bridge;
}
