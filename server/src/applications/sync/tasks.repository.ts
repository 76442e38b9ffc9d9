/**
 * The push outbox. Claiming is the delicate part: several server processes may run the sync
 * worker against one PostgreSQL. A claim takes due tasks with a lease, leaving out every
 * application link that has a task running (leased) anywhere: the tasks of one application run
 * one at a time, in order, so an older update never lands after a newer one or after a delete.
 * For that check to hold, claims run one at a time (a transaction-scoped advisory lock on
 * PostgreSQL; SQLite's write transactions are serial anyway). A lease that expires (its worker
 * died) makes the task claimable again; a worker then acts on a task only while it still holds
 * the lease it was given (`lease_until` is the claim's token).
 */
import { sql } from 'kysely';
import { compileInsert, compileOnce } from '../../db/compiled.js';
import type { Db } from '../../db/database.js';
import { toCount } from '../../db/paging.js';
import type { SyncTaskKind, SyncTaskRow } from './sync.table.js';

/** Callers run it in a transaction with their other writes. */
export const insertTasks = compileInsert('sync_tasks', [
  'id',
  'organization_id',
  'network_id',
  'kind',
  'application_link_id',
  'device_id',
  'remote_application_id',
  'remote_device_id',
  'state',
  'attempts',
  'next_attempt_at',
  'lease_until',
  'last_error',
  'created_at',
  'updated_at',
]);

/**
 * Drops the queued (not running) tasks that a new task of the same kind and target replaces:
 * tasks read the local state when they run, so the newest one does all the work.
 */
export async function dropReplacedTasks(
  db: Db,
  kind: SyncTaskKind,
  applicationLinkId: string,
  deviceId: string | null,
): Promise<void> {
  await db
    .deleteFrom('sync_tasks')
    .where('kind', '=', kind)
    .where('application_link_id', '=', applicationLinkId)
    .where((eb) =>
      deviceId === null ? eb('device_id', 'is', null) : eb('device_id', '=', deviceId),
    )
    .where('lease_until', 'is', null)
    .execute();
}

/** Any fixed number: the key of the advisory lock that makes claims take turns. */
const CLAIM_LOCK_KEY = 7_305_118_215;

/**
 * Whether any task is due: what an idle worker asks twice a second, without the claim's write
 * transaction (on SQLite it takes the write lock; on PostgreSQL, the claims' advisory lock).
 */
const dueTask = compileOnce(['now'], (db, v) =>
  db
    .selectFrom('sync_tasks')
    .select('id')
    .where('state', '=', 'queued')
    .where('next_attempt_at', '<=', v.now)
    .where((w) => w.or([w('lease_until', 'is', null), w('lease_until', '<', v.now)]))
    .limit(1),
);

