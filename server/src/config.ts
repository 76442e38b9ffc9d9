/**
 * One typed configuration object, read from the environment and validated once at start.
 * Every variable is documented in docs/configuration.md; keep the two in step.
 *
 * Reading the config is pure (no file system access); loading or generating the secret key
 * file happens in crypto/key-ring.ts, because it has side effects.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerClientConfig } from './protocols/oauth.js';

export type DatabaseConfig =
  | {
      dialect: 'sqlite';
      /** An absolute path, or ':memory:' for a throwaway database (openapi command, tests). */
      file: string;
      /**
       * SQLite's `synchronous` in WAL mode. 'normal' (default): a commit survives the server
       * process dying at any point, and is flushed to disk at the next checkpoint. 'full': also
       * survives a power cut or an operating system crash, at one disk flush per commit.
       */
      synchronous?: 'normal' | 'full';
    }
  | { dialect: 'postgres'; url: string };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  host: string;
  port: number;
  /** The address browsers use, without a trailing slash. OAuth callback URLs are built from it. */
  publicUrl: string;
  database: DatabaseConfig;
  /** True when DATABASE_URL is unset: SQLite in ./data/, key file generated there if needed. */
  embeddedDefault: boolean;
  /** Raw value of LPWAN_SECRET_KEY (comma-separated base64 keys, current key first), if set. */
  secretKeys: string | undefined;
  /** Password for the first system administrator; random (printed once) when unset. */
  adminPassword: string | undefined;
  logLevel: LogLevel;
  /** Folder of the built portal (index.html + assets). */
  portalDir: string;
  /** Trust X-Forwarded-* headers (set when running behind a reverse proxy or load balancer). */
  trustProxy: boolean;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** Sign-in attempts allowed per client address and window. */
  loginRateLimit: { max: number; timeWindowMs: number };
  /** Absolute lifetime of a session (cookie and token). */
  sessionTtlMs: number;
  /**
   * How long a process reuses a credential it has checked (accounts/principal-cache.ts): a
   * session ended or a user changed through another process is refused here after at most this.
   */
  authCacheMs: number;
  /**
   * Deployment-wide OAuth clients by protocol id, used by networks that set no client of their
   * own and sign in where the client is registered (TTN_CLIENT_ID / TTN_CLIENT_SECRET /
   * TTN_ACCOUNT_SERVER_URL for ttn-v2).
   */
  oauthClients: Readonly<Record<string, ServerClientConfig>>;
  /** Receiving uplinks and delivering them (docs/uplinks.md). */
  uplinks: UplinksConfig;
  /** Bearer token of `GET /metrics` (METRICS_TOKEN); unset, there is no such route. */
  metricsToken: string | undefined;
}

export interface UplinksConfig {
  /** How long a failing delivery is retried before it becomes a dead letter. */
  retryPeriodMs: number;
  /** Time-out of one delivery request to a reporting URL. */
  deliveryTimeoutMs: number;
  /** Upper bound of the backoff between attempts to a failing reporting URL. */
  backoffMaxMs: number;
  /** How long delivered uplinks are kept. */
  retentionMs: number;
  /** How long dead letters are kept for redelivery. */
  deadLetterRetentionMs: number;
  /** Lifetime of a subscription lease: a dead holder's subscriptions move after at most this. */
  leaseMs: number;
  /** Uplink documents the delivery worker keeps in memory (its hold: uplinks/delivery.ts). */
  heldDocuments: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** The built portal, relative to this file: server/dist/config.js (or server/src/config.ts). */
export const DEFAULT_PORTAL_DIR = fileURLToPath(new URL('../../portal/dist', import.meta.url));

export const DEFAULT_DATA_DIR = 'data';
export const DEFAULT_SQLITE_FILE = 'lpwan.db';

export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Config {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const port = parseInteger(value('PORT') ?? '3000', 'PORT', 0, 65535, problems);
  const host = value('HOST') ?? 'localhost';

  let publicUrl = value('PUBLIC_URL') ?? `http://localhost:${port}`;
  try {
    const url = new URL(publicUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push('PUBLIC_URL must be an http:// or https:// address');
    }
    publicUrl = publicUrl.replace(/\/+$/, '');
  } catch {
    problems.push(`PUBLIC_URL is not a valid URL`);
  }

  const databaseUrl = value('DATABASE_URL');
  const database = parseDatabaseUrl(databaseUrl, cwd, problems);
  const synchronous = value('SQLITE_SYNCHRONOUS') ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    problems.push('SQLITE_SYNCHRONOUS must be normal or full');
  } else if (database?.dialect === 'sqlite') {
    database.synchronous = synchronous;
  }

  const adminPassword = env.LPWAN_ADMIN_PASSWORD === '' ? undefined : env.LPWAN_ADMIN_PASSWORD;
  if (adminPassword !== undefined && adminPassword.length < 8) {
    problems.push('LPWAN_ADMIN_PASSWORD must be at least 8 characters long');
  }

