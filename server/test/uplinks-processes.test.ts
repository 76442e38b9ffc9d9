/**
 * The real server as child processes (issue 6): killed with SIGKILL in the middle of a stream
 * and restarted, every uplink is still delivered, duplicates carrying the same idempotency key;
 * two processes on one PostgreSQL hold one subscription per application, deliver nothing twice,
 * and take over a dead process's subscriptions within seconds.
 *
 * The simulator publishes at QoS 0, as TTN did: an uplink published while no server is
 * connected, or read but not yet stored when the process dies, is gone at the broker. So the
 * kill comes while deliveries are in flight and backlogged, with the traffic paused for it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../src/crypto/key-ring.js';
import { createDatabase } from '../src/db/database.js';
import { ADMIN_PASSWORD, createTenant, startTestApp } from './harness/app.js';
import {
  createTestDatabase,
  DIALECTS,
  type Dialect,
  type TestDatabase,
} from './harness/database.js';
import { createTtnNetwork, startTtn, TTN_USER, type Ttn } from './harness/ttn.js';
import {
  linkApplication,
  startEndpoint,
  waitFor,
  type Endpoint,
  type LinkedApp,
} from './uplinks-fixture.js';
import { freePort } from './harness/ports.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mainJs = path.join(repoRoot, 'server', 'dist', 'main.js');
const LEASE_SECONDS = 2;

interface ServerProcess {
  child: ChildProcess;
  logs: string[];
  /** Log lines saying a subscription became active. */
  subscribed(): number;
  /** Subscriptions it holds now: became active, not stopped or handed over since. */
  holding(): number;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function startServer(database: TestDatabase, secretKey: string): Promise<ServerProcess> {
  const port = await freePort();
  const databaseUrl = database.dialect === 'postgres' ? database.url! : `sqlite:${database.file!}`;
  const child = spawn(process.execPath, [mainJs, 'serve'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: databaseUrl,
      LPWAN_SECRET_KEY: secretKey,
      LPWAN_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'info',
      UPLINK_LEASE_SECONDS: String(LEASE_SECONDS),
      DELIVERY_TIMEOUT_SECONDS: '1',
      DELIVERY_BACKOFF_MAX_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop()!;
    logs.push(...lines);
  });
  child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    () => logs.some((l) => l.includes('LPWAN Server is ready')) || child.exitCode !== null,
    20_000,
    'the server',
  );
  if (child.exitCode !== null) throw new Error(`the server exited: ${logs.join('\n')}`);
  return {
    child,
    logs,
    subscribed: () => logs.filter((l) => l.includes('uplink subscription active')).length,
    holding: () =>
      logs.filter((l) => l.includes('uplink subscription active')).length -
      logs.filter(
        (l) =>
          l.includes('uplink subscription stopped') ||
          l.includes('handing an uplink subscription over'),
      ).length,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Tenant, TTN network and linked applications, set up through a short-lived in-process app. */
async function prepare(
  database: TestDatabase,
  secretKey: string,
  ttn: Ttn,
  endpoint: Endpoint,
  remoteIds: string[],
) {
  const t = await startTestApp(database.dialect, { database, secretKey });
  try {
    const { admin, organizationId } = await createTenant(t, 'Acme');
    const networkId = await createTtnNetwork(t, admin, ttn);
    const apps: LinkedApp[] = [];
    for (const remoteId of remoteIds) {
      apps.push(
        await linkApplication(
          { db: t.db, secretBox: t.secretBox, ttn },
          {
            owner: TTN_USER.username,
            organizationId,
            networkId,
            remoteId,
            devices: 5,
            reportingUrl: endpoint.url,
          },
        ),
      );
    }
    return apps;
  } finally {
    await t.close();
  }
}

const sentSoFar = async (ttn: Ttn) =>
  ((await ttn.control('/uplinks', undefined, 'GET')).jobs as { sent: number }[]).reduce(
    (n, j) => n + j.sent,
    0,
  );

/** Delivered documents by idempotency key; every copy of one key must be the same document. */
function byKey(endpoint: Endpoint): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const r of endpoint.received) {
    const key = String(r.headers['idempotency-key']);
    keys.set(key, (keys.get(key) ?? new Set()).add(r.body));
  }
  return keys;
}

