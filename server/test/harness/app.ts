/**
 * Build the real app on a fresh database of a given dialect, sign in through the real route,
 * and capture the log. Reuse it for feature tests:
 *
 *   const t = await startTestApp('postgres');
 *   const admin = await t.signIn(t.adminUsername, t.adminPassword);
 *   const res = await t.request('POST', '/api/networks', { token: admin.token, body: {...} });
 *   await t.close();
 */
import type { LightMyRequestResponse } from 'fastify';
import { Writable } from 'node:stream';
import { ensureFirstAdmin } from '../../src/accounts/bootstrap.js';
import { buildApp, type App, type AppDeps } from '../../src/app.js';
import { readConfig, type Config } from '../../src/config.js';
import { checkSecretKey } from '../../src/crypto/key-check.js';
import { generateKey, parseKeyRing } from '../../src/crypto/key-ring.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { createDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createLogger } from '../../src/http/logging.js';
import type { UserView } from '../../src/accounts/users.schemas.js';
import { createTestDatabase, type Dialect, type TestDatabase } from './database.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface SignedIn {
  token: string;
  /** `lpwan_session=…`, for a Cookie header. */
  cookie: string;
  user: UserView;
}

export interface RequestOptions {
  token?: string;
  cookie?: string;
  body?: unknown;
  /** Raw payload instead of JSON (sent with content-type application/json unless headers say else). */
  payload?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestApp {
  app: App;
  db: Db;
  config: Config;
  secretBox: SecretBox;
  database: TestDatabase;
  /** The base64 key ring the app runs with (LPWAN_SECRET_KEY). */
  secretKey: string;
  adminUsername: string;
  adminPassword: string;
  /** Every log line the app wrote (JSON strings). */
  logs: string[];
  request(method: string, url: string, options?: RequestOptions): Promise<LightMyRequestResponse>;
  signIn(username: string, password: string): Promise<SignedIn>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment for readConfig (merged over the test defaults). */
  env?: Record<string, string>;
  /** Config fields to override after reading the environment. */
  config?: Partial<Config>;
  /** Reuse a database (e.g. to restart with another key); it is not dropped on close. */
  database?: TestDatabase;
  secretKey?: string;
  protocols?: AppDeps['protocols'];
}

export function testConfig(database: TestDatabase, env: Record<string, string> = {}): Config {
  return {
    ...readConfig({ PORT: '3000', LOG_LEVEL: 'info', LOGIN_RATE_LIMIT: '1000', ...env }),
    database: database.config,
    embeddedDefault: false,
  };
}

export async function startTestApp(
  dialect: Dialect,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase(dialect));
  const secretKey = options.secretKey ?? generateKey();
  const config: Config = {
    ...testConfig(database, options.env),
    secretKeys: secretKey,
    ...options.config,
  };
  const db = createDatabase(config.database);
  const secretBox = new SecretBox(parseKeyRing(secretKey));
  try {
    await migrateToLatest(db);
    await checkSecretKey(db, secretBox);
    await ensureFirstAdmin(db, ADMIN_PASSWORD);
  } catch (error) {
    await db.destroy();
    if (!options.database) await database.drop();
    throw error;
  }

  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      callback();
    },
  });
  const app = await buildApp(config, {
    db,
    secretBox,
    logger: createLogger(config.logLevel, sink),
    protocols: options.protocols,
  });
  await app.ready();

  const request = (method: string, url: string, opts: RequestOptions = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie !== undefined) headers.cookie = opts.cookie;
    let payload: string | Buffer | undefined = opts.payload;
    if (opts.body !== undefined) payload = JSON.stringify(opts.body);
    if (
      payload !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
    ) {
      headers['content-type'] = 'application/json';
    }
    return app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload } : {}),
    });
  };

  return {
    app,
    db,
    config,
    secretBox,
    database,
    secretKey,
    adminUsername: 'admin',
    adminPassword: ADMIN_PASSWORD,
    logs,
    request,
    async signIn(username, password) {
      const res = await request('POST', '/api/sessions', { body: { username, password } });
      if (res.statusCode !== 201)
        throw new Error(`sign-in as ${username} failed: ${res.statusCode} ${res.body}`);
      const body = res.json() as { token: string; user: UserView };
      return { token: body.token, cookie: `lpwan_session=${body.token}`, user: body.user };
    },
    async close() {
      await app.close();
      await db.destroy();
      if (!options.database) await database.drop();
    },
  };
}

/**
 * A tenant organization with an admin and a member, created through the API as the system admin.
 * Returns their signed-in sessions.
 */
export async function createTenant(
  t: TestApp,
  name: string,
): Promise<{ organizationId: string; admin: SignedIn; member: SignedIn }> {
  const root = await t.signIn(t.adminUsername, t.adminPassword);
  const org = await t.request('POST', '/api/organizations', { token: root.token, body: { name } });
  if (org.statusCode !== 201) throw new Error(`create organization failed: ${org.body}`);
  const organizationId = (org.json() as { id: string }).id;
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  for (const role of ['admin', 'member'] as const) {
    const res = await t.request('POST', '/api/users', {
      token: root.token,
      body: { username: `${slug}-${role}`, password: `${role}-password-1`, role, organizationId },
    });
    if (res.statusCode !== 201) throw new Error(`create user failed: ${res.body}`);
  }
  return {
    organizationId,
    admin: await t.signIn(`${slug}-admin`, 'admin-password-1'),
    member: await t.signIn(`${slug}-member`, 'member-password-1'),
  };
}

/** Assert-friendly view of a problem+json answer. */
export function problemOf(res: LightMyRequestResponse): {
  status: number;
  code: string;
  contentType: string;
  errors?: { field: string; message: string }[];
} {
  const body = res.json() as {
    code: string;
    status: number;
    errors?: { field: string; message: string }[];
  };
  return {
    status: res.statusCode,
    code: body.code,
    contentType: String(res.headers['content-type'] ?? ''),
    ...(body.errors ? { errors: body.errors } : {}),
  };
}
