import { randomUUID } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import type { Page, PageResult } from '../db/paging.js';
import { notFound, validationFailed } from '../http/problem.js';
import { NullableTimestamp, Timestamp } from '../http/schemas.js';
import {
  deleteApiKey as deleteApiKeyRow,
  findApiKey,
  insertApiKey,
  listApiKeys as listApiKeyRows,
} from './api-keys.repository.js';
import type { ApiKeyRow } from './api-keys.table.js';
import type { Principal } from './principal.js';
import { API_KEY_PREFIX, generateToken, hashToken } from './tokens.js';

export const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Timestamp,
    expiresAt: NullableTimestamp,
    lastUsedAt: NullableTimestamp,
  },
  { $id: 'ApiKey' },
);
export type ApiKeyView = Static<typeof ApiKeySchema>;

function toView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

/** Create a key acting as the caller. The key itself is returned here only, never again. */
export async function createApiKey(
  db: Db,
  actor: Principal,
  input: { name: string; expiresAt?: string | null },
): Promise<{ apiKey: ApiKeyView; key: string }> {
  let expiresAt: string | null = null;
  if (input.expiresAt != null) {
    const time = Date.parse(input.expiresAt);
    if (Number.isNaN(time))
      throw validationFailed([{ field: 'expiresAt', message: 'is not a date-time' }]);
    if (time <= Date.now())
      throw validationFailed([{ field: 'expiresAt', message: 'must be in the future' }]);
    expiresAt = new Date(time).toISOString();
  }
  const key = generateToken(API_KEY_PREFIX);
  const id = randomUUID();
  await insertApiKey(db, {
    id,
    organization_id: actor.user.organizationId,
    user_id: actor.user.id,
    name: input.name,
    key_hash: hashToken(key),
    created_at: nowIso(),
    expires_at: expiresAt,
    last_used_at: null,
  });
  const row = await findApiKey(db, actor.user.id, id);
  return { apiKey: toView(row!), key };
}

export async function listApiKeys(
  db: Db,
  actor: Principal,
  page: Page,
): Promise<PageResult<ApiKeyView>> {
  const { rows, total } = await listApiKeyRows(db, actor.user.id, page);
  return { items: rows.map(toView), total, ...page };
}

export async function deleteApiKey(db: Db, actor: Principal, id: string): Promise<void> {
  if (!(await deleteApiKeyRow(db, actor.user.id, id))) throw notFound('API key');
}
