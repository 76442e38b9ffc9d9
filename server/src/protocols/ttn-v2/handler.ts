/**
 * The TTN v2 handler (application manager REST API, one per region): devices of an
 * application. Calls carry an app-scoped token (see app-tokens.ts).
 */
import type { NetworkSettings } from '../oauth.js';
import type { RemoteDevice } from '../protocol.js';
import { Unavailable } from '../errors.js';
import { ensureOk, readJson, send, type Fetch } from './wire.js';

export function handlerUrl(settings: NetworkSettings, path: string): URL {
  const base = settings.handlerUrl;
  if (!base) throw new Error('ttn-v2 network has no handlerUrl setting');
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/** `GET /applications/{app_id}/devices?limit=&offset=` → one page of devices. */
export async function listDevices(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  page: { limit: number; offset: number },
): Promise<RemoteDevice[]> {
  const url = handlerUrl(settings, `applications/${encodeURIComponent(appId)}/devices`);
  url.searchParams.set('limit', String(page.limit));
  url.searchParams.set('offset', String(page.offset));
  const res = await send(appFetch, url);
  await ensureOk(res, `Listing the devices of TTN application ${appId}`);
  const body = await readJson(res);
  const devices = (body as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(devices)) throw new Unavailable('The TTN handler answered no device list');
  return devices.map(toRemoteDevice);
}

function toRemoteDevice(raw: unknown): RemoteDevice {
  const device = (raw ?? {}) as Record<string, unknown>;
  const lorawan = (device.lorawan_device ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  return {
    id: String(device.dev_id),
    description: text(device.description),
    devEui: text(lorawan.dev_eui),
    appEui: text(lorawan.app_eui),
    devAddr: text(lorawan.dev_addr),
    activation: lorawan.activation_constraints === 'abp' ? 'abp' : 'otaa',
  };
}
