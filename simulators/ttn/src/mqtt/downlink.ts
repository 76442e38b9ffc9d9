import type { SimState } from '../state.js';

/** TTN v2's downlink message on `<AppID>/devices/<DevID>/down`, with its defaults filled in. */
export interface DownlinkMessage {
  port: number;
  confirmed: boolean;
  payload_raw?: string;
  payload_fields?: Record<string, unknown>;
  schedule: 'replace' | 'first' | 'last';
}

export type DownlinkCheck =
  | { ok: true; message: DownlinkMessage; payload: unknown }
  | {
      ok: false;
      reason: string;
      /** the parsed message, or the text when it was not JSON */
      payload: unknown;
      /** false when the message never got past JSON decoding (TTN's MQTT client dropped those) */
      parsed: boolean;
    };

const SCHEDULES = ['replace', 'first', 'last'] as const;
/** Standard base64 with its padding, as Go's encoding/json reads a `[]byte`. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks a downlink as TTN v2 took it: `port` 1..223, `confirmed` a boolean (default false),
 * exactly one of `payload_raw` (base64) and `payload_fields` (an object; needs an encoder on the
 * application), `schedule` one of replace|first|last (default replace), for a device the
 * handler knows.
 */
export function checkDownlink(
  state: SimState,
  appId: string,
  devId: string,
  bytes: Buffer,
): DownlinkCheck {
  const text = bytes.toString('utf8');
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the downlink is not JSON', payload: text, parsed: false };
  }
  const fail = (reason: string): DownlinkCheck => ({ ok: false, reason, payload, parsed: true });
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    return { ok: false, reason: 'the downlink is not a JSON object', payload, parsed: false };
  }
  const body = payload as Record<string, unknown>;

  const { port } = body;
  if (port === undefined || port === null) return fail('port is missing');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 223) {
    return fail('port must be an integer from 1 to 223');
  }

  const confirmed = body.confirmed ?? false;
  if (typeof confirmed !== 'boolean') return fail('confirmed must be true or false');

  const schedule = body.schedule ?? 'replace';
  if (typeof schedule !== 'string' || !(SCHEDULES as readonly string[]).includes(schedule)) {
    return fail('schedule must be one of replace, first, last');
  }

  const raw = body.payload_raw ?? undefined;
  const fields = body.payload_fields ?? undefined;
  if (raw !== undefined && fields !== undefined) {
    return fail('payload_raw and payload_fields are both set: send one of them');
  }
  if (raw === undefined && fields === undefined) {
    return fail('the downlink has no payload_raw or payload_fields');
  }
  if (raw !== undefined && (typeof raw !== 'string' || !BASE64.test(raw))) {
    return fail('payload_raw must be base64');
  }
  if (fields !== undefined && (typeof fields !== 'object' || Array.isArray(fields))) {
    return fail('payload_fields must be an object');
  }

  const happ = state.handlerApps.get(appId);
  if (!happ) return fail(`application "${appId}" is not registered on the handler`);
  if (!happ.devices.has(devId)) return fail(`device "${devId}" not found`);
  if (fields !== undefined && happ.settings.encoder.trim() === '') {
    return fail('payload_fields needs an encoder payload function on the application');
  }

  const message: DownlinkMessage = {
    port,
    confirmed,
    schedule: schedule as DownlinkMessage['schedule'],
  };
  if (raw !== undefined) message.payload_raw = raw as string;
  else message.payload_fields = fields as Record<string, unknown>;
  return { ok: true, message, payload };
}
