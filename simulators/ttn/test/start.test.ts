import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../src/index.js';
import { bearer, call, json } from './helpers.js';

describe('startSimulator', () => {
  it('listens on loopback by default, on free ports, and closes twice without harm', async () => {
    const sim = await startSimulator();
    try {
      for (const url of [sim.accountUrl, sim.handlerUrl, sim.mqttUrl]) {
        expect(new URL(url).hostname).toBe('127.0.0.1');
        expect(Number(new URL(url).port)).toBeGreaterThan(0);
      }
      expect(await json(await fetch(`${sim.accountUrl}/_sim/info`))).toEqual({
        accountUrl: sim.accountUrl,
        handlerUrl: sim.handlerUrl,
        mqttUrl: sim.mqttUrl,
      });
    } finally {
      await sim.close();
      await sim.close();
    }
    await expect(fetch(`${sim.accountUrl}/key`)).rejects.toThrow();
  });

  it('loads a seed object with settings, and goes back to it on reset', async () => {
    const sim = await startSimulator({
      seed: {
        users: [{ username: 'erin', password: 'erin-password', email: 'erin@example.com' }],
        clients: [
          {
            id: 'pw-client',
            secret: 'pw-secret',
            redirectUris: ['http://localhost:3000/oauth/callback'],
            grants: ['password'],
            scope: ['profile', 'apps'],
          },
        ],
        applications: [{ owner: 'erin', id: 'erin-app', devices: 2 }],
        settings: { accessTokenLifetimeSeconds: 600 },
      },
    });
    try {
      const login = async () =>
        json(
          await call(
            'POST',
            `${sim.accountUrl}/users/token`,
            { grant_type: 'password', username: 'erin', password: 'erin-password' },
            `Basic ${Buffer.from('pw-client:pw-secret').toString('base64')}`,
          ),
        );
      const first = await login();
      expect(first.expires_in).toBe(600);
      expect(first.refresh_token).toBeUndefined();
      const apps = (await (
        await call(
          'GET',
          `${sim.accountUrl}/api/v2/applications`,
          undefined,
          bearer(String(first.access_token)),
        )
      ).json()) as { id: string }[];
      expect(apps.map((a) => a.id)).toEqual(['erin-app']);

      await call('POST', `${sim.accountUrl}/_sim/users`, {
        username: 'temp',
        password: 'x',
        email: 't@example.com',
      });
      await call('POST', `${sim.accountUrl}/_sim/reset`);
      // The seed is back (a fresh login works), what came later is gone.
      expect((await login()).expires_in).toBe(600);
      const again = await call('POST', `${sim.accountUrl}/_sim/users`, {
        username: 'temp',
        password: 'x',
        email: 't@example.com',
      });
      expect(again.status).toBe(201);
    } finally {
      await sim.close();
    }
  });

  it('reads a seed file and refuses a broken one', async () => {
    const demo = fileURLToPath(new URL('../seeds/demo.json', import.meta.url));
    const sim = await startSimulator({ seed: demo });
    await sim.close();
    const dir = await mkdtemp(join(tmpdir(), 'ttn-sim-'));
    try {
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{"users": [');
      await expect(startSimulator({ seed: broken })).rejects.toThrow(/not JSON/);
      const invalid = join(dir, 'invalid.json');
      await writeFile(invalid, JSON.stringify({ applications: [{ owner: 'nobody', id: 'x1' }] }));
      await expect(startSimulator({ seed: invalid })).rejects.toThrow(
        /invalid seed: user "nobody" not found/,
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
