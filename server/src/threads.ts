import { Worker } from 'node:worker_threads';

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
