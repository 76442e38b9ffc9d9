/**
 * Recording what must change on linked networks, in the same transaction as the local change,
 * so that an edit is never lost between the database and the network.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.js';
import type { SyncTaskKind, SyncTaskRow } from './sync.table.js';
import { dropReplacedTasks, insertTasks } from './tasks.repository.js';

export interface TaskTarget {
  organizationId: string;
  networkId: string;
  applicationLinkId: string;
  remoteApplicationId: string;
  deviceId?: string;
  remoteDeviceId?: string;
}

function taskRow(kind: SyncTaskKind, target: TaskTarget, now: string): SyncTaskRow {
  return {
    id: randomUUID(),
    organization_id: target.organizationId,
    network_id: target.networkId,
    kind,
    application_link_id: target.applicationLinkId,
    device_id: target.deviceId ?? null,
    remote_application_id: target.remoteApplicationId,
    remote_device_id: target.remoteDeviceId ?? null,
    state: 'queued',
    attempts: 0,
    next_attempt_at: now,
    lease_until: null,
    last_error: null,
    created_at: now,
    updated_at: now,
  };
}

/** One task; a queued task of the same kind and target is replaced (it would do the same work). */
export async function queueTask(
  db: Db,
  kind: SyncTaskKind,
  target: TaskTarget,
  now: string,
): Promise<void> {
  if (kind === 'application' || kind === 'device') {
    await dropReplacedTasks(db, kind, target.applicationLinkId, target.deviceId ?? null);
  }
  await insertTasks(db, [taskRow(kind, target, now)]);
}

/** Many new tasks at once (a link's devices, an import): nothing to replace. */
export async function queueNewTasks(
  db: Db,
  kind: SyncTaskKind,
  targets: readonly TaskTarget[],
  now: string,
): Promise<void> {
  await insertTasks(
    db,
    targets.map((target) => taskRow(kind, target, now)),
  );
}
