/**
 * Throughput of the TTN simulator's handler with token-authenticated requests.
 *
 * Starts the simulator as its own process (so the server and the load generator do not
 * share one event loop), seeds an application with 1,000 devices, gets an app-scoped
 * token the way LPWAN Server does (password grant here instead of the browser, then
 * restrict-token), and drives the handler with autocannon. A baseline measured in the
 * same run (an unauthenticated request the handler refuses with 401) shows what the
 * framework alone costs. Figures are printed, never asserted. The issue asks for at
 * least 2,000 token-authenticated requests per second on a 2-core machine.
 *
 *   npm run bench:sim [-- --duration 10 --connections 20]
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Histogram {
  average: number;
  p50: number;
  p99: number;
}
interface Result {
  requests: Histogram;
  latency: Histogram;
  non2xx: number;
  errors: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface Options {
  url: string;
  duration: number;
  connections: number;
  headers?: Record<string, string>;
}
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: Options,
) => Promise<Result>;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);

const cli = fileURLToPath(new URL('../simulators/ttn/src/cli.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--import', 'tsx', cli, '--account-port', '0', '--handler-port', '0', '--mqtt-port', '0'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const firstLine = await (async () => {
  for await (const line of createInterface({ input: child.stdout })) return line;
  throw new Error('the simulator printed nothing');
})();
const { accountUrl, handlerUrl } = JSON.parse(firstLine) as {
  accountUrl: string;
  handlerUrl: string;
};

async function post(
  url: string,
  body: unknown,
  authorization?: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

try {
  await post(`${accountUrl}/_sim/users`, {
    username: 'bench',
    password: 'bench-password',
    email: 'bench@example.com',
  });
  await post(`${accountUrl}/_sim/clients`, {
    id: 'bench-client',
    secret: 'bench-secret',
    redirectUris: ['http://localhost:3000/oauth/callback'],
    grants: ['password', 'refresh_token'],
    scope: ['profile', 'apps'],
  });
  const seeded = await post(`${accountUrl}/_sim/applications`, {
    owner: 'bench',
    id: 'bench-app',
    name: 'Bench',
    devices: 1000,
  });
  const basic = `Basic ${Buffer.from('bench-client:bench-secret').toString('base64')}`;
  const tokens = await post(
    `${accountUrl}/users/token`,
    { grant_type: 'password', username: 'bench', password: 'bench-password' },
    basic,
  );
  const restricted = await post(
    `${accountUrl}/users/restrict-token`,
    { scope: ['apps:bench-app'] },
    `Bearer ${String(tokens.access_token)}`,
  );
  const bearer = `Bearer ${String(restricted.access_token)}`;
  const devicesKey = await post(
    `${accountUrl}/api/v2/applications/bench-app/access-keys`,
    { name: 'bench', rights: ['devices'] },
    `Bearer ${String(tokens.access_token)}`,
  );

  const runs: [string, Options][] = [
    [
      'baseline: no token (401)',
      { url: `${handlerUrl}/applications/bench-app/devices/device-0001`, duration, connections },
    ],
    [
      'GET device, app-scoped Bearer token',
      {
        url: `${handlerUrl}/applications/bench-app/devices/device-0001`,
        duration,
        connections,
        headers: { authorization: bearer },
      },
    ],
    [
      'GET device, access Key',
      {
        url: `${handlerUrl}/applications/bench-app/devices/device-0001`,
        duration,
        connections,
        headers: { authorization: `Key ${String(devicesKey.key)}` },
      },
    ],
    [
      'GET 20 devices (limit=20&offset=500), Bearer',
      {
        url: `${handlerUrl}/applications/bench-app/devices?limit=20&offset=500`,
        duration,
        connections,
        headers: { authorization: bearer },
      },
    ],
  ];

  // Warm up (JIT, connection pools) before measuring anything.
  await autocannon({ ...runs[1]![1], duration: 2 });
  await autocannon({ ...runs[0]![1], duration: 2 });

  console.log(
    `TTN simulator handler, ${connections} connections, ${duration} s per run, ${String(seeded.devices)} devices`,
  );
  let baseline = 0;
  for (const [title, options] of runs) {
    const result = await autocannon(options);
    const rps = result.requests.average;
    if (baseline === 0) baseline = rps;
    const statuses = Object.entries(result.statusCodeStats)
      .map(([code, stat]) => `${code}×${stat.count}`)
      .join(' ');
    console.log(
      `${title.padEnd(46)} ${rps.toFixed(0).padStart(7)} req/s  (${(rps / baseline).toFixed(2)}× baseline)  ` +
        `latency p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms  status ${statuses}  errors ${result.errors}`,
    );
  }
  console.log(
    'Target from the issue: at least 2,000 token-authenticated requests/s on a 2-core machine.',
  );
} finally {
  child.kill('SIGTERM');
}
