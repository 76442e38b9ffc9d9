import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CALLBACK,
  authorizeWithForms,
  basic,
  bearer,
  call,
  exchangeCode,
  json,
} from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const demoSeed = fileURLToPath(new URL('../seeds/demo.json', import.meta.url));
const running: ChildProcess[] = [];

/** Runs the CLI from its TypeScript source (no build needed) with tsx. */
function run(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  return child;
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return line;
  throw new Error('no output');
}

async function output(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout };
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('ttn-sim CLI', () => {
  it('prints its URLs as one JSON line, serves the demo seed, and stops on SIGTERM', async () => {
    const child = run([
      '--account-port',
      '0',
      '--handler-port',
      '0',
      '--mqtt-port',
      '0',
      '--seed',
      demoSeed,
    ]);
    const urls = JSON.parse(await firstLine(child)) as Record<string, string>;
    expect(Object.keys(urls)).toEqual(['accountUrl', 'handlerUrl', 'mqttUrl']);
    expect(urls.accountUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.handlerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(urls.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const sim = {
      accountUrl: urls.accountUrl ?? '',
      handlerUrl: '',
      mqttUrl: '',
      close: async () => undefined,
    };

    // The demo user logs in for the demo client and sees both demo applications.
    const location = await authorizeWithForms(
      sim,
      {
        client_id: 'lpwan-demo',
        redirect_uri: 'http://localhost:3000/oauth/callback',
        response_type: 'code',
        state: 'demo',
      },
      { username: 'demo', password: 'demo-password' },
    );
    const fixture = {
      username: 'demo',
      password: 'demo-password',
      clientId: 'lpwan-demo',
      clientSecret: 'lpwan-demo-secret',
    };
    const tokens = await json(
      await exchangeCode(
        sim,
        fixture,
        location.searchParams.get('code') ?? '',
        'http://localhost:3000/oauth/callback',
      ),
    );
    const apps = (await (
      await call(
        'GET',
        `${urls.accountUrl}/api/v2/applications`,
        undefined,
        bearer(String(tokens.access_token)),
      )
    ).json()) as { id: string }[];
    expect(apps.map((a) => a.id).sort()).toEqual(['demo-parking', 'demo-weather']);

    // A demo access key lists the demo devices on the handler.
    const weather = (await (
      await call(
        'GET',
        `${urls.accountUrl}/api/v2/applications/demo-weather`,
        undefined,
        bearer(String(tokens.access_token)),
      )
    ).json()) as {
      access_keys: { name: string; key: string }[];
    };
    const key = weather.access_keys.find((k) => k.name === 'lpwan')?.key ?? '';
    const devices = await json(
      await call(
        'GET',
        `${urls.handlerUrl}/applications/demo-weather/devices`,
        undefined,
        `Key ${key}`,
      ),
    );
    expect((devices.devices as { dev_id: string }[]).map((d) => d.dev_id)).toEqual([
      'weather-abp',
      'weather-garden',
      'weather-roof',
    ]);

    const exited = output(child);
    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  });

  it('registers and approves clients like TTN’s tool', async () => {
    const server = run(['--account-port', '0', '--handler-port', '0', '--mqtt-port', '0']);
    const { accountUrl } = JSON.parse(await firstLine(server)) as { accountUrl: string };
    await call('POST', `${accountUrl}/_sim/users`, {
      username: 'owner',
      password: 'owner-password',
      email: 'o@example.com',
    });

    const requested = await output(
      run([
        'clients',
        'request',
        'my-server',
        '--uri',
        CALLBACK,
        '--scope',
        'profile,apps',
        '--grants',
        'authorization_code,refresh_token',
        '--account-url',
        accountUrl,
      ]),
    );
    expect(requested.code).toBe(0);
    const secret = /secret: (\S+)/.exec(requested.stdout)?.[1] ?? '';
    expect(requested.stdout).toContain('id: my-server');
    expect(secret.length).toBeGreaterThan(10);

    // Not approved yet: the authorize page refuses it.
    const params = new URLSearchParams({
      client_id: 'my-server',
      redirect_uri: CALLBACK,
      response_type: 'code',
    });
    expect((await fetch(`${accountUrl}/users/authorize?${params.toString()}`)).status).toBe(400);

    const approved = await output(
      run(['clients', 'approve', 'my-server', '--account-url', accountUrl]),
    );
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`secret: ${secret}`);
    expect((await fetch(`${accountUrl}/users/authorize?${params.toString()}`)).status).toBe(200);
    // The secret authenticates the client at the token endpoint (the code is bogus).
    const response = await call(
      'POST',
      `${accountUrl}/users/token`,
      { grant_type: 'authorization_code', code: 'x' },
      basic('my-server', secret),
    );
    expect((await json(response)).error).toBe('invalid_grant');

    const exited = output(server);
    server.kill('SIGINT');
    expect((await exited).code).toBe(0);
  });

  it('refuses a bad port', async () => {
    const child = run(['--account-port', 'abc']);
    expect((await output(child)).code).toBe(2);
  });
});
