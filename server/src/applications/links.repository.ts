import { compileInsert } from '../db/compiled.js';
import { sqliteConnectionOf, type Db } from '../db/database.js';
import { toCount } from '../db/paging.js';
import type {
  ApplicationLinkRow,
  ApplicationLinksTable,
  DeviceLinkRow,
  DeviceLinksTable,
  LinkState,
} from './applications.table.js';
import type { Insertable, Updateable } from 'kysely';

/**
 * Callers run it in a transaction with their other writes. What was remembered of an earlier
 * link of that remote application, or of the application on that network (see
 * rememberUnlinkedRemote), no longer applies.
 */
export async function insertApplicationLink(
  db: Db,
  row: Insertable<ApplicationLinksTable>,
): Promise<void> {
  await db
    .deleteFrom('unlinked_remotes')
    .where('network_id', '=', row.network_id)
    .where((eb) =>
      eb.or([eb('remote_id', '=', row.remote_id), eb('application_id', '=', row.application_id)]),
    )
    .execute();
  await db.insertInto('application_links').values(row).execute();
}

/**
 * Remembers, as a link ends with the application kept on the network, which application there
 * it was linked to: a pull then matches it to this application again (pull.run.ts).
 */
export async function rememberUnlinkedRemote(
  db: Db,
  link: Pick<ApplicationLinkRow, 'network_id' | 'remote_id' | 'application_id'>,
  now: string,
): Promise<void> {
  await db
    .insertInto('unlinked_remotes')
    .values({
      network_id: link.network_id,
      remote_id: link.remote_id,
      application_id: link.application_id,
      unlinked_at: now,
    })
    .execute();
}

/** The application last unlinked from `remoteId` on the network, if it is still unlinked there. */
export async function findUnlinkedRemote(
  db: Db,
  networkId: string,
  remoteId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('unlinked_remotes')
    .select('application_id')
    .where('network_id', '=', networkId)
    .where('remote_id', '=', remoteId)
    .executeTakeFirst();
  return row?.application_id;
}

