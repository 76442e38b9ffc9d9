/**
 * The key ring for secrets at rest: one current key (encrypts) and older keys (still decrypt).
 *
 * LPWAN_SECRET_KEY holds one or more base64-encoded 32-byte keys separated by commas, the
 * current key first. Each key's id is derived from the key itself (a short SHA-256 fingerprint)
 * and stored with every encrypted value, so a wrong or missing key is named as such instead of
 * producing garbage, and keys can rotate without re-encrypting everything at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';

export interface SecretKey {
  /** 8 hex characters; public (stored next to each ciphertext). */
  id: string;
  key: Buffer;
}

export interface KeyRing {
  current: SecretKey;
  byId: ReadonlyMap<string, SecretKey>;
}

export type KeyRingSource = 'environment' | 'key-file' | 'generated-key-file' | 'ephemeral';

export class KeyRingError extends Error {
  readonly code = 'secret_key_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
}

export const KEY_FILE_NAME = 'lpwan-secret.key';

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('lpwan-secret-key-id\0').update(key).digest('hex').slice(0, 8);
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

/** Parse "base64[,base64…]" (current key first). Never includes key material in errors. */
export function parseKeyRing(raw: string, origin = 'LPWAN_SECRET_KEY'): KeyRing {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new KeyRingError(`${origin} is empty`);
  const keys = parts.map((part, index) => {
    const key = Buffer.from(part, 'base64');
    // Buffer.from ignores bad characters; re-encoding catches typos and truncation.
    if (
      key.length !== 32 ||
      key.toString('base64').replace(/=+$/, '') !== part.replace(/=+$/, '')
    ) {
      throw new KeyRingError(
        `${origin}: key ${index + 1} is not base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)`,
      );
    }
    return { id: keyIdOf(key), key };
  });
  return { current: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}

export interface LoadedKeyRing {
  ring: KeyRing;
  source: KeyRingSource;
  /** The key file used or generated, if any. */
  keyFile?: string;
}

/**
 * Where the keys come from:
 * - LPWAN_SECRET_KEY when set;
 * - otherwise, on SQLite only, a key file next to the database file (generated with mode 0600
 *   on first start) — the embedded default needs no setup;
 * - on PostgreSQL, no key means refusing to start: several instances must share one key, and
 *   a generated one would live on a single machine.
 */
export async function loadKeyRing(config: Config): Promise<LoadedKeyRing> {
  if (config.secretKeys !== undefined) {
    return { ring: parseKeyRing(config.secretKeys), source: 'environment' };
  }
  if (config.database.dialect === 'postgres') {
    throw new KeyRingError(
      'LPWAN_SECRET_KEY is required with PostgreSQL (base64 of 32 bytes; generate one with: openssl rand -base64 32)',
    );
  }
  if (config.database.file === ':memory:') {
    return { ring: parseKeyRing(generateKey()), source: 'ephemeral' };
  }
  const keyFile = path.join(path.dirname(config.database.file), KEY_FILE_NAME);
  try {
    const content = await readFile(keyFile, 'utf8');
    const info = await stat(keyFile);
    if ((info.mode & 0o077) !== 0 && process.platform !== 'win32') {
      throw new KeyRingError(`${keyFile} is readable by other users; run: chmod 600 ${keyFile}`);
    }
    return { ring: parseKeyRing(content, keyFile), source: 'key-file', keyFile };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path.dirname(keyFile), { recursive: true });
  // 'wx': never overwrite a key another process just wrote.
  await writeFile(keyFile, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
  const content = await readFile(keyFile, 'utf8');
  return { ring: parseKeyRing(content, keyFile), source: 'generated-key-file', keyFile };
}
