import { compileOnce } from '../../db/compiled.js';
import type { Db } from '../../db/database.js';
import type { JobRow, JobsTable, NewJobRow } from './jobs.table.js';
import type { Updateable } from 'kysely';

/** Item errors kept per job; later ones are only counted. */
export const MAX_JOB_ERRORS = 500;

export async function insertJob(db: Db, row: NewJobRow): Promise<void> {
  await db.insertInto('jobs').values(row).execute();
}

export async function findJob(
  db: Db,
  organizationId: string,
  id: string,
): Promise<JobRow | undefined> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listJobErrors(
  db: Db,
  jobId: string,
): Promise<{ item: string; message: string }[]> {
  return db
    .selectFrom('job_errors')
    .select(['item', 'message'])
    .where('job_id', '=', jobId)
    .orderBy('position')
    .execute();
}

/** Whether any job waits to be taken: what an idle worker asks, without the claim's write. */
const waitingJob = compileOnce(['now'], (db, v) =>
  db
    .selectFrom('jobs')
    .select('id')
    .where((w) =>
      w.or([
        w('state', '=', 'queued'),
        w.and([w('state', '=', 'running'), w('lease_until', '<', v.now)]),
      ]),
    )
    .limit(1),
);

/**
 * Takes the oldest queued job, or a running one whose worker stopped renewing its lease, and
 * gives it the lease `token`: from then on, only the run holding that token writes to the job.
 * PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two processes never take the same job.
 */
export async function claimJob(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  now: string,
  leaseUntil: string,
  token: string,
): Promise<JobRow | undefined> {
  if ((await waitingJob(db, { now })).length === 0) return undefined;
  const rows = await db
    .updateTable('jobs')
    .set((eb) => ({
      state: 'running',
      lease_until: leaseUntil,
      lease_token: token,
      started_at: eb.fn.coalesce('started_at', eb.val(now)),
      updated_at: now,
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('jobs')
        .select('id')
        .where((w) =>
          w.or([
            w('state', '=', 'queued'),
            w.and([w('state', '=', 'running'), w('lease_until', '<', now)]),
          ]),
        )
        .orderBy('created_at')
        .limit(1)
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked()),
    )
    .returningAll()
    .execute();
  return rows[0];
}

/**
 * Updates a running job if the run holding lease `token` still holds it; false when another
 * run took the job over (or it ended), and then nothing is written.
 */
export async function updateHeldJob(
  db: Db,
  id: string,
  token: string,
  update: Updateable<JobsTable>,
): Promise<boolean> {
  const [result] = await db
    .updateTable('jobs')
    .set(update)
    .where('id', '=', id)
    .where('lease_token', '=', token)
    .where('state', '=', 'running')
    .execute();
  return (result?.numUpdatedRows ?? 0n) > 0n;
}

/**
 * Stores the item errors that follow the job's first `position` ones, as far as they fit within
 * MAX_JOB_ERRORS; the job's `error_count` (all of them) is the caller's to write.
 */
export async function insertJobErrors(
  db: Db,
  id: string,
  position: number,
  errors: readonly { item: string; message: string }[],
): Promise<void> {
  const kept = errors
    .slice(0, Math.max(0, MAX_JOB_ERRORS - position))
    .map((error, index) => ({ job_id: id, position: position + index, ...error }));
  if (kept.length > 0) await db.insertInto('job_errors').values(kept).execute();
}

/** Forgets the item errors of a job that starts over. */
export async function deleteJobErrors(db: Db, id: string): Promise<void> {
  await db.deleteFrom('job_errors').where('job_id', '=', id).execute();
}

/** A pull of the network that is queued or running. */
export async function findActiveJob(db: Db, networkId: string): Promise<JobRow | undefined> {
  return db
    .selectFrom('jobs')
    .selectAll()
    .where('network_id', '=', networkId)
    .where('state', 'in', ['queued', 'running'])
    .executeTakeFirst();
}
