/**
 * How an uplink gets its message id: stable across releases (a message redelivered by the
 * network after an upgrade must keep its id), and time-ordered when the message has a time.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseUplink } from '../src/protocols/ttn-v2/uplinks.js';
import { messageId } from '../src/uplinks/document.js';

const topic = 'acme-app/devices/sensor-1/up';
const message = (time: string) =>
  Buffer.from(
    JSON.stringify({
      app_id: 'acme-app',
      dev_id: 'sensor-1',
      hardware_serial: '0004A30B001C0530',
      port: 1,
      counter: 7,
      payload_raw: 'AQI=',
      metadata: { time, gateways: [{ gtw_id: 'gw-1', time, rssi: -80, snr: 7.5 }] },
    }),
  );

describe('message ids', () => {
  it('keys a TTN message by the SHA-256 of its topic and bytes, and reads its time once', () => {
    const payload = message('2026-11-29T01:02:03.123456789Z');
    const uplink = parseUplink(topic, payload, Date.parse('2026-11-29T09:00:00.000Z'));
    const expected = createHash('sha256').update(topic).update('\n').update(payload).digest('hex');
    expect(uplink.messageKey).toBe(expected);
    expect(uplink.messageTime).toBe(Date.parse('2026-11-29T01:02:03.123Z'));
    expect(uplink.receivedAt).toBe('2026-11-29T01:02:03.123Z');
    expect(uplink.radio.gateways[0]!.time).toBe('2026-11-29T01:02:03.123Z');
  });

  it('falls back to the time of receipt for a message without a readable time', () => {
    const uplink = parseUplink(
      topic,
      message('not a time'),
      Date.parse('2026-11-29T09:00:00.000Z'),
    );
    expect(uplink.messageTime).toBeNull();
    expect(uplink.receivedAt).toBe('2026-11-29T09:00:00.000Z');
    expect(uplink.radio.gateways[0]!.time).toBeNull();
  });

  it('derives a version 8 UUID whose first 48 bits are the message time', () => {
    const time = Date.parse('2026-11-29T01:02:03.123Z');
    const id = messageId('network-1', 'acme-app', 'key-1', time);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.replace(/-/g, '').slice(0, 12)).toBe(time.toString(16).padStart(12, '0'));
    // The same message, the same id; another message or network, another id.
    expect(messageId('network-1', 'acme-app', 'key-1', time)).toBe(id);
    expect(messageId('network-1', 'acme-app', 'key-2', time)).not.toBe(id);
    expect(messageId('network-2', 'acme-app', 'key-1', time)).not.toBe(id);
    // Later messages sort after earlier ones.
    expect(messageId('network-1', 'acme-app', 'key-0', time + 1) > id).toBe(true);
    // The rest of the id is the SHA-256 of what identifies the message.
    const digest = createHash('sha256').update('network-1\nacme-app\nkey-1').digest('hex');
    expect(id.replace(/-/g, '').slice(20)).toBe(digest.slice(20, 32));
  });
});
