import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appToken,
  bearer,
  call,
  control,
  createUserAndClient,
  sleep,
  startSim,
  userTokens,
  type Sim,
} from './helpers.js';
import { SIM_DECODER } from '../src/seed.js';

const alice = {
  username: 'alice',
  password: 'alice-password',
  clientId: 'lpwan-test',
  clientSecret: 'lpwan-test-secret',
};

let sim: Sim;
let keyA: string;
let keyB: string;
const clients: MqttClient[] = [];

beforeEach(async () => {
  sim = await startSim();
  await createUserAndClient(sim);
  keyA = String(
    (await control(sim, '/applications', { owner: 'alice', id: 'app-a', name: 'A', devices: 3 }))
      .accessKey,
  );
  keyB = String(
    (await control(sim, '/applications', { owner: 'alice', id: 'app-b', name: 'B', devices: 2 }))
      .accessKey,
  );
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await sim.close();
});

async function connect(username: string, password: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(sim.mqttUrl, {
    username,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  clients.push(client);
  return client;
}

async function connectError(username: string, password: string): Promise<Error> {
  try {
    await connect(username, password);
  } catch (error) {
    return error as Error;
  }
  throw new Error('connected');
}

interface Uplink {
  app_id: string;
  dev_id: string;
  hardware_serial: string;
  port: number;
  counter: number;
  is_retry: boolean;
  confirmed: boolean;
  payload_raw: string;
  payload_fields: { temperature: number; humidity: number };
  metadata: {
    time: string;
    frequency: number;
    modulation: string;
    data_rate: string;
    gateways: Record<string, unknown>[];
  };
}

describe('MQTT', () => {
  it('refuses a wrong access key, a key of another application, and a key without messages:up:r', async () => {
    expect((await connectError('app-a', 'ttn-account-v2.wrong')).message).toMatch(
      /bad username or password/i,
    );
    expect((await connectError('app-a', keyB)).message).toMatch(/bad username or password/i);
    const seeded = await control(sim, '/applications', {
      owner: 'alice',
      id: 'app-c',
      name: 'C',
      accessKeys: [{ name: 'devices only', rights: ['devices'] }],
    });
    const keys = seeded.accessKeys as { name: string; key: string }[];
    const devicesOnly = keys.find((k) => k.name === 'devices only')?.key ?? '';
    expect((await connectError('app-c', devicesOnly)).message).toMatch(/not authorized/i);
    expect((await connect('app-c', String(seeded.accessKey))).connected).toBe(true);
  });

  it('delivers realistic uplinks with increasing counters to a subscribed client', async () => {
    const client = await connect('app-a', keyA);
    const granted = await client.subscribeAsync('app-a/devices/+/up');
    expect(granted[0]?.qos).toBe(0);
    const received: Uplink[] = [];
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/up')) received.push(JSON.parse(payload.toString()) as Uplink);
    });
    const job = await control(sim, '/uplinks', { appId: 'app-a', count: 9, perSecond: 50 });
    expect(job).toMatchObject({ appId: 'app-a', count: 9, perSecond: 50 });
    for (let i = 0; i < 50 && received.length < 9; i++) await sleep(50);
    expect(received).toHaveLength(9);
    const devices = new Set(received.map((u) => u.dev_id));
    expect(devices.size).toBe(3);
    for (const devId of devices) {
      const counters = received.filter((u) => u.dev_id === devId).map((u) => u.counter);
      expect(counters).toEqual([0, 1, 2]);
    }
    const uplink = received[0] as Uplink;
    expect(uplink).toMatchObject({ app_id: 'app-a', port: 1, is_retry: false, confirmed: false });
    expect(uplink.hardware_serial).toMatch(/^[0-9A-F]{16}$/);
    const raw = Buffer.from(uplink.payload_raw, 'base64');
    expect(raw).toHaveLength(3);
    expect(raw.readInt16BE(0) / 100).toBeCloseTo(uplink.payload_fields.temperature, 2);
    expect(raw.readUInt8(2)).toBe(uplink.payload_fields.humidity);
    expect(uplink.metadata).toMatchObject({
      modulation: 'LORA',
      data_rate: expect.stringMatching(/^SF\d+BW125$/),
    });
    expect(Number.isNaN(Date.parse(uplink.metadata.time))).toBe(false);
    expect(uplink.metadata.gateways[0]).toMatchObject({
      gtw_id: expect.stringMatching(/^eui-/),
      timestamp: expect.any(Number),
      channel: expect.any(Number),
      rssi: expect.any(Number),
      snr: expect.any(Number),
      rf_chain: expect.any(Number),
    });
    const jobs = await control(sim, '/uplinks', undefined, 'GET');
    expect(jobs.jobs).toEqual([expect.objectContaining({ sent: 9, done: true })]);
  });

  it('keeps delivering to other subscribers while one stops reading', async () => {
    const stalled = await connect('app-a', keyA);
    await stalled.subscribeAsync('app-a/devices/+/up');
    // It reads nothing more: its socket buffers fill, and the broker's writes to it wait.
    stalled.stream.pause();
    const live = await connect('app-b', keyB);
    await live.subscribeAsync('app-b/devices/+/up');
    let received = 0;
    live.on('message', () => received++);
    await control(sim, '/uplinks', { appId: 'app-a', count: 20_000, perSecond: 10_000 });
    await control(sim, '/uplinks', { appId: 'app-b', count: 200, perSecond: 200 });
    for (let i = 0; i < 60 && received < 200; i++) await sleep(100);
    expect(received).toBe(200);
  });

  it('keeps applications apart: no subscription to another application, no uplink publishing', async () => {
    const client = await connect('app-a', keyA);
    await expect(client.subscribeAsync('app-b/devices/+/up')).rejects.toThrow(/subscribe error/i);
    await expect(client.subscribeAsync('#')).rejects.toThrow(/subscribe error/i);

    const other = await connect('app-b', keyB);
    await other.subscribeAsync('app-b/devices/+/up');
    const leaked: string[] = [];
    other.on('message', (topic) => leaked.push(topic));
    await control(sim, '/uplinks', { appId: 'app-a', count: 2, perSecond: 100 });
    await sleep(200);
    expect(leaked).toEqual([]);

    // Publishing an uplink is not allowed; the broker closes the connection.
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('app-a/devices/device-0001/up', '{}');
    await closed;
  });

  it('records downlinks published by clients', async () => {
    const client = await connect('app-a', keyA);
    await client.subscribeAsync('app-a/devices/+/events/down/scheduled');
    const scheduled = new Promise<[string, unknown]>((resolve) =>
      client.once('message', (topic, payload) => resolve([topic, JSON.parse(payload.toString())])),
    );
    const message = { port: 2, confirmed: false, payload_raw: 'AQI=', schedule: 'replace' };
    await client.publishAsync('app-a/devices/device-0002/down', JSON.stringify(message));
    let downlinks: unknown[] = [];
    for (let i = 0; i < 20 && downlinks.length === 0; i++) {
      await sleep(25);
      downlinks = (await control(sim, '/downlinks?appId=app-a', undefined, 'GET'))
        .downlinks as unknown[];
    }
    expect(downlinks).toEqual([
      {
        appId: 'app-a',
        devId: 'device-0002',
        topic: 'app-a/devices/device-0002/down',
        payload: message,
        time: expect.any(String),
      },
    ]);
    expect((await control(sim, '/downlinks?appId=app-b', undefined, 'GET')).downlinks).toEqual([]);
    expect(await scheduled).toEqual(['app-a/devices/device-0002/events/down/scheduled', message]);
  });

  it('validates downlinks: a bad one is never scheduled, but reported and kept with its reason', async () => {
    const token = await appToken(sim, (await userTokens(sim, alice)).access_token, 'app-a');
    const client = await connect('app-a', keyA);
    await client.subscribeAsync('app-a/devices/+/events/down/#');
    const events: [string, unknown][] = [];
    client.on('message', (topic, payload) => events.push([topic, JSON.parse(payload.toString())]));
    const down = 'app-a/devices/device-0001/down';
    const bad: [string, string, RegExp][] = [
      [down, 'not json', /not JSON/],
      [down, JSON.stringify({ payload_raw: 'AQ==' }), /port is missing/],
      [down, JSON.stringify({ port: 0, payload_raw: 'AQ==' }), /port must be/],
      [down, JSON.stringify({ port: 224, payload_raw: 'AQ==' }), /port must be/],
      [down, JSON.stringify({ port: 1 }), /no payload_raw or payload_fields/],
      [down, JSON.stringify({ port: 1, payload_raw: 'AQ==', payload_fields: {} }), /both/],
      [down, JSON.stringify({ port: 1, payload_raw: 'not base64!' }), /base64/],
      [down, JSON.stringify({ port: 1, payload_raw: 'AQ', schedule: 'replace' }), /base64/],
      [down, JSON.stringify({ port: 1, payload_raw: 'AQ==', schedule: 'later' }), /schedule/],
      [down, JSON.stringify({ port: 1, payload_raw: 'AQ==', confirmed: 'yes' }), /confirmed/],
      [down, JSON.stringify({ port: 1, payload_fields: [1] }), /payload_fields must be/],
      [down, JSON.stringify({ port: 1, payload_fields: { led: true } }), /encoder/],
      ['app-a/devices/nobody/down', JSON.stringify({ port: 1, payload_raw: 'AQ==' }), /nobody/],
    ];
    for (const [topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    // Defaults: confirmed false, schedule replace.
    const minimal = { port: 1, payload_raw: 'AQ==' };
    await client.publishAsync(down, JSON.stringify(minimal), { qos: 1 });
    for (let i = 0; i < 40 && !events.some(([t]) => t.endsWith('/scheduled')); i++) await sleep(25);

    const rejected = (await control(sim, '/downlinks/rejected?appId=app-a', undefined, 'GET'))
      .rejected as { devId: string; topic: string; payload: unknown; reason: string }[];
    expect(rejected).toHaveLength(bad.length);
    bad.forEach(([topic, payload, reason], i) => {
      expect(rejected[i]?.topic).toBe(topic);
      expect(rejected[i]?.reason, payload).toMatch(reason);
    });
    expect(rejected[0]?.payload).toBe('not json');
    expect((await control(sim, '/downlinks', undefined, 'GET')).downlinks).toEqual([
      expect.objectContaining({ topic: down, payload: minimal }),
    ]);
    // Only the valid one is scheduled; each bad JSON one is reported on events/down/errors
    // (the one that was not JSON never reached TTN's handler).
    expect(events.filter(([t]) => t.endsWith('/events/down/scheduled'))).toEqual([
      ['app-a/devices/device-0001/events/down/scheduled', minimal],
    ]);
    const errors = events.filter(([t]) => t.endsWith('/events/down/errors'));
    expect(errors).toHaveLength(bad.length - 1);
    expect(errors[0]).toEqual([
      'app-a/devices/device-0001/events/down/errors',
      { error: 'port is missing' },
    ]);
    expect(errors.at(-1)?.[0]).toBe('app-a/devices/nobody/events/down/errors');

    // payload_fields once the application has an encoder; schedule first|last; confirmed.
    const put = await call(
      'PUT',
      `${sim.handlerUrl}/applications/app-a`,
      {
        payload_format: 'custom',
        decoder: SIM_DECODER,
        encoder: 'function Encoder(object, port) { return [object.led ? 1 : 0]; }',
      },
      bearer(token),
    );
    expect(put.status).toBe(200);
    const fields = { port: 3, confirmed: true, payload_fields: { led: true }, schedule: 'first' };
    const last = { port: 4, payload_raw: '', schedule: 'last' };
    await client.publishAsync(down, JSON.stringify(fields), { qos: 1 });
    await client.publishAsync(down, JSON.stringify(last), { qos: 1 });
    let downlinks: { payload: unknown }[] = [];
    for (let i = 0; i < 40 && downlinks.length < 3; i++) {
      await sleep(25);
      downlinks = (await control(sim, '/downlinks', undefined, 'GET'))
        .downlinks as typeof downlinks;
    }
    expect(downlinks.map((d) => d.payload)).toEqual([minimal, fields, last]);

    await control(sim, '/downlinks', undefined, 'DELETE');
    expect((await control(sim, '/downlinks/rejected', undefined, 'GET')).rejected).toEqual([]);
  });

  it('puts decoded fields in uplinks only when the application has a decoder', async () => {
    const token = await appToken(sim, (await userTokens(sim, alice)).access_token, 'app-a');
    const setFormat = async (settings: Record<string, string>) => {
      const put = await call(
        'PUT',
        `${sim.handlerUrl}/applications/app-a`,
        settings,
        bearer(token),
      );
      expect(put.status).toBe(200);
    };
    const client = await connect('app-a', keyA);
    await client.subscribeAsync('app-a/devices/device-0001/up/#');
    const messages: [string, Record<string, unknown>][] = [];
    client.on('message', (topic, payload) =>
      messages.push([topic, JSON.parse(payload.toString()) as Record<string, unknown>]),
    );
    const uplinkWith = async () => {
      messages.length = 0;
      await control(sim, '/uplinks', { appId: 'app-a', devId: 'device-0001', count: 1 });
      for (let i = 0; i < 40 && !messages.some(([t]) => t.endsWith('/up')); i++) await sleep(25);
      await sleep(50);
      const uplink = messages.find(([t]) => t.endsWith('/up'))?.[1] ?? {};
      return { uplink, topics: messages.map(([t]) => t) };
    };

    // custom without a decoder (as the handler registers an application): no fields at all.
    await setFormat({ payload_format: 'custom', decoder: '' });
    const none = await uplinkWith();
    expect(none.uplink).not.toHaveProperty('payload_fields');
    expect(Buffer.from(String(none.uplink.payload_raw), 'base64')).toHaveLength(3);
    expect(none.topics).toEqual(['app-a/devices/device-0001/up']);

    // custom with a decoder: the decoded fields, and one topic per field.
    await setFormat({ payload_format: 'custom', decoder: SIM_DECODER });
    const custom = await uplinkWith();
    const raw = Buffer.from(String(custom.uplink.payload_raw), 'base64');
    expect(custom.uplink.payload_fields).toEqual({
      temperature: raw.readInt16BE(0) / 100,
      humidity: raw.readUInt8(2),
    });
    expect(custom.topics).toEqual([
      'app-a/devices/device-0001/up',
      'app-a/devices/device-0001/up/temperature',
      'app-a/devices/device-0001/up/humidity',
    ]);

    // cayennelpp: TTN's built-in decoder, over a Cayenne LPP payload.
    await setFormat({ payload_format: 'cayennelpp' });
    const lpp = await uplinkWith();
    const bytes = Buffer.from(String(lpp.uplink.payload_raw), 'base64');
    expect([...bytes.subarray(0, 2)]).toEqual([0x01, 0x67]);
    expect([...bytes.subarray(4, 6)]).toEqual([0x02, 0x68]);
    expect(lpp.uplink.payload_fields).toEqual({
      temperature_1: bytes.readInt16BE(2) / 10,
      relative_humidity_2: bytes.readUInt8(6) / 2,
    });
    expect(lpp.topics).toEqual([
      'app-a/devices/device-0001/up',
      'app-a/devices/device-0001/up/temperature_1',
      'app-a/devices/device-0001/up/relative_humidity_2',
    ]);

    // A seed may leave the decoder out.
    const seeded = await control(sim, '/applications', {
      owner: 'alice',
      id: 'app-raw',
      devices: 1,
      payloadSettings: { payload_format: 'custom' },
    });
    const rawClient = await connect('app-raw', String(seeded.accessKey));
    await rawClient.subscribeAsync('app-raw/devices/+/up/#');
    const rawTopics: [string, Record<string, unknown>][] = [];
    rawClient.on('message', (topic, payload) =>
      rawTopics.push([topic, JSON.parse(payload.toString()) as Record<string, unknown>]),
    );
    await control(sim, '/uplinks', { appId: 'app-raw', count: 1 });
    for (let i = 0; i < 40 && rawTopics.length === 0; i++) await sleep(25);
    await sleep(50);
    expect(rawTopics.map(([t]) => t)).toEqual(['app-raw/devices/device-0001/up']);
    expect(rawTopics[0]?.[1]).not.toHaveProperty('payload_fields');
    await expect(
      control(sim, '/applications', {
        owner: 'alice',
        id: 'app-bad',
        payloadSettings: { decoder: 42 },
      }),
    ).rejects.toThrow(/400/);
  });

  it('publishes a raw message on request, as it is, and refuses a wildcard topic', async () => {
    const client = await connect('app-a', keyA);
    await client.subscribeAsync('app-a/devices/+/up');
    const received = new Promise<[string, string]>((resolve) =>
      client.once('message', (topic, payload) => resolve([topic, payload.toString('utf8')])),
    );
    await control(sim, '/mqtt/messages', {
      topic: 'app-a/devices/device-0001/up',
      payload: 'not json',
    });
    expect(await received).toEqual(['app-a/devices/device-0001/up', 'not json']);

    const refused = await call('POST', `${sim.accountUrl}/_sim/mqtt/messages`, {
      topic: 'app-a/devices/+/up',
      payload: 'x',
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('without wildcards');
  });

  it('publishes device events and an activation before an OTAA device’s first uplink', async () => {
    const f = {
      username: 'alice',
      password: 'alice-password',
      clientId: 'lpwan-test',
      clientSecret: 'lpwan-test-secret',
    };
    const token = await appToken(sim, (await userTokens(sim, f)).access_token, 'app-a');
    const client = await connect('app-a', keyA);
    await client.subscribeAsync('app-a/devices/+/events/#');
    await client.subscribeAsync('app-a/devices/+/up/+');
    const messages: [string, unknown][] = [];
    client.on('message', (topic, payload) =>
      messages.push([topic, JSON.parse(payload.toString())]),
    );
    const created = await call(
      'POST',
      `${sim.handlerUrl}/applications/app-a/devices`,
      {
        dev_id: 'fresh',
        lorawan_device: {
          app_eui: '70B3D57ED0000001',
          dev_eui: '0004A30B00000001',
          app_key: '00112233445566778899AABBCCDDEEFF',
          activation_constraints: 'otaa',
        },
      },
      bearer(token),
    );
    expect(created.status).toBe(200);
    await control(sim, '/uplinks', {
      appId: 'app-a',
      count: 1,
      perSecond: 1,
      devId: 'fresh',
      port: 7,
    });
    for (let i = 0; i < 40 && messages.length < 4; i++) await sleep(25);
    expect(messages.map(([topic]) => topic)).toEqual([
      'app-a/devices/fresh/events/create',
      'app-a/devices/fresh/events/activations',
      'app-a/devices/fresh/up/temperature',
      'app-a/devices/fresh/up/humidity',
    ]);
    expect(messages[1]?.[1]).toMatchObject({
      app_eui: '70B3D57ED0000001',
      dev_eui: '0004A30B00000001',
      dev_addr: expect.stringMatching(/^[0-9A-F]{8}$/),
    });
    const stored = await (
      await call(
        'GET',
        `${sim.handlerUrl}/applications/app-a/devices/fresh`,
        undefined,
        bearer(token),
      )
    ).json();
    expect(stored).toMatchObject({
      lorawan_device: { f_cnt_up: 1, dev_addr: expect.stringMatching(/^[0-9A-F]{8}$/) },
    });
    expect(await control(sim, '/uplinks', undefined, 'DELETE')).toEqual({ stopped: 0 });
  });
});
