/**
 * The uplink storage thread (see uplink-storage.ts): its own connection to the SQLite file,
 * answering calls of the uplink repository's functions one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DatabaseConfig } from '../config.js';
import { createDatabase, type Db } from '../db/database.js';
import { lowerPriorityOfThisThread } from '../threads.js';
import type { StorageAnswer, StorageRequest } from './uplink-storage.js';
import * as repository from './uplinks.repository.js';

const db = createDatabase(workerData as DatabaseConfig);
lowerPriorityOfThisThread();
const port = parentPort!;

port.on('message', (request: StorageRequest) => {
  const operation = repository[request.operation] as (
    db: Db,
    ...args: unknown[]
  ) => Promise<unknown>;
  operation(db, ...request.args).then(
    (result) => port.postMessage({ id: request.id, result } satisfies StorageAnswer),
    (error: unknown) => {
      const { message, code } = error as { message?: string; code?: string };
      port.postMessage({
        id: request.id,
        error: { message: message ?? String(error), code },
      } satisfies StorageAnswer);
    },
  );
});
