/**
 * First start: make sure the system organization exists, and create the system administrator
 * `admin` when there are no users at all (password from LPWAN_ADMIN_PASSWORD, else random and
 * printed once by the caller). `lpwan-server create-admin` uses the same functions on demand.
 */
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { findSystemOrganization } from './organizations.repository.js';
import { createOrganization } from './organizations.service.js';
import { generatePassword, hashPassword } from './passwords.js';
import { deleteOtherSessions } from './sessions.repository.js';
import { countUsers, findUserByUsername, updateUser } from './users.repository.js';
import { createUserDirect } from './users.service.js';

export const SYSTEM_ORGANIZATION_NAME = 'System';
export const DEFAULT_ADMIN_USERNAME = 'admin';

export async function ensureSystemOrganization(db: Db): Promise<string> {
  const existing = await findSystemOrganization(db);
  if (existing) return existing.id;
  try {
    return (await createOrganization(db, SYSTEM_ORGANIZATION_NAME, 'system')).id;
  } catch (error) {
    // Another instance created it at the same moment.
    const raced = await findSystemOrganization(db);
    if (raced && (isUniqueViolation(error) || (error as { code?: string }).code === 'name_taken'))
      return raced.id;
    throw error;
  }
}

export interface CreatedAdmin {
  username: string;
  /** Set only when the password was generated (the caller shows it once). */
  generatedPassword?: string;
}

/** On a start with no users: create `admin`. Returns undefined when users already exist. */
export async function ensureFirstAdmin(
  db: Db,
  password: string | undefined,
): Promise<CreatedAdmin | undefined> {
  await ensureSystemOrganization(db);
  if ((await countUsers(db)) > 0) return undefined;
  try {
    return await createSystemAdmin(db, DEFAULT_ADMIN_USERNAME, password);
  } catch (error) {
    if (isUniqueViolation(error)) return undefined; // created concurrently by another instance
    throw error;
  }
}

export async function createSystemAdmin(
  db: Db,
  username: string,
  password: string | undefined,
): Promise<CreatedAdmin> {
  const organizationId = await ensureSystemOrganization(db);
  const actual = password ?? generatePassword();
  await createUserDirect(db, { username, password: actual, role: 'admin', organizationId });
  return password === undefined ? { username, generatedPassword: actual } : { username };
}

/** For `create-admin --reset-password`: give an existing user a new password. */
export async function resetPassword(
  db: Db,
  username: string,
  password: string | undefined,
): Promise<CreatedAdmin> {
  const user = await findUserByUsername(db, username);
  if (!user) throw new Error(`No user named ${username}`);
  const actual = password ?? generatePassword();
  await updateUser(db, user.id, {
    password_hash: await hashPassword(actual),
    updated_at: nowIso(),
  });
  await deleteOtherSessions(db, user.id);
  return password === undefined ? { username, generatedPassword: actual } : { username };
}
