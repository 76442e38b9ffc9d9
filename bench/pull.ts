/**
 * Pull of 10,000 devices from TTN into LPWAN Server, against its floor.
 *
 * The floor is the time a plain HTTP client needs to page through the same 10,000 devices
 * on the simulator's handler (app-scoped token, pages of 1,000, as the server reads them),
 * measured in the same run. The pull is timed from `POST /api/networks/{id}/pull` to its job's
 * `finishedAt`; the server runs as its own process (the built `server/dist`, SQLite in a
 * temporary folder unless `--database-url` says otherwise), and its resident memory is
 * sampled during the pull. Figures are printed, never asserted. The issue's targets: at most
 * 1.5× the floor, and less than 100 MB of memory growth.
 *
 * On SQLite it also prints what the pull's own work costs without the network
 * (pull-storage.ts): building the 10,000 devices' rows (fields checked, AppKeys sealed) and
 * storing them with their links, with the server's code. Whatever the pull does, a first pull
 * cannot take less than the slower of that and the floor.
 *
 *   npm run build && npm run bench:pull [-- --devices 10000 --database-url postgres://…]
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { apiSignIn } from '../e2e/harness/portal.js';
import { startServer } from '../e2e/harness/server.js';
import { startTtnSimulator } from '../e2e/harness/simulator.js';
import { linkTtnNetworkWithTokens } from '../e2e/harness/ttn.js';
import { storeAlone, type StorageFigures } from './pull-storage.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    'database-url': { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
});
const deviceCount = Number(values.devices);
const PAGE = 1000;
const APP_ID = 'bench-fleet';

const sim = await startTtnSimulator();
const server = await startServer({
  env: {
    LOG_LEVEL: 'warn',
    ...(values['database-url'] ? { DATABASE_URL: values['database-url'] } : {}),
  },
});
try {
  // The server: signed in, a ttn-v2 network holding tokens of the password grant, which stands
  // in for the browser sign-in.
  const session = await apiSignIn(server);
  const { networkId, account, accessToken } = await linkTtnNetworkWithTokens(
    sim,
    server,
    session,
    'TTN bench',
  );
  await sim.control('POST', '/applications', {
    owner: account.user.username,
    id: APP_ID,
    name: 'Bench fleet',
    devices: deviceCount,
  });
  const api = <T>(method: string, path: string, body?: unknown) =>
    json<T>(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  // The floor: a plain client paging through the same devices.
  const appToken = (
    await json<{ access_token: string }>(`${sim.accountUrl}/users/restrict-token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({ scope: [`apps:${APP_ID}`] }),
    })
  ).access_token;
  const floorOnce = async () => {
    const started = performance.now();
    for (let offset = 0; ; offset += PAGE) {
      const page = await json<{ devices: unknown[] }>(
        `${sim.handlerUrl}/applications/${APP_ID}/devices?limit=${PAGE}&offset=${offset}`,
        { headers: { authorization: `Bearer ${appToken}` } },
      );
      if (page.devices.length < PAGE) break;
    }
    return performance.now() - started;
  };

  const pid = serverPid(server.port);
  const floors: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) floors.push(await floorOnce());

  // The pull: the first imports everything; the next ones find everything there already.
  const rssBefore = rss(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss(pid))), 20);
  const pulls: { ms: number; created: number; matched: number }[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    // Until the job's finishedAt (the server's clock; the same machine's): the 10 ms between
    // two looks at the job would otherwise add up to a tenth of the floor to the pull's time.
    const started = Date.now();
    const { jobId } = await api<{ jobId: string }>('POST', `/api/networks/${networkId}/pull`);
    for (;;) {
      const job = await api<{
        state: string;
        message: string | null;
        finishedAt: string | null;
        counts: { devices: { created: number; matched: number } };
      }>('GET', `/api/jobs/${jobId}`);
      if (job.state === 'failed') throw new Error(`the pull failed: ${job.message}`);
      if (job.state === 'done') {
        pulls.push({ ms: Date.parse(job.finishedAt!) - started, ...job.counts.devices });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  clearInterval(sampler);
  floors.push(await floorOnce());
  const storage: StorageFigures[] = [];
  if (!values['database-url']) {
    for (let i = 0; i < Number(values.runs); i++) storage.push(await storeAlone(deviceCount, PAGE));
  }

  const floor = Math.min(...floors);
  const first = pulls[0]!;
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    `pull of ${deviceCount} devices (${values['database-url'] ? 'PostgreSQL' : 'SQLite'})`,
  );
  console.log(
    `  floor (plain client paging the handler, best of ${floors.length}): ${floor.toFixed(0)} ms`,
  );
  console.log(
    `  first pull (creates ${first.created}):  ${first.ms.toFixed(0)} ms  = ${(first.ms / floor).toFixed(2)}× the floor (target ≤ 1.5×)`,
  );
  if (storage.length > 0) {
    const built = Math.min(...storage.map((s) => s.buildMs));
    const stored = Math.min(...storage.map((s) => s.storeMs));
    console.log(
      `  the pull's own work without the network (best of ${storage.length}): building the rows (fields checked, AppKeys sealed) ${built.toFixed(0)} ms + storing devices and links ${stored.toFixed(0)} ms = ${(built + stored).toFixed(0)} ms = ${((built + stored) / floor).toFixed(2)}× the floor`,
    );
  }
  for (const again of pulls.slice(1)) {
    console.log(
      `  pull again (creates ${again.created}, matches ${again.matched}): ${again.ms.toFixed(0)} ms  = ${(again.ms / floor).toFixed(2)}× the floor`,
    );
  }
  console.log(
    `  server memory: ${mb(rssBefore)} MB before, ${mb(rssPeak)} MB peak: +${mb(rssPeak - rssBefore)} MB (target < 100 MB)`,
  );
} finally {
  await server.stop();
  await sim.stop();
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The pid of the process listening on the server's port (the harness keeps its child private). */
function serverPid(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  for (const entry of readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of readdir(`/proc/${entry}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode !== undefined && inodes.has(inode)) return Number(entry);
      } catch {
        // a descriptor closed while we looked
      }
    }
  }
  throw new Error(`no process listens on port ${port}`);
}

function readdir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Resident set size of a process, in bytes (Linux). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}
