/**
 * Secrets at rest: AES-256-GCM with a key ring.
 *
 * Sealed form (one string, safe for a text column): `v1.<keyId>.<iv>.<ciphertext+tag>` with
 * base64url parts. The associated data binds a ciphertext to its place (e.g. a network id and
 * field name), so a value copied into another row does not decrypt.
 * @see NIST SP 800-38D (GCM): 96-bit random IV, 128-bit tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './key-ring.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * IVs drawn per call to the random generator. A call costs far more than the bytes it returns
 * (2–8 µs for 12 bytes, most of the time of a seal), so IVs are cut from one block of random
 * bytes; each slice is used once, so IVs stay as random and as unique as before.
 */
const IVS_PER_BLOCK = 1024;

export type SecretBoxErrorCode = 'secret_key_unknown' | 'secret_undecryptable' | 'secret_malformed';

export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

export class SecretBox {
  private ivBlock = Buffer.alloc(0);
  private ivOffset = 0;

  constructor(private readonly ring: KeyRing) {}

  get currentKeyId(): string {
    return this.ring.current.id;
  }

  seal(plaintext: string, associatedData: string): string {
    const { id, key } = this.ring.current;
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return [VERSION, id, iv.toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, associatedData: string): string {
    const { keyId, iv, body } = parse(sealed);
    const secretKey = this.ring.byId.get(keyId);
    if (secretKey === undefined) {
      throw new SecretBoxError(
        'secret_key_unknown',
        `A stored secret was encrypted with key id ${keyId}, which is not in LPWAN_SECRET_KEY ` +
          `(configured: ${[...this.ring.byId.keys()].join(', ')}). Configure the key it was encrypted with.`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', secretKey.key, iv, {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(body.subarray(0, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'secret_undecryptable',
        `A stored secret (key id ${keyId}) failed authentication: it was altered or belongs to another record.`,
      );
    }
  }

  private nextIv(): Buffer {
    if (this.ivOffset === this.ivBlock.length) {
      this.ivBlock = randomBytes(IV_BYTES * IVS_PER_BLOCK);
      this.ivOffset = 0;
    }
    return this.ivBlock.subarray(this.ivOffset, (this.ivOffset += IV_BYTES));
  }

  /** True when the value was sealed with an older key and should be re-sealed on next write. */
  isStale(sealed: string): boolean {
    return parse(sealed).keyId !== this.ring.current.id;
  }
}

function parse(sealed: string): { keyId: string; iv: Buffer; body: Buffer } {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) {
    throw new SecretBoxError(
      'secret_malformed',
      'A stored secret is not in the expected sealed format.',
    );
  }
  const iv = Buffer.from(parts[2]!, 'base64url');
  const body = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
    throw new SecretBoxError(
      'secret_malformed',
      'A stored secret is not in the expected sealed format.',
    );
  }
  return { keyId: parts[1]!, iv, body };
}
