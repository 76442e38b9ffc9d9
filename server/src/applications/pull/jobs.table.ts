import type { Insertable, Selectable } from 'kysely';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

/** A pull from a network, run by the pull worker; progress counts applications. */
export interface JobsTable {
  id: string;
  organization_id: string;
  network_id: string;
  kind: 'pull';
  state: JobState;
  done: number;
  total: number;
  /** JSON counters: applications and devices created, matched. */
  counts_json: string;
  error_count: number;
  /** Why the whole job failed, when it did. */
  message: string | null;
  lease_until: string | null;
  /** The run holding the lease: a new one at every claim; a run writes only while it is there. */
  lease_token: string | null;
  /** JSON: where the run stands (see PullCursor), so a run taken up again goes on from there. */
  cursor_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** One item a job could not import (the first few hundred are kept). */
export interface JobErrorsTable {
  job_id: string;
  position: number;
  item: string;
  message: string;
}

export type JobRow = Selectable<JobsTable>;
export type NewJobRow = Insertable<JobsTable>;
