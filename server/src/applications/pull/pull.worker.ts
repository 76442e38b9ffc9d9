/** The pull worker: takes one stored pull job at a time through the database and runs it. */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { isoIn, nowIso } from '../../clock.js';
import { loopWorker, type LoopWorker } from '../../workers/worker.js';
import { claimJob } from './jobs.repository.js';
import type { PullDeps } from './jobs.service.js';
import { JOB_LEASE_MS, runPull } from './pull.run.js';

/**
 * How often to look for pulls queued by other processes; one queued by this process wakes the
 * worker at once.
 */
const IDLE_MS = 1_000;

export interface PullWorkerDeps extends PullDeps {
  dialect: 'sqlite' | 'postgres';
  log: FastifyBaseLogger;
}

export function pullWorker(deps: PullWorkerDeps): LoopWorker {
  return loopWorker('pull', { idleMs: IDLE_MS, log: deps.log }, async (signal) => {
    const job = await claimJob(deps.db, deps.dialect, nowIso(), isoIn(JOB_LEASE_MS), randomUUID());
    if (job === undefined) return { more: false };
    deps.log.info({ jobId: job.id, networkId: job.network_id }, 'pull started');
    await runPull(deps, job, signal);
    deps.log.info({ jobId: job.id }, 'pull finished');
    return { more: true };
  });
}