export async function claimDueTasks(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  now: string,
  leaseUntil: string,
  limit: number,
): Promise<SyncTaskRow[]> {
  if ((await dueTask(db, { now })).length === 0) return [];
  const claimed = await db.transaction().execute(async (trx) => {
    if (dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${CLAIM_LOCK_KEY})`.execute(trx);
    return trx
      .updateTable('sync_tasks')
      .set((eb) => ({ lease_until: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('sync_tasks as due')
          .select('due.id')
          .where('due.state', '=', 'queued')
          .where('due.next_attempt_at', '<=', now)
          .where((w) => w.or([w('due.lease_until', 'is', null), w('due.lease_until', '<', now)]))
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('sync_tasks as running')
                  .select('running.id')
                  .whereRef('running.application_link_id', '=', 'due.application_link_id')
                  .where('running.lease_until', '>=', now),
              ),
            ),
          )
          .orderBy('due.next_attempt_at')
          .orderBy('due.created_at')
          .limit(limit),
      )
      .returningAll()
      .execute();
  });
  // RETURNING gives the rows in no particular order (on PostgreSQL, as they lie in the table),
  // and the worker runs them as given: a device's DevEUI change must reach the network before
  // the device that takes its old DevEUI there.
  return claimed.sort(
    (a, b) =>
      a.next_attempt_at.localeCompare(b.next_attempt_at) ||
      a.created_at.localeCompare(b.created_at),
  );
}

/**
 * A claimed task's lease, renewed as it starts (a batch may wait long for its turn); undefined
 * when the task is no longer this worker's (its lease ran out and another took it, or it was
 * dropped).
 */
export async function renewTask(
  db: Db,
  task: Pick<SyncTaskRow, 'id' | 'lease_until'>,
  leaseUntil: string,
): Promise<string | undefined> {
  const result = await db
    .updateTable('sync_tasks')
    .set({ lease_until: leaseUntil })
    .where('id', '=', task.id)
    .where('lease_until', '=', task.lease_until)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? leaseUntil : undefined;
}

/** Done: removed, if this worker still holds it. */
export async function deleteTask(
  db: Db,
  task: Pick<SyncTaskRow, 'id' | 'lease_until'>,
): Promise<void> {
  await db
    .deleteFrom('sync_tasks')
    .where('id', '=', task.id)
    .where('lease_until', '=', task.lease_until)
    .execute();
}

/**
 * After a failure: back in the queue at `nextAttemptAt`, or parked (`failed`) until a retry.
 * False when the task is no longer this worker's: its outcome is then the new holder's to tell.
 */
export async function rescheduleTask(
  db: Db,
  task: Pick<SyncTaskRow, 'id' | 'lease_until'>,
  change: { state: 'queued' | 'failed'; nextAttemptAt: string; lastError: string; now: string },
): Promise<boolean> {
  const result = await db
    .updateTable('sync_tasks')
    .set({
      state: change.state,
      next_attempt_at: change.nextAttemptAt,
      last_error: change.lastError,
      lease_until: null,
      updated_at: change.now,
    })
    .where('id', '=', task.id)
    .where('lease_until', '=', task.lease_until)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Retry now: every task of the application link, failed or waiting for its backoff. */
export async function retryTasksOfLink(
  db: Db,
  applicationLinkId: string,
  now: string,
): Promise<number> {
  const result = await db
    .updateTable('sync_tasks')
    .set({ state: 'queued', next_attempt_at: now, attempts: 0, updated_at: now })
    .where('application_link_id', '=', applicationLinkId)
    .where('lease_until', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** When the next attempt of the link's queued tasks is due (null: none waiting). */
export async function nextAttemptOfLink(db: Db, applicationLinkId: string): Promise<string | null> {
  const row = await db
    .selectFrom('sync_tasks')
    .select((eb) => eb.fn.min('next_attempt_at').as('next'))
    .where('application_link_id', '=', applicationLinkId)
    .where('state', '=', 'queued')
    .executeTakeFirst();
  return (row?.next as string | null | undefined) ?? null;
}

/**
 * Whether the application `remoteApplicationId` is still to be deleted on the network: its
 * deletion waits for its next attempt, or was refused and waits for a retry (or a cancel).
 */
export async function isToBeDeleted(
  db: Db,
  networkId: string,
  remoteApplicationId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('sync_tasks')
    .select('id')
    .where('kind', '=', 'delete_application')
    .where('network_id', '=', networkId)
    .where('remote_application_id', '=', remoteApplicationId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Of these devices of the remote application, those still to be deleted on the network. */
export async function devicesToBeDeleted(
  db: Db,
  networkId: string,
  remoteApplicationId: string,
  remoteDeviceIds: readonly string[],
): Promise<Set<string>> {
  if (remoteDeviceIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('sync_tasks')
    .select('remote_device_id')
    .where('kind', '=', 'delete_device')
    .where('network_id', '=', networkId)
    .where('remote_application_id', '=', remoteApplicationId)
    .where('remote_device_id', 'in', remoteDeviceIds)
    .execute();
  return new Set(rows.map((r) => r.remote_device_id!));
}

/**
 * Drops the deletions (not running) of these devices of an application link: a new device
 * that takes a deleted device's id there supersedes its deletion — the device on the network
 * is then updated to the new one (adopted) rather than deleted after the new one is made.
 */
export async function dropDeletionsOfDevices(
  db: Db,
  applicationLinkId: string,
  remoteDeviceIds: readonly string[],
): Promise<void> {
  if (remoteDeviceIds.length === 0) return;
  await db
    .deleteFrom('sync_tasks')
    .where('kind', '=', 'delete_device')
    .where('application_link_id', '=', applicationLinkId)
    .where('remote_device_id', 'in', remoteDeviceIds)
    .where('lease_until', 'is', null)
    .execute();
}

/**
 * Drops the tasks (not running) of an application link, or of one device under it: what is
 * being deleted needs no more pushing. A running task finds its rows gone and ends.
 */
export async function dropTasksOf(
  db: Db,
  target: { applicationLinkId: string; deviceId?: string },
): Promise<void> {
  let query = db
    .deleteFrom('sync_tasks')
    .where('application_link_id', '=', target.applicationLinkId)
    .where('lease_until', 'is', null);
  if (target.deviceId !== undefined) query = query.where('device_id', '=', target.deviceId);
  await query.execute();
}

/**
 * Hands claimed tasks back untried (the worker stops, or their network asked to slow down):
 * no attempt is counted, and they are due again at `nextAttemptAt`. Only those still held
 * under the claim's lease `leaseUntil`.
 */
export async function releaseTasks(
  db: Db,
  ids: readonly string[],
  leaseUntil: string,
  nextAttemptAt: string,
  now: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('sync_tasks')
    .set((eb) => ({
      lease_until: null,
      attempts: eb('attempts', '-', 1),
      next_attempt_at: nextAttemptAt,
      updated_at: now,
    }))
    .where('id', 'in', ids)
    .where('lease_until', '=', leaseUntil)
    .execute();
}

/** Sync tasks by state, in all organizations: what the metrics report. */
export async function countTasksByState(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('sync_tasks')
    .select(['state', (eb) => eb.fn.countAll().as('n')])
    .groupBy('state')
    .execute();
  return new Map(rows.map((r) => [r.state, toCount(r.n)]));
}

const DELETIONS = ['delete_application', 'delete_device'] as const;

/**
 * The deletions waiting on a network, oldest first: what was unlinked or deleted here and is
 * not gone there yet. Their local rows are gone, so these tasks are all that shows them.
 */
export async function listDeletionTasks(
  db: Db,
  networkId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: SyncTaskRow[]; total: number }> {
  const ofNetwork = db
    .selectFrom('sync_tasks')
    .where('network_id', '=', networkId)
    .where('kind', 'in', DELETIONS);
  const [rows, count] = await Promise.all([
    ofNetwork
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    ofNetwork.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return { rows, total: toCount(count?.n as number | string | undefined) };
}

/** Retry now: every deletion of the network, refused or waiting for its backoff. */
export async function retryDeletionTasks(db: Db, networkId: string, now: string): Promise<number> {
  const result = await db
    .updateTable('sync_tasks')
    .set({ state: 'queued', next_attempt_at: now, attempts: 0, updated_at: now })
    .where('network_id', '=', networkId)
    .where('kind', 'in', DELETIONS)
    .where('lease_until', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Forgets a deletion of the network: what it would delete stays there. `running` when a worker
 * is trying it right now (it cannot be taken back), `missing` when there is none such.
 */
export async function cancelDeletionTask(
  db: Db,
  networkId: string,
  id: string,
): Promise<'cancelled' | 'running' | 'missing'> {
  const result = await db
    .deleteFrom('sync_tasks')
    .where('id', '=', id)
    .where('network_id', '=', networkId)
    .where('kind', 'in', DELETIONS)
    .where('lease_until', 'is', null)
    .executeTakeFirst();
  if (result.numDeletedRows > 0n) return 'cancelled';
  const left = await db
    .selectFrom('sync_tasks')
    .select('id')
    .where('id', '=', id)
    .where('network_id', '=', networkId)
    .where('kind', 'in', DELETIONS)
    .executeTakeFirst();
  return left === undefined ? 'missing' : 'running';
}
