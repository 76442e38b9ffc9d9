import { randomBytes } from 'node:crypto';
import { CompiledQuery, type Compilable } from 'kysely';
import type { Db } from './database.js';

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
  // Per dialect adapter: SQLite and PostgreSQL compile to different SQL.
  const compiledBy = new WeakMap<object, { sql: string; parameters: Parameter<Name>[] }>();

  const compile = (db: Db) => {
    const marker = `\u0000value-${randomBytes(6).toString('hex')}:`;
    const placeholders = Object.fromEntries(names.map((n) => [n, `${marker}${n}`])) as Record<
      Name,
      string
    >;
    const { sql, parameters } = build(db, placeholders).compile();
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
  };

  return async (db, values) => {
    const adapter = db.getExecutor().adapter;
    let compiled = compiledBy.get(adapter);
    if (compiled === undefined) {
      compiled = compile(db);
      compiledBy.set(adapter, compiled);
    }
    const parameters = compiled.parameters.map((p) => ('name' in p ? values[p.name] : p.constant));
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters));
    return result.rows;
  };
}

type Parameter<Name> = { name: Name } | { constant: unknown };
