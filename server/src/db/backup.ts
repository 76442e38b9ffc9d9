/**
 * A copy of the SQLite database taken while the server runs: `VACUUM INTO` writes one
 * consistent snapshot (a single read transaction) to a new file, which WAL mode lets the
 * server keep writing through. A copy of the file by the file system is not safe: recent
 * commits sit in the -wal file. SQLite's page-by-page backup API starts over whenever another
 * connection writes between its steps, which a server taking uplinks does all the time.
 * PostgreSQL has its own tools (pg_dump, base backups); this does not stand in for them.
 */
import { existsSync, statSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import type { DatabaseConfig } from '../config.js';

/** A backup that cannot be made as asked; its message says why. */
export class BackupRefused extends Error {}

/** Copies the database `config` names to `out`, a new file; returns the copy's size in bytes. */
export function backupDatabase(config: DatabaseConfig, out: string): number {
  if (config.dialect === 'postgres') {
    throw new BackupRefused(
      'backup copies an SQLite database; for PostgreSQL use its own tools (pg_dump, or a base backup)',
    );
  }
  if (config.file === ':memory:') throw new BackupRefused('an in-memory database has no copy');
  if (!existsSync(config.file)) throw new BackupRefused(`there is no database at ${config.file}`);
  // Never over an existing file: it may be the last good backup (VACUUM INTO refuses too).
  if (existsSync(out)) throw new BackupRefused(`${out} exists already; name a new file`);
  // Read-only: a backup neither migrates nor writes the database it copies.
  const source = new SQLite(config.file, { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    source.prepare('VACUUM INTO ?').run(out);
  } finally {
    source.close();
  }
  return statSync(out).size;
}