beforeAll(() => {
  // The test runs what `npm start` runs: the compiled server.
  execFileSync('npm', ['run', 'build', '-w', 'server'], { cwd: repoRoot, stdio: 'pipe' });
}, 120_000);

describe.each(DIALECTS)('a server killed mid-stream (%s)', (dialect: Dialect) => {
  let ttn: Ttn;
  let endpoint: Endpoint;
  let database: TestDatabase;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    ttn = await startTtn('http://127.0.0.1/oauth/callback');
    endpoint = await startEndpoint();
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await ttn?.close();
    await endpoint?.close();
    await database?.drop();
  });

  it('delivers every uplink at least once after a restart, duplicates with the same idempotency key', async () => {
    const secretKey = generateKey();
    await prepare(database, secretKey, ttn, endpoint, ['acme-kill']);
    // Slower than the traffic (64 requests at a time, 0.6 s each): a backlog builds and
    // requests are always in flight.
    endpoint.respond = () => ({ status: 200, delayMs: 600 });

    const first = await startServer(database, secretKey);
    servers.push(first);
    await waitFor(() => first.subscribed() === 1, 10_000, 'the subscription');
    await ttn.control('/uplinks', { appId: 'acme-kill', count: 600, perSecond: 200 });
    await waitFor(() => endpoint.received.length >= 150, 20_000, '150 deliveries');
    await ttn.control('/uplinks', undefined, 'DELETE');
    // Long enough for what was read to be stored (milliseconds); deliveries are still running.
    await new Promise((r) => setTimeout(r, 300));
    await first.kill();
    const sentBeforeKill = await sentSoFar(ttn);
    const deliveredBeforeKill = byKey(endpoint).size;
    expect(deliveredBeforeKill).toBeLessThan(sentBeforeKill);

    endpoint.respond = () => 200;
    const second = await startServer(database, secretKey);
    servers.push(second);
    // The dead process's lease expires; the new one subscribes.
    await waitFor(
      () => second.subscribed() === 1,
      (LEASE_SECONDS + 5) * 1000,
      'the subscription to move',
    );
    await ttn.control('/uplinks', { appId: 'acme-kill', count: 100, perSecond: 200 });
    await waitFor(
      async () => (await sentSoFar(ttn)) === sentBeforeKill + 100,
      10_000,
      'the second batch',
    );
    const total = sentBeforeKill + 100;

    await waitFor(() => byKey(endpoint).size === total, 30_000, `${total} distinct deliveries`);
    // Requests that were in flight at the kill reached the endpoint but were never recorded:
    // they are sent again once their claim expires, and then nothing is left pending.
    const db = createDatabase(database.config);
    try {
      const pending = () =>
        db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('status', '!=', 'delivered')
          .executeTakeFirstOrThrow();
      await waitFor(
        async () => Number((await pending()).n) === 0,
        30_000,
        'no delivery left pending',
      );
      const stored = await db
        .selectFrom('uplinks')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(stored.n)).toBe(total);
    } finally {
      await db.destroy();
    }
    const keys = byKey(endpoint);
    expect(keys.size).toBe(total);
    expect(endpoint.received.length).toBeGreaterThan(total);
    for (const bodies of keys.values()) expect(bodies.size).toBe(1);
  });
});

