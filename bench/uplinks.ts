/**
 * Uplinks from the simulator's MQTT broker to a loopback HTTP endpoint: LPWAN Server (durable:
 * stored, then delivered from the outbox) on SQLite and on PostgreSQL, against a bare relay
 * measured in the same run (MQTT subscribe → keep-alive HTTP POST of each message, nothing
 * stored). Broker, relay or server, and endpoint each run as their own process.
 *
 * Two figures per target:
 * - sustained throughput: uplinks offered faster than any target takes them; uplinks per second
 *   from the first publish to the last unique delivery. Each server is measured in rounds
 *   (three by default), each round the relay's burst and then the server's: the median is
 *   printed, and the server's ratio is the median of its rounds' ratios to the relay's round
 *   just before (the machine's speed drifts over a minute; one run of each put that drift into
 *   the ratio). A server runs only while it is measured (the one on PostgreSQL with its
 *   database), and each burst starts once the machine is quiet;
 * - end-to-end latency (network receive time → endpoint) at a steady 500 uplinks/s: p50, p99,
 *   measured first, after a two-second warm-up at that rate, also once the machine is quiet;
 * Every run also counts what was published against what arrived (no uplink may be lost).
 * Figures are printed, never asserted. Targets (issue 6): durable throughput ≥ 70 % of the
 * relay on SQLite and ≥ 50 % on PostgreSQL; p99 ≤ 50 ms at 500/s.
 *
 *   npm run build && npm run bench:uplinks [-- --count 40000 --offered 20000 --rounds 3 --steady-seconds 10 --postgres-url postgres://…]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { parseKeyRing } from '../server/src/crypto/key-ring.js';
import { SecretBox } from '../server/src/crypto/secret-box.js';
import { postDocument } from '../server/src/uplinks/post-document.js';
import { createDatabase } from '../server/src/db/database.js';
import { linkApplication } from '../server/test/uplinks-fixture.js';
import { freePort } from '../server/test/harness/ports.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const USER = { username: 'bench', password: 'bench-password', email: 'bench@example.com' };

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    // Offered faster than the relay sends (about 10,500/s here), so that its figure is its
    // ceiling and not the offered rate.
    count: { type: 'string', default: '40000' },
    offered: { type: 'string', default: '20000' },
    'steady-rate': { type: 'string', default: '500' },
    'steady-seconds': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'postgres-url': { type: 'string' },
    // relay role
    mqtt: { type: 'string' },
    app: { type: 'string' },
    key: { type: 'string' },
    endpoint: { type: 'string' },
  },
});

// ---- Child roles: the endpoint and the bare relay ----

/** Records the first arrival of each uplink (by Idempotency-Key) and its end-to-end latency. */
function runEndpoint(): void {
  let seen = new Map<string, number>();
  let total = 0;
  let last = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      const latencies = [...seen.values()].sort((a, b) => a - b);
      const at = (q: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
      res.end(JSON.stringify({ unique: seen.size, total, last, p50: at(0.5), p99: at(0.99) }));
      return;
    }
    if (req.method === 'DELETE') {
      seen = new Map();
      total = 0;
      last = 0;
      res.end('{}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      total++;
      const key = String(req.headers['idempotency-key']);
      if (!seen.has(key)) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          receivedAt?: string;
          metadata?: { time: string };
        };
        seen.set(key, now - Date.parse(body.receivedAt ?? body.metadata!.time));
        last = now;
      }
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(
      `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/` })}\n`,
    );
  });
}

/**
 * The baseline: every uplink POSTed as it arrives, nothing stored, over keep-alive connections
 * with at most 64 requests in flight (as the server allows per application); the rest wait in
 * memory. Unbounded, it opens a connection per uplink and the endpoint starts refusing them.
 * Like the server, it stops reading MQTT while 1,000 wait, until they are down to 500: without
 * that, a long flood piled up in its memory and it sent a fifth less.
 */
function runRelay(): void {
  const MAX_IN_FLIGHT = 64;
  const HIGH_WATER = 1_000;
  const LOW_WATER = 500;
  const waiting: Buffer[] = [];
  let inFlight = 0;
  let readNext: (() => void) | undefined;
  const post = (payload: Buffer) => {
    inFlight++;
    const text = payload.toString('utf8');
    const message = JSON.parse(text) as {
      dev_id: string;
      counter: number;
      metadata: { time: string };
    };
    // The server's own delivery request (no signature), so that the baseline pays for the same
    // HTTP client: a costlier one would flatter the server.
    void postDocument(
      values.endpoint!,
      text,
      `${message.dev_id}/${message.counter}/${message.metadata.time}`,
      null,
      10_000,
    )
      .then((outcome) => {
        if (!outcome.ok) process.stderr.write(`relay: ${outcome.error}\n`);
      })
      .finally(() => {
        inFlight--;
        const next = waiting.shift();
        if (next) post(next);
        if (readNext !== undefined && waiting.length <= LOW_WATER) {
          const read = readNext;
          readNext = undefined;
          read();
        }
      });
  };
  const client = mqtt.connect(values.mqtt!, {
    username: values.app!,
    password: values.key!,
    reconnectPeriod: 1000,
  });
  // MQTT.js reads the next packet once this calls back.
  client.handleMessage = (_packet, callback) => {
    if (waiting.length < HIGH_WATER) callback();
    else readNext = () => callback();
  };
  client.on('connect', () =>
    client.subscribe(`${values.app!}/devices/+/up`, { qos: 1 }, () =>
      process.stdout.write('{"subscribed":true}\n'),
    ),
  );
  client.on('message', (_topic, payload) => {
    if (inFlight < MAX_IN_FLIGHT) post(payload);
    else waiting.push(payload);
  });
}

// ---- The orchestration ----

interface Child {
  process: ChildProcess;
  firstLine: Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Child {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  firstLine.catch(() => undefined);
  return {
    process: child,
    firstLine,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const startRole = (role: string, extra: string[] = []) =>
  start(['--import', 'tsx', SELF, '--role', role, ...extra]);

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    ...init,
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

interface Stats {
  unique: number;
  total: number;
  last: number;
  p50: number;
  p99: number;
}

interface Latency {
  p50: number;
  p99: number;
  lost: number;
  duplicates: number;
}

interface Throughput {
  perSecond: number;
  lost: number;
  duplicates: number;
}

/** Offers `count` uplinks at `perSecond` to `appId`'s devices and waits for them at `endpoint`. */
async function offer(
  sim: string,
  endpoint: string,
  appId: string,
  count: number,
  perSecond: number,
) {
  const control = (p: string, body?: unknown, method = 'POST') =>
    json<Record<string, unknown>>(`${sim}/_sim${p}`, {
      method,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  await json(endpoint, { method: 'DELETE' });
  await control('/uplinks', undefined, 'DELETE');
  const started = Date.now();
  await control('/uplinks', { appId, count, perSecond });
  let stats = await json<Stats>(endpoint);
  let stalled = 0;
  // Until everything arrived, or nothing more arrived for 10 s (something was lost).
  while (stats.unique < count && stalled < 100) {
    await sleep(100);
    const next = await json<Stats>(endpoint);
    stalled = next.unique === stats.unique ? stalled + 1 : 0;
    stats = next;
  }
  return {
    stats,
    seconds: (stats.last - started) / 1000,
    lost: count - stats.unique,
    duplicates: stats.total - stats.unique,
  };
}

/**
 * End-to-end latency at a steady rate, after a warm-up at the same rate (JIT, connection
 * pools). Measured before any burst: after one, it would mostly show that run's aftermath (the
 * garbage of thousands of queued messages collected in one long pause), not the steady state.
 */
async function measureLatency(sim: string, endpoint: string, appId: string): Promise<Latency> {
  const rate = Number(values['steady-rate']);
  await quietMachine();
  const warmup = await offer(sim, endpoint, appId, rate * 2, rate);
  const steady = await offer(sim, endpoint, appId, rate * Number(values['steady-seconds']), rate);
  return {
    p50: steady.stats.p50,
    p99: steady.stats.p99,
    lost: warmup.lost + steady.lost,
    duplicates: warmup.duplicates + steady.duplicates,
  };
}

/** Sustained throughput: uplinks offered faster than any target sends them. */
async function measureThroughput(
  sim: string,
  endpoint: string,
  appId: string,
): Promise<Throughput> {
  await quietMachine();
  const burst = await offer(sim, endpoint, appId, Number(values.count), Number(values.offered));
  return {
    perSecond: burst.stats.unique / burst.seconds,
    lost: burst.lost,
    duplicates: burst.duplicates,
  };
}

/** The machine's busy and total CPU time so far (jiffies, all cores), from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/**
 * Waits (up to ten seconds) until the machine has been nearly idle for a quarter of a second,
 * so that a round does not share the CPU with what the one before left running: PostgreSQL's
 * autovacuum after the PostgreSQL round took half a core for a while. Linux only: elsewhere it
 * does not wait.
 */
async function quietMachine(): Promise<void> {
  if (!existsSync('/proc/stat')) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const before = cpuTimes();
    await new Promise((r) => setTimeout(r, 250));
    const after = cpuTimes();
    if (after.busy - before.busy <= 0.1 * (after.total - before.total)) return;
  }
}

/** A throwaway PostgreSQL from the machine's binaries (as the test harness starts one). */
async function startPostgres(): Promise<{ url: string; stop(): void }> {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root)
    ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0]
    : undefined;
  const bin = version ? path.join(root, version, 'bin') : '';
  const dir = mkdtempSync(path.join(tmpdir(), 'lpwan-bench-pg-'));
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const run = (command: string, args: string[]) => {
    const file = path.join(bin, command);
    if (isRoot)
      execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: 'pipe', cwd: dir });
    else execFileSync(file, args, { stdio: 'pipe', cwd: dir });
  };
  const port = await freePort();
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    '-w',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** LPWAN Server as its own process on `databaseUrl`, an application linked to `appId`, reporting to `endpoint`. */
async function startLpwan(
  databaseUrl: string,
  sim: Record<string, string>,
  appId: string,
  endpoint: string,
) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const secretKey = randomBytes(32).toString('base64');
  const adminPassword = randomBytes(12).toString('base64url');
  const server = start([path.join(ROOT, 'server', 'dist', 'main.js'), 'serve'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    DATABASE_URL: databaseUrl,
    LPWAN_SECRET_KEY: secretKey,
    LPWAN_ADMIN_PASSWORD: adminPassword,
    LOG_LEVEL: 'warn',
    UPLINK_LEASE_SECONDS: '3',
  });
  for (let i = 0; ; i++) {
    if (
      await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error('the server did not start');
    await sleep(100);
  }
  const session = await json<{ token: string; user: { organizationId: string } }>(
    `${url}/api/sessions`,
    {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: adminPassword }),
    },
  );
  const auth = { authorization: `Bearer ${session.token}` };
  const network = await json<{ id: string }>(`${url}/api/networks`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      name: 'TTN',
      protocolId: 'ttn-v2',
      settings: {
        clientId: 'bench',
        clientSecret: 'bench-secret',
        accountServerUrl: sim.accountUrl,
        handlerUrl: sim.handlerUrl,
        mqttUrl: sim.mqttUrl,
      },
    }),
  });
  // The application and its link are written as the applications feature's push leaves them.
  const db = createDatabase(
    databaseUrl.startsWith('sqlite:')
      ? { dialect: 'sqlite', file: databaseUrl.slice(7) }
      : { dialect: 'postgres', url: databaseUrl },
  );
  let applicationId: string;
  try {
    ({ applicationId } = await linkApplication(
      {
        db,
        secretBox: new SecretBox(parseKeyRing(secretKey)),
        ttn: {
          control: (p, body) =>
            json(`${sim.accountUrl}/_sim${p}`, { method: 'POST', body: JSON.stringify(body) }),
        },
      },
      {
        owner: USER.username,
        organizationId: session.user.organizationId,
        networkId: network.id,
        remoteId: appId,
        devices: 100,
        reportingUrl: endpoint,
      },
    ));
  } finally {
    await db.destroy();
  }
  await json(`${url}/api/applications/${applicationId}/reporting-secret`, {
    method: 'POST',
    headers: auth,
  });
  for (let i = 0; ; i++) {
    const status = await json<{ subscriptions: { state: string }[] }>(
      `${url}/api/applications/${applicationId}/delivery`,
      { headers: auth },
    );
    if (status.subscriptions[0]?.state === 'subscribed') break;
    if (i > 300) throw new Error('the server did not subscribe');
    await sleep(100);
  }
  return server;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const range = (values: number[], digits = 0) =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

interface Target {
  name: string;
  appId: string;
  latency?: Latency;
  rounds: Throughput[];
}

/** A server, measured round by round against the relay's round just before each of its own. */
interface ServerTarget extends Target {
  relayRounds: number[];
  /** Its database, created for the run. */
  database(): Promise<{ url: string; stop(): void }>;
}

/**
 * One line per target: median throughput of the rounds (and their range); for the servers, the
 * median of each round's ratio to the relay's round just before it, so that the machine's drift
 * over the run stays out of the ratio.
 */
function print(target: Target, relayRounds?: number[]): void {
  const rates = target.rounds.map((r) => r.perSecond);
  let ratio = '';
  if (relayRounds) {
    const ratios = target.rounds.map((r, i) => (100 * r.perSecond) / relayRounds[i]!);
    ratio = ` ${median(ratios).toFixed(0)} % of the relay (${range(ratios)})`;
  }
  const lost = target.rounds.reduce((n, r) => n + r.lost, target.latency!.lost);
  const duplicates = target.rounds.reduce((n, r) => n + r.duplicates, target.latency!.duplicates);
  console.log(
    `${target.name.padEnd(22)} ${median(rates).toFixed(0).padStart(6)} uplinks/s ` +
      `${`(${range(rates)})`.padEnd(15)}${ratio.padEnd(30)} p50 ${target.latency!.p50.toFixed(0).padStart(3)} ms  ` +
      `p99 ${target.latency!.p99.toFixed(0).padStart(3)} ms  lost ${lost}  duplicates ${duplicates}`,
  );
}

async function main(): Promise<void> {
  const simulator = start([
    path.join(ROOT, 'simulators', 'ttn', 'dist', 'cli.js'),
    '--account-port',
    '0',
    '--handler-port',
    '0',
    '--mqtt-port',
    '0',
  ]);
  const endpointProcess = startRole('endpoint');
  const cleanups: (() => Promise<void> | void)[] = [
    () => simulator.stop(),
    () => endpointProcess.stop(),
  ];
  try {
    const sim = (await simulator.firstLine) as Record<string, string>;
    const endpoint = String((await endpointProcess.firstLine).url);
    await json(`${sim.accountUrl}/_sim/users`, { method: 'POST', body: JSON.stringify(USER) });
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be 1 or more');
    console.log(
      `uplinks: ${values.count} offered at ${values.offered}/s for throughput, ${rounds} ` +
        `round(s) per server, each against the relay; ${values['steady-rate']}/s for ` +
        `${values['steady-seconds']} s for latency\n`,
    );

    // The bare relay runs throughout. Each server runs only while it is measured, with what it
    // needs (PostgreSQL for the second): an idle server and its database, polling in the
    // background, took a few points off the other's figure when both ran throughout.
    const relayApp = await json<{ accessKey: string }>(`${sim.accountUrl}/_sim/applications`, {
      method: 'POST',
      body: JSON.stringify({
        owner: USER.username,
        id: 'bench-relay',
        name: 'relay',
        devices: 100,
      }),
    });
    const relayProcess = startRole('relay', [
      '--mqtt',
      sim.mqttUrl!,
      '--app',
      'bench-relay',
      '--key',
      relayApp.accessKey,
      '--endpoint',
      endpoint,
    ]);
    cleanups.push(() => relayProcess.stop());
    await relayProcess.firstLine;
    const relay: Target = { name: 'bare relay (baseline)', appId: 'bench-relay', rounds: [] };
    relay.latency = await measureLatency(sim.accountUrl!, endpoint, relay.appId);

    const servers: ServerTarget[] = [
      {
        name: 'LPWAN Server, SQLite',
        appId: 'bench-sqlite',
        rounds: [],
        relayRounds: [],
        database: async () => {
          const dir = mkdtempSync(path.join(tmpdir(), 'lpwan-bench-sqlite-'));
          return {
            url: `sqlite:${path.join(dir, 'lpwan.db')}`,
            stop: () => rmSync(dir, { recursive: true, force: true }),
          };
        },
      },
      {
        name: 'LPWAN Server, Postgres',
        appId: 'bench-postgres',
        rounds: [],
        relayRounds: [],
        database: async () => {
          const url = values['postgres-url'];
          return url ? { url, stop: () => undefined } : startPostgres();
        },
      },
    ];
    for (const server of servers) {
      const database = await server.database();
      let lpwan: Child | undefined;
      try {
        lpwan = await startLpwan(database.url, sim, server.appId, endpoint);
        server.latency = await measureLatency(sim.accountUrl!, endpoint, server.appId);
        for (let round = 0; round < rounds; round++) {
          const baseline = await measureThroughput(sim.accountUrl!, endpoint, relay.appId);
          relay.rounds.push(baseline);
          server.relayRounds.push(baseline.perSecond);
          server.rounds.push(await measureThroughput(sim.accountUrl!, endpoint, server.appId));
        }
      } finally {
        await lpwan?.stop();
        database.stop();
      }
    }
    print(relay);
    for (const server of servers) print(server, server.relayRounds);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

// One file, three roles: the orchestrating run, and its endpoint and relay processes.
if (values.role === 'endpoint') runEndpoint();
else if (values.role === 'relay') runRelay();
else await main();
