/**
 * Running one sync task against its network. Each task makes the network match the local
 * state as it is now (not as it was when the task was queued), so running a task twice, or
 * after later edits, is harmless.
 *
 * Conflicts are adopted, not duplicated: when a create answers 409, the existing object is
 * read; if it is the same thing (an application id this account can read, a device with the
 * same DevEUI), it is linked and brought up to date.
 */
import { nowIso } from '../../clock.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { Db } from '../../db/database.js';
import { Conflict, Forbidden, NotFound } from '../../protocols/errors.js';
import type { DeviceSpec, NetworkProtocol, ProtocolContext } from '../../protocols/protocol.js';
import type { ApplicationLinkRow, DeviceRow } from '../applications.table.js';
import { findApplicationById } from '../applications.repository.js';
import { accessKeyAad } from '../device-fields.js';
import { findDeviceById } from '../devices.repository.js';
import { openDeviceKeys, queueDeviceTasks } from '../devices.service.js';
import {
  findApplicationLink,
  findDeviceLink,
  listDeviceLinksOfLink,
  updateApplicationLink,
  updateDeviceLink,
} from '../links.repository.js';
import type { SyncTaskRow } from './sync.table.js';

/** The name of the access key LPWAN Server creates on each linked application. */
export const UPLINK_KEY_NAME = 'lpwan-server';

/** The network refused for good (rights, ids taken by something else): retrying will not help. */
export class PermanentSyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentSyncError';
  }
}

export interface PushDeps {
  db: Db;
  secretBox: SecretBox;
}

type Verb =
  | 'createApplication'
  | 'getApplication'
  | 'renameApplication'
  | 'deleteApplication'
  | 'prepareApplication'
  | 'createDevice'
  | 'getDevice'
  | 'updateDevice'
  | 'deleteDevice';

/** A verb the network type must offer for this task; a type without it cannot be pushed to. */
function need<K extends Verb>(protocol: NetworkProtocol, verb: K): NonNullable<NetworkProtocol[K]> {
  const fn = protocol[verb];
  if (fn === undefined) throw new PermanentSyncError(`This network type cannot ${verb}.`);
  return fn as NonNullable<NetworkProtocol[K]>;
}

export async function runTask(
  deps: PushDeps,
  protocol: NetworkProtocol,
  ctx: ProtocolContext,
  task: SyncTaskRow,
): Promise<void> {
  switch (task.kind) {
    case 'application':
      return pushApplication(deps, protocol, ctx, task);
    case 'device':
      return pushDevice(deps, protocol, ctx, task);
    case 'delete_device':
      return alreadyGone(
        need(protocol, 'deleteDevice')(
          ctx,
          task.remote_application_id,
          task.remote_device_id ?? '',
        ),
      );
    case 'delete_application':
      return alreadyGone(need(protocol, 'deleteApplication')(ctx, task.remote_application_id));
  }
}

/**
 * A delete is done when the object is gone (404), or when the account has no rights on it
 * (403): then it was never ours (say, an id that belonged to somebody else's application) or
 * its application is gone, and no retry would change that.
 */
async function alreadyGone(call: Promise<void>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof NotFound || error instanceof Forbidden)) throw error;
  }
}

