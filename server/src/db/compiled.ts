import { randomBytes } from 'node:crypto';
import { CompiledQuery, type Compilable, type Insertable } from 'kysely';
import { sqliteConnectionOf, type Db } from './database.js';
import type { Database } from './schema.js';

/**
 * A query that Kysely builds and compiles once per dialect and that then runs with new values
 * (Kysely's "execute compiled queries" recipe). Kysely builds every query anew, and on the
 * paths each request takes that costs more than the database: the session lookup, a join of
 * three tables, takes ~30 µs to build and compile and ~3 µs for SQLite to run.
 *
 * `build` receives a placeholder for each named value and must use it as a plain value (in a
 * comparison, a `set`, an `in` list of one): the compiled query's parameters are then swapped
 * for the call's values. A placeholder combined into another value (concatenated, lower-cased)
 * cannot be swapped; that is refused when the query is first compiled.
 */
export function compileOnce<Name extends string, Row>(
  names: readonly Name[],
  build: (db: Db, values: Record<Name, string>) => Compilable<Row>,
): (db: Db, values: Record<Name, unknown>) => Promise<Row[]> {
  const compiled = perDialect((db) =>
    compileWithPlaceholders(names, (values) => build(db, values)),
  );
  return async (db, values) => {
    const { sql, parameters } = compiled(db);
    const bound = parameters.map((p) => ('name' in p ? values[p.name] : p.constant));
    const result = await db.executeQuery<Row>(CompiledQuery.raw(sql, bound));
    return result.rows;
  };
}

/** Rows per INSERT on PostgreSQL: 1,000 rows of up to 65 columns stay within its 65,535 values. */
const POSTGRES_INSERT_ROWS = 1000;

/**
 * Inserts many rows into a table, in the caller's transaction. On SQLite every row runs one
 * prepared single-row INSERT compiled once (as compileOnce does), directly on the
 * transaction's connection. For a pull of 10,000 devices that saves Kysely building the
 * multi-row INSERTs (~50 ms of CPU) and some of SQLite's own time (it runs single-row INSERTs
 * faster than multi-row ones); sending each row through Kysely instead would add ~7 µs per row.
 * On PostgreSQL, where each statement is a round trip, rows go in multi-row INSERTs.
 */
export function compileInsert<
  Table extends keyof Database,
  Column extends keyof Insertable<Database[Table]> & string,
>(
  table: Table,
  columns: readonly Column[],
): (
  trx: Db,
  rows: readonly Required<Pick<Insertable<Database[Table]>, Column>>[],
) => Promise<void> {
  const compiled = perDialect((db) =>
    compileWithPlaceholders(columns, (values) =>
      db.insertInto(table).values(values as Insertable<Database[Table]>),
    ),
  );
  return async (trx, rows) => {
    const sqlite = sqliteConnectionOf(trx);
    if (sqlite === undefined) {
      for (let i = 0; i < rows.length; i += POSTGRES_INSERT_ROWS) {
        await trx
          .insertInto(table)
          .values(rows.slice(i, i + POSTGRES_INSERT_ROWS) as Insertable<Database[Table]>[])
          .execute();
      }
      return;
    }
    const { sql, parameters } = compiled(trx);
    const statement = sqlite.prepare(sql);
    for (const row of rows) {
      statement.run(parameters.map((p) => ('name' in p ? row[p.name] : p.constant)));
    }
  };
}

/** Compiled once per dialect adapter: SQLite and PostgreSQL compile to different SQL. */
function perDialect<T>(compile: (db: Db) => T): (db: Db) => T {
  const byAdapter = new WeakMap<object, T>();
  return (db) => {
    const adapter = db.getExecutor().adapter;
    let compiled = byAdapter.get(adapter);
    if (compiled === undefined) {
      compiled = compile(db);
      byAdapter.set(adapter, compiled);
    }
    return compiled;
  };
}

/** Compiles the query with a unique marker for each named value, and finds the markers again. */
function compileWithPlaceholders<Name extends string>(
  names: readonly Name[],
  build: (values: Record<Name, string>) => Compilable<unknown>,
): { sql: string; parameters: Parameter<Name>[] } {
  const marker = `\u0000value-${randomBytes(6).toString('hex')}:`;
  const placeholders = Object.fromEntries(names.map((n) => [n, `${marker}${n}`])) as Record<
    Name,
    string
  >;
  const { sql, parameters } = build(placeholders).compile();
  const mapped = parameters.map((value): Parameter<Name> => {
    if (typeof value === 'string' && value.startsWith(marker)) {
      return { name: value.slice(marker.length) as Name };
    }
    if (typeof value === 'string' && value.includes(marker)) {
      throw new Error(`compileOnce: a placeholder is used inside another value in: ${sql}`);
    }
    return { constant: value };
  });
  const used = new Set(mapped.flatMap((p) => ('name' in p ? [p.name] : [])));
  const unused = names.filter((n) => !used.has(n));
  if (unused.length > 0) {
    throw new Error(`compileOnce: ${unused.join(', ')} not used as plain values in: ${sql}`);
  }
  return { sql, parameters: mapped };
}

type Parameter<Name> = { name: Name } | { constant: unknown };
