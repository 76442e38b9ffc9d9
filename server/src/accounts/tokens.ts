/**
 * Bearer credentials: 256 random bits, base64url, with a prefix that says what they are
 * (`lps_` session token, `lpk_` API key) so they are recognisable in code review and by secret
 * scanners. Only their SHA-256 is stored: a database leak does not reveal usable tokens, and a
 * fast hash is enough because the input has full entropy.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_TOKEN_PREFIX = 'lps_';
export const API_KEY_PREFIX = 'lpk_';

export function generateToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
