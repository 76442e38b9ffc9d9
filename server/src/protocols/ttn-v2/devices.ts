/**
 * Devices on the TTN v2 handler (`/applications/{app_id}/devices…`), called with an app-scoped
 * token. TTN's PUT replaces the whole device ("send every field"), so an update first reads the
 * device and changes only what LPWAN Server manages, keeping frame counters and location.
 */
import type { NetworkSettings } from '../oauth.js';
import type { DeviceSpec, RemoteDeviceDetail } from '../protocol.js';
import { handlerUrl, toRemoteDevice } from './handler.js';
import { ensureOk, readJson, send, type Fetch } from './wire.js';

const devicePath = (appId: string, devId: string) =>
  `applications/${encodeURIComponent(appId)}/devices/${encodeURIComponent(devId)}`;

/** `POST /applications/{app_id}/devices`; 409 (`Conflict`) when the id or AppEUI+DevEUI is taken. */
export async function createDevice(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  device: DeviceSpec,
  appEui: string,
): Promise<void> {
  const url = handlerUrl(settings, `applications/${encodeURIComponent(appId)}/devices`);
  const res = await send(appFetch, url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(toWire(appId, device, appEui, {})),
  });
  await ensureOk(res, `Creating device ${device.id} of TTN application ${appId}`);
  await res.body?.cancel();
}

/** `GET /applications/{app_id}/devices/{dev_id}` (keys included). */
export async function getDevice(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  devId: string,
): Promise<RemoteDeviceDetail> {
  return toRemoteDevice(await readDevice(appFetch, settings, appId, devId));
}

/** Reads the device, then `PUT`s it back with our fields over it. */
export async function updateDevice(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  device: DeviceSpec,
  appEui: string,
): Promise<void> {
  const current = await readDevice(appFetch, settings, appId, device.id);
  const res = await send(appFetch, handlerUrl(settings, devicePath(appId, device.id)), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(toWire(appId, device, appEui, current)),
  });
  await ensureOk(res, `Updating device ${device.id} of TTN application ${appId}`);
  await res.body?.cancel();
}

/** `DELETE /applications/{app_id}/devices/{dev_id}`; `NotFound` when it is gone already. */
export async function deleteDevice(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  devId: string,
): Promise<void> {
  const res = await send(appFetch, handlerUrl(settings, devicePath(appId, devId)), {
    method: 'DELETE',
  });
  await ensureOk(res, `Deleting device ${devId} of TTN application ${appId}`);
  await res.body?.cancel();
}

async function readDevice(
  appFetch: Fetch,
  settings: NetworkSettings,
  appId: string,
  devId: string,
): Promise<Record<string, unknown>> {
  const res = await send(appFetch, handlerUrl(settings, devicePath(appId, devId)));
  await ensureOk(res, `Reading device ${devId} of TTN application ${appId}`);
  const body = await readJson(res);
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

/** The handler's device JSON: our fields over `base` (the device as TTN has it, or nothing). */
function toWire(
  appId: string,
  device: DeviceSpec,
  appEui: string,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const baseLorawan = (base.lorawan_device ?? {}) as Record<string, unknown>;
  const abp = device.activation === 'abp';
  // An OTAA device gets its address and session keys when it joins: TTN's are kept, unless
  // they are those of the ABP device it was until now, which must stop working.
  const joined = baseLorawan.activation_constraints !== 'abp';
  const session = (field: string) => (joined ? (baseLorawan[field] ?? '') : '');
  return {
    ...base,
    app_id: appId,
    dev_id: device.id,
    description: device.description ?? '',
    lorawan_device: {
      ...baseLorawan,
      app_id: appId,
      dev_id: device.id,
      app_eui: appEui,
      dev_eui: device.devEui,
      activation_constraints: device.activation,
      app_key: abp ? '' : (device.appKey ?? ''),
      dev_addr: abp ? device.devAddr : session('dev_addr'),
      nwk_s_key: abp ? device.nwkSKey : session('nwk_s_key'),
      app_s_key: abp ? device.appSKey : session('app_s_key'),
    },
  };
}
