/**
 * Where the uplink path's SQL runs: ingest's batches, the delivery worker's claims and
 * outcomes. On PostgreSQL that is the app's own connection pool (the database works in its own
 * process). On an SQLite file it is a thread of its own with a second connection: SQLite runs
 * inside the process, and during a burst its inserts, commits and claims took two fifths of
 * the event loop, time the same loop needed to deliver. The thread runs the same repository
 * functions (uplinks.repository.ts) on its connection; WAL lets the app's connection read
 * meanwhile, and every transaction begins IMMEDIATE (db/database.ts) so that two writers wait
 * for each other instead of failing.
 */
import type { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseConfig } from '../config.js';
import type { Db } from '../db/database.js';
import { startServingThread } from '../threads.js';
import * as repository from './uplinks.repository.js';

/** The repository functions the uplink path runs, by name. */
export type StorageOperation =
  | 'insertUplinks'
  | 'claimDeliveries'
  | 'readClaimedDeliveries'
  | 'markDelivered'
  | 'markFailed'
  | 'rescheduleDeliveries'
  | 'postponeDeliveries'
  | 'deadLetterExpired'
  | 'findEndpoint'
  | 'recordEndpointSuccess'
  | 'recordEndpointFailure'
  | 'findDeliveryTargets';

type Repository = typeof repository;
type ArgsOf<Op extends StorageOperation> = Repository[Op] extends (
  db: Db,
  ...args: infer Args
) => unknown
  ? Args
  : never;
type ResultOf<Op extends StorageOperation> = Awaited<ReturnType<Repository[Op]>>;

export interface UplinkStorage {
  run<Op extends StorageOperation>(operation: Op, ...args: ArgsOf<Op>): Promise<ResultOf<Op>>;
  /** Ends the thread, if any, once the calls made so far have answered. */
  close(): Promise<void>;
}

export function createUplinkStorage(deps: {
  db: Db;
  config: DatabaseConfig;
  log: FastifyBaseLogger;
}): UplinkStorage {
  const { config } = deps;
  // An in-memory database cannot be opened a second time: it stays on the app's connection.
  if (config.dialect === 'postgres' || config.file === ':memory:') return directStorage(deps.db);
  return new ThreadStorage(config, deps.log);
}

function directStorage(db: Db): UplinkStorage {
  return {
    run: (operation, ...args) =>
      (repository[operation] as (db: Db, ...a: unknown[]) => Promise<never>)(db, ...args),
    close: async () => undefined,
  };
}

/** A call to the thread, and its answer. */
export interface StorageRequest {
  id: number;
  operation: StorageOperation;
  args: unknown[];
}
export type StorageAnswer =
  { id: number; result: unknown } | { id: number; error: { message: string; code?: string } };

class ThreadStorage implements UplinkStorage {
  private worker: Worker | undefined;
  private closed = false;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (value: never) => void; reject: (error: Error) => void }
  >();

  constructor(
    private readonly config: Extract<DatabaseConfig, { dialect: 'sqlite' }>,
    private readonly log: FastifyBaseLogger,
  ) {}

  run<Op extends StorageOperation>(operation: Op, ...args: ArgsOf<Op>): Promise<ResultOf<Op>> {
    if (this.closed) return Promise.reject(new Error('the uplink storage is closed'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise<ResultOf<Op>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      worker.postMessage({ id, operation, args } satisfies StorageRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    while (this.pending.size > 0) await new Promise((r) => setTimeout(r, 5));
    this.worker = undefined;
    await worker.terminate();
  }

  private start(): Worker {
    const worker = startServingThread(
      new URL('./uplink-storage.thread', import.meta.url),
      this.config,
      {
        name: 'uplink storage thread',
        log: this.log,
        onMessage: (answer: StorageAnswer) => {
          const call = this.pending.get(answer.id);
          if (call === undefined) return;
          this.pending.delete(answer.id);
          if ('error' in answer) {
            call.reject(
              Object.assign(new Error(answer.error.message), { code: answer.error.code }),
            );
          } else call.resolve(answer.result as never);
        },
        // A thread that ends (it should not) fails its calls; the next call starts a new one.
        // One that close() terminated is no longer this.worker.
        ended: (error) => {
          if (this.worker !== worker) return;
          this.worker = undefined;
          for (const call of this.pending.values()) call.reject(error);
          this.pending.clear();
        },
      },
    );
    this.worker = worker;
    return worker;
  }
}
