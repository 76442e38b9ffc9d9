import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemOf, startTestApp, type SignedIn, type TestApp } from './harness/app.js';

// Protocol answers do not touch storage; one dialect is enough.
describe('network protocols', () => {
  let t: TestApp;
  let s: SignedIn;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { env: { PUBLIC_URL: 'https://lpwan.example.com/' } });
    s = await t.signIn(t.adminUsername, t.adminPassword);
  });
  afterAll(async () => t?.close());

  it('lists ttn-v2', async () => {
    const res = await t.request('GET', '/api/network-protocols', { token: s.token });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((p: { id: string }) => p.id)).toEqual(['ttn-v2']);
  });

  it('describes ttn-v2 with the OAuth callback URL built from PUBLIC_URL', async () => {
    const res = await t.request('GET', '/api/network-protocols/ttn-v2', { token: s.token });
    expect(res.json()).toEqual({
      id: 'ttn-v2',
      name: 'The Things Network',
      version: 'v2',
      networkType: 'lorawan',
      authorization: { kind: 'oauth2', callbackUrl: 'https://lpwan.example.com/oauth/callback' },
    });
  });

  it('GET /api/network-protocols/ttn-v2/fields returns the field specs', async () => {
    const res = await t.request('GET', '/api/network-protocols/ttn-v2/fields', { token: s.token });
    expect(res.statusCode).toBe(200);
    const { fields } = res.json();
    expect(fields.map((f: { name: string }) => f.name)).toEqual([
      'clientId',
      'clientSecret',
      'accountServerUrl',
      'handlerUrl',
      'mqttUrl',
    ]);
    expect(fields[0]).toMatchObject({
      name: 'clientId',
      label: 'TTN Client ID',
      type: 'string',
      required: true,
      secret: false,
    });
    expect(fields[1]).toMatchObject({
      name: 'clientSecret',
      label: 'TTN Client Secret',
      type: 'password',
      required: true,
      secret: true,
    });
    expect(fields[2]).toMatchObject({
      name: 'accountServerUrl',
      label: 'TTN Account Server URL',
      type: 'url',
      required: false,
      secret: false,
      default: 'https://account.thethingsnetwork.org',
    });
    expect(fields[3]).toMatchObject({
      label: 'TTN Handler URL',
      type: 'url',
      default: 'http://eu.thethings.network:8084',
    });
    expect(fields[4]).toMatchObject({
      label: 'TTN MQTT URL',
      type: 'url',
      default: 'mqtt://eu.thethings.network:1883',
    });
    for (const field of fields) {
      expect(typeof field.help).toBe('string');
      expect(field).not.toHaveProperty('schemes'); // server-only detail
    }
  });

  it('unknown protocols are 404; signing in is required', async () => {
    expect(
      problemOf(await t.request('GET', '/api/network-protocols/lora-pigeon', { token: s.token })),
    ).toMatchObject({ status: 404, code: 'not_found' });
    expect(
      problemOf(
        await t.request('GET', '/api/network-protocols/lora-pigeon/fields', { token: s.token }),
      ),
    ).toMatchObject({ status: 404, code: 'not_found' });
    expect((await t.request('GET', '/api/network-protocols')).statusCode).toBe(401);
  });
});
