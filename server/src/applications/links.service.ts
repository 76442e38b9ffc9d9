/**
 * Links of an application to networks. Linking records the link and its devices' links as
 * pending and queues the application's push; the sync worker does the network calls.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError, conflict, notFound, validationFailed } from '../http/problem.js';
import { getNetwork, type NetworkDeps } from '../networks/networks.service.js';
import type { ApplicationLinkRow } from './applications.table.js';
import { requireApplication, taskTargetOf } from './applications.service.js';
import type { ApplicationLinkView, NetworkLinkView } from './applications.schemas.js';
import { listDeviceEuisOfApplication } from './devices.repository.js';
import { pendingDeviceLinks } from './devices.service.js';
import {
  deleteApplicationLink,
  deviceStatesOfLinks,
  findApplicationLink,
  insertApplicationLink,
  insertDeviceLinks,
  listLinksOfApplication,
  lockLinksOfApplication,
  listLinksOfNetwork,
  rememberUnlinkedRemote,
} from './links.repository.js';
import { queueTask } from './sync/enqueue.js';
import {
  dropTasksOf,
  isToBeDeleted,
  nextAttemptOfLink,
  retryTasksOfLink,
} from './sync/tasks.repository.js';

/** What a network id must look like on TTN v2 (and is a safe id elsewhere). */
const REMOTE_ID = /^[0-9a-z](?:[_-]?[0-9a-z]){1,35}$/;

/** A readable, unique default id on the network: the name as a slug plus 8 characters of our id. */
export function defaultRemoteId(name: string, applicationId: string): string {
  const slug = name
    .toLowerCase()
    // Accents go, their letters stay: "Café" is "cafe", not "cafe-" with a dash for the mark.
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 27)
    .replace(/-+$/, '');
  const suffix = applicationId.replace(/-/g, '').slice(0, 8).toLowerCase();
  return slug === '' ? `app-${suffix}` : `${slug}-${suffix}`;
}

async function toViews(db: Db, links: ApplicationLinkRow[]): Promise<ApplicationLinkView[]> {
  const states = await deviceStatesOfLinks(
    db,
    links.map((l) => l.id),
  );
  return Promise.all(
    links.map(async (link) => {
      const devices = { synced: 0, pending: 0, error: 0 };
      for (const s of states) if (s.application_link_id === link.id) devices[s.state] += s.n;
      return {
        id: link.id,
        applicationId: link.application_id,
        networkId: link.network_id,
        remoteId: link.remote_id,
        state: link.state,
        lastError: link.last_error,
        lastAttemptAt: link.last_attempt_at,
        syncedAt: link.synced_at,
        nextAttemptAt: await nextAttemptOfLink(db, link.id),
        uplinkKey: { set: link.access_key_sealed !== null },
        devices,
        createdAt: link.created_at,
      };
    }),
  );
}

