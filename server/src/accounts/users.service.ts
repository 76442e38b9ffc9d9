import { randomUUID } from 'node:crypto';
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Page, PageResult } from '../db/paging.js';
import { AppError, conflict, forbidden, notFound, validationFailed } from '../http/problem.js';
import { findOrganization } from './organizations.repository.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { toUserView, type Principal } from './principal.js';
import { deleteOtherSessions } from './sessions.repository.js';
import {
  deleteUser as deleteUserRow,
  findUserPasswordHash,
  findUserWithOrganization,
  insertUser,
  listUsersWithOrganization,
  updateUser as updateUserRow,
} from './users.repository.js';
import type { UserView } from './users.schemas.js';
import type { UserUpdate } from './users.table.js';

export interface NewUser {
  username: string;
  password: string;
  role: 'admin' | 'member';
  organizationId?: string;
}

/**
 * Which organization an admin acts on: their own, or — for system administrators only — the one
 * they name. Organization admins naming another organization get 403.
 */
function targetOrganization(actor: Principal, organizationId: string | undefined): string {
  if (organizationId === undefined || organizationId === actor.user.organizationId) {
    return actor.user.organizationId;
  }
  if (!actor.user.isSystemAdmin) {
    throw forbidden('Organization administrators manage users of their own organization only.');
  }
  return organizationId;
}

/** Load a user the actor may manage; another organization's user is a 404 (unless system admin). */
async function visibleUser(db: Db, actor: Principal, id: string): Promise<UserView> {
  const row = await findUserWithOrganization(db, id);
  if (!row) throw notFound('user');
  const user = toUserView(row);
  if (!actor.user.isSystemAdmin && user.organizationId !== actor.user.organizationId)
    throw notFound('user');
  return user;
}

export async function createUser(db: Db, actor: Principal, input: NewUser): Promise<UserView> {
  const organizationId = targetOrganization(actor, input.organizationId);
  if (!(await findOrganization(db, organizationId))) throw notFound('organization');
  const id = randomUUID();
  const now = nowIso();
  try {
    await insertUser(db, {
      id,
      organization_id: organizationId,
      username: input.username,
      password_hash: await hashPassword(input.password),
      role: input.role,
      created_at: now,
      updated_at: now,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('That username is taken.', 'username_taken');
    throw error;
  }
  return visibleUser(db, actor, id);
}

export async function createUserDirect(db: Db, input: Required<NewUser>): Promise<string> {
  const id = randomUUID();
  const now = nowIso();
  await insertUser(db, {
    id,
    organization_id: input.organizationId,
    username: input.username,
    password_hash: await hashPassword(input.password),
    role: input.role,
    created_at: now,
    updated_at: now,
  });
  return id;
}

export async function listUsers(
  db: Db,
  actor: Principal,
  organizationId: string | undefined,
  page: Page,
): Promise<PageResult<UserView>> {
  const scope = targetOrganization(actor, organizationId);
  const { rows, total } = await listUsersWithOrganization(db, { organizationId: scope }, page);
  return { items: rows.map(toUserView), total, ...page };
}

export async function getUser(db: Db, actor: Principal, id: string): Promise<UserView> {
  return visibleUser(db, actor, id);
}

export interface UserPatch {
  username?: string;
  password?: string;
  role?: 'admin' | 'member';
}

export async function updateUser(
  db: Db,
  actor: Principal,
  id: string,
  patch: UserPatch,
): Promise<UserView> {
  const user = await visibleUser(db, actor, id);
  if (patch.role !== undefined && patch.role !== user.role && user.id === actor.user.id) {
    // Prevents an admin from locking everybody (and themselves) out by accident.
    throw conflict('You cannot change your own role.', 'cannot_change_own_role');
  }
  const update: UserUpdate = { updated_at: nowIso() };
  if (patch.username !== undefined) update.username = patch.username;
  if (patch.role !== undefined) update.role = patch.role;
  if (patch.password !== undefined) update.password_hash = await hashPassword(patch.password);
  try {
    await updateUserRow(db, id, update);
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('That username is taken.', 'username_taken');
    throw error;
  }
  if (patch.password !== undefined) {
    // A new password ends the user's other sessions (but not the caller's own).
    await deleteOtherSessions(db, id, user.id === actor.user.id ? actor.sessionId : undefined);
  }
  return visibleUser(db, actor, id);
}

export async function deleteUser(db: Db, actor: Principal, id: string): Promise<void> {
  const user = await visibleUser(db, actor, id);
  if (user.id === actor.user.id) {
    throw new AppError(409, 'cannot_delete_self', 'You cannot delete your own account.');
  }
  await deleteUserRow(db, id);
}

/**
 * Any user changes their own password, proving the current one. Ends their other sessions
 * (the one making the change stays signed in).
 */
export async function changeOwnPassword(
  db: Db,
  actor: Principal,
  currentPassword: string,
  newPassword: string,
): Promise<void> {
  const hash = await findUserPasswordHash(db, actor.user.id);
  if (hash === undefined || !(await verifyPassword(hash, currentPassword))) {
    // 400, not 401: the caller is signed in; only this field is wrong.
    throw validationFailed([{ field: 'currentPassword', message: 'is not correct' }]);
  }
  await updateUserRow(db, actor.user.id, {
    password_hash: await hashPassword(newPassword),
    updated_at: nowIso(),
  });
  await deleteOtherSessions(db, actor.user.id, actor.sessionId);
}
