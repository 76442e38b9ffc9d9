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
