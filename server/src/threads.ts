import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Starts a worker thread on a module of the server, named without its extension (e.g.
 * `new URL('./uplink-storage.thread', import.meta.url)`). Built, the module is the .js file.
 * Under the tests' TypeScript it is the .ts file, which the thread loads through tsx's loader,
 * registered first.
 */
export function startThread(module: URL, workerData: unknown): Worker {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`${module.href}.${typescript ? 'ts' : 'js'}`);
  return typescript
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}

/**
 * Starts a thread that serves calls (see startThread) and is not meant to end while in use: an
 * error of it is logged, and `ended` is told once, with why, when it fails or exits (also when
 * it is terminated on purpose: `ended` tells the two apart).
 */
export function startServingThread(
  module: URL,
  workerData: unknown,
  handlers: {
    /** As the log and errors name it, e.g. "uplink storage thread". */
    name: string;
    log: FastifyBaseLogger;
    onMessage(message: never): void;
    ended(error: Error): void;
  },
): Worker {
  const worker = startThread(module, workerData);
  let ended = false;
  const end = (error: Error) => {
    if (ended) return;
    ended = true;
    handlers.ended(error);
  };
  worker.on('message', (message) => handlers.onMessage(message as never));
  worker.on('error', (err) => {
    handlers.log.error({ err }, `the ${handlers.name} failed`);
    end(err);
  });
  worker.on('exit', (code) => end(new Error(`the ${handlers.name} exited (${code})`)));
  return worker;
}

/** How much lower than the event loop the batch threads run (nice values: 0 normal, 19 lowest). */
const BATCH_THREAD_NICENESS = 5;

/**
 * Called first thing by a thread that does batch work for the event loop (the uplink decoding
 * and storage threads): lowers the thread's scheduling priority. While the CPU is saturated,
 * the event loop (it reads MQTT, delivers and answers the API) then runs first, and the batch
 * thread, running a little behind, takes larger batches, whose cost per uplink is lower (one
 * message and one commit for more uplinks). In the uplinks bench on SQLite, with every core
 * busy, this raised the durable throughput from 70 % to 74 % of the bare relay; neither
 * thread alone did. With spare CPU, priorities change nothing.
 *
 * Linux only: there the nice value belongs to each thread, set through the thread's own id.
 * Elsewhere it is the process's, so nothing is changed. Lowering a priority needs no privilege;
 * where it fails anyway, the thread keeps the default.
 */
export function lowerPriorityOfThisThread(): void {
  if (process.platform !== 'linux') return;
  try {
    // "<pid>/task/<tid>": the calling thread's own entry.
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(threadId, Math.min(19, getPriority(threadId) + BATCH_THREAD_NICENESS));
  } catch {
    // No /proc, or not permitted: the thread runs at the process's priority.
  }
}
