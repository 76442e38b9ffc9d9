/**
 * Devices of an application. Keys are sealed at rest (associated data: device id and field)
 * and opened only for the keys endpoint and for pushes. A device added to, changed in or
 * removed from a linked application is queued for every network of the application.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Page, PageResult } from '../db/paging.js';
import { AppError, notFound, validationFailed } from '../http/problem.js';
import { detachUplinksOfDevice } from '../uplinks/uplinks.repository.js';
import type {
  ApplicationLinkRow,
  ApplicationRow,
  DeviceLinkRow,
  DeviceRow,
} from './applications.table.js';
import { findDevicesVersion } from './applications.repository.js';
import { requireApplication } from './applications.service.js';
import type { DeviceDetailView, DeviceKeysView, DeviceView } from './applications.schemas.js';
import type { DevicePageCache } from './device-page-cache.js';
import type { DevicesVersionWatch } from './devices-version-watch.js';
import {
  checkDeviceFields,
  deviceKeyAad,
  type DeviceFields,
  type DeviceFieldsInput,
  type DeviceKeyField,
} from './device-fields.js';
import {
  deleteDevice as deleteDeviceRow,
  findDevice,
  insertDevices,
  listDevices as listDeviceRows,
  updateDevice as updateDeviceRow,
  type DeviceFilter,
  type DeviceListRow,
} from './devices.repository.js';
import {
  findDeviceLinksByRemote,
  insertDeviceLinks,
  listDeviceLinksOfDevice,
  lockLinksOfApplication,
  markDeviceLinksPending,
} from './links.repository.js';
import { queueNewTasks, queueTask } from './sync/enqueue.js';
import { dropDeletionsOfDevices, dropTasksOf } from './sync/tasks.repository.js';

export interface DevicesDeps {
  db: Db;
  secretBox: SecretBox;
  /** PostgreSQL: the devices versions this process knows (devices-version-watch.ts). */
  versions?: DevicesVersionWatch;
}

/**
 * The application's devices version (the cache key of its device lists), which is also the
 * access check: undefined when the organization has no such application. A known version is
 * used as it is; else it is read.
 */
async function devicesVersion(
  deps: DevicesDeps,
  organizationId: string,
  applicationId: string,
): Promise<number | undefined> {
  return (
    deps.versions?.versionOf(organizationId, applicationId) ??
    readDevicesVersion(deps, organizationId, applicationId)
  );
}

/** Reads the version from the database, and keeps it where versions are known. */
async function readDevicesVersion(
  deps: DevicesDeps,
  organizationId: string,
  applicationId: string,
): Promise<number | undefined> {
  const read = deps.versions?.beginRead() ?? -1;
  const version = await findDevicesVersion(deps.db, organizationId, applicationId);
  if (version !== undefined) deps.versions?.remember(read, organizationId, applicationId, version);
  return version;
}

/**
 * After a committed write to the application's devices, where versions are known: the new one
 * is read before the answer goes, so that the writer's next list shows its write even if the
 * notification of it has not reached this process yet.
 */
export async function devicesWritten(
  deps: DevicesDeps,
  organizationId: string,
  applicationId: string,
): Promise<void> {
  if (deps.versions !== undefined) await readDevicesVersion(deps, organizationId, applicationId);
}

export const devEuiTaken = (devEui: string) =>
  new AppError(
    409,
    'dev_eui_taken',
    `A device with DevEUI ${devEui} exists in your organization already.`,
    [{ field: 'devEui', message: 'is used by another device of your organization' }],
  );

/** The id a device gets on a network: its DevEUI in lower case (a valid TTN id, unique per application). */
export function remoteDeviceId(devEui: string): string {
  return devEui.toLowerCase();
}

