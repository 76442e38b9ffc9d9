/**
 * Tell a wrong LPWAN_SECRET_KEY at start, before any request: the database keeps a small value
 * sealed with the key in use. If the configured key ring cannot open it, the server refuses to
 * start with a message naming the key id it needs, instead of failing later on every secret.
 */
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { KeyRingError } from './key-ring.js';
import { SecretBox, SecretBoxError } from './secret-box.js';
import {
  findSystemValue,
  insertSystemValueIfAbsent,
  replaceSystemValue,
} from './system-values.repository.js';

const CHECK_NAME = 'secret_key_check';
const CHECK_PLAINTEXT = 'lpwan-server secret key check';

export type KeyCheckResult = 'created' | 'ok' | 'resealed';

export async function checkSecretKey(db: Db, box: SecretBox): Promise<KeyCheckResult> {
  const row = await findSystemValue(db, CHECK_NAME);
  if (!row) {
    await insertSystemValueIfAbsent(
      db,
      CHECK_NAME,
      box.seal(CHECK_PLAINTEXT, CHECK_NAME),
      nowIso(),
    );
    return 'created';
  }
  try {
    if (box.open(row.value, CHECK_NAME) !== CHECK_PLAINTEXT)
      throw new Error('unexpected key check value');
  } catch (error) {
    if (error instanceof SecretBoxError) {
      throw new KeyRingError(
        `LPWAN_SECRET_KEY does not match this database: ${error.message} ` +
          'Start with the key the database was set up with (current key first, older keys after it).',
      );
    }
    throw error;
  }
  if (box.isStale(row.value)) {
    // The current key changed (rotation): from now on the check expects the new key.
    await replaceSystemValue(
      db,
      CHECK_NAME,
      row.value,
      box.seal(CHECK_PLAINTEXT, CHECK_NAME),
      nowIso(),
    );
    return 'resealed';
  }
  return 'ok';
}
