/**
 * What the API does with uplinks: recent uplinks, delivery status, redelivery, test sends,
 * the reporting secret and downlinks. Every read is scoped to the caller's organization.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { accessKeyAad } from '../applications/device-fields.js';
import { nowIso } from '../clock.js';
import type { UplinksConfig } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import type { Page, PageResult } from '../db/paging.js';
import { AppError, notFound } from '../http/problem.js';
import { readNetworkSettings } from '../networks/networks.service.js';
import { networkProblem } from '../oauth/authorization.service.js';
import { ProtocolError } from '../protocols/errors.js';
import type { ProtocolRegistry } from '../protocols/registry.js';
import type { ReportingTargets } from '../reporting-targets.js';
import { reportingSecretAad } from './delivery.js';
import { postDocument } from './post-document.js';
import { DOCUMENT_VERSION, type UplinkDocument } from './document.js';
import {
  countDeliveries,
  findApplication,
  findDevice,
  findDeviceNetworkLinks,
  findEndpoint,
  listLeases,
  listUplinks,
  requeueDead,
  setReportingSecret,
  type ApplicationTargetRow,
  type UplinkListRow,
} from './uplinks.repository.js';
import type {
  DeliveryStatusView,
  DownlinkView,
  TestSendView,
  UplinkEntry,
} from './uplinks.schemas.js';

export interface UplinkServiceDeps {
  db: Db;
  secretBox: SecretBox;
  protocols: ProtocolRegistry;
  config: UplinksConfig;
  /** Tells the delivery worker that work became due. */
  notifyDelivery: () => void;
  /** Told of a new reporting secret (core's ReportingTargets); resolves once delivery uses it. */
  reportingTargets: ReportingTargets;
}

export async function requireApplication(
  deps: Pick<UplinkServiceDeps, 'db'>,
  actor: Principal,
  id: string,
): Promise<ApplicationTargetRow> {
  const app = await findApplication(deps.db, actor.user.organizationId, id);
  if (!app) throw notFound('application');
  return app;
}

/** Whether the actor may (still) see the application: a live stream asks while it runs. */
export async function canSeeApplication(
  deps: Pick<UplinkServiceDeps, 'db'>,
  actor: Principal,
  id: string,
): Promise<boolean> {
  return (await findApplication(deps.db, actor.user.organizationId, id)) !== undefined;
}

function toEntry(row: UplinkListRow): UplinkEntry {
  return {
    id: row.id,
    ingestedAt: row.ingested_at,
    document: JSON.parse(row.document) as UplinkDocument,
    delivery:
      row.status === null
        ? null
        : {
            status: row.status,
            attempts: row.attempts ?? 0,
            lastError: row.last_error,
            deliveredAt: row.delivered_at,
          },
  };
}

export async function listApplicationUplinks(
  deps: UplinkServiceDeps,
  actor: Principal,
  applicationId: string,
  page: Page,
): Promise<PageResult<UplinkEntry>> {
  await requireApplication(deps, actor, applicationId);
  const { rows, total } = await listUplinks(deps.db, { applicationId }, page);
  return { items: rows.map(toEntry), total, ...page };
}

export async function listDeviceUplinks(
  deps: UplinkServiceDeps,
  actor: Principal,
  deviceId: string,
  page: Page,
): Promise<PageResult<UplinkEntry> & { lastSeenAt: string | null }> {
  const device = await findDevice(deps.db, actor.user.organizationId, deviceId);
  if (!device) throw notFound('device');
  const { rows, total } = await listUplinks(deps.db, { deviceId }, page);
  return { items: rows.map(toEntry), total, ...page, lastSeenAt: device.last_seen_at };
}

export async function deliveryStatus(
  deps: UplinkServiceDeps,
  actor: Principal,
  applicationId: string,
): Promise<DeliveryStatusView> {
  const app = await requireApplication(deps, actor, applicationId);
  const [endpoint, counts, leases] = await Promise.all([
    findEndpoint(deps.db, app.id),
    countDeliveries(deps.db, app.id),
    listLeases(deps.db, app.id),
  ]);
  const now = nowIso();
  return {
    applicationId: app.id,
    reportingUrl: app.reporting_url,
    secretSet: app.reporting_secret_sealed !== null,
    endpoint: {
      state: !endpoint ? 'unknown' : endpoint.consecutive_failures > 0 ? 'failing' : 'ok',
      lastSuccessAt: endpoint?.last_success_at ?? null,
      lastError: endpoint?.last_error ?? null,
      lastErrorAt: endpoint?.last_error_at ?? null,
      consecutiveFailures: endpoint?.consecutive_failures ?? 0,
      retryAt:
        endpoint?.blocked_until != null && endpoint.blocked_until > now
          ? endpoint.blocked_until
          : null,
    },
    backlog: counts.pending,
    deadLetters: counts.dead,
    delivered: counts.delivered,
    // An expired lease is a holder that died: nobody subscribes until another process takes it.
    subscriptions: leases
      .filter((l) => l.expires_at > now)
      .map((l) => ({
        networkId: l.network_id,
        state: l.state,
        lastError: l.last_error,
        since: l.since,
        leaseExpiresAt: l.expires_at,
      })),
  };
}

