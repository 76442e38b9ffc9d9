import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED, createLogger, sanitizeUrl } from '../src/http/logging.js';
import { createTenant, startTestApp, type TestApp } from './harness/app.js';

/** The server's logger, writing its lines into an array. */
function captureLogger() {
  const lines: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  return { logger, lines };
}

describe('logs never hold credentials or secrets', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { env: { LOG_LEVEL: 'trace' } });
  });
  afterAll(async () => t?.close());

  it('redacts authorization headers, cookies, passwords, secrets and tokens', async () => {
    const { admin } = await createTenant(t, 'Log Org');
    const secret = 'log-test-client-secret-71d3';
    await t.request('POST', '/api/networks', {
      token: admin.token,
      body: { name: 'n', protocolId: 'ttn-v2', settings: { clientId: 'c', clientSecret: secret } },
    });
    await t.request('GET', '/api/users/me', { cookie: admin.cookie });
    const key = (
      await t.request('POST', '/api/api-keys', { token: admin.token, body: { name: 'k' } })
    ).json().key as string;
    await t.request('GET', '/api/users/me', { token: key });
    await t.request('POST', '/api/sessions', {
      body: { username: 'log-org-admin', password: 'wrong-password-9' },
    });
    await t.request('GET', '/oauth/callback?code=AUTHCODE123&state=STATE456');
    await t.request('DELETE', '/api/sessions', { token: admin.token });

    const log = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(10);
    expect(log).toContain('incoming request'); // requests are logged at all
    for (const value of [
      admin.token,
      key,
      secret,
      'admin-password-1',
      'wrong-password-9',
      t.adminPassword,
      'AUTHCODE123',
      'STATE456',
    ]) {
      expect(log).not.toContain(value);
    }
    expect(log).toContain(`code=${REDACTED}`);
  });

  it('redacts sensitive keys in any logged object', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      {
        password: 'p1',
        headers: { authorization: 'Bearer t1', cookie: 'lpwan_session=t2' },
        network: { clientSecret: 's1', settings: { clientSecret: 's2' } },
        tokens: { accessToken: 'a1', refresh_token: 'r1' },
        apiKey: 'k1',
        device: { appKey: 'k2', nwkSKey: 'k3', appSKey: 'k4' },
        link: { accessKey: 'k5', access_key: 'k6' },
        application: { reportingSecret: 'k7' },
      },
      'something happened',
    );
    const text = lines.join('');
    for (const value of [
      'p1',
      't1',
      't2',
      's1',
      's2',
      'a1',
      'r1',
      'k1',
      'k2',
      'k3',
      'k4',
      'k5',
      'k6',
      'k7',
    ])
      expect(text).not.toContain(`"${value}"`);
    expect(text).toContain('something happened');
  });

  it('redacts what errors carry, at any depth, and keeps their message and code', () => {
    const { logger, lines } = captureLogger();
    const cause = Object.assign(new Error('exchange failed'), {
      code: 'invalid_grant',
      request: { body: { refresh_token: 'r2', client: { clientSecret: 's3' } } },
    });
    const error = Object.assign(new Error('refresh failed', { cause }), {
      response: { headers: { Authorization: 'Bearer t3' } },
    });
    logger.error({ err: error, job: { network: { settings: { deep: { token: 'd1' } } } } }, 'x');
    const line = JSON.parse(lines[0]!) as {
      err: { type: string; message: string; cause: { code: string; message: string } };
    };
    for (const value of ['r2', 's3', 't3', 'd1']) expect(lines[0]).not.toContain(value);
    expect(line.err).toMatchObject({ type: 'Error', message: expect.stringContaining('refresh') });
    expect(line.err.cause).toMatchObject({ message: 'exchange failed', code: 'invalid_grant' });
  });

  it('masks sensitive query parameters in URLs', () => {
    expect(sanitizeUrl('/oauth/callback?code=abc&state=def&x=1')).toBe(
      `/oauth/callback?code=${REDACTED}&state=${REDACTED}&x=1`,
    );
    expect(sanitizeUrl('/api/networks?limit=5')).toBe('/api/networks?limit=5');
    expect(sanitizeUrl('/x?ACCESS_TOKEN=zzz')).toBe(`/x?ACCESS_TOKEN=${REDACTED}`);
  });
});
