/**
 * What the uplink tests need around the server: a TTN application with devices in the
 * simulator, the matching application, devices and links in the server's database (inserted
 * directly, as the applications feature's push would leave them), and a loopback endpoint that
 * records what is delivered to it. The browser tests and the uplinks benchmark use it too, so
 * it imports nothing of the Vitest harness.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { nowIso } from '../src/clock.js';
import type { Db } from '../src/db/database.js';
import type { SecretBox } from '../src/crypto/secret-box.js';
import { uplinkJsonSchema } from '../src/uplinks/document.js';
import { accessKeyAad } from '../src/applications/device-fields.js';
import type { DeliveryStatusView } from '../src/uplinks/uplinks.schemas.js';
import type { NewUplinkRow } from '../src/uplinks/uplinks.table.js';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Endpoint {
  url: string;
  /** Requests answered 2xx: the deliveries. */
  received: Received[];
  /** Requests answered otherwise. */
  refused: Received[];
  /** Decides each answer (status code, optional delay); 200 by default. */
  respond: (req: Received) => number | { status: number; delayMs: number };
  close(): Promise<void>;
}

export async function startEndpoint(): Promise<Endpoint> {
  const endpoint: Endpoint = {
    url: '',
    received: [],
    refused: [],
    respond: () => 200,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = {
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const answer = endpoint.respond(got);
      const { status, delayMs } =
        typeof answer === 'number' ? { status: answer, delayMs: 0 } : answer;
      setTimeout(() => {
        (status >= 200 && status < 300 ? endpoint.received : endpoint.refused).push(got);
        res
          .writeHead(status, { 'content-type': 'text/plain' })
          .end(status < 300 ? 'ok' : 'failing on purpose');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplinks`;
  return endpoint;
}

export interface LinkedApp {
  applicationId: string;
  linkId: string;
  remoteId: string;
  accessKey: string;
  /** Local device id by TTN device id. */
  devices: Map<string, string>;
}

/**
 * Seeds a TTN application with `devices` devices and links a local application to it
 * (reporting to `reportingUrl`), as a push of the applications feature would.
 */
export async function linkApplication(
  deps: {
    db: Db;
    secretBox: SecretBox;
    ttn: { control(path: string, body?: unknown): Promise<unknown> };
  },
  input: {
    /** The TTN user that owns the application in the simulator. */
    owner: string;
    organizationId: string;
    networkId: string;
    remoteId: string;
    devices: number;
    reportingUrl: string | null;
  },
): Promise<LinkedApp> {
  const seeded = (await deps.ttn.control('/applications', {
    owner: input.owner,
    id: input.remoteId,
    name: input.remoteId,
    devices: input.devices,
  })) as { accessKey: string };
  const now = new Date().toISOString();
  const applicationId = randomUUID();
  const linkId = randomUUID();
  await deps.db
    .insertInto('applications')
    .values({
      id: applicationId,
      organization_id: input.organizationId,
      name: input.remoteId,
      description: null,
      reporting_url: input.reportingUrl,
      reporting_secret_sealed: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await deps.db
    .insertInto('application_links')
    .values({
      id: linkId,
      application_id: applicationId,
      network_id: input.networkId,
      remote_id: input.remoteId,
      state: 'synced',
      last_error: null,
      last_attempt_at: now,
      synced_at: now,
      access_key_sealed: deps.secretBox.seal(seeded.accessKey, accessKeyAad(linkId)),
      created_at: now,
      updated_at: now,
    })
    .execute();
  const devices = new Map<string, string>();
  for (let i = 1; i <= input.devices; i++) {
    const remote = `device-${String(i).padStart(4, '0')}`;
    const deviceId = randomUUID();
    await deps.db
      .insertInto('devices')
      .values({
        id: deviceId,
        organization_id: input.organizationId,
        application_id: applicationId,
        name: remote,
        description: null,
        dev_eui: randomBytes(8).toString('hex').toUpperCase(),
        activation: 'otaa',
        join_eui: null,
        app_key_sealed: null,
        dev_addr: null,
        nwk_s_key_sealed: null,
        app_s_key_sealed: null,
        last_seen_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await deps.db
      .insertInto('device_links')
      .values({
        id: randomUUID(),
        device_id: deviceId,
        application_link_id: linkId,
        remote_id: remote,
        state: 'synced',
        last_error: null,
        last_attempt_at: now,
        synced_at: now,
        created_at: now,
        updated_at: now,
      })
      .execute();
    devices.set(remote, deviceId);
  }
  return { applicationId, linkId, remoteId: input.remoteId, accessKey: seeded.accessKey, devices };
}

/** A validator of the published uplink JSON Schema. */
export function documentValidator(): (body: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = ajv.compile(uplinkJsonSchema());
  return (body) => {
    const ok = validate(body);
    if (!ok)
      throw new Error(`document does not match the schema: ${ajv.errorsText(validate.errors)}`);
    return ok;
  };
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What deliveryStatus needs of the test app, spelled out: the benchmarks import this file, and
 * the test harness (with its Vitest-only types) must not come with it.
 */
interface Requester {
  request(
    method: 'GET' | 'POST',
    url: string,
    options: { token: string; body?: unknown },
  ): Promise<{ statusCode: number; body: string; json(): unknown }>;
}

/**
 * Creates an application whose reporting URL goes nowhere (a closed port), so that its uplinks
 * get deliveries, for tests of what is stored; returns its id. Any other answer than 201 fails.
 */
export async function createApplicationReportingNowhere(
  t: Requester,
  token: string,
  name: string,
): Promise<string> {
  const res = await t.request('POST', '/api/applications', {
    token,
    body: { name, reportingUrl: 'http://127.0.0.1:9/uplinks' },
  });
  if (res.statusCode !== 201) throw new Error(`new application: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}

/** `GET /api/applications/{id}/delivery` as `token` sees it; any other answer than 200 fails. */
export async function deliveryStatus(
  t: Requester,
  token: string,
  applicationId: string,
): Promise<DeliveryStatusView> {
  const res = await t.request('GET', `/api/applications/${applicationId}/delivery`, { token });
  if (res.statusCode !== 200) throw new Error(`delivery status: ${res.statusCode} ${res.body}`);
  return res.json() as DeliveryStatusView;
}

/**
 * `n` uplink rows of an application as ingest stores them (each gets a delivery when the
 * application has a reporting URL), received and stored at `at` (now by default).
 */
export function uplinkRows(
  applicationId: string,
  n: number,
  options: { deviceId?: string; at?: string } = {},
): NewUplinkRow[] {
  const at = options.at ?? nowIso();
  return Array.from({ length: n }, () => ({
    id: randomUUID(),
    application_id: applicationId,
    device_id: options.deviceId ?? null,
    network_id: randomUUID(),
    received_at: at,
    ingested_at: at,
    document: '{"test":true}',
  }));
}
