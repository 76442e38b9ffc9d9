import type { Selectable } from 'kysely';

/**
 * What a sync task makes true on its network:
 * - `application`: the application exists there (created or adopted), is ready for devices,
 *   has the uplink access key, and carries the local name;
 * - `device`: the device exists there with the local fields and keys;
 * - `delete_device` / `delete_application`: the remote object is gone.
 * Tasks read the current local state when they run, so several edits need one task.
 */
export type SyncTaskKind = 'application' | 'device' | 'delete_device' | 'delete_application';

/** `queued`: will run at `next_attempt_at`; `failed`: the network refused for good, waits for a retry. */
export type SyncTaskState = 'queued' | 'failed';

export interface SyncTasksTable {
  id: string;
  organization_id: string;
  network_id: string;
  kind: SyncTaskKind;
  application_link_id: string;
  /** For device tasks. */
  device_id: string | null;
  /** Kept on the task so that deletes still know what to delete once local rows are gone. */
  remote_application_id: string;
  remote_device_id: string | null;
  state: SyncTaskState;
  attempts: number;
  next_attempt_at: string;
  /** Set while a worker holds the task; an expired lease means its worker died. */
  lease_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export type SyncTaskRow = Selectable<SyncTasksTable>;
