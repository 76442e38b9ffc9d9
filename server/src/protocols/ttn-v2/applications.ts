/**
 * Applications on the TTN v2 account server (`/api/v2/applications`) and their access keys,
 * called with the account's token (the token vault's fetch). Wire facts: the TTN v2 reference.
 */
import type { NetworkSettings } from '../oauth.js';
import type { RemoteApplication } from '../protocol.js';
import { Conflict, Unavailable } from '../errors.js';
import { accountServerUrl } from './account-server.js';
import { ensureOk, readJson, send, type Fetch } from './wire.js';

/** The rights of the access key LPWAN Server keeps for an application: uplinks in, downlinks out. */
export const UPLINK_KEY_RIGHTS = ['messages:up:r', 'messages:down:w'] as const;

const appPath = (appId: string) => `api/v2/applications/${encodeURIComponent(appId)}`;

/** `POST /api/v2/applications {id, name}` → 201 the application; 409 (`Conflict`) when the id is taken. */
export async function createApplication(
  fetchFn: Fetch,
  settings: NetworkSettings,
  app: { id: string; name: string },
): Promise<RemoteApplication> {
  const res = await send(fetchFn, accountServerUrl(settings, 'api/v2/applications'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: app.id, name: app.name }),
  });
  await ensureOk(res, `Creating TTN application ${app.id}`);
  return toRemoteApplication(await readJson(res));
}

/** `GET /api/v2/applications/{id}`. */
export async function getApplication(
  fetchFn: Fetch,
  settings: NetworkSettings,
  appId: string,
): Promise<RemoteApplication> {
  const res = await send(fetchFn, accountServerUrl(settings, appPath(appId)));
  await ensureOk(res, `Reading TTN application ${appId}`);
  return toRemoteApplication(await readJson(res));
}

/** `PATCH /api/v2/applications/{id} {name}` → 204. */
export async function renameApplication(
  fetchFn: Fetch,
  settings: NetworkSettings,
  appId: string,
  name: string,
): Promise<void> {
  const res = await send(fetchFn, accountServerUrl(settings, appPath(appId)), {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  await ensureOk(res, `Renaming TTN application ${appId}`);
  await res.body?.cancel();
}

/** `DELETE /api/v2/applications/{id}` → 204. */
export async function deleteAccountApplication(
  fetchFn: Fetch,
  settings: NetworkSettings,
  appId: string,
): Promise<void> {
  const res = await send(fetchFn, accountServerUrl(settings, appPath(appId)), { method: 'DELETE' });
  await ensureOk(res, `Deleting TTN application ${appId}`);
  await res.body?.cancel();
}

/**
 * The access key `name` of an application: `POST …/access-keys {name, rights}`; when the name
 * exists already (409), the existing key from `GET …/access-keys`.
 */
export async function ensureAccessKey(
  fetchFn: Fetch,
  settings: NetworkSettings,
  appId: string,
  name: string,
): Promise<string> {
  const url = accountServerUrl(settings, `${appPath(appId)}/access-keys`);
  const res = await send(fetchFn, url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, rights: UPLINK_KEY_RIGHTS }),
  });
  try {
    await ensureOk(res, `Creating an access key for TTN application ${appId}`);
    return keyOf(await readJson(res));
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
  }
  const list = await send(fetchFn, url);
  await ensureOk(list, `Reading the access keys of TTN application ${appId}`);
  const keys = await readJson(list);
  const existing = Array.isArray(keys)
    ? keys.find((k) => isRecord(k) && k.name === name)
    : undefined;
  if (existing === undefined) {
    throw new Unavailable(`TTN reported access key "${name}" as taken but does not list it`);
  }
  return keyOf(existing);
}

function keyOf(body: unknown): string {
  if (!isRecord(body) || typeof body.key !== 'string' || body.key === '') {
    throw new Unavailable('The TTN access key answer has no key');
  }
  return body.key;
}

function toRemoteApplication(body: unknown): RemoteApplication {
  if (!isRecord(body) || typeof body.id !== 'string') {
    throw new Unavailable('The TTN application answer has no id');
  }
  return {
    id: body.id,
    name: typeof body.name === 'string' ? body.name : body.id,
    euis: Array.isArray(body.euis)
      ? body.euis.filter((e): e is string => typeof e === 'string')
      : [],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
