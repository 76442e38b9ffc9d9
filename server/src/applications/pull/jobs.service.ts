/** Pull jobs as the API shows them: queued by `startPull`, read by `getJob`. */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../accounts/principal.js';
import { nowIso } from '../../clock.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { AppError, notFound } from '../../http/problem.js';
import { networkContext, type NetworkCallDeps } from '../network-context.js';
import type { JobRow } from './jobs.table.js';
import { findActiveJob, findJob, insertJob, listJobErrors } from './jobs.repository.js';

export interface PullCounts {
  applications: { created: number; matched: number };
  devices: { created: number; matched: number; failed: number };
}

export interface JobView {
  id: string;
  kind: 'pull';
  networkId: string;
  state: JobRow['state'];
  progress: { done: number; total: number };
  counts: PullCounts;
  errorCount: number;
  errors: { item: string; message: string }[];
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const emptyCounts = (): PullCounts => ({
  applications: { created: 0, matched: 0 },
  devices: { created: 0, matched: 0, failed: 0 },
});

export interface PullDeps extends NetworkCallDeps {
  secretBox: SecretBox;
}

/** Queues a pull of the network; a pull of it already queued or running is answered instead. */
export async function startPull(
  deps: PullDeps,
  actor: Principal,
  networkId: string,
): Promise<{ jobId: string }> {
  const { protocol } = await networkContext(deps, networkId, actor.user.organizationId);
  if (protocol.listApplications === undefined || protocol.exportDevices === undefined) {
    throw new AppError(
      409,
      'not_supported',
      'This network type cannot be pulled from.',
      undefined,
      networkId,
    );
  }
  // The check answers the common case; the unique index of active pulls per network answers
  // two requests (or processes) that both passed it: the second insert fails, and the pull the
  // first one queued is answered.
  for (let attempt = 1; ; attempt++) {
    const active = await findActiveJob(deps.db, networkId);
    if (active !== undefined) return { jobId: active.id };
    const now = nowIso();
    const id = randomUUID();
    try {
      await insertJob(deps.db, {
        id,
        organization_id: actor.user.organizationId,
        network_id: networkId,
        kind: 'pull',
        state: 'queued',
        done: 0,
        total: 0,
        counts_json: JSON.stringify(emptyCounts()),
        error_count: 0,
        message: null,
        lease_until: null,
        lease_token: null,
        cursor_json: null,
        created_at: now,
        started_at: null,
        finished_at: null,
        updated_at: now,
      });
      return { jobId: id };
    } catch (error) {
      // The other pull may have ended in between: then look (and insert) again, once.
      if (!isUniqueViolation(error) || attempt >= 2) throw error;
    }
  }
}

export async function getJob(db: Db, actor: Principal, id: string): Promise<JobView> {
  const row = await findJob(db, actor.user.organizationId, id);
  if (row === undefined) throw notFound('job');
  return {
    id: row.id,
    kind: row.kind,
    networkId: row.network_id,
    state: row.state,
    progress: { done: row.done, total: row.total },
    counts: JSON.parse(row.counts_json) as PullCounts,
    errorCount: row.error_count,
    errors: await listJobErrors(db, row.id),
    message: row.message,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