async function pushApplication(
  deps: PushDeps,
  protocol: NetworkProtocol,
  ctx: ProtocolContext,
  task: SyncTaskRow,
): Promise<void> {
  const link = await findApplicationLink(deps.db, task.application_link_id);
  const application = link && (await findApplicationById(deps.db, link.application_id));
  if (link === undefined || application === undefined) return;
  const remoteId = link.remote_id;
  const firstSync = link.synced_at === null;

  if (firstSync) {
    try {
      await need(protocol, 'createApplication')(ctx, { id: remoteId, name: application.name });
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      const existing = await adoptable(
        () => need(protocol, 'getApplication')(ctx, remoteId),
        () =>
          `The id ${remoteId} is taken on the network by an application this account cannot use; link with another id.`,
      );
      if (existing.name !== application.name) {
        await need(protocol, 'renameApplication')(ctx, remoteId, application.name);
      }
    }
  } else {
    await need(protocol, 'renameApplication')(ctx, remoteId, application.name);
  }
  await need(protocol, 'prepareApplication')(ctx, remoteId);

  const now = nowIso();
  let accessKeySealed = link.access_key_sealed;
  if (accessKeySealed === null && protocol.ensureUplinkKey !== undefined) {
    const key = await protocol.ensureUplinkKey(ctx, remoteId, UPLINK_KEY_NAME);
    accessKeySealed = deps.secretBox.seal(key, accessKeyAad(link.id));
  }
  await deps.db.transaction().execute(async (trx) => {
    await updateApplicationLink(trx, link.id, {
      state: 'synced',
      last_error: null,
      last_attempt_at: now,
      synced_at: now,
      access_key_sealed: accessKeySealed,
      updated_at: now,
    });
    // Devices wait for their application: on its first push, queue them all.
    if (firstSync) await queueDevicesOfLink(trx, task, link);
  });
}

async function queueDevicesOfLink(
  db: Db,
  task: SyncTaskRow,
  link: ApplicationLinkRow,
): Promise<void> {
  const deviceLinks = await listDeviceLinksOfLink(db, link.id);
  await queueDeviceTasks(db, task.organization_id, link, deviceLinks, nowIso());
}

/** Reads the object a create collided with; one we may not see is not ours to adopt. */
async function adoptable<T>(read: () => Promise<T>, refusal: () => string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof NotFound || error instanceof Forbidden)
      throw new PermanentSyncError(refusal());
    throw error;
  }
}

function deviceSpec(deps: PushDeps, device: DeviceRow, remoteId: string): DeviceSpec {
  const keys = openDeviceKeys(deps.secretBox, device);
  return {
    id: remoteId,
    description: device.description ?? device.name,
    devEui: device.dev_eui,
    activation: device.activation,
    joinEui: device.join_eui,
    devAddr: device.dev_addr,
    ...keys,
  };
}

async function pushDevice(
  deps: PushDeps,
  protocol: NetworkProtocol,
  ctx: ProtocolContext,
  task: SyncTaskRow,
): Promise<void> {
  if (task.device_id === null) return;
  const [link, deviceLink, device] = await Promise.all([
    findApplicationLink(deps.db, task.application_link_id),
    findDeviceLink(deps.db, task.device_id, task.application_link_id),
    findDeviceById(deps.db, task.device_id),
  ]);
  // Gone locally (a delete task follows), or the application is not there yet (its push
  // queues this device again once it is).
  if (link === undefined || deviceLink === undefined || device === undefined) return;
  if (link.synced_at === null) return;

  const appId = link.remote_id;
  const spec = deviceSpec(deps, device, deviceLink.remote_id);
  if (deviceLink.synced_at === null) {
    try {
      await need(protocol, 'createDevice')(ctx, appId, spec);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      const existing = await adoptable(
        () => need(protocol, 'getDevice')(ctx, appId, spec.id),
        () => `A device with DevEUI ${spec.devEui} exists elsewhere on the network.`,
      );
      if (existing.devEui !== spec.devEui) {
        throw new PermanentSyncError(
          `The network has another device (DevEUI ${existing.devEui ?? 'unknown'}) with the id ${spec.id}.`,
        );
      }
      await need(protocol, 'updateDevice')(ctx, appId, spec);
    }
  } else {
    try {
      await need(protocol, 'updateDevice')(ctx, appId, spec);
    } catch (error) {
      // Deleted on the network meanwhile: LPWAN Server is where devices are managed, so recreate it.
      if (!(error instanceof NotFound)) throw error;
      await need(protocol, 'createDevice')(ctx, appId, spec);
    }
  }
  const now = nowIso();
  await updateDeviceLink(deps.db, device.id, link.id, {
    state: 'synced',
    last_error: null,
    last_attempt_at: now,
    synced_at: now,
    updated_at: now,
  });
}
