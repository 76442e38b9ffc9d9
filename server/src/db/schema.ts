/**
 * The Database type: every table, gathered from the feature that owns it.
 * Timestamps are ISO 8601 UTC strings (`Date.toISOString()`) in both dialects: they compare
 * correctly as text, and SQLite has no date type, so one representation keeps queries portable.
 */
import type {
  ApplicationLinksTable,
  ApplicationsTable,
  DeviceLinksTable,
  DevicesTable,
  UnlinkedRemotesTable,
} from '../applications/applications.table.js';
import type { JobErrorsTable, JobsTable } from '../applications/pull/jobs.table.js';
import type { SyncTasksTable } from '../applications/sync/sync.table.js';
import type { ApiKeysTable } from '../accounts/api-keys.table.js';
import type { OrganizationsTable } from '../accounts/organizations.table.js';
import type { SessionsTable } from '../accounts/sessions.table.js';
import type { UsersTable } from '../accounts/users.table.js';
import type { SystemValuesTable } from '../crypto/system-values.table.js';
import type { NetworksTable } from '../networks/networks.table.js';
import type { OAuthAuthorizationsTable, OAuthTokensTable } from '../oauth/oauth.table.js';
import type {
  DeliveriesTable,
  DeliveryEndpointsTable,
  UplinkHoldersTable,
  UplinkLeasesTable,
  UplinksTable,
} from '../uplinks/uplinks.table.js';

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  networks: NetworksTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  oauth_tokens: OAuthTokensTable;
  applications: ApplicationsTable;
  devices: DevicesTable;
  application_links: ApplicationLinksTable;
  device_links: DeviceLinksTable;
  unlinked_remotes: UnlinkedRemotesTable;
  sync_tasks: SyncTasksTable;
  jobs: JobsTable;
  job_errors: JobErrorsTable;
  system_values: SystemValuesTable;
  uplinks: UplinksTable;
  deliveries: DeliveriesTable;
  delivery_endpoints: DeliveryEndpointsTable;
  uplink_leases: UplinkLeasesTable;
  uplink_holders: UplinkHoldersTable;
}
