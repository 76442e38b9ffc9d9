import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../server/test/harness/ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_MAIN = path.join(REPO_ROOT, 'server', 'dist', 'main.js');
const PORTAL_INDEX = path.join(REPO_ROOT, 'portal', 'dist', 'index.html');

export interface ServerOptions {
  /** Extra environment for the server (e.g. TTN_CLIENT_ID); wins over the harness's own. */
  env?: Record<string, string>;
  /** Milliseconds to wait for /api/health (default 30 s). */
  startTimeoutMs?: number;
}

export interface ServerHandle {
  /** The server's address, also its PUBLIC_URL: `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  adminUsername: 'admin';
  adminPassword: string;
  /** The callback URL to register at TTN: `${url}/oauth/callback`. */
  callbackUrl: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and deletes its database. */
  stop(): Promise<void>;
}

/**
 * Starts the built server (`node server/dist/main.js serve`) as a child process on a free
 * loopback port with a fresh SQLite file, a random secret key and a random admin password,
 * and waits until `GET /api/health` answers. Needs `npm run build` first (npm test does it).
 */
export async function startServer(options: ServerOptions = {}): Promise<ServerHandle> {
  if (!existsSync(SERVER_MAIN)) {
    throw new Error(`${SERVER_MAIN} is missing: run \`npm run build\` before the browser tests`);
  }
  if (!existsSync(PORTAL_INDEX)) {
    throw new Error(`${PORTAL_INDEX} is missing: run \`npm run build\` before the browser tests`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'lpwan-e2e-'));
  const adminPassword = randomBytes(12).toString('base64url');

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    DATABASE_URL: `sqlite:${path.join(dir, 'lpwan.db')}`,
    LPWAN_ADMIN_PASSWORD: adminPassword,
    LPWAN_SECRET_KEY: randomBytes(32).toString('base64'),
    // Every test signs in from 127.0.0.1; the default limit is meant for real people.
    LOGIN_RATE_LIMIT: '1000',
    LOG_LEVEL: process.env.E2E_SERVER_LOG_LEVEL ?? 'info',
    ...options.env,
  };

  let output = '';
  const child = spawn(process.execPath, [SERVER_MAIN, 'serve'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const stop = async () => {
    await terminate(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForHealth(url, exited, options.startTimeoutMs ?? 30_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- server output ---\n${output}`);
  }

  return {
    url,
    port,
    adminUsername: 'admin',
    adminPassword,
    callbackUrl: `${url}/oauth/callback`,
    output: () => output,
    stop,
  };
}

async function waitForHealth(url: string, exited: Promise<number | null>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code ?? -1));
  while (Date.now() < deadline) {
    if (gone !== undefined)
      throw new Error(`the server exited (code ${gone}) before it was healthy`);
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not answer ${url}/api/health within ${timeoutMs} ms`);
}

async function terminate(child: ChildProcess, exited: Promise<unknown>) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
