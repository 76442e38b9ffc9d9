import { sql } from 'kysely';
import { compileInsert } from '../db/compiled.js';
import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { DeviceRow, DeviceUpdate } from './applications.table.js';
import { EUI_SEPARATORS } from './device-fields.js';

/**
 * Every write to devices goes through this file (and `touchDevices` of the uplinks feature) and
 * raises `applications.devices_version` of the applications concerned, in the caller's
 * transaction: the device list answers are cached by that version (device-page-cache.ts).
 */
async function devicesChanged(db: Db, applicationIds: readonly string[]): Promise<void> {
  if (applicationIds.length === 0) return;
  await db
    .updateTable('applications')
    .set((eb) => ({ devices_version: eb('devices_version', '+', 1) }))
    .where('id', 'in', applicationIds)
    .execute();
}

/** Raises the devices version of the applications that own these devices. */
export async function devicesChangedById(db: Db, deviceIds: readonly string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await db
    .updateTable('applications')
    .set((eb) => ({ devices_version: eb('devices_version', '+', 1) }))
    .where('id', 'in', (eb) =>
      eb.selectFrom('devices').select('application_id').where('id', 'in', deviceIds),
    )
    .execute();
}

const insertDeviceRows = compileInsert('devices', [
  'id',
  'organization_id',
  'application_id',
  'name',
  'description',
  'dev_eui',
  'activation',
  'join_eui',
  'app_key_sealed',
  'dev_addr',
  'nwk_s_key_sealed',
  'app_s_key_sealed',
  'last_seen_at',
  'created_at',
  'updated_at',
]);

/** Callers run it in a transaction with their other writes. */
export async function insertDevices(trx: Db, rows: readonly DeviceRow[]): Promise<void> {
  await insertDeviceRows(trx, rows);
  await devicesChanged(trx, [...new Set(rows.map((r) => r.application_id))]);
}

export async function findDevice(
  db: Db,
  organizationId: string,
  applicationId: string,
  id: string,
): Promise<DeviceRow | undefined> {
  return db
    .selectFrom('devices')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('application_id', '=', applicationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Unscoped, for workers acting on stored tasks. */
export async function findDeviceById(db: Db, id: string): Promise<DeviceRow | undefined> {
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Columns a device list shows: no sealed keys leave the database for a list. */
const LIST_COLUMNS = [
  'id',
  'application_id',
  'name',
  'description',
  'dev_eui',
  'activation',
  'join_eui',
  'dev_addr',
  'last_seen_at',
  'created_at',
  'updated_at',
] as const;

export type DeviceListRow = Pick<DeviceRow, (typeof LIST_COLUMNS)[number]>;

export interface DeviceFilter {
  /** Part of the name or of the DevEUI, in any case. */
  search?: string;
  /** Devices in this state on at least one network. */
  syncState?: 'pending' | 'error';
}

/** A page of an application's devices by name, optionally only those that match `filter`. */
export async function listDevices(
  db: Db,
  organizationId: string,
  applicationId: string,
  page: Page,
  { search, syncState }: DeviceFilter,
): Promise<{ rows: DeviceListRow[]; total: number }> {
  let base = db
    .selectFrom('devices')
    .where('organization_id', '=', organizationId)
    .where('application_id', '=', applicationId);
  if (syncState !== undefined) {
    base = base.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('device_links')
          .select('device_links.id')
          .whereRef('device_links.device_id', '=', 'devices.id')
          .where('device_links.state', '=', syncState),
      ),
    );
  }
  if (search !== undefined && search !== '') {
    // The search text is matched literally: its % and _ are escaped with a backslash, which
    // PostgreSQL takes as the escape by default and SQLite only when told (ESCAPE).
    const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // DevEUIs are stored bare and upper-case; they are searched as they are typed (70:b3).
    const eui = search.replace(EUI_SEPARATORS, '').toUpperCase();
    base = base.where(
      eui === ''
        ? sql<boolean>`lower(${sql.ref('name')}) like lower(${like(search)}) escape '\\'`
        : sql<boolean>`(lower(${sql.ref('name')}) like lower(${like(search)}) escape '\\' or ${sql.ref('dev_eui')} like ${like(eui)} escape '\\')`,
    );
  }
  const rows = await base
    .select(LIST_COLUMNS)
    .orderBy('name')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  // A first page that is not full is the whole list: no need to count.
  if (page.offset === 0 && rows.length < page.limit) return { rows, total: rows.length };
  const count = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return { rows, total: toCount(count?.n) };
}

/** The organization's devices with one of these DevEUIs. */
export async function findDevicesByEui(
  db: Db,
  organizationId: string,
  devEuis: readonly string[],
): Promise<Pick<DeviceRow, 'id' | 'application_id' | 'dev_eui' | 'name'>[]> {
  if (devEuis.length === 0) return [];
  return db
    .selectFrom('devices')
    .select(['id', 'application_id', 'dev_eui', 'name'])
    .where('organization_id', '=', organizationId)
    .where('dev_eui', 'in', devEuis)
    .execute();
}

export async function listDeviceEuisOfApplication(
  db: Db,
  applicationId: string,
): Promise<Pick<DeviceRow, 'id' | 'dev_eui'>[]> {
  return db
    .selectFrom('devices')
    .select(['id', 'dev_eui'])
    .where('application_id', '=', applicationId)
    .execute();
}

/** Callers run it in a transaction with their other writes. */
export async function updateDevice(db: Db, id: string, update: DeviceUpdate): Promise<void> {
  await db.updateTable('devices').set(update).where('id', '=', id).execute();
  await devicesChangedById(db, [id]);
}

/** Callers run it in a transaction with their other writes. */
export async function deleteDevice(db: Db, id: string): Promise<void> {
  await devicesChangedById(db, [id]);
  await db.deleteFrom('devices').where('id', '=', id).execute();
}
