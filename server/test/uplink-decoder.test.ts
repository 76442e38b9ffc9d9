/**
 * The uplink decoding thread, as the subscriptions use it: TTN v2 messages in (payloads that are
 * views into larger buffers, as MQTT.js hands them over), stored documents out, in order.
 */
import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Backlog } from '../src/uplinks/backlog.js';
import { messageId, type DocumentContext } from '../src/uplinks/document.js';
import { UplinkDecoder, type DecodedUplink } from '../src/uplinks/uplink-decoder.js';
import { documentValidator } from './uplinks-fixture.js';

const context: DocumentContext = {
  network: { id: 'network-1', protocol: 'ttn-v2' },
  application: { id: 'application-1', remoteId: 'acme-app' },
};
const topic = (device: string) => `acme-app/devices/${device}/up`;

function message(counter: number): string {
  const time = new Date(Date.UTC(2026, 10, 29, 9, 0, 0, counter)).toISOString();
  return JSON.stringify({
    app_id: 'acme-app',
    dev_id: `sensor-${counter % 7}`,
    hardware_serial: '0004A30B001C0530',
    port: 2,
    counter,
    payload_raw: Buffer.from([counter & 0xff]).toString('base64'),
    metadata: { time, frequency: 868.1, gateways: [{ gtw_id: 'gw-1', rssi: -80, snr: 7.5 }] },
  });
}

/** The messages' bytes one after the other in one buffer, each payload a view into it. */
function payloadsIn(texts: string[]): Buffer[] {
  const whole = Buffer.from(texts.join(''));
  let start = 0;
  return texts.map((text) => {
    const length = Buffer.byteLength(text);
    return whole.subarray(start, (start += length));
  });
}

function decodeAll(decoder: UplinkDecoder, payloads: Buffer[]): Promise<DecodedUplink[]> {
  return Promise.all(
    payloads.map((payload, i) =>
      decoder.decode(context, i % 2 === 0 ? `device-${i % 7}` : null, {
        remoteDeviceId: `sensor-${i % 7}`,
        topic: topic(`sensor-${i % 7}`),
        payload,
        receivedAtMs: Date.UTC(2026, 10, 29, 10),
      }),
    ),
  );
}

let decoder: UplinkDecoder | undefined;
afterEach(async () => {
  await decoder?.close();
  decoder = undefined;
});

describe('uplink decoding thread', () => {
  it('reads 1,200 messages given in one turn, each into its own document, in order', async () => {
    decoder = new UplinkDecoder(pino({ level: 'silent' }));
    const texts = Array.from({ length: 1200 }, (_, i) => message(i));
    const results = await decodeAll(decoder, payloadsIn(texts));
    const valid = documentValidator();
    results.forEach((result, i) => {
      if ('unreadable' in result) throw new Error(`message ${i}: ${result.unreadable}`);
      const document = JSON.parse(result.document) as Record<string, unknown>;
      expect(valid(document)).toBe(true);
      expect(document).toMatchObject({
        id: result.id,
        receivedAt: result.receivedAt,
        network: context.network,
        application: context.application,
        device: { id: i % 2 === 0 ? `device-${i % 7}` : null, remoteId: `sensor-${i % 7}` },
        fCnt: i,
        payload: Buffer.from([i & 0xff]).toString('base64'),
      });
      const messageTime = Date.UTC(2026, 10, 29, 9, 0, 0, i);
      expect(result.receivedAt).toBe(new Date(messageTime).toISOString());
      const key = createHash('sha256').update(`${topic(`sensor-${i % 7}`)}\n${texts[i]}`);
      expect(result.id).toBe(messageId('network-1', 'acme-app', key.digest('hex'), messageTime));
    });
    expect(new Set(results.map((r) => ('id' in r ? r.id : ''))).size).toBe(1200);
  });

  it('answers a message that is not JSON with the reason, and reads the ones around it', async () => {
    decoder = new UplinkDecoder(pino({ level: 'silent' }));
    const results = await decodeAll(decoder, payloadsIn([message(1), 'not json', message(3)]));
    expect(results[1]).toEqual({ unreadable: 'the message is not a JSON object' });
    expect(JSON.parse((results[0] as { document: string }).document)).toMatchObject({ fCnt: 1 });
    expect(JSON.parse((results[2] as { document: string }).document)).toMatchObject({ fCnt: 3 });
  });

  it('fails the batches of a thread that ends, and reads the next ones on a new thread', async () => {
    decoder = new UplinkDecoder(pino({ level: 'silent' }));
    await decodeAll(decoder, payloadsIn([message(1)]));
    // The thread is private; ending it from here stands in for a crash.
    const thread = (decoder as unknown as { worker: Worker }).worker;
    const lost = decodeAll(decoder, payloadsIn([message(2), message(3)]));
    await thread.terminate();
    await expect(lost).rejects.toThrow(/thread exited/);
    const [again] = await decodeAll(decoder, payloadsIn([message(4)]));
    expect(JSON.parse((again as { document: string }).document)).toMatchObject({ fCnt: 4 });
  });

  it('refuses work once closed', async () => {
    decoder = new UplinkDecoder(pino({ level: 'silent' }));
    await decoder.close();
    await expect(decodeAll(decoder, payloadsIn([message(1)]))).rejects.toThrow(/closed/);
  });
});

describe('backlog', () => {
  it('holds the reading back from the high mark until it is down to the low one', async () => {
    const backlog = new Backlog(4, 2);
    backlog.add(3);
    expect(backlog.ready()).toBeUndefined();
    backlog.add(1);
    const ready = backlog.ready();
    expect(ready).toBeInstanceOf(Promise);
    expect(backlog.ready()).toBe(ready);
    let resumed = false;
    void ready!.then(() => (resumed = true));
    backlog.remove(1);
    await Promise.resolve();
    expect(resumed).toBe(false);
    expect(backlog.ready()).toBe(ready);
    backlog.remove(1);
    await ready;
    expect(resumed).toBe(true);
    expect(backlog.size).toBe(2);
    expect(backlog.ready()).toBeUndefined();
  });
});
