/**
 * Reading a page of 100 devices (`GET /api/applications/{id}/devices?limit=100`, signed in with
 * a Bearer session token) against a bare Fastify server that answers the very same JSON as a
 * static reply, both driven by autocannon in the same run. Each server runs as its own process,
 * so neither shares an event loop with the load generator. Figures are printed, never asserted.
 * The target: at least 50 % of the bare server's requests per second.
 *
 *   npm run build && npm run bench:devices [-- --duration 5 --rounds 3 --connections 20 --database-url postgres://…]
 */
import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { startServer } from '../e2e/harness/server.js';

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  duration: number;
  connections: number;
  headers?: Record<string, string>;
}) => Promise<Result>;

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    'database-url': { type: 'string' },
    // Internal: run as the bare server, answering the JSON in this file.
    'bare-static': { type: 'string' },
  },
});

if (values['bare-static'] !== undefined) {
  const body = readFileSync(values['bare-static'], 'utf8');
  const bare = Fastify();
  bare.get('/api/applications/:id/devices', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(body),
  );
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const address = bare.server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
} else {
  await main();
}

async function main() {
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const server = await startServer({
    env: {
      LOG_LEVEL: 'warn',
      ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
    },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'lpwan-bench-'));
  let bare: ReturnType<typeof spawn> | undefined;
  try {
    const session = await call<{ token: string }>(`${server.url}/api/sessions`, 'POST', undefined, {
      username: server.adminUsername,
      password: server.adminPassword,
    });
    const auth = { authorization: `Bearer ${session.token}` };
    const app = await call<{ id: string }>(`${server.url}/api/applications`, 'POST', auth, {
      name: 'Bench',
    });
    const rows = Array.from({ length: 100 }, (_, i) => {
      const n = i.toString(16).toUpperCase().padStart(4, '0');
      return `device-${n},70B3D57ED000${n},70B3D57ED0000000,00112233445566778899AABBCCDD${n}`;
    });
    const imported = await fetch(`${server.url}/api/applications/${app.id}/devices/import`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: ['name,DevEUI,AppEUI,AppKey', ...rows].join('\n'),
    });
    if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);

    const pagePath = `/api/applications/${app.id}/devices?limit=100`;
    const page = await fetch(`${server.url}${pagePath}`, { headers: auth });
    const body = await page.text();
    const file = path.join(dir, 'page.json');
    writeFileSync(file, body);

    bare = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--bare-static', file],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const firstLine = await (async () => {
      for await (const line of createInterface({ input: bare.stdout! })) return line;
      throw new Error('the bare server printed nothing');
    })();
    const bareUrl = `http://127.0.0.1:${(JSON.parse(firstLine) as { port: number }).port}${pagePath}`;

    const runs: [string, { url: string; headers?: Record<string, string> }][] = [
      ['bare Fastify, static answer', { url: bareUrl }],
      ['LPWAN Server, signed in', { url: `${server.url}${pagePath}`, headers: auth }],
    ];
    // Warm both up (JIT, connection pools) before measuring.
    for (const [, options] of runs) await autocannon({ ...options, duration: 2, connections });
    console.log(
      `GET ${pagePath.replace(app.id, '{id}')}: 100 devices, ${(body.length / 1024).toFixed(1)} KiB; ` +
        `${connections} connections, ${rounds} rounds of ${duration} s each ` +
        `(${values['database-url'] ? 'PostgreSQL' : 'SQLite'})`,
    );
    // Alternating rounds, medians compared: the machine's speed drifts over a minute, and a
    // single run of each would put that drift into the ratio.
    const rps: number[][] = runs.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      for (const [i, [name, options]] of runs.entries()) {
        const result = await autocannon({ ...options, duration, connections });
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        }
        rps[i]!.push(result.requests.average);
        console.log(
          `  round ${round}  ${name.padEnd(30)} ${result.requests.average.toFixed(0).padStart(7)} req/s  ` +
            `p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`,
        );
      }
    }
    const [bareMedian, serverMedian] = rps.map(median) as [number, number];
    console.log(
      `  medians: bare ${bareMedian.toFixed(0)} req/s, LPWAN Server ${serverMedian.toFixed(0)} req/s; ` +
        `ratio ${((serverMedian / bareMedian) * 100).toFixed(0)} % of the bare server (target ≥ 50 %)`,
    );
  } finally {
    bare?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

async function call<T>(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