  const logLevel = (value('LOG_LEVEL') ?? 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const portalDir = path.resolve(cwd, value('PORTAL_DIR') ?? DEFAULT_PORTAL_DIR);
  const trustProxy = parseBoolean(value('TRUST_PROXY') ?? 'false', 'TRUST_PROXY', problems);
  const loginMax = parseInteger(
    value('LOGIN_RATE_LIMIT') ?? '10',
    'LOGIN_RATE_LIMIT',
    1,
    1_000_000,
    problems,
  );

  const oauthClients: Record<string, ServerClientConfig> = {};
  const ttnClientId = value('TTN_CLIENT_ID');
  const ttnClientSecret = value('TTN_CLIENT_SECRET');
  const ttnAccountServerUrl = value('TTN_ACCOUNT_SERVER_URL');
  if (ttnClientId !== undefined && ttnClientSecret !== undefined) {
    oauthClients['ttn-v2'] = { clientId: ttnClientId, clientSecret: ttnClientSecret };
    if (ttnAccountServerUrl !== undefined) {
      if (/^https?:\/\/[^/]/.test(ttnAccountServerUrl) && URL.canParse(ttnAccountServerUrl))
        oauthClients['ttn-v2'].baseUrl = ttnAccountServerUrl;
      else problems.push('TTN_ACCOUNT_SERVER_URL must be an http:// or https:// URL');
    }
  } else if (ttnClientId !== undefined || ttnClientSecret !== undefined) {
    problems.push('TTN_CLIENT_ID and TTN_CLIENT_SECRET must be set together');
  } else if (ttnAccountServerUrl !== undefined) {
    problems.push('TTN_ACCOUNT_SERVER_URL is the address of TTN_CLIENT_ID: set that client too');
  }

  const uplinkSetting = (name: string, fallback: number, max: number) =>
    parseInteger(value(name) ?? String(fallback), name, 1, max, problems);
  const uplinks: UplinksConfig = {
    retryPeriodMs: uplinkSetting('DELIVERY_RETRY_HOURS', 24, 24 * 365) * 3_600_000,
    deliveryTimeoutMs: uplinkSetting('DELIVERY_TIMEOUT_SECONDS', 10, 300) * 1000,
    backoffMaxMs: uplinkSetting('DELIVERY_BACKOFF_MAX_SECONDS', 600, 86_400) * 1000,
    retentionMs: uplinkSetting('UPLINK_RETENTION_DAYS', 7, 3650) * 86_400_000,
    deadLetterRetentionMs: uplinkSetting('DEAD_LETTER_RETENTION_DAYS', 30, 3650) * 86_400_000,
    leaseMs: uplinkSetting('UPLINK_LEASE_SECONDS', 10, 600) * 1000,
    heldDocuments: parseInteger(
      value('DELIVERY_HELD_DOCUMENTS') ?? '65536',
      'DELIVERY_HELD_DOCUMENTS',
      2,
      4_194_304,
      problems,
    ),
  };

  const metricsToken = value('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    problems.push('METRICS_TOKEN must be at least 16 characters long');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    host,
    port,
    publicUrl,
    database: database!,
    embeddedDefault: databaseUrl === undefined,
    secretKeys: value('LPWAN_SECRET_KEY'),
    adminPassword,
    logLevel,
    portalDir,
    trustProxy,
    bodyLimit: 1024 * 1024,
    loginRateLimit: { max: loginMax, timeWindowMs: 60_000 },
    sessionTtlMs: 7 * 24 * 60 * 60 * 1000,
    authCacheMs: 1_000,
    oauthClients,
    uplinks,
    metricsToken,
  };
}

/**
 * unset → ./data/lpwan.db (relative to the current directory);
 * `sqlite:/abs/path.db`, `sqlite:relative/path.db`, `sqlite::memory:`; `postgres://…` / `postgresql://…`.
 */
export function parseDatabaseUrl(
  databaseUrl: string | undefined,
  cwd: string,
  problems: string[],
): DatabaseConfig | undefined {
  if (databaseUrl === undefined) {
    return { dialect: 'sqlite', file: path.resolve(cwd, DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE) };
  }
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') {
      problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:/var/lib/lpwan/lpwan.db');
      return undefined;
    }
    return { dialect: 'sqlite', file: file === ':memory:' ? file : path.resolve(cwd, file) };
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return { dialect: 'postgres', url: databaseUrl };
  }
  // Never echo the URL: it may carry a password.
  problems.push('DATABASE_URL must start with sqlite: or postgres://');
  return undefined;
}

function parseInteger(
  raw: string,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}`);
    return min;
  }
  return n;
}

function parseBoolean(raw: string, name: string, problems: string[]): boolean {
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  problems.push(`${name} must be true or false`);
  return false;
}
