import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './harness/temp.js';
import { ConfigError, readConfig } from '../src/config.js';
import { KEY_FILE_NAME, KeyRingError, loadKeyRing } from '../src/crypto/key-ring.js';

const cwd = '/srv/lpwan';

describe('configuration', () => {
  it('has working defaults: localhost:3000, SQLite in ./data, the built portal', () => {
    const config = readConfig({}, cwd);
    expect(config).toMatchObject({
      host: 'localhost',
      port: 3000,
      publicUrl: 'http://localhost:3000',
      database: { dialect: 'sqlite', file: path.join(cwd, 'data', 'lpwan.db') },
      embeddedDefault: true,
      logLevel: 'info',
      trustProxy: false,
    });
    expect(config.portalDir.endsWith(path.join('portal', 'dist'))).toBe(true);
  });

  it('derives PUBLIC_URL from PORT and drops a trailing slash', () => {
    expect(readConfig({ PORT: '8080' }, cwd).publicUrl).toBe('http://localhost:8080');
    expect(readConfig({ PUBLIC_URL: 'https://lpwan.example.com/' }, cwd).publicUrl).toBe(
      'https://lpwan.example.com',
    );
  });

  it('reads DATABASE_URL', () => {
    expect(readConfig({ DATABASE_URL: 'sqlite:/var/lib/lpwan/x.db' }, cwd).database).toEqual({
      dialect: 'sqlite',
      file: '/var/lib/lpwan/x.db',
      synchronous: 'normal',
    });
    expect(readConfig({ DATABASE_URL: 'sqlite:db/x.db' }, cwd).database).toEqual({
      dialect: 'sqlite',
      file: path.join(cwd, 'db/x.db'),
      synchronous: 'normal',
    });
    expect(readConfig({ DATABASE_URL: 'sqlite::memory:' }, cwd).database).toEqual({
      dialect: 'sqlite',
      file: ':memory:',
      synchronous: 'normal',
    });
    const pgConfig = readConfig({ DATABASE_URL: 'postgres://u:p@db.internal/lpwan' }, cwd);
    expect(pgConfig.database).toEqual({
      dialect: 'postgres',
      url: 'postgres://u:p@db.internal/lpwan',
    });
    expect(pgConfig.embeddedDefault).toBe(false);
  });

  it('reads the server TTN client and where it is registered', () => {
    const client = { TTN_CLIENT_ID: 'lpwan', TTN_CLIENT_SECRET: 's3cret' };
    expect(readConfig(client, cwd).oauthClients).toEqual({
      'ttn-v2': { clientId: 'lpwan', clientSecret: 's3cret' },
    });
    expect(
      readConfig({ ...client, TTN_ACCOUNT_SERVER_URL: 'https://account.example.net' }, cwd)
        .oauthClients,
    ).toEqual({
      'ttn-v2': {
        clientId: 'lpwan',
        clientSecret: 's3cret',
        baseUrl: 'https://account.example.net',
      },
    });
    expect(() =>
      readConfig({ ...client, TTN_ACCOUNT_SERVER_URL: 'account.example.net' }, cwd),
    ).toThrow('TTN_ACCOUNT_SERVER_URL must be an http:// or https:// URL');
    expect(() =>
      readConfig({ TTN_ACCOUNT_SERVER_URL: 'https://account.example.net' }, cwd),
    ).toThrow('TTN_ACCOUNT_SERVER_URL is the address of TTN_CLIENT_ID: set that client too');
  });

  it('reads SQLITE_SYNCHRONOUS for SQLite, and refuses other values', () => {
    expect(readConfig({}, cwd).database).toMatchObject({ synchronous: 'normal' });
    expect(readConfig({ SQLITE_SYNCHRONOUS: 'full' }, cwd).database).toMatchObject({
      synchronous: 'full',
    });
    expect(() => readConfig({ SQLITE_SYNCHRONOUS: 'off' }, cwd)).toThrow(
      /SQLITE_SYNCHRONOUS must be normal or full/,
    );
  });

  it('reads DELIVERY_HELD_DOCUMENTS, and refuses what is not a count from 2', () => {
    expect(readConfig({}, cwd).uplinks.heldDocuments).toBe(65_536);
    expect(readConfig({ DELIVERY_HELD_DOCUMENTS: '4096' }, cwd).uplinks.heldDocuments).toBe(4096);
    for (const bad of ['1', 'many', '-5']) {
      expect(() => readConfig({ DELIVERY_HELD_DOCUMENTS: bad }, cwd)).toThrow(
        /DELIVERY_HELD_DOCUMENTS/,
      );
    }
  });

  it('reads METRICS_TOKEN, unset by default, and refuses a short one without echoing it', () => {
    expect(readConfig({}, cwd).metricsToken).toBeUndefined();
    expect(readConfig({ METRICS_TOKEN: 'a-long-enough-token' }, cwd).metricsToken).toBe(
      'a-long-enough-token',
    );
    expect(() => readConfig({ METRICS_TOKEN: 'short-secret' }, cwd)).toThrow(
      /^(?![\s\S]*short-secret)[\s\S]*METRICS_TOKEN must be at least 16 characters/,
    );
  });

  it('lists every problem at once and never echoes DATABASE_URL', () => {
    try {
      readConfig(
        {
          PORT: 'eighty',
          DATABASE_URL: 'mysql://user:hunter2@x/db',
          LOG_LEVEL: 'loud',
          PUBLIC_URL: 'ftp://x',
          LPWAN_ADMIN_PASSWORD: 'short',
        },
        cwd,
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toHaveLength(5);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});

describe('secret key loading', () => {
  const keyDir = () => tempDir('lpwan-test-key-');

  it('generates a key file with mode 0600 next to the SQLite database, then reuses it', async () => {
    const dir = keyDir();
    const config = readConfig({}, dir);
    const first = await loadKeyRing(config);
    expect(first.source).toBe('generated-key-file');
    const keyFile = path.join(dir, 'data', KEY_FILE_NAME);
    expect(first.keyFile).toBe(keyFile);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).toHaveLength(32);

    const second = await loadKeyRing(config);
    expect(second.source).toBe('key-file');
    expect(second.ring.current.id).toBe(first.ring.current.id);
  });

  it('refuses a key file others can read', async () => {
    const dir = keyDir();
    const config = readConfig({}, dir);
    await loadKeyRing(config);
    chmodSync(path.join(dir, 'data', KEY_FILE_NAME), 0o644);
    await expect(loadKeyRing(config)).rejects.toBeInstanceOf(KeyRingError);
  });

  it('prefers LPWAN_SECRET_KEY', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const loaded = await loadKeyRing(readConfig({ LPWAN_SECRET_KEY: key }, keyDir()));
    expect(loaded.source).toBe('environment');
  });

  it('refuses to start on PostgreSQL without LPWAN_SECRET_KEY', async () => {
    const config = readConfig({ DATABASE_URL: 'postgres://127.0.0.1/x' }, keyDir());
    await expect(loadKeyRing(config)).rejects.toThrow(
      /LPWAN_SECRET_KEY is required with PostgreSQL/,
    );
  });

  it('a corrupt key file is a clear error', async () => {
    const dir = keyDir();
    const config = readConfig({}, dir);
    await loadKeyRing(config);
    writeFileSync(path.join(dir, 'data', KEY_FILE_NAME), 'garbage\n', { mode: 0o600 });
    await expect(loadKeyRing(config)).rejects.toThrow(/not base64 of exactly 32 bytes/);
  });
});
