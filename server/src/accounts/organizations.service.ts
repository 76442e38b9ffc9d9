import { randomUUID } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Page, PageResult } from '../db/paging.js';
import { conflict, notFound } from '../http/problem.js';
import { Timestamp } from '../http/schemas.js';
import { deleteUplinksOfOrganization } from '../uplinks/uplinks.repository.js';
import {
  deleteOrganization as deleteOrganizationRow,
  findOrganization,
  insertOrganization,
  listOrganizations as listOrganizationRows,
  updateOrganization as updateOrganizationRow,
} from './organizations.repository.js';
import type { OrganizationRow } from './organizations.table.js';

export const OrganizationSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    isSystem: Type.Boolean({ description: 'The organization of the system administrators' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Organization' },
);
export type OrganizationView = Static<typeof OrganizationSchema>;

function toView(row: OrganizationRow): OrganizationView {
  return {
    id: row.id,
    name: row.name,
    isSystem: row.kind === 'system',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const nameTaken = () => conflict('An organization with that name exists.', 'name_taken');

export async function createOrganization(
  db: Db,
  name: string,
  kind: 'system' | 'tenant' = 'tenant',
): Promise<OrganizationView> {
  const now = nowIso();
  const id = randomUUID();
  try {
    await insertOrganization(db, { id, name, kind, created_at: now, updated_at: now });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
  return getOrganization(db, id);
}

export async function getOrganization(db: Db, id: string): Promise<OrganizationView> {
  const row = await findOrganization(db, id);
  if (!row) throw notFound('organization');
  return toView(row);
}

export async function listOrganizations(db: Db, page: Page): Promise<PageResult<OrganizationView>> {
  const { rows, total } = await listOrganizationRows(db, page);
  return { items: rows.map(toView), total, ...page };
}

export async function renameOrganization(
  db: Db,
  id: string,
  name: string,
): Promise<OrganizationView> {
  try {
    if (!(await updateOrganizationRow(db, id, { name, updated_at: nowIso() })))
      throw notFound('organization');
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
  return getOrganization(db, id);
}

/** Deletes the organization with its users, API keys and networks. The system one stays. */
export async function deleteOrganization(db: Db, id: string): Promise<void> {
  const row = await findOrganization(db, id);
  if (!row) throw notFound('organization');
  if (row.kind === 'system') {
    throw conflict('The system organization cannot be deleted.', 'system_organization');
  }
  await db.transaction().execute(async (trx) => {
    await deleteUplinksOfOrganization(trx, id);
    await deleteOrganizationRow(trx, id);
  });
}