export function toDeviceView(row: DeviceListRow): DeviceView {
  return {
    id: row.id,
    applicationId: row.application_id,
    name: row.name,
    description: row.description,
    devEui: row.dev_eui,
    activation: row.activation,
    joinEui: row.join_eui,
    devAddr: row.dev_addr,
    lastSeenAt: row.last_seen_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const KEY_COLUMN = {
  appKey: 'app_key_sealed',
  nwkSKey: 'nwk_s_key_sealed',
  appSKey: 'app_s_key_sealed',
} as const satisfies Record<DeviceKeyField, keyof DeviceRow>;

/** A checked device as a row, its keys sealed. */
export function deviceRow(
  secretBox: SecretBox,
  application: Pick<ApplicationRow, 'id' | 'organization_id'>,
  device: DeviceFields,
  now: string,
  id: string = randomUUID(),
): DeviceRow {
  const seal = (field: DeviceKeyField) => {
    const value = device[field];
    return value === null ? null : secretBox.seal(value, deviceKeyAad(id, field));
  };
  return {
    id,
    organization_id: application.organization_id,
    application_id: application.id,
    name: device.name,
    description: device.description,
    dev_eui: device.devEui,
    activation: device.activation,
    join_eui: device.joinEui,
    app_key_sealed: seal('appKey'),
    dev_addr: device.devAddr,
    nwk_s_key_sealed: seal('nwkSKey'),
    app_s_key_sealed: seal('appSKey'),
    last_seen_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** The device's keys in clear text. For the keys endpoint and pushes only: never log them. */
export function openDeviceKeys(secretBox: SecretBox, row: DeviceRow): DeviceKeysView {
  const open = (field: DeviceKeyField) => {
    const sealed = row[KEY_COLUMN[field]];
    return sealed === null ? null : secretBox.open(sealed, deviceKeyAad(row.id, field));
  };
  return { appKey: open('appKey'), nwkSKey: open('nwkSKey'), appSKey: open('appSKey') };
}

/**
 * Links of `devices` under the application link `linkId`, pending: not created there yet. Each
 * gets its DevEUI as its id on the network, unless a device of the link has that id already —
 * one whose DevEUI was changed since keeps its id, as a network's device ids never change —
 * then that id with the first free suffix (`-2`, `-3`, …). Call inside a transaction that
 * holds the application's lock (lockLinksOfApplication), so that no other writer takes an id.
 */
export async function pendingDeviceLinks(
  trx: Db,
  devices: readonly Pick<DeviceRow, 'id' | 'dev_eui'>[],
  linkId: string,
  now: string,
): Promise<DeviceLinkRow[]> {
  const wanted = devices.map((device) => remoteDeviceId(device.dev_eui));
  const taken = await takenRemoteIds(trx, linkId, wanted);
  const links: DeviceLinkRow[] = [];
  for (const [index, device] of devices.entries()) {
    const id = wanted[index]!;
    links.push({
      id: randomUUID(),
      device_id: device.id,
      application_link_id: linkId,
      remote_id: taken.has(id) ? await freeRemoteId(trx, linkId, id) : id,
      state: 'pending',
      last_error: null,
      last_attempt_at: null,
      synced_at: null,
      created_at: now,
      updated_at: now,
    });
  }
  return links;
}

async function takenRemoteIds(
  trx: Db,
  linkId: string,
  remoteIds: readonly string[],
): Promise<Set<string>> {
  return new Set((await findDeviceLinksByRemote(trx, linkId, remoteIds)).map((l) => l.remote_id));
}

/** `base` with the first suffix that no device of the link has as its id. */
async function freeRemoteId(trx: Db, linkId: string, base: string): Promise<string> {
  for (let first = 2; ; first += 10) {
    const candidates = Array.from({ length: 10 }, (_, i) => `${base}-${first + i}`);
    const taken = await takenRemoteIds(trx, linkId, candidates);
    const free = candidates.find((candidate) => !taken.has(candidate));
    if (free !== undefined) return free;
  }
}

/**
 * Queues a task creating each device of `deviceLinks` on `link`'s network; a waiting deletion
 * of a device that had one of their ids there is dropped (see dropDeletionsOfDevices). Call
 * inside a transaction.
 */
export async function queueDeviceTasks(
  trx: Db,
  organizationId: string,
  link: Pick<ApplicationLinkRow, 'id' | 'network_id' | 'remote_id'>,
  deviceLinks: readonly Pick<DeviceLinkRow, 'device_id' | 'remote_id'>[],
  now: string,
): Promise<void> {
  await dropDeletionsOfDevices(
    trx,
    link.id,
    deviceLinks.map((deviceLink) => deviceLink.remote_id),
  );
  await queueNewTasks(
    trx,
    'device',
    deviceLinks.map((deviceLink) => ({
      organizationId,
      networkId: link.network_id,
      applicationLinkId: link.id,
      remoteApplicationId: link.remote_id,
      deviceId: deviceLink.device_id,
      remoteDeviceId: deviceLink.remote_id,
    })),
    now,
  );
}

/**
 * Stores new devices of an application and, for every network the application is linked to,
 * a pending device link and a task to create it there. Call inside a transaction.
 */
export async function addDevices(
  trx: Db,
  organizationId: string,
  rows: readonly DeviceRow[],
  links: readonly ApplicationLinkRow[],
  now: string,
): Promise<void> {
  await insertDevices(trx, rows);
  for (const link of links) {
    const deviceLinks = await pendingDeviceLinks(trx, rows, link.id, now);
    await insertDeviceLinks(trx, deviceLinks);
    await queueDeviceTasks(trx, organizationId, link, deviceLinks, now);
  }
}

export async function createDevice(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  input: DeviceFieldsInput,
): Promise<DeviceView> {
  const application = await requireApplication(deps.db, actor, applicationId);
  const { device, errors } = checkDeviceFields(input);
  if (device === undefined) throw validationFailed(errors);
  const now = nowIso();
  const row = deviceRow(deps.secretBox, application, device, now);
  try {
    await deps.db.transaction().execute(async (trx) => {
      await addDevices(
        trx,
        application.organization_id,
        [row],
        await lockLinksOfApplication(trx, application.id),
        now,
      );
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw devEuiTaken(device.devEui);
    throw error;
  }
  await devicesWritten(deps, application.organization_id, application.id);
  return toDeviceView(row);
}

async function requireDevice(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  id: string,
) {
  await requireApplication(deps.db, actor, applicationId);
  const row = await findDevice(deps.db, actor.user.organizationId, applicationId, id);
  if (row === undefined) throw notFound('device');
  return row;
}

export async function getDevice(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  id: string,
): Promise<DeviceDetailView> {
  const row = await requireDevice(deps, actor, applicationId, id);
  const links = await listDeviceLinksOfDevice(deps.db, id);
  return {
    ...toDeviceView(row),
    links: links.map((l) => ({
      applicationLinkId: l.application_link_id,
      networkId: l.network_id,
      remoteApplicationId: l.remote_application_id,
      remoteId: l.remote_id,
      state: l.state,
      lastError: l.last_error,
      lastAttemptAt: l.last_attempt_at,
      syncedAt: l.synced_at,
    })),
  };
}

export async function getDeviceKeys(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  id: string,
): Promise<DeviceKeysView> {
  return openDeviceKeys(deps.secretBox, await requireDevice(deps, actor, applicationId, id));
}

/**
 * A page of the application's devices as the UTF-8 JSON of the answer (`serialize` is the
 * route's serializer). Answers are cached by the application's devices version, read with the
 * access check: an unchanged list costs that one query. Lists by sync state are not: a push's
 * outcome changes them without changing the devices.
 */
export async function listDevicesJson(
  deps: DevicesDeps & { pageCache: DevicePageCache },
  actor: Principal,
  applicationId: string,
  page: Page,
  filter: DeviceFilter,
  serialize: (answer: PageResult<DeviceView>) => string,
): Promise<Buffer> {
  const version = await devicesVersion(deps, actor.user.organizationId, applicationId);
  if (version === undefined) throw notFound('application');
  const search = filter.search?.trim() ?? '';
  const cacheable = filter.syncState === undefined;
  const pageKey = `${page.limit}:${page.offset}:${search}`;
  const cached = cacheable ? deps.pageCache.get(applicationId, version, pageKey) : undefined;
  if (cached !== undefined) return cached;
  const { rows, total } = await listDeviceRows(
    deps.db,
    actor.user.organizationId,
    applicationId,
    page,
    { search, syncState: filter.syncState },
  );
  const body = Buffer.from(serialize({ items: rows.map(toDeviceView), total, ...page }), 'utf8');
  if (cacheable) deps.pageCache.set(applicationId, version, pageKey, body);
  return body;
}

/** Fields left out keep their values; the merged device is checked as a whole. */
export async function updateDevice(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  id: string,
  patch: DeviceFieldsInput,
): Promise<DeviceDetailView> {
  const row = await requireDevice(deps, actor, applicationId, id);
  const keys = openDeviceKeys(deps.secretBox, row);
  const merged: DeviceFieldsInput = {
    name: row.name,
    description: row.description,
    devEui: row.dev_eui,
    activation: row.activation,
    joinEui: row.join_eui,
    devAddr: row.dev_addr,
    ...keys,
    ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
  };
  const { device, errors } = checkDeviceFields(merged);
  if (device === undefined) throw validationFailed(errors);
  const now = nowIso();
  const next = deviceRow(
    deps.secretBox,
    { id: applicationId, organization_id: row.organization_id },
    device,
    now,
    id,
  );
  const { id: _id, created_at: _created, last_seen_at: _seen, ...update } = next;
  try {
    await deps.db.transaction().execute(async (trx) => {
      await updateDeviceRow(trx, id, update);
      await markDeviceLinksPending(trx, id, now);
      for (const link of await listDeviceLinksOfDevice(trx, id)) {
        await queueTask(
          trx,
          'device',
          {
            organizationId: row.organization_id,
            networkId: link.network_id,
            applicationLinkId: link.application_link_id,
            remoteApplicationId: link.remote_application_id,
            deviceId: id,
            remoteDeviceId: link.remote_id,
          },
          now,
        );
      }
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw devEuiTaken(device.devEui);
    throw error;
  }
  await devicesWritten(deps, row.organization_id, applicationId);
  return getDevice(deps, actor, applicationId, id);
}

export async function deleteDevice(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  id: string,
): Promise<void> {
  const row = await requireDevice(deps, actor, applicationId, id);
  const now = nowIso();
  await deps.db.transaction().execute(async (trx) => {
    for (const link of await listDeviceLinksOfDevice(trx, id)) {
      // Queued even when never synced: a create may be in flight; a delete of nothing is fine.
      await dropTasksOf(trx, { applicationLinkId: link.application_link_id, deviceId: id });
      await queueTask(
        trx,
        'delete_device',
        {
          organizationId: row.organization_id,
          networkId: link.network_id,
          applicationLinkId: link.application_link_id,
          remoteApplicationId: link.remote_application_id,
          deviceId: id,
          remoteDeviceId: link.remote_id,
        },
        now,
      );
    }
    await detachUplinksOfDevice(trx, id);
    await deleteDeviceRow(trx, id);
  });
  await devicesWritten(deps, row.organization_id, applicationId);
}