export async function redeliverDeadLetters(
  deps: UplinkServiceDeps,
  actor: Principal,
  applicationId: string,
): Promise<{ requeued: number }> {
  const app = await requireApplication(deps, actor, applicationId);
  const requeued = await requeueDead(deps.db, app.id, nowIso());
  if (requeued > 0) deps.notifyDelivery();
  return { requeued };
}

/** A new reporting secret; the answer is the only place it is ever shown. */
export async function rotateReportingSecret(
  deps: UplinkServiceDeps,
  actor: Principal,
  applicationId: string,
): Promise<{ secret: string }> {
  const app = await requireApplication(deps, actor, applicationId);
  const secret = randomBytes(32).toString('base64url');
  await setReportingSecret(
    deps.db,
    app.id,
    deps.secretBox.seal(secret, reportingSecretAad(app.id)),
    nowIso(),
  );
  await deps.reportingTargets.changed(app.id);
  return { secret };
}

/** POSTs a test document (marked `"test": true`) to the reporting URL once and says how it went. */
export async function testSend(
  deps: UplinkServiceDeps,
  actor: Principal,
  applicationId: string,
): Promise<TestSendView> {
  const app = await requireApplication(deps, actor, applicationId);
  if (app.reporting_url === null) {
    throw new AppError(409, 'no_reporting_url', 'The application has no reporting URL to send to.');
  }
  const now = nowIso();
  const document: UplinkDocument = {
    version: DOCUMENT_VERSION,
    id: randomUUID(),
    receivedAt: now,
    test: true,
    network: { id: 'test', protocol: 'test' },
    application: { id: app.id, remoteId: 'test' },
    device: { id: null, devEui: '0000000000000000', remoteId: 'test-device' },
    fPort: 1,
    fCnt: 0,
    confirmed: false,
    retry: false,
    payload: Buffer.from('test').toString('base64'),
    decoded: null,
    radio: {
      frequency: 868.1,
      modulation: 'LORA',
      dataRate: 'SF7BW125',
      codingRate: '4/5',
      airtimeMs: 46.336,
      gateways: [],
    },
  };
  const secret =
    app.reporting_secret_sealed === null
      ? null
      : deps.secretBox.open(app.reporting_secret_sealed, reportingSecretAad(app.id));
  const outcome = await postDocument(
    app.reporting_url,
    JSON.stringify(document),
    document.id,
    secret,
    deps.config.deliveryTimeoutMs,
  );
  return {
    messageId: document.id,
    delivered: outcome.ok,
    status: outcome.status,
    error: outcome.error,
    durationMs: Math.round(outcome.durationMs * 10) / 10,
  };
}

export async function sendDownlink(
  deps: UplinkServiceDeps,
  actor: Principal,
  deviceId: string,
  input: { fPort: number; payload: string; confirmed?: boolean },
): Promise<DownlinkView> {
  const device = await findDevice(deps.db, actor.user.organizationId, deviceId);
  if (!device) throw notFound('device');
  const links = await findDeviceNetworkLinks(deps.db, device.id);
  const link = links.find(
    (l) => l.access_key_sealed !== null && deps.protocols.get(l.protocol_id)?.sendDownlink,
  );
  if (!link) {
    throw new AppError(
      409,
      'device_not_on_network',
      'The device is not on a network that takes downlinks yet (push its application and the device first).',
    );
  }
  const network = await readNetworkSettings(deps, link.network_id);
  if (!network) throw notFound('network');
  const confirmed = input.confirmed ?? false;
  try {
    await deps.protocols.get(link.protocol_id)!.sendDownlink!(
      {
        networkId: link.network_id,
        settings: network.settings,
        remoteAppId: link.remote_app_id,
        accessKey: deps.secretBox.open(link.access_key_sealed!, accessKeyAad(link.link_id)),
        clientId: `lpwan-${link.link_id}`,
      },
      {
        remoteDeviceId: link.remote_device_id,
        fPort: input.fPort,
        payload: input.payload,
        confirmed,
      },
    );
  } catch (error) {
    if (error instanceof ProtocolError) throw networkProblem(error, link.network_id);
    throw error;
  }
  return {
    deviceId: device.id,
    networkId: link.network_id,
    fPort: input.fPort,
    confirmed,
    queuedAt: nowIso(),
  };
}
