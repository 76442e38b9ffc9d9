/** Applications of an organization; changes are queued for every network the application is linked to. */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Page, PageResult } from '../db/paging.js';
import { notFound, validationFailed } from '../http/problem.js';
import { deleteUplinksOfApplication } from '../uplinks/uplinks.repository.js';
import type { ApplicationRow } from './applications.table.js';
import {
  countDevicesOfApplication,
  deleteApplication as deleteApplicationRow,
  findApplication,
  insertApplication,
  listApplications as listApplicationRows,
  updateApplication as updateApplicationRow,
} from './applications.repository.js';
import type { ApplicationView } from './applications.schemas.js';
import { listLinksOfApplication } from './links.repository.js';
import { queueTask } from './sync/enqueue.js';
import { dropTasksOf } from './sync/tasks.repository.js';

export interface ApplicationFields {
  name: string;
  description?: string | null;
  reportingUrl?: string | null;
}

function toView(row: ApplicationRow, deviceCount: number): ApplicationView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    reportingUrl: row.reporting_url,
    deviceCount,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkReportingUrl(url: string | null | undefined): void {
  if (url === undefined || url === null || url === '') return;
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw validationFailed([{ field: 'reportingUrl', message: 'must be an http or https URL' }]);
  }
  // Members read the URL; a password in it would be theirs to read. Deliveries are signed
  // with the application's reporting secret instead.
  if (parsed.username !== '' || parsed.password !== '') {
    throw validationFailed([
      {
        field: 'reportingUrl',
        message: 'must not contain a user name or password (deliveries are signed instead)',
      },
    ]);
  }
}

const blankToNull = (value: string | null | undefined) =>
  value === undefined ? undefined : value === null || value.trim() === '' ? null : value.trim();

/** The application of the caller's organization, or 404. */
export async function requireApplication(
  db: Db,
  actor: Principal,
  id: string,
): Promise<ApplicationRow> {
  const row = await findApplication(db, actor.user.organizationId, id);
  if (row === undefined) throw notFound('application');
  return row;
}

export async function createApplication(
  db: Db,
  actor: Principal,
  input: ApplicationFields,
): Promise<ApplicationView> {
  checkReportingUrl(input.reportingUrl);
  const now = nowIso();
  const row: ApplicationRow = {
    id: randomUUID(),
    organization_id: actor.user.organizationId,
    name: input.name.trim(),
    description: blankToNull(input.description) ?? null,
    reporting_url: blankToNull(input.reportingUrl) ?? null,
    reporting_secret_sealed: null,
    devices_version: 0,
    created_at: now,
    updated_at: now,
  };
  if (row.name === '') throw validationFailed([{ field: 'name', message: 'must not be blank' }]);
  await insertApplication(db, row);
  return toView(row, 0);
}

export async function getApplication(
  db: Db,
  actor: Principal,
  id: string,
): Promise<ApplicationView> {
  const row = await requireApplication(db, actor, id);
  return toView(row, await countDevicesOfApplication(db, id));
}

export async function listApplications(
  db: Db,
  actor: Principal,
  page: Page,
): Promise<PageResult<ApplicationView>> {
  const { rows, total } = await listApplicationRows(db, actor.user.organizationId, page);
  return { items: rows.map((r) => toView(r, r.device_count)), total, ...page };
}

/** A new name is pushed to every linked network. */
export async function updateApplication(
  db: Db,
  actor: Principal,
  id: string,
  patch: Partial<ApplicationFields>,
): Promise<ApplicationView> {
  const current = await requireApplication(db, actor, id);
  checkReportingUrl(patch.reportingUrl);
  const name = patch.name?.trim();
  if (name === '') throw validationFailed([{ field: 'name', message: 'must not be blank' }]);
  const now = nowIso();
  await db.transaction().execute(async (trx) => {
    await updateApplicationRow(trx, actor.user.organizationId, id, {
      ...(name !== undefined ? { name } : {}),
      ...(patch.description !== undefined ? { description: blankToNull(patch.description) } : {}),
      ...(patch.reportingUrl !== undefined
        ? { reporting_url: blankToNull(patch.reportingUrl) }
        : {}),
      updated_at: now,
    });
    if (name === undefined || name === current.name) return;
    for (const link of await listLinksOfApplication(trx, id)) {
      await queueTask(trx, 'application', taskTargetOf(actor, link), now);
    }
  });
  return getApplication(db, actor, id);
}

/** Deletes the application here and queues its deletion on every linked network. */
export async function deleteApplication(db: Db, actor: Principal, id: string): Promise<void> {
  await requireApplication(db, actor, id);
  const now = nowIso();
  await db.transaction().execute(async (trx) => {
    for (const link of await listLinksOfApplication(trx, id)) {
      await dropTasksOf(trx, { applicationLinkId: link.id });
      await queueTask(trx, 'delete_application', taskTargetOf(actor, link), now);
    }
    await deleteUplinksOfApplication(trx, id);
    await deleteApplicationRow(trx, actor.user.organizationId, id);
  });
}

/** What a sync task of the application link acts on. */
export function taskTargetOf(
  actor: Principal,
  link: { id: string; network_id: string; remote_id: string },
) {
  return {
    organizationId: actor.user.organizationId,
    networkId: link.network_id,
    applicationLinkId: link.id,
    remoteApplicationId: link.remote_id,
  };
}
