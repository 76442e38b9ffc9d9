/**
 * Deletions on a network: applications unlinked with `deleteOnNetwork`, applications and
 * devices deleted here, that are not gone there yet. Their local rows are gone, so this is
 * where a deletion the network refuses (or keeps failing) is seen, retried or cancelled.
 */
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import type { PageResult } from '../db/paging.js';
import { conflict, notFound } from '../http/problem.js';
import { getNetwork, type NetworkDeps } from '../networks/networks.service.js';
import type { NetworkDeletionView } from './applications.schemas.js';
import type { SyncTaskRow } from './sync/sync.table.js';
import {
  cancelDeletionTask,
  listDeletionTasks,
  retryDeletionTasks,
} from './sync/tasks.repository.js';

export async function listNetworkDeletions(
  deps: NetworkDeps,
  actor: Principal,
  networkId: string,
  page: { limit: number; offset: number },
): Promise<PageResult<NetworkDeletionView>> {
  const network = await getNetwork(deps, actor, networkId);
  const { rows, total } = await listDeletionTasks(deps.db, network.id, page);
  return { items: rows.map(toView), total, ...page };
}

/** Every deletion of the network, refused or waiting, is tried again at once. */
export async function retryNetworkDeletions(
  deps: NetworkDeps,
  actor: Principal,
  networkId: string,
): Promise<{ retried: number }> {
  const network = await getNetwork(deps, actor, networkId);
  return { retried: await retryDeletionTasks(deps.db, network.id, nowIso()) };
}

/**
 * Forgets a deletion: what it would delete stays on the network (and an application id it held
 * may be linked again).
 */
export async function cancelNetworkDeletion(
  deps: NetworkDeps,
  actor: Principal,
  networkId: string,
  deletionId: string,
): Promise<void> {
  const network = await getNetwork(deps, actor, networkId);
  const outcome = await cancelDeletionTask(deps.db, network.id, deletionId);
  if (outcome === 'missing') throw notFound('deletion');
  if (outcome === 'running') {
    throw conflict(
      'The deletion is being tried on the network right now; look again in a moment.',
      'deletion_running',
    );
  }
}

function toView(row: SyncTaskRow): NetworkDeletionView {
  const failed = row.state === 'failed';
  return {
    id: row.id,
    kind: row.kind === 'delete_device' ? 'device' : 'application',
    remoteApplicationId: row.remote_application_id,
    remoteDeviceId: row.remote_device_id,
    state: failed ? 'error' : 'pending',
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: failed ? null : row.next_attempt_at,
    createdAt: row.created_at,
  };
}
