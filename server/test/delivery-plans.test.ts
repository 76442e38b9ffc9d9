/**
 * The delivery statements on PostgreSQL keep to the primary key when the statistics are older
 * than a burst: analyzed while few deliveries were pending, the planner believes the index of
 * due deliveries nearly empty and, left to choose, walked all of it for every claim and every
 * batch of outcomes (1.1 s for a claim among 10,000 due). The plans are read with EXPLAIN
 * ANALYZE in a transaction that is rolled back.
 */
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso } from '../src/clock.js';
import type { Db } from '../src/db/database.js';
import type { Database } from '../src/db/schema.js';
import {
  claimDeliveries,
  insertUplinks,
  markDelivered,
  readClaimedDeliveries,
} from '../src/uplinks/uplinks.repository.js';
import { createTenant, startTestApp, type TestApp } from './harness/app.js';
import { createApplicationReportingNowhere, uplinkRows } from './uplinks-fixture.js';

const DUE = 5_000;

class RolledBack extends Error {}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* nodes(child);
}

describe('delivery statements on PostgreSQL with statistics older than a burst', () => {
  let t: TestApp;
  let pool: pg.Pool;
  /** The app's database, with every statement it runs kept for EXPLAIN. */
  let db: Db;
  const statements: CompiledQuery[] = [];
  let applicationId: string;
  let burst: string[];

  /** Rows each index gave, over the plan of `statement` run for real, then rolled back. */
  const rowsByIndex = async (statement: CompiledQuery): Promise<Map<string, number>> => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (analyze, format json) ${statement.sql}`,
        statement.parameters as unknown[],
      );
      const read = new Map<string, number>();
      for (const node of nodes(result.rows[0]!['QUERY PLAN'][0].Plan)) {
        if (node['Index Name'] === undefined) continue;
        const rows = node['Actual Rows'] * node['Actual Loops'];
        read.set(node['Index Name'], (read.get(node['Index Name']) ?? 0) + rows);
      }
      return read;
    } finally {
      await client.query('rollback');
      client.release();
    }
  };

  /** The statements `run` makes (in a transaction that is rolled back: nothing changes). */
  const statementsOf = async (run: (trx: Db) => Promise<unknown>): Promise<CompiledQuery[]> => {
    const from = statements.length;
    await db
      .transaction()
      .execute(async (trx) => {
        await run(trx);
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    return statements.slice(from).filter((s) => /^\s*(select|update|with)/i.test(s.sql));
  };

  beforeAll(async () => {
    t = await startTestApp('postgres');
    const { admin } = await createTenant(t, 'Acme');
    applicationId = await createApplicationReportingNowhere(t, admin.token, 'Meters');
    pool = new pg.Pool({ connectionString: t.database.url, max: 2 });
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') statements.push(event.query);
      },
    });

    // A quiet period, analyzed: everything delivered, nothing pending.
    const quiet = uplinkRows(applicationId, 200);
    await insertUplinks(db, 'postgres', quiet);
    await markDelivered(
      db,
      'postgres',
      quiet.map((u) => ({ uplinkId: u.id, status: 200 })),
      nowIso(),
    );
    await pool.query('alter table deliveries set (autovacuum_enabled = false)');
    await pool.query('analyze deliveries');
    // Then a burst the statistics know nothing of.
    const rows = uplinkRows(applicationId, DUE);
    for (let i = 0; i < rows.length; i += 500)
      await insertUplinks(db, 'postgres', rows.slice(i, i + 500));
    burst = rows.map((r) => r.id);
  });
  afterAll(async () => {
    await db?.destroy();
    await t?.close();
  });

  it('a claim reads the due index once, not once per claimed delivery', async () => {
    const options = {
      now: nowIso(),
      leaseUntil: new Date(Date.now() + 60_000).toISOString(),
      limit: 100,
      perApplication: 100,
      excluded: [],
    };
    const [look, claim] = await statementsOf(async (trx) =>
      expect(await claimDeliveries(trx, 'postgres', options)).toHaveLength(100),
    );
    // First whether anything is due at all: one entry of the due index.
    expect(await rowsByIndex(look!)).toEqual(new Map([['deliveries_pending_idx', 1]]));
    const read = await rowsByIndex(claim!);
    // The ranking scan stops at its limit (2,000); a plan that walks the index per picked row
    // reads every due delivery at least once more.
    expect(read.get('deliveries_pending_idx') ?? 0).toBeLessThan(DUE);
    expect(read.get('deliveries_pkey')).toBeGreaterThanOrEqual(100);
  });

  it('recording outcomes does not walk the due index', async () => {
    const outcomes = burst.slice(-100).map((uplinkId) => ({ uplinkId, status: 200 }));
    const [update] = await statementsOf((trx) =>
      markDelivered(trx, 'postgres', outcomes, nowIso()),
    );
    const read = await rowsByIndex(update!);
    // With 100 ids among 5,000 pending it may take the primary key or read the table once.
    expect(read.get('deliveries_pending_idx') ?? 0).toBe(0);
  });

  it('reading back held deliveries does not walk the due index', async () => {
    const held = burst.slice(-500);
    const [read] = await statementsOf(async (trx) =>
      expect(await readClaimedDeliveries(trx, 'postgres', held)).toHaveLength(500),
    );
    const rows = await rowsByIndex(read!);
    // 500 of 5,200 deliveries: the primary key or one pass over the table, as the planner likes.
    expect(rows.get('deliveries_pending_idx') ?? 0).toBe(0);
    expect(rows.get('uplinks_pkey')).toBe(500);
  });
});
