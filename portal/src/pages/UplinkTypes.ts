// Types and helpers of the uplinks views, taken from the generated `paths` so they follow the
// server's OpenAPI document.
import type { components, paths } from '../api/schema';

type JsonBody<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Answer<Op, S extends number> = Op extends { responses: infer R }
  ? R extends Record<S, infer A>
    ? JsonBody<A>
    : never
  : never;

export type UplinkDocument = components['schemas']['UplinkDocument'];
export type UplinkPage = Answer<paths['/api/applications/{id}/uplinks']['get'], 200>;
export type UplinkEntry = UplinkPage['items'][number];
export type DeviceUplinkPage = Answer<paths['/api/devices/{id}/uplinks']['get'], 200>;
export type DeliveryStatusView = Answer<paths['/api/applications/{id}/delivery']['get'], 200>;
export type TestSendResult = Answer<paths['/api/applications/{id}/delivery/test']['post'], 200>;
export type DownlinkResult = Answer<paths['/api/devices/{id}/downlinks']['post'], 202>;

/** Base64 → bytes; null when it is not base64. */
export function base64ToBytes(value: string): Uint8Array | null {
  try {
    const binary = atob(value);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
}

/** An uplink's payload as hex (what LoRaWAN people read), or null when it had none. */
export function payloadHex(payload: string | null): string | null {
  if (payload === null) return null;
  const bytes = base64ToBytes(payload);
  return bytes ? bytesToHex(bytes) : payload;
}
