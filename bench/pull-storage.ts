/**
 * What storing a pull's devices costs on its own, without the network: the server's own code
 * builds the rows of `count` new OTAA devices (fields checked, AppKey sealed, as a pull builds
 * them) and stores them with their device links in a fresh SQLite database, a transaction per
 * page, as a pull stores them. It shows where a pull's time goes beyond the floor.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeviceLinkRow, DeviceRow } from '../server/src/applications/applications.table.js';
import { checkDeviceFields } from '../server/src/applications/device-fields.js';
import { insertDevices } from '../server/src/applications/devices.repository.js';
import { deviceRow, remoteDeviceId } from '../server/src/applications/devices.service.js';
import { insertDeviceLinks } from '../server/src/applications/links.repository.js';
import { importedDeviceLink } from '../server/src/applications/pull/pull.run.js';
import { generateKey, parseKeyRing } from '../server/src/crypto/key-ring.js';
import { SecretBox } from '../server/src/crypto/secret-box.js';
import { createDatabase } from '../server/src/db/database.js';
import { migrateToLatest } from '../server/src/db/migrate.js';

export interface StorageFigures {
  /** Checking the fields and sealing the AppKey of every device, building its rows. */
  buildMs: number;
  /** Inserting the devices and their links, a transaction per page. */
  storeMs: number;
}

export async function storeAlone(count: number, pageSize: number): Promise<StorageFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lpwan-bench-store-'));
  const db = createDatabase({
    dialect: 'sqlite',
    file: path.join(dir, 'lpwan.db'),
    synchronous: 'normal',
  });
  try {
    await migrateToLatest(db);
    const now = new Date().toISOString();
    const ids = { organization: randomUUID(), network: randomUUID(), application: randomUUID() };
    const link = randomUUID();
    await db
      .insertInto('organizations')
      .values({
        id: ids.organization,
        name: 'bench',
        kind: 'tenant',
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('networks')
      .values({
        id: ids.network,
        organization_id: ids.organization,
        protocol_id: 'ttn-v2',
        name: 'bench',
        settings_json: '{}',
        secrets_json: '{}',
        status: 'authorized',
        status_message: null,
        linked_account_username: null,
        linked_account_email: null,
        token_expires_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('applications')
      .values({
        id: ids.application,
        organization_id: ids.organization,
        name: 'bench',
        description: null,
        reporting_url: null,
        reporting_secret_sealed: null,
        devices_version: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('application_links')
      .values({
        id: link,
        application_id: ids.application,
        network_id: ids.network,
        remote_id: 'bench-fleet',
        state: 'synced',
        last_error: null,
        last_attempt_at: now,
        synced_at: now,
        access_key_sealed: null,
        created_at: now,
        updated_at: now,
      })
      .execute();

    // The fields as a network sends them (EUIs and keys in hex), drawn before the clock starts.
    const remote = Array.from({ length: count }, (_, i) => ({
      name: `device-${i}`,
      devEui: (0x0004a30b00000000n + BigInt(i)).toString(16).padStart(16, '0'),
      activation: 'otaa',
      joinEui: '70b3d57ed0000000',
      appKey: randomBytes(16).toString('hex'),
    }));
    const secretBox = new SecretBox(parseKeyRing(generateKey()));
    const application = { id: ids.application, organization_id: ids.organization };

    const building = performance.now();
    const pages: { devices: DeviceRow[]; links: DeviceLinkRow[] }[] = [];
    for (let at = 0; at < count; at += pageSize) {
      const devices = remote.slice(at, at + pageSize).map((fields) => {
        const { device } = checkDeviceFields(fields);
        if (device === undefined) throw new Error(`bench device ${fields.name} is invalid`);
        return deviceRow(secretBox, application, device, now);
      });
      const links = devices.map((device) =>
        importedDeviceLink(device.id, link, remoteDeviceId(device.dev_eui), now),
      );
      pages.push({ devices, links });
    }
    const buildMs = performance.now() - building;

    const storing = performance.now();
    for (const page of pages) {
      await db.transaction().execute(async (trx) => {
        await insertDevices(trx, page.devices);
        await insertDeviceLinks(trx, page.links);
      });
    }
    const storeMs = performance.now() - storing;
    return { buildMs, storeMs };
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
