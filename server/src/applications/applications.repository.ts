import { compileOnce } from '../db/compiled.js';
import type { Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { ApplicationRow, ApplicationUpdate, NewApplicationRow } from './applications.table.js';

export async function insertApplication(db: Db, row: NewApplicationRow): Promise<void> {
  await db.insertInto('applications').values(row).execute();
}

/** An application of the organization; another organization's is not found. */
/** Checks access on most requests of the feature: compiled once. */
const applicationQuery = compileOnce(['organizationId', 'id'], (db, v) =>
  db
    .selectFrom('applications')
    .selectAll()
    .where('organization_id', '=', v.organizationId)
    .where('id', '=', v.id),
);

const devicesVersionQuery = compileOnce(['organizationId', 'id'], (db, v) =>
  db
    .selectFrom('applications')
    .select('devices_version')
    .where('organization_id', '=', v.organizationId)
    .where('id', '=', v.id),
);

/** The devices version of the organization's application; undefined if there is no such one. */
export async function findDevicesVersion(
  db: Db,
  organizationId: string,
  id: string,
): Promise<number | undefined> {
  const [row] = await devicesVersionQuery(db, { organizationId, id });
  return row?.devices_version;
}

export async function findApplication(
  db: Db,
  organizationId: string,
  id: string,
): Promise<ApplicationRow | undefined> {
  const [row] = await applicationQuery(db, { organizationId, id });
  return row;
}

/** Unscoped, for workers acting on stored tasks. */
export async function findApplicationById(db: Db, id: string): Promise<ApplicationRow | undefined> {
  return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listApplications(
  db: Db,
  organizationId: string,
  page: Page,
): Promise<{ rows: (ApplicationRow & { device_count: number })[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('applications')
      .selectAll('applications')
      .select((eb) =>
        eb
          .selectFrom('devices')
          .whereRef('devices.application_id', '=', 'applications.id')
          .select(eb.fn.countAll().as('n'))
          .as('device_count'),
      )
      .where('organization_id', '=', organizationId)
      .orderBy('name')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('applications')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('organization_id', '=', organizationId)
      .executeTakeFirst(),
  ]);
  return {
    rows: rows.map((r) => ({
      ...r,
      device_count: toCount((r.device_count as number | string | null) ?? 0),
    })),
    total: toCount(count?.n),
  };
}

export async function countDevicesOfApplication(db: Db, applicationId: string): Promise<number> {
  const row = await db
    .selectFrom('devices')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('application_id', '=', applicationId)
    .executeTakeFirst();
  return toCount(row?.n);
}

export async function updateApplication(
  db: Db,
  organizationId: string,
  id: string,
  update: ApplicationUpdate,
): Promise<boolean> {
  const result = await db
    .updateTable('applications')
    .set(update)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteApplication(
  db: Db,
  organizationId: string,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('applications')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
