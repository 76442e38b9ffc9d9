/**
 * The sync worker: claims due tasks through the database (so one task runs once across server
 * processes), runs each against its network, and on failure records the error on the link
 * and schedules the next attempt with exponential backoff. A network that is down, slow or
 * rate-limiting therefore delays an edit but never loses it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { isoIn, nowIso } from '../../clock.js';
import { AppError } from '../../http/problem.js';
import { VaultError } from '../../oauth/token-vault.js';
import { ProtocolError, RateLimited, Rejected } from '../../protocols/errors.js';
import { loopWorker, type BackgroundWorker } from '../../workers/worker.js';
import { updateApplicationLink, updateDeviceLink } from '../links.repository.js';
import { networkContext, type NetworkCallDeps } from '../network-context.js';
import { PermanentSyncError, runTask } from './push.js';
import type { SyncTaskRow } from './sync.table.js';
import {
  claimDueTasks,
  deleteTask,
  releaseTasks,
  renewTask,
  rescheduleTask,
} from './tasks.repository.js';

/** Tasks claimed per round; they run one after the other (TTN limits requests per application). */
const BATCH = 20;
/** A claimed task is someone else's to take after this long (its worker died). */
const LEASE_MS = 5 * 60_000;
const IDLE_MS = 500;
/** Backoff: 1 s, 2 s, 4 s, … up to 10 minutes, with ±20 % jitter so retries do not bunch up. */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 10 * 60_000;
/** Attempts of a task that a rate limit may refuse before its link shows it as an error. */
const RATE_LIMITS_UNSHOWN = 3;

export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

export interface SyncWorkerDeps extends NetworkCallDeps {
  dialect: 'sqlite' | 'postgres';
  log: FastifyBaseLogger;
}

export function syncWorker(deps: SyncWorkerDeps): BackgroundWorker {
  return loopWorker('sync', { idleMs: IDLE_MS, log: deps.log }, async (signal) => {
    const now = nowIso();
    const claimLease = isoIn(LEASE_MS);
    const tasks = await claimDueTasks(deps.db, deps.dialect, now, claimLease, BATCH);
    // A network that rate-limits gets no more calls this round: its other tasks wait untried.
    const slowDown = new Map<string, string>();
    const postponed = new Map<string, string[]>();
    for (const task of tasks) {
      const until = signal.aborted ? nowIso() : slowDown.get(task.network_id);
      if (until !== undefined) {
        postponed.set(until, [...(postponed.get(until) ?? []), task.id]);
        continue;
      }
      // Its lease counts from now: the tasks before it may have taken long (a hanging network).
      const lease = await renewTask(deps.db, task, isoIn(LEASE_MS));
      if (lease === undefined) continue; // taken over meanwhile, or dropped
      const error = await attempt(deps, { ...task, lease_until: lease });
      if (error instanceof RateLimited) {
        slowDown.set(task.network_id, isoIn(Math.max(1, error.retryAfter ?? 1) * 1000));
      }
    }
    for (const [until, ids] of postponed)
      await releaseTasks(deps.db, ids, claimLease, until, nowIso());
    return { more: tasks.length === BATCH };
  });
}

/** Runs one task; its failure is recorded and returned. */
async function attempt(deps: SyncWorkerDeps, task: SyncTaskRow): Promise<unknown> {
  try {
    const { protocol, ctx } = await networkContext(deps, task.network_id);
    await runTask(deps, protocol, ctx, task);
    await deleteTask(deps.db, task);
    return undefined;
  } catch (error) {
    await fail(deps, task, error);
    return error;
  }
}

/** What to tell the owner; only our own messages, never a raw error that might carry a secret. */
function describe(error: unknown): string {
  if (
    error instanceof PermanentSyncError ||
    error instanceof ProtocolError ||
    error instanceof VaultError
  ) {
    return error.message;
  }
  if (error instanceof AppError) return error.detail;
  return 'Unexpected failure; see the server log.';
}

async function fail(deps: SyncWorkerDeps, task: SyncTaskRow, error: unknown): Promise<void> {
  // A request the network refused as invalid would be refused again: parked until a retry.
  const permanent = error instanceof PermanentSyncError || error instanceof Rejected;
  const message = describe(error);
  let wait = backoffMs(task.attempts);
  if (error instanceof RateLimited && error.retryAfter !== undefined) {
    wait = Math.max(wait, error.retryAfter * 1000);
  }
  // A rate limit is the network setting the pace, not a failure: the first ones leave the
  // link pending (at TTN's 5 requests/s a third of a link's devices met one on the way);
  // one that keeps coming is shown like any error.
  const pacing = error instanceof RateLimited && task.attempts < RATE_LIMITS_UNSHOWN;
  const now = nowIso();
  if (pacing) {
    deps.log.info({ taskId: task.id, kind: task.kind, attempts: task.attempts }, 'sync task paced');
  } else if (!(error instanceof ProtocolError || permanent || error instanceof VaultError)) {
    deps.log.error(
      { err: error, taskId: task.id, kind: task.kind },
      'sync task failed unexpectedly',
    );
  } else {
    deps.log.warn(
      { taskId: task.id, kind: task.kind, attempts: task.attempts, error: message },
      'sync task failed',
    );
  }
  await deps.db.transaction().execute(async (trx) => {
    const held = await rescheduleTask(trx, task, {
      state: permanent ? 'failed' : 'queued',
      nextAttemptAt: isoIn(wait),
      lastError: message,
      now,
    });
    if (!held) return; // another worker holds it now, and tells its outcome
    if (pacing) return; // the link stays pending
    const state = {
      state: 'error' as const,
      last_error: message,
      last_attempt_at: now,
      updated_at: now,
    };
    if (task.kind === 'application')
      await updateApplicationLink(trx, task.application_link_id, state);
    if (task.kind === 'device' && task.device_id !== null) {
      await updateDeviceLink(trx, task.device_id, task.application_link_id, state);
    }
  });
}
