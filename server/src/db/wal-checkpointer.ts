/**
 * WAL checkpoints of an SQLite file, on a thread of their own.
 *
 * In WAL mode SQLite appends commits to a log and copies them back into the database file (a
 * checkpoint) during the commit that takes the log past 1,000 pages: that commit waits for the
 * copy and for the disk to flush it, whichever connection made it. In a burst of uplinks that
 * was the storage thread, for half of its commit time; or the app's own connection, which
 * blocks the event loop. So the connections createDatabase opens on a file never checkpoint,
 * and while the app runs this thread does, a PASSIVE checkpoint every quarter of a second: it
 * copies what no reader still needs, and neither blocks nor waits for readers and writers.
 * A process that opens the file without the app (a CLI command) leaves it to SQLite, which
 * checkpoints when the last connection to the file closes.
 */
import type { FastifyBaseLogger } from 'fastify';
import { startThread } from '../threads.js';

export const CHECKPOINT_EVERY_MS = 250;

/** What the thread is given, and what it reports. */
export interface CheckpointerSetup {
  file: string;
  everyMs: number;
}
export type CheckpointerReport = { stopped: true } | { failed: string };

export interface WalCheckpointer {
  /** Runs a last checkpoint and ends the thread. */
  stop(): Promise<void>;
}

export function startWalCheckpointer(
  file: string,
  log: FastifyBaseLogger,
  everyMs = CHECKPOINT_EVERY_MS,
): WalCheckpointer {
  const worker = startThread(new URL('./wal-checkpointer.thread', import.meta.url), {
    file,
    everyMs,
  } satisfies CheckpointerSetup);
  let lastFailure: string | undefined;
  const stopped = new Promise<void>((resolve) => {
    worker.on('message', (report: CheckpointerReport) => {
      if ('stopped' in report) resolve();
      // A failing checkpoint is logged once until it changes; the log grows meanwhile.
      else if (report.failed !== lastFailure) {
        lastFailure = report.failed;
        log.error({ reason: report.failed }, 'SQLite checkpoint failed; retrying');
      }
    });
    worker.on('error', (err) => {
      log.error({ err }, 'the SQLite checkpoint thread failed');
      resolve();
    });
    worker.on('exit', () => resolve());
  });
  return {
    async stop() {
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}
