/**
 * The checkpoint thread (see wal-checkpointer.ts): its own connection to the SQLite file,
 * checkpointing on a timer until told to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { CheckpointerReport, CheckpointerSetup } from './wal-checkpointer.js';

const { file, everyMs } = workerData as CheckpointerSetup;
const port = parentPort!;
const sqlite = new SQLite(file);
sqlite.pragma('busy_timeout = 5000');

function checkpoint(): void {
  try {
    sqlite.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    port.postMessage({ failed: (error as Error).message } satisfies CheckpointerReport);
  }
}

const timer = setInterval(checkpoint, everyMs);
port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  sqlite.close();
  port.postMessage({ stopped: true } satisfies CheckpointerReport);
  port.close();
});
