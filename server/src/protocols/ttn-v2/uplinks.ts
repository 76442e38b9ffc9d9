/**
 * TTN v2 MQTT messages → protocol-neutral events. The only place that knows the shape of TTN's
 * uplink JSON (`<AppID>/devices/<DevID>/up`) and activation JSON
 * (`<AppID>/devices/<DevID>/events/activations`); see the reference's "MQTT (data)" section.
 */
import { hash } from 'node:crypto';
import { UnreadableMessage } from '../errors.js';
import type { GatewayReception, NetworkActivation, UplinkParser } from '../protocol.js';

const UPLINK_TOPIC = /^[^/]+\/devices\/([^/]+)\/up$/;
const ACTIVATION_TOPIC = /^[^/]+\/devices\/([^/]+)\/events\/activations$/;

/** The topics one application's subscription needs. */
export function uplinkTopics(appId: string): string[] {
  return [`${appId}/devices/+/up`, `${appId}/devices/+/events/activations`];
}

export function downlinkTopic(appId: string, devId: string): string {
  return `${appId}/devices/${devId}/down`;
}

/** TTN v2's downlink message: `payload_raw` (base64), `schedule: replace` as ttnctl sends it. */
export function downlinkMessage(fPort: number, payload: string, confirmed: boolean): string {
  return JSON.stringify({ port: fPort, confirmed, payload_raw: payload, schedule: 'replace' });
}

/**
 * What a topic carries, read from the topic alone (cheap: it runs on the event loop for every
 * message); undefined for topics that are neither uplinks nor activations.
 */
export function readTopic(
  topic: string,
): { kind: 'uplink' | 'activation'; remoteDeviceId: string } | undefined {
  const up = UPLINK_TOPIC.exec(topic);
  if (up) return { kind: 'uplink', remoteDeviceId: up[1]! };
  const activation = ACTIVATION_TOPIC.exec(topic);
  return activation ? { kind: 'activation', remoteDeviceId: activation[1]! } : undefined;
}

function jsonObject(payload: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
    return parsed as Record<string, unknown>;
  } catch {
    throw new UnreadableMessage('the message is not a JSON object');
  }
}

/** Reads an activation message; throws UnreadableMessage when its body is not TTN's JSON. */
export function parseActivation(
  remoteDeviceId: string,
  payload: Buffer,
  receivedAtMs: number,
): NetworkActivation {
  const body = jsonObject(payload);
  return {
    remoteDeviceId,
    devEui: eui(body.dev_eui),
    devAddr: text(body.dev_addr)?.toUpperCase() ?? null,
    receivedAt: time(object(body.metadata).time) ?? new Date(receivedAtMs).toISOString(),
  };
}

/**
 * Reads an uplink message (a topic `readTopic` calls an uplink). Pure, so that it can run on
 * the uplink decoding thread (see protocols/uplink-parsers.ts); throws UnreadableMessage when the
 * body is not TTN's JSON.
 * @param receivedAtMs  used when the message carries no time of its own (ms since the epoch)
 */
export const parseUplink: UplinkParser = (topic, payload, receivedAtMs) => {
  const up = UPLINK_TOPIC.exec(topic);
  if (!up) throw new UnreadableMessage(`${topic} is not an uplink topic`);
  const body = jsonObject(payload);
  const metadata = object(body.metadata);
  const airtime = num(metadata.airtime);
  const messageTime = milliseconds(metadata.time);
  return {
    // The bytes identify the message: a redelivery repeats them, two uplinks never do
    // (each carries its own counter and time).
    // One-shot hashing: a Hash object per message costs several times more.
    messageKey: hash('sha256', Buffer.concat([Buffer.from(`${topic}\n`), payload]), 'hex'),
    messageTime,
    // The topic's, as the subscription looked the device up by it.
    remoteDeviceId: up[1]!,
    devEui: eui(body.hardware_serial),
    receivedAt: new Date(messageTime ?? receivedAtMs).toISOString(),
    fPort: int(body.port),
    fCnt: int(body.counter),
    confirmed: body.confirmed === true,
    retry: body.is_retry === true,
    payload: text(body.payload_raw),
    decoded:
      Object.keys(object(body.payload_fields)).length > 0 ? object(body.payload_fields) : null,
    radio: {
      frequency: num(metadata.frequency),
      modulation: text(metadata.modulation),
      dataRate: text(metadata.data_rate),
      codingRate: text(metadata.coding_rate),
      // TTN v2 reports airtime in nanoseconds.
      airtimeMs: airtime === null ? null : airtime / 1e6,
      gateways: Array.isArray(metadata.gateways) ? metadata.gateways.map(gateway) : [],
    },
  };
};

function gateway(raw: unknown): GatewayReception {
  const g = object(raw);
  return {
    id: text(g.gtw_id) ?? 'unknown',
    time: time(g.time),
    rssi: num(g.rssi),
    snr: num(g.snr),
    channel: int(g.channel),
    latitude: num(g.latitude),
    longitude: num(g.longitude),
    altitude: num(g.altitude),
  };
}

function object(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function int(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

function eui(value: unknown): string | null {
  const s = text(value);
  return s !== null && /^[0-9A-Fa-f]{16}$/.test(s) ? s.toUpperCase() : null;
}

/** TTN's times are RFC 3339 with nanoseconds; stored as ISO 8601 with milliseconds. */
function time(value: unknown): string | null {
  const ms = milliseconds(value);
  return ms === null ? null : new Date(ms).toISOString();
}

function milliseconds(value: unknown): number | null {
  const s = text(value);
  if (s === null) return null;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}
