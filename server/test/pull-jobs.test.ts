/**
 * Pull jobs as stored work: a job taken up again goes on from where its earlier run stopped
 * (counts and item errors once each), a run keeps its lease while it waits and stops without
 * writing when another run took the job over, and one network has one active pull at a time.
 * Runs are driven here directly (the pull worker is not started), against the TTN simulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoIn, nowIso } from '../src/clock.js';
import { claimJob } from '../src/applications/pull/jobs.repository.js';
import type { PullDeps } from '../src/applications/pull/jobs.service.js';
import type { JobRow } from '../src/applications/pull/jobs.table.js';
import {
  JOB_LEASE_MS,
  PULL_TIMING,
  retryWaitMs,
  runPull,
  type PullTiming,
} from '../src/applications/pull/pull.run.js';
import { RateLimited, Unavailable } from '../src/protocols/errors.js';
import { createTenant, type SignedIn, type TestApp, startTestApp } from './harness/app.js';
import { DIALECTS } from './harness/database.js';
import { startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import { eventually, linkedTtnNetwork, type JobView } from './sync.harness.js';

const hex6 = (i: number) => i.toString(16).toUpperCase().padStart(6, '0');
/** An OTAA device of the simulator's handler. */
const device = (id: string, appEui: string, devEui: string) => ({
  dev_id: id,
  lorawan_device: { app_eui: appEui, dev_eui: devEui, app_key: '0000000000000000000000000000000A' },
});

describe('retry waits', () => {
  it("follows a network's Retry-After up to a cap, and backs off on outages", () => {
    const max = PULL_TIMING.maxRetryWaitMs;
    expect(max).toBeLessThan(JOB_LEASE_MS);
    expect(retryWaitMs(new RateLimited(2), 1, max)).toBe(2_000);
    expect(retryWaitMs(new RateLimited(3_600), 1, max)).toBe(max);
    expect(retryWaitMs(new Unavailable(), 2, max)).toBe(1_000);
    expect(retryWaitMs(new Unavailable(), 4, max)).toBeUndefined();
    expect(retryWaitMs(new Error('bug'), 1, max)).toBeUndefined();
    // A run renews its lease several times within it, waits included.
    expect(PULL_TIMING.renewMs * 3).toBeLessThan(PULL_TIMING.leaseMs);
  });
});

