import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/** Open the database named by the config (creating the SQLite folder if needed). */
export function createDatabase(
  config: DatabaseConfig,
  options: { onIdleConnectionError?: (error: Error) => void } = {},
): Db {
  if (config.dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 10 });
    // An idle connection that the server drops (restart, failover) emits 'error' on the pool;
    // unhandled, that would end the process. The pool replaces the connection by itself.
    pool.on('error', (error) => options.onIdleConnectionError?.(error));
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (config.file !== ':memory:') mkdirSync(path.dirname(config.file), { recursive: true });
  const sqlite = new SQLite(config.file);
  // WAL: readers do not block the writer. foreign_keys: SQLite leaves them off by default.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // In WAL mode 'full' flushes the disk at every commit; 'normal' at checkpoints only, which
  // still keeps every commit through a crash of the process (see config.ts).
  sqlite.pragma(`synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // Checkpoints run on a thread of their own while the app runs (db/wal-checkpointer.ts).
  if (config.file !== ':memory:') sqlite.pragma('wal_autocheckpoint = 0');
  const database = withStatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  sqliteConnections.set(db.getExecutor().adapter, database);
  return db;
}

/** The SQLite connection of each Db made here, by its dialect adapter (its transactions share it). */
const sqliteConnections = new WeakMap<object, SqliteDatabase>();

/**
 * The SQLite connection under a transaction, for running one prepared statement many times
 * without Kysely's per-query work (db/compiled.ts); undefined on PostgreSQL. Only inside a
 * transaction: the connection is then the transaction's until it ends, so nothing else can
 * interleave with statements run on it synchronously.
 */
export function sqliteConnectionOf(trx: Db): SqliteDatabase | undefined {
  if (!trx.isTransaction) throw new Error('sqliteConnectionOf: not in a transaction');
  return sqliteConnections.get(trx.getExecutor().adapter);
}

/**
 * Kysely begins transactions with a plain (deferred) BEGIN: the write lock is taken at the first
 * write, and a transaction that read first fails with SQLITE_BUSY_SNAPSHOT if another connection
 * wrote meanwhile (the uplink storage thread has one: uplinks/uplink-storage.ts). Taking the
 * lock at BEGIN makes writers wait for each other (busy_timeout) instead.
 */
const BEGIN = 'begin immediate';

/** Prepared statements kept per SQL text; the app's queries are a few hundred shapes at most. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew, and preparing (parsing and planning) costs more than running
 * most of our queries: a join of three tables takes ~0.3 ms to prepare, ~0.02 ms to run. The
 * cache hands back the prepared statement for SQL it has seen — unless that statement is busy
 * (a stream iterating it), when a fresh one is prepared. Least recently used entries go first.
 */
export function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      const cached = cache.get(text);
      if (cached !== undefined && !cached.busy) {
        cache.delete(text);
        cache.set(text, cached);
        return cached;
      }
      const statement = sqlite.prepare(text === 'begin' ? BEGIN : text);
      if (cached === undefined) {
        cache.set(text, statement);
        if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
}

/** Cheap round trip used by the health check. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
