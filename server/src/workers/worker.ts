/**
 * Background workers: loops that claim stored work (sync tasks, deliveries, subscriptions) and
 * run it. A worker never holds work only in memory: what it does next is read from the
 * database, so a crash loses nothing and several processes can share the work.
 *
 * Workers are registered on the app (`app.workers.add(...)`), started by `serve` after the
 * server listens (and only there: tests start the ones they exercise), and stopped
 * gracefully when the app closes.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface BackgroundWorker {
  readonly name: string;
  start(): void;
  /** Resolves once the current round has finished. */
  stop(): Promise<void>;
}

/** A loop worker that can be told new work is there. */
export interface LoopWorker extends BackgroundWorker {
  /** Runs the next round now instead of after the idle wait (or right after the current one). */
  wake(): void;
}

/**
 * A worker that calls `round` again and again: right away while it reports more work or when
 * woken, after `idleMs` when it reports none, and after `idleMs` with a logged error when it
 * fails. The idle wait is what finds work queued by other processes.
 */
export function loopWorker(
  name: string,
  options: { idleMs: number; log: FastifyBaseLogger },
  round: (signal: AbortSignal) => Promise<{ more: boolean }>,
): LoopWorker {
  let controller: AbortController | undefined;
  let running: Promise<void> | undefined;
  /** Ends the current idle wait; undefined while a round runs. */
  let endWait: (() => void) | undefined;
  /** A wake-up during a round: the wait after it is skipped. */
  let woken = false;

  // Waits `ms`, or less if the worker is woken or stopped; the abort listener goes away either
  // way, so a long-running worker does not pile up listeners on its signal.
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        endWait = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      endWait = done;
    });

  const loop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      let more = false;
      try {
        more = (await round(signal)).more;
      } catch (err) {
        if (!signal.aborted) options.log.error({ err, worker: name }, 'worker round failed');
      }
      if (!more && !signal.aborted) await sleep(options.idleMs, signal);
    }
  };

  return {
    name,
    start() {
      if (running) return;
      controller = new AbortController();
      running = loop(controller.signal);
    },
    async stop() {
      controller?.abort();
      await running;
      running = undefined;
    },
    wake() {
      if (endWait !== undefined) endWait();
      else woken = true;
    },
  };
}

export class Workers {
  private readonly all: BackgroundWorker[] = [];
  private readonly afterStop: (() => Promise<void>)[] = [];
  private started = false;

  /** Runs once every worker has stopped (e.g. to close what they all used). */
  onStopped(release: () => Promise<void>): void {
    this.afterStop.push(release);
  }

  add(worker: BackgroundWorker): void {
    this.all.push(worker);
    if (this.started) worker.start();
  }

  get names(): string[] {
    return this.all.map((w) => w.name);
  }

  startAll(): void {
    this.started = true;
    for (const worker of this.all) worker.start();
  }

  async stopAll(): Promise<void> {
    this.started = false;
    await Promise.all(this.all.map((w) => w.stop()));
    for (const release of this.afterStop) await release();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    workers: Workers;
  }
}

async function workersPlugin(app: FastifyInstance): Promise<void> {
  const workers = new Workers();
  app.decorate('workers', workers);
  app.addHook('onClose', async () => workers.stopAll());
}

export const workers = fp(workersPlugin, { name: 'workers' });