describe('two server processes on one PostgreSQL', () => {
  let ttn: Ttn;
  let endpoint: Endpoint;
  let database: TestDatabase;
  const servers: ServerProcess[] = [];
  const secretKey = generateKey();
  const remoteIds = ['acme-one', 'acme-two', 'acme-three', 'acme-four'];

  beforeAll(async () => {
    ttn = await startTtn('http://127.0.0.1/oauth/callback');
    endpoint = await startEndpoint();
    database = await createTestDatabase('postgres');
    await prepare(database, secretKey, ttn, endpoint, remoteIds);
    servers.push(
      ...(await Promise.all([startServer(database, secretKey), startServer(database, secretKey)])),
    );
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await ttn?.close();
    await endpoint?.close();
    await database?.drop();
  });

  const leases = async () => {
    const db = createDatabase(database.config);
    try {
      return await db
        .selectFrom('uplink_leases')
        .select(['application_link_id', 'holder', 'state'])
        .execute();
    } finally {
      await db.destroy();
    }
  };

  const heldBy = async (server: ServerProcess) =>
    (await leases()).filter((l) => l.holder.includes(`:${server.child.pid}:`)).length;

  it('subscribes once per application, spread over both, and delivers nothing twice', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    await waitFor(
      async () =>
        a.holding() === 2 &&
        b.holding() === 2 &&
        (await heldBy(a)) === 2 &&
        (await heldBy(b)) === 2,
      15_000,
      'two subscriptions each',
    );
    // Several lease rounds later, still one each.
    await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1500));
    expect([a.holding(), b.holding()]).toEqual([2, 2]);
    const held = await leases();
    expect(held).toHaveLength(remoteIds.length);
    expect(held.every((l) => l.state === 'subscribed')).toBe(true);

    await Promise.all(
      remoteIds.map((appId) => ttn.control('/uplinks', { appId, count: 150, perSecond: 150 })),
    );
    await waitFor(() => byKey(endpoint).size === 600, 20_000, '600 deliveries');
    await new Promise((r) => setTimeout(r, 500));
    expect(endpoint.received).toHaveLength(600);
  });

  it("takes over a killed process's subscriptions within seconds", async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const victim = (await leases()).some((l) => l.holder.includes(`:${a.child.pid}:`)) ? a : b;
    const survivor = victim === a ? b : a;
    const moving = (await leases()).filter((l) =>
      l.holder.includes(`:${victim.child.pid}:`),
    ).length;
    expect(moving).toBeGreaterThan(0);
    const killedAt = Date.now();
    await victim.kill();
    await waitFor(() => survivor.holding() === remoteIds.length, 15_000, 'the takeover');
    expect(Date.now() - killedAt).toBeLessThan((LEASE_SECONDS + 3) * 1000);

    const already = endpoint.received.length;
    await Promise.all(
      remoteIds.map((appId) => ttn.control('/uplinks', { appId, count: 25, perSecond: 100 })),
    );
    await waitFor(() => byKey(endpoint).size === 700, 20_000, '100 more deliveries');
    expect(endpoint.received.length - already).toBe(100);
  });

  it('hands half of the subscriptions to a process that joins, losing no uplink', async () => {
    const survivor = servers.find((s) => s.child.exitCode === null && s.child.signalCode === null)!;
    expect(survivor.holding()).toBe(remoteIds.length);
    const already = byKey(endpoint).size;
    // Traffic throughout the hand-over: the subscriptions move while uplinks arrive.
    await Promise.all(
      remoteIds.map((appId) => ttn.control('/uplinks', { appId, count: 200, perSecond: 50 })),
    );
    const joining = await startServer(database, secretKey);
    servers.push(joining);
    await waitFor(
      async () =>
        survivor.holding() === 2 &&
        joining.holding() === 2 &&
        (await heldBy(survivor)) === 2 &&
        (await heldBy(joining)) === 2,
      15_000,
      'two subscriptions each',
    );
    await waitFor(
      () => byKey(endpoint).size === already + 800,
      20_000,
      'every uplink sent during the hand-over',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(byKey(endpoint).size).toBe(already + 800);
    expect(endpoint.received.length).toBe(already + 800);
  });

  it('hands its subscriptions over when it stops, losing no uplink', async () => {
    const [stopping, staying] = servers.filter(
      (s) => s.child.exitCode === null && s.child.signalCode === null,
    ) as [ServerProcess, ServerProcess];
    const [keysBefore, receivedBefore] = [byKey(endpoint).size, endpoint.received.length];
    await Promise.all(
      remoteIds.map((appId) => ttn.control('/uplinks', { appId, count: 100, perSecond: 50 })),
    );
    await new Promise((r) => setTimeout(r, 500));
    await stopping.stop(); // SIGTERM: a clean shutdown, as in a rolling restart
    await waitFor(() => staying.holding() === remoteIds.length, 15_000, 'the hand-over');
    await waitFor(
      () => byKey(endpoint).size === keysBefore + 400,
      20_000,
      'every uplink sent during the shutdown',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(endpoint.received.length).toBe(receivedBefore + 400);
  });
});