export async function linkApplication(
  deps: NetworkDeps,
  actor: Principal,
  applicationId: string,
  input: { networkId: string; remoteId?: string },
): Promise<ApplicationLinkView> {
  const { db } = deps;
  const application = await requireApplication(db, actor, applicationId);
  const network = await getNetwork(deps, actor, input.networkId);
  const protocol = deps.protocols.get(network.protocolId);
  if (protocol?.createApplication === undefined || protocol.createDevice === undefined) {
    throw new AppError(
      409,
      'not_supported',
      'Applications cannot be pushed to this network type.',
      undefined,
      network.id,
    );
  }
  const remoteId = input.remoteId ?? defaultRemoteId(application.name, application.id);
  if (!REMOTE_ID.test(remoteId)) {
    throw validationFailed([
      {
        field: 'remoteId',
        message: 'must be 2-36 lower-case letters or digits, with single - or _ between them',
      },
    ]);
  }
  // Linked again before an unlink's delete ran there, the new link's application would be
  // deleted by it.
  if (await isToBeDeleted(db, network.id, remoteId)) {
    throw conflict(
      `The application ${remoteId} is still to be deleted on this network (see its deletions); link it again once that is done or cancelled, or with another id.`,
      'remote_deletion_pending',
    );
  }
  const now = nowIso();
  const link: ApplicationLinkRow = {
    id: randomUUID(),
    application_id: application.id,
    network_id: network.id,
    remote_id: remoteId,
    state: 'pending',
    last_error: null,
    last_attempt_at: null,
    synced_at: null,
    access_key_sealed: null,
    created_at: now,
    updated_at: now,
  };
  try {
    await db.transaction().execute(async (trx) => {
      await lockLinksOfApplication(trx, application.id);
      await insertApplicationLink(trx, link);
      const devices = await listDeviceEuisOfApplication(trx, application.id);
      await insertDeviceLinks(trx, await pendingDeviceLinks(trx, devices, link.id, now));
      // The devices follow once the application exists there (see sync/push.ts).
      await queueTask(trx, 'application', taskTargetOf(actor, link), now);
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw conflict(
        'The application is linked to this network already, or another application has that id on it.',
        'link_exists',
      );
    }
    throw error;
  }
  return (await toViews(db, [link]))[0]!;
}

export async function listLinks(
  db: Db,
  actor: Principal,
  applicationId: string,
): Promise<ApplicationLinkView[]> {
  await requireApplication(db, actor, applicationId);
  return toViews(db, await listLinksOfApplication(db, applicationId));
}

/** The applications linked to a network of the actor's organization: which of its applications are managed here. */
export async function listNetworkLinks(
  deps: NetworkDeps,
  actor: Principal,
  networkId: string,
): Promise<NetworkLinkView[]> {
  const network = await getNetwork(deps, actor, networkId);
  const rows = await listLinksOfNetwork(deps.db, actor.user.organizationId, network.id);
  return rows.map((r) => ({
    id: r.id,
    applicationId: r.application_id,
    applicationName: r.name,
    remoteId: r.remote_id,
    state: r.state,
  }));
}

async function requireLink(db: Db, actor: Principal, applicationId: string, linkId: string) {
  await requireApplication(db, actor, applicationId);
  const link = await findApplicationLink(db, linkId);
  if (link === undefined || link.application_id !== applicationId) throw notFound('link');
  return link;
}

/**
 * Ends the link: LPWAN Server no longer pushes the application to that network nor receives its
 * uplinks there (the subscription stops within a round of the subscriptions' loop, in every
 * process). The application stays on the network as it is, unless `deleteOnNetwork`: then it
 * is deleted there, with its devices, by the sync worker (retried like any push).
 */
export async function unlinkApplication(
  db: Db,
  actor: Principal,
  applicationId: string,
  linkId: string,
  options: { deleteOnNetwork: boolean },
): Promise<void> {
  const link = await requireLink(db, actor, applicationId, linkId);
  await db.transaction().execute(async (trx) => {
    await dropTasksOf(trx, { applicationLinkId: link.id });
    if (options.deleteOnNetwork) {
      await queueTask(trx, 'delete_application', taskTargetOf(actor, link), nowIso());
    }
    await deleteApplicationLink(trx, link.id);
    // Kept there: a pull matches it to this application again rather than importing a copy.
    if (!options.deleteOnNetwork) await rememberUnlinkedRemote(trx, link, nowIso());
  });
}

/**
 * Retry now: every waiting or failed task of the link runs at once. A link in error with
 * nothing queued (its task was dropped) gets its application push queued again.
 */
export async function retryLink(
  db: Db,
  actor: Principal,
  applicationId: string,
  linkId: string,
): Promise<ApplicationLinkView> {
  const link = await requireLink(db, actor, applicationId, linkId);
  const now = nowIso();
  await db.transaction().execute(async (trx) => {
    const retried = await retryTasksOfLink(trx, link.id, now);
    if (retried === 0 && link.state !== 'synced') {
      await queueTask(trx, 'application', taskTargetOf(actor, link), now);
    }
  });
  return (await toViews(db, [(await findApplicationLink(db, link.id))!]))[0]!;
}