describe.each(DIALECTS)('pull jobs (%s)', (dialect) => {
  let t: TestApp;
  let ttn: Ttn;
  let admin: SignedIn;
  let networkId: string;
  let deps: PullDeps;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    ttn = await startTtn(`${t.config.publicUrl}/oauth/callback`);
    ({ admin } = await createTenant(t, 'Acme'));
    networkId = await linkedTtnNetwork(t, admin, ttn);
    deps = {
      db: t.db,
      secretBox: t.secretBox,
      protocols: t.app.protocols,
      vault: t.app.tokenVault,
    };
  });
  afterAll(async () => {
    await t?.close();
    await ttn?.close();
  });

  /** Queues a pull through the API and claims it as a worker would, with lease `token`. */
  const queueAndClaim = async (token: string, leaseMs = JOB_LEASE_MS): Promise<JobRow> => {
    const res = await t.request('POST', `/api/networks/${networkId}/pull`, { token: admin.token });
    expect(res.statusCode, res.body).toBe(202);
    const { jobId } = res.json() as { jobId: string };
    const job = await claimJob(t.db, dialect, nowIso(), isoIn(leaseMs), token);
    expect(job?.id).toBe(jobId);
    return job!;
  };
  const jobRow = (id: string) =>
    t.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const jobView = async (id: string) =>
    (await t.request('GET', `/api/jobs/${id}`, { token: admin.token })).json() as JobView;
  const deviceCount = async () =>
    Number(
      (
        await t.db
          .selectFrom('devices')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('answers concurrent pulls of one network with one job', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        t.request('POST', `/api/networks/${networkId}/pull`, { token: admin.token }),
      ),
    );
    for (const res of answers) expect(res.statusCode, res.body).toBe(202);
    const ids = new Set(answers.map((res) => (res.json() as { jobId: string }).jobId));
    expect(ids.size).toBe(1);
    const active = await t.db
      .selectFrom('jobs')
      .select('id')
      .where('network_id', '=', networkId)
      .where('state', 'in', ['queued', 'running'])
      .execute();
    expect(active.map((j) => j.id)).toEqual([...ids]);
    await t.db.deleteFrom('jobs').where('network_id', '=', networkId).execute();
  });

  it(
    'takes a stopped pull up again where it stopped: item errors and counts once each',
    { timeout: 60_000 },
    async () => {
      // p1: 1,500 devices; p2: 2,500 (three pages), every tenth with the DevEUI of a p1
      // device, refused as an item error (250 of them, on every page).
      await ttn.control('/applications', {
        owner: TTN_USER.username,
        id: 'p1',
        devices: Array.from({ length: 1_500 }, (_, i) =>
          device(`d-${i}`, '70B3D57ED0000001', `70B3D57ED1${hex6(i)}`),
        ),
      });
      await ttn.control('/applications', {
        owner: TTN_USER.username,
        id: 'p2',
        devices: Array.from({ length: 2_500 }, (_, i) =>
          device(
            `d-${i}`,
            '70B3D57ED0000002',
            i % 10 === 0 ? `70B3D57ED1${hex6(i / 10)}` : `70B3D57ED2${hex6(i)}`,
          ),
        ),
      });
      const first = await queueAndClaim('run-1');
      // p2's pages come slowly: the run is stopped after it wrote one or two of them.
      await ttn.control('/faults', {
        server: 'handler',
        path: '/applications/p2/devices',
        latencyMs: 700,
      });
      const stop = new AbortController();
      const stopped = runPull(deps, first, stop.signal);
      await eventually(
        async () => {
          const row = await jobRow(first.id);
          return (JSON.parse(row.counts_json) as JobView['counts']).devices.failed > 0
            ? row
            : undefined;
        },
        { intervalMs: 20 },
      );
      stop.abort();
      await stopped;
      await ttn.control('/faults', undefined, 'DELETE');
      const left = await jobRow(first.id);
      expect(left.state).toBe('running');
      expect(left.error_count).toBeGreaterThan(0);
      expect(left.error_count).toBeLessThan(250);
      expect(await deviceCount()).toBeLessThan(1_500 + 2_250);
      // Stopped gracefully, it gave its lease up: taken up again at once.
      expect(left.lease_until! <= nowIso()).toBe(true);

      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = await claimJob(t.db, dialect, nowIso(), isoIn(JOB_LEASE_MS), 'run-2');
      expect(again?.id).toBe(first.id);
      await runPull(deps, again!, new AbortController().signal);

      const job = await jobView(first.id);
      expect(job).toMatchObject({
        state: 'done',
        message: null,
        progress: { done: 2, total: 2 },
        counts: {
          applications: { created: 2, matched: 0 },
          devices: { created: 1_500 + 2_250, matched: 0, failed: 250 },
        },
        errorCount: 250,
      });
      const expected = Array.from({ length: 250 }, (_, i) => `device p2/d-${i * 10}`);
      expect(job.errors.map((e) => e.item).sort()).toEqual(expected.sort());
      expect(await deviceCount()).toBe(1_500 + 2_250);

      // Put back in the queue after it ended (by hand, say), it goes on from its end: no change.
      await t.db
        .updateTable('jobs')
        .set({ state: 'queued', finished_at: null })
        .where('id', '=', first.id)
        .execute();
      const requeued = await claimJob(t.db, dialect, nowIso(), isoIn(JOB_LEASE_MS), 'run-3');
      await runPull(deps, requeued!, new AbortController().signal);
      expect(await jobView(first.id)).toMatchObject({
        state: 'done',
        counts: job.counts,
        errorCount: 250,
        errors: job.errors,
      });
    },
  );

  const shortLease: PullTiming = { leaseMs: 600, renewMs: 100, maxRetryWaitMs: 1_000 };

  it('renews the lease while the network is slow, well past the lease', async () => {
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'slow',
      devices: [device('s-1', '70B3D57ED0000003', '70B3D57ED3000001')],
    });
    const job = await queueAndClaim('run-slow', shortLease.leaseMs);
    await ttn.control('/faults', {
      server: 'handler',
      path: '/applications/slow/devices',
      latencyMs: 2_000,
    });
    let finished = false;
    const samples: { at: string; leaseUntil: string | null }[] = [];
    const run = runPull(deps, job, new AbortController().signal, shortLease).finally(
      () => (finished = true),
    );
    try {
      while (!finished) {
        const row = await jobRow(job.id);
        if (row.state === 'running') samples.push({ at: nowIso(), leaseUntil: row.lease_until });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await run;
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
    expect(samples.length).toBeGreaterThan(20);
    // Never lapsed while the run was going on, though the wait was longer than the lease.
    for (const sample of samples) expect(sample.leaseUntil! > sample.at).toBe(true);
    expect((await jobView(job.id)).state).toBe('done');
  });

  it('stops without writing when another run took the job over', async () => {
    await ttn.control('/applications', {
      owner: TTN_USER.username,
      id: 'taken',
      devices: [device('t-1', '70B3D57ED0000004', '70B3D57ED4000001')],
    });
    const job = await queueAndClaim('run-a', shortLease.leaseMs);
    await ttn.control('/faults', {
      server: 'handler',
      path: '/applications/taken/devices',
      latencyMs: 1_500,
    });
    try {
      const run = runPull(deps, job, new AbortController().signal, shortLease);
      // Waiting for the slow page of `taken`, the job is taken over by another process.
      await eventually(
        async () => {
          const row = await jobRow(job.id);
          return row.cursor_json?.includes('"taken"') ? row : undefined;
        },
        { intervalMs: 20 },
      );
      const leaseUntil = isoIn(60_000);
      await t.db
        .updateTable('jobs')
        .set({ lease_token: 'run-b', lease_until: leaseUntil })
        .where('id', '=', job.id)
        .execute();
      const before = await jobRow(job.id);
      const devicesBefore = await deviceCount();
      await run;
      expect(await jobRow(job.id)).toEqual(before);
      expect(await deviceCount()).toBe(devicesBefore);
      expect(before).toMatchObject({ state: 'running', lease_token: 'run-b' });
    } finally {
      await ttn.control('/faults', undefined, 'DELETE');
    }
  });
});
