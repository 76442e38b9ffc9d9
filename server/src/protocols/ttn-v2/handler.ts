/**
 * The TTN v2 handler (application manager REST API, one per region): devices of an
 * application. Calls carry an app-scoped token (see app-tokens.ts).
 */
import type { NetworkSettings } from '../oauth.js';
import type { RemoteDevice, RemoteDeviceDetail } from '../protocol.js';
import { Unavailable } from '../errors.js';
import { ensureOk, readJson, send, type Fetch } from './wire.js';

export function handlerUrl(settings: NetworkSettings, path: string): URL {
  const base = settings.handlerUrl;
  if (!base) throw new Error('ttn-v2 network has no handlerUrl setting');
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/** `GET /applications/{app_id}/devices?limit=&offset=` → one page of devices, without their keys. */
export async function listDevices(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  page: { limit: number; offset: number },
): Promise<RemoteDevice[]> {
  const devices = await exportDevices(appFetch, settings, appId, page);
  return devices.map(({ appKey: _a, nwkSKey: _n, appSKey: _s, ...device }) => device);
}

/** The same page with the devices' keys (the handler answers them), for imports. */
export async function exportDevices(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  page: { limit: number; offset: number },
): Promise<RemoteDeviceDetail[]> {
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

/** `POST /applications {"app_id"}`: registers the application on this handler; already registered (409) is fine. */
export async function registerApplication(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
): Promise<void> {
  const res = await send(appFetch, handlerUrl(settings, 'applications'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ app_id: appId }),
  });
  if (res.status === 409) {
    await res.body?.cancel();
    return;
  }
  await ensureOk(res, `Registering TTN application ${appId} on the handler`);
  await res.body?.cancel();
}

/** `DELETE /applications/{app_id}`: unregisters it and drops its devices; not registered (404) is fine. */
export async function unregisterApplication(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
): Promise<void> {
  const res = await send(
    appFetch,
    handlerUrl(settings, `applications/${encodeURIComponent(appId)}`),
    {
      method: 'DELETE',
    },
  );
  if (res.status === 404) {
    await res.body?.cancel();
    return;
  }
  await ensureOk(res, `Unregistering TTN application ${appId} from the handler`);
  await res.body?.cancel();
}

/** A handler device JSON as our type; empty strings are TTN's "not set". */
export function toRemoteDevice(raw: unknown): RemoteDeviceDetail {
  const device = (raw ?? {}) as Record<string, unknown>;
  const lorawan = (device.lorawan_device ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const hex = (value: unknown) => text(value)?.toUpperCase() ?? null;
  return {
    id: String(device.dev_id),
    description: text(device.description),
    devEui: hex(lorawan.dev_eui),
    appEui: hex(lorawan.app_eui),
    devAddr: hex(lorawan.dev_addr),
    activation: lorawan.activation_constraints === 'abp' ? 'abp' : 'otaa',
    appKey: hex(lorawan.app_key),
    nwkSKey: hex(lorawan.nwk_s_key),
    appSKey: hex(lorawan.app_s_key),
  };
}
