import { randomUUID } from 'node:crypto';
import { isoIn, nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { AppError } from '../http/problem.js';
import { findApiKeyUser, touchApiKey } from './api-keys.repository.js';
import { verifyAgainstDummy, verifyPassword } from './passwords.js';
import { toUserView, type Principal } from './principal.js';
import {
  deleteExpiredSessions,
  deleteSessionByTokenHash,
  findSessionUser,
  insertSession,
} from './sessions.repository.js';
import { API_KEY_PREFIX, SESSION_TOKEN_PREFIX, generateToken, hashToken } from './tokens.js';
import { findUserByUsername, findUserWithOrganization } from './users.repository.js';
import type { UserView } from './users.schemas.js';

/** How often an API key's last-used time is written (not on every request). */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function signIn(
  db: Db,
  username: string,
  password: string,
  ttlMs: number,
): Promise<{ token: string; user: UserView; expiresAt: string }> {
  const row = await findUserByUsername(db, username.trim().toLowerCase());
  const ok = row
    ? await verifyPassword(row.password_hash, password)
    : await verifyAgainstDummy(password);
  if (!row || !ok) {
    // Same answer for an unknown user and a wrong password.
    throw new AppError(401, 'invalid_credentials', 'The username or password is not correct.');
  }
  const user = await findUserWithOrganization(db, row.id);
  if (!user)
    throw new AppError(401, 'invalid_credentials', 'The username or password is not correct.');

  const now = nowIso();
  await deleteExpiredSessions(db, now);
  const token = generateToken(SESSION_TOKEN_PREFIX);
  const expiresAt = isoIn(ttlMs);
  await insertSession(db, {
    id: randomUUID(),
    user_id: row.id,
    token_hash: hashToken(token),
    created_at: now,
    expires_at: expiresAt,
  });
  return { token, user: toUserView(user), expiresAt };
}

/**
 * Resolve a session token or API key to its principal and the credential's expiry (null: none);
 * undefined when not valid (any reason). `tokenHash` is `hashToken(token)`, which the caller
 * has already computed as its cache key.
 */
export async function authenticateToken(
  db: Db,
  token: string,
  tokenHash: string,
): Promise<{ principal: Principal; expiresAt: string | null } | undefined> {
  const now = nowIso();
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    const row = await findSessionUser(db, tokenHash, now);
    if (!row) return undefined;
    return {
      principal: { user: toUserView(row), via: 'session', sessionId: row.session_id },
      expiresAt: row.expires_at,
    };
  }
  if (token.startsWith(API_KEY_PREFIX)) {
    const row = await findApiKeyUser(db, tokenHash, now);
    if (!row) return undefined;
    if (
      row.last_used_at === null ||
      Date.parse(now) - Date.parse(row.last_used_at) > LAST_USED_RESOLUTION_MS
    ) {
      await touchApiKey(db, row.api_key_id, now);
    }
    return {
      principal: { user: toUserView(row), via: 'api_key', apiKeyId: row.api_key_id },
      expiresAt: row.expires_at,
    };
  }
  return undefined;
}

/** End a session for real: its row is deleted, so the token is refused from now on. */
export async function signOut(db: Db, token: string): Promise<void> {
  if (token.startsWith(SESSION_TOKEN_PREFIX)) await deleteSessionByTokenHash(db, hashToken(token));
}
