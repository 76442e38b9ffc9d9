import { afterAll, describe, expect, it } from 'vitest';
import { checkSecretKey } from '../src/crypto/key-check.js';
import { KeyRingError, generateKey, keyIdOf, parseKeyRing } from '../src/crypto/key-ring.js';
import { SecretBox, SecretBoxError } from '../src/crypto/secret-box.js';
import { readNetworkSettings } from '../src/networks/networks.service.js';
import { startTestApp } from './harness/app.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from './harness/database.js';

describe('secret box', () => {
  const keyA = generateKey();
  const keyB = generateKey();

  it('seals and opens; the sealed form names the key and hides the value', () => {
    const box = new SecretBox(parseKeyRing(keyA));
    const sealed = box.seal('my client secret', 'networks/1/settings/clientSecret');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed.split('.')[1]).toBe(keyIdOf(Buffer.from(keyA, 'base64')));
    expect(sealed).not.toContain('my client secret');
    expect(box.open(sealed, 'networks/1/settings/clientSecret')).toBe('my client secret');
    // Random IVs: the same value seals differently each time.
    expect(box.seal('x', 'ad')).not.toBe(box.seal('x', 'ad'));
  });

  it('IVs are never repeated, also across the blocks of random bytes they are cut from', () => {
    const box = new SecretBox(parseKeyRing(keyA));
    const sealed = Array.from({ length: 3000 }, (_, i) => box.seal(`value ${i}`, `ad ${i}`));
    expect(new Set(sealed.map((s) => s.split('.')[2])).size).toBe(sealed.length);
    sealed.forEach((s, i) => expect(box.open(s, `ad ${i}`)).toBe(`value ${i}`));
  });

  it('a wrong key fails with a clear, typed error instead of garbage', () => {
    const sealed = new SecretBox(parseKeyRing(keyA)).seal('value', 'ad');
    const wrong = new SecretBox(parseKeyRing(keyB));
    expect(() => wrong.open(sealed, 'ad')).toThrow(SecretBoxError);
    try {
      wrong.open(sealed, 'ad');
    } catch (error) {
      expect((error as SecretBoxError).code).toBe('secret_key_unknown');
      expect((error as Error).message).toContain(keyIdOf(Buffer.from(keyA, 'base64')));
      expect((error as Error).message).not.toContain(keyA);
    }
  });

  it('other associated data or a changed byte fails authentication', () => {
    const box = new SecretBox(parseKeyRing(keyA));
    const sealed = box.seal('value', 'networks/1/settings/clientSecret');
    expect(() => box.open(sealed, 'networks/2/settings/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret_undecryptable' }),
    );
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = body[0]! ^ 1;
    const tampered = [...parts.slice(0, 3), body.toString('base64url')].join('.');
    expect(() => box.open(tampered, 'networks/1/settings/clientSecret')).toThrow(
      expect.objectContaining({ code: 'secret_undecryptable' }),
    );
    expect(() => box.open('plain text', 'ad')).toThrow(
      expect.objectContaining({ code: 'secret_malformed' }),
    );
  });

  it('rotation: the new key seals, old keys still open', () => {
    const old = new SecretBox(parseKeyRing(keyA)).seal('value', 'ad');
    const rotated = new SecretBox(parseKeyRing(`${keyB},${keyA}`));
    expect(rotated.open(old, 'ad')).toBe('value');
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.seal('value', 'ad'))).toBe(false);
  });

  it('rejects keys that are not base64 of 32 bytes, without echoing them', () => {
    for (const bad of ['', 'short', Buffer.alloc(16).toString('base64'), `${keyA},not*base64`]) {
      expect(() => parseKeyRing(bad)).toThrow(KeyRingError);
    }
    try {
      parseKeyRing('c2VjcmV0LWJ1dC10b28tc2hvcnQ=');
    } catch (error) {
      expect((error as Error).message).not.toContain('c2VjcmV0');
    }
  });
});

describe.each(DIALECTS)('a wrong LPWAN_SECRET_KEY on an existing database (%s)', (dialect) => {
  let database: TestDatabase;
  afterAll(async () => database?.drop());

  it('refuses to start with a clear error; the right key works; rotation keeps old secrets readable', async () => {
    database = await createTestDatabase(dialect);
    const rightKey = generateKey();
    const first = await startTestApp(dialect, { database, secretKey: rightKey });
    const admin = await first.signIn(first.adminUsername, first.adminPassword);
    const created = await first.request('POST', '/api/networks', {
      token: admin.token,
      body: {
        name: 'n',
        protocolId: 'ttn-v2',
        settings: { clientId: 'c', clientSecret: 'the-secret' },
      },
    });
    const networkId = created.json().id as string;
    await first.close();

    const wrongKey = generateKey();
    const error = await startTestApp(dialect, { database, secretKey: wrongKey }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeyRingError);
    expect((error as Error).message).toMatch(/LPWAN_SECRET_KEY does not match this database/);
    expect((error as Error).message).toContain(keyIdOf(Buffer.from(rightKey, 'base64')));
    expect((error as Error).message).not.toContain(rightKey);
    expect((error as Error).message).not.toContain(wrongKey);

    // Rotation: new key first, the old one after it.
    const rotated = await startTestApp(dialect, { database, secretKey: `${wrongKey},${rightKey}` });
    expect((await readNetworkSettings(rotated, networkId))?.settings.clientSecret).toBe(
      'the-secret',
    );
    await rotated.close();

    // Reading a secret with only the new key names the missing key.
    const onlyNew = new SecretBox(parseKeyRing(wrongKey));
    const again = await startTestApp(dialect, { database, secretKey: `${wrongKey},${rightKey}` });
    await expect(
      readNetworkSettings({ db: again.db, secretBox: onlyNew }, networkId),
    ).rejects.toMatchObject({
      code: 'secret_key_unknown',
    });
    // The key check now expects the new key.
    expect(await checkSecretKey(again.db, onlyNew)).toBe('ok');
    await again.close();
  });
});