export async function findApplicationLink(
  db: Db,
  id: string,
): Promise<ApplicationLinkRow | undefined> {
  return db.selectFrom('application_links').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findLinkByRemote(
  db: Db,
  networkId: string,
  remoteId: string,
): Promise<ApplicationLinkRow | undefined> {
  return db
    .selectFrom('application_links')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('remote_id', '=', remoteId)
    .executeTakeFirst();
}

/**
 * The links of an application, for a transaction that adds devices to it or links it: the
 * application's row stays locked until the transaction ends (PostgreSQL; SQLite's write
 * transactions are serial anyway). Devices added and a link created at the same time would
 * otherwise each miss the other, leaving devices never pushed to that network.
 */
export async function lockLinksOfApplication(
  trx: Db,
  applicationId: string,
): Promise<ApplicationLinkRow[]> {
  if (sqliteConnectionOf(trx) === undefined) {
    await trx
      .selectFrom('applications')
      .select('id')
      .where('id', '=', applicationId)
      .forUpdate()
      .execute();
  }
  return listLinksOfApplication(trx, applicationId);
}

export async function listLinksOfApplication(
  db: Db,
  applicationId: string,
): Promise<ApplicationLinkRow[]> {
  return db
    .selectFrom('application_links')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('created_at')
    .execute();
}

/** The organization's applications linked to the network, by their id there. */
export async function listLinksOfNetwork(
  db: Db,
  organizationId: string,
  networkId: string,
): Promise<
  { id: string; application_id: string; name: string; remote_id: string; state: LinkState }[]
> {
  return db
    .selectFrom('application_links as l')
    .innerJoin('applications as a', 'a.id', 'l.application_id')
    .select(['l.id', 'l.application_id', 'a.name', 'l.remote_id', 'l.state'])
    .where('l.network_id', '=', networkId)
    .where('a.organization_id', '=', organizationId)
    .orderBy('l.remote_id')
    .execute();
}

/** How many of each link's devices are in each state. */
export async function deviceStatesOfLinks(
  db: Db,
  linkIds: readonly string[],
): Promise<{ application_link_id: string; state: LinkState; n: number }[]> {
  if (linkIds.length === 0) return [];
  const rows = await db
    .selectFrom('device_links')
    .select(['application_link_id', 'state', (eb) => eb.fn.countAll().as('n')])
    .where('application_link_id', 'in', linkIds)
    .groupBy(['application_link_id', 'state'])
    .execute();
  return rows.map((r) => ({ ...r, n: toCount(r.n as number | string) }));
}

export async function updateApplicationLink(
  db: Db,
  id: string,
  update: Updateable<ApplicationLinksTable>,
): Promise<void> {
  await db.updateTable('application_links').set(update).where('id', '=', id).execute();
}

/** Its device links and its uplink subscription's lease go with it (foreign keys, cascading). */
export async function deleteApplicationLink(db: Db, id: string): Promise<void> {
  await db.deleteFrom('application_links').where('id', '=', id).execute();
}

/** Callers run it in a transaction with their other writes. */
export const insertDeviceLinks = compileInsert('device_links', [
  'id',
  'device_id',
  'application_link_id',
  'remote_id',
  'state',
  'last_error',
  'last_attempt_at',
  'synced_at',
  'created_at',
  'updated_at',
]);

export async function findDeviceLink(
  db: Db,
  deviceId: string,
  applicationLinkId: string,
): Promise<DeviceLinkRow | undefined> {
  return db
    .selectFrom('device_links')
    .selectAll()
    .where('device_id', '=', deviceId)
    .where('application_link_id', '=', applicationLinkId)
    .executeTakeFirst();
}

export async function listDeviceLinksOfDevice(
  db: Db,
  deviceId: string,
): Promise<(DeviceLinkRow & { network_id: string; remote_application_id: string })[]> {
  return db
    .selectFrom('device_links')
    .innerJoin('application_links', 'application_links.id', 'device_links.application_link_id')
    .selectAll('device_links')
    .select([
      'application_links.network_id',
      'application_links.remote_id as remote_application_id',
    ])
    .where('device_links.device_id', '=', deviceId)
    .orderBy('device_links.created_at')
    .execute();
}

/** The device links of one application link (device id and remote id only). */
export async function listDeviceLinksOfLink(
  db: Db,
  applicationLinkId: string,
): Promise<Pick<DeviceLinkRow, 'device_id' | 'remote_id'>[]> {
  return db
    .selectFrom('device_links')
    .select(['device_id', 'remote_id'])
    .where('application_link_id', '=', applicationLinkId)
    .execute();
}

/** Of these remote ids, those already linked under the application link, with their device. */
export async function findDeviceLinksByRemote(
  db: Db,
  applicationLinkId: string,
  remoteIds: readonly string[],
): Promise<Pick<DeviceLinkRow, 'device_id' | 'remote_id'>[]> {
  if (remoteIds.length === 0) return [];
  return db
    .selectFrom('device_links')
    .select(['device_id', 'remote_id'])
    .where('application_link_id', '=', applicationLinkId)
    .where('remote_id', 'in', remoteIds)
    .execute();
}

export async function updateDeviceLink(
  db: Db,
  deviceId: string,
  applicationLinkId: string,
  update: Updateable<DeviceLinksTable>,
): Promise<void> {
  await db
    .updateTable('device_links')
    .set(update)
    .where('device_id', '=', deviceId)
    .where('application_link_id', '=', applicationLinkId)
    .execute();
}

/** Marks every link of a device pending (it changed and is queued for each network). */
export async function markDeviceLinksPending(db: Db, deviceId: string, now: string): Promise<void> {
  await db
    .updateTable('device_links')
    .set({ state: 'pending', updated_at: now })
    .where('device_id', '=', deviceId)
    .execute();
}

/** Of these devices, those linked under the application link already (to any remote id). */
export async function findDeviceLinksByDevice(
  db: Db,
  applicationLinkId: string,
  deviceIds: readonly string[],
): Promise<Pick<DeviceLinkRow, 'device_id' | 'remote_id'>[]> {
  if (deviceIds.length === 0) return [];
  return db
    .selectFrom('device_links')
    .select(['device_id', 'remote_id'])
    .where('application_link_id', '=', applicationLinkId)
    .where('device_id', 'in', deviceIds)
    .execute();
}
