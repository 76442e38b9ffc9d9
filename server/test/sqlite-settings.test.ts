/** The pragmas the embedded database runs with: WAL, foreign keys, and the chosen durability. */
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/database.js';
import { tempDir } from './harness/temp.js';

describe('SQLite settings', () => {
  const pragma = async (synchronous: 'normal' | 'full' | undefined) => {
    const file = path.join(tempDir('lpwan-test-pragma-'), 'lpwan.db');
    const db = createDatabase({ dialect: 'sqlite', file, synchronous });
    try {
      const read = async (name: string) =>
        Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
      return {
        journal: await read('journal_mode'),
        foreignKeys: await read('foreign_keys'),
        synchronous: await read('synchronous'),
      };
    } finally {
      await db.destroy();
    }
  };

  it('runs in WAL mode with foreign keys, flushing at checkpoints unless told to at each commit', async () => {
    // SQLite's numbers: 1 = NORMAL, 2 = FULL.
    expect(await pragma(undefined)).toEqual({ journal: 'wal', foreignKeys: 1, synchronous: 1 });
    expect(await pragma('normal')).toMatchObject({ synchronous: 1 });
    expect(await pragma('full')).toMatchObject({ synchronous: 2 });
  });
});
