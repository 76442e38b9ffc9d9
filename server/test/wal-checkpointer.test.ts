/**
 * SQLite's WAL checkpoints: the connections createDatabase opens on a file leave them to the
 * checkpoint thread, which copies the log into the database file while writers go on.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import { startWalCheckpointer } from '../src/db/wal-checkpointer.js';
import { createLogger } from '../src/http/logging.js';
import { tempDir } from './harness/temp.js';
import { waitFor } from './uplinks-fixture.js';

const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);

describe('WAL checkpoints', () => {
  it('are left to the checkpoint thread, which copies the log into the file while writers go on', async () => {
    const file = path.join(tempDir('lpwan-wal-'), 'lpwan.db');
    const db = createDatabase({ dialect: 'sqlite', file });
    try {
      const setting = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(
        db,
      );
      expect(setting.rows[0]!.wal_autocheckpoint).toBe(0);

      // 2,000 pages of rows: past SQLite's own threshold (1,000), nothing reaches the file.
      await sql`create table filler (body text not null)`.execute(db);
      const body = 'x'.repeat(4000);
      for (let i = 0; i < 20; i++) {
        await db.transaction().execute(async (trx) => {
          for (let j = 0; j < 100; j++) await sql`insert into filler values (${body})`.execute(trx);
        });
      }
      expect(size(`${file}-wal`)).toBeGreaterThan(8_000_000);
      expect(size(file)).toBeLessThan(1_000_000);

      const checkpointer = startWalCheckpointer(file, createLogger('silent'), 20);
      try {
        await waitFor(() => size(file) > 8_000_000, 10_000, 'the log copied into the file');
        // Writers go on meanwhile, and what they write is checkpointed too.
        await sql`insert into filler values (${'last'})`.execute(db);
        const rows = await sql<{ n: number }>`select count(*) as n from filler`.execute(db);
        expect(rows.rows[0]!.n).toBe(2001);
      } finally {
        await checkpointer.stop();
      }
    } finally {
      await db.destroy();
    }
    // The last connection closed: the log is gone, everything is in the file.
    expect(size(`${file}-wal`)).toBe(0);
    const again = createDatabase({ dialect: 'sqlite', file });
    try {
      const rows = await sql<{ n: number }>`select count(*) as n from filler`.execute(again);
      expect(rows.rows[0]!.n).toBe(2001);
    } finally {
      await again.destroy();
    }
  });
});
