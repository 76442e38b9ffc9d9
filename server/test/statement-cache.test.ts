/** The SQLite prepared-statement cache: reuse, a busy statement not handed out twice, the size bound. */
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../src/db/database.js';

describe('withStatementCache', () => {
  const open = () => {
    const sqlite = new SQLite(':memory:');
    sqlite.exec('create table t (n integer); insert into t values (1), (2), (3)');
    return { sqlite, cached: withStatementCache(sqlite) };
  };

  it('hands back the prepared statement for SQL it has seen', () => {
    const { sqlite, cached } = open();
    const first = cached.prepare('select n from t order by n');
    expect(cached.prepare('select n from t order by n')).toBe(first);
    expect(cached.prepare('select n from t where n > ?')).not.toBe(first);
    expect(first.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    sqlite.close();
  });

  it('prepares a fresh statement while the cached one is being iterated', () => {
    const { sqlite, cached } = open();
    const text = 'select n from t order by n';
    const outer = cached.prepare(text);
    const seen: number[] = [];
    for (const row of outer.iterate([]) as IterableIterator<{ n: number }>) {
      const inner = cached.prepare(text);
      expect(inner).not.toBe(outer);
      seen.push(row.n, (inner.all([]) as { n: number }[]).length);
    }
    expect(seen).toEqual([1, 3, 2, 3, 3, 3]);
    sqlite.close();
  });
});
