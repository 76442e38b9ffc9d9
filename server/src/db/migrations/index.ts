import type { Migration } from 'kysely';
import * as initial from './2026-11-28-0001-initial.js';
import * as oauth from './2026-11-28-0002-oauth.js';
import * as applications from './2026-11-28-0003-applications.js';
import * as sync from './2026-11-28-0004-sync.js';
import * as uplinks from './2026-11-28-0005-uplinks.js';
import * as devicesVersion from './2026-11-28-0006-devices-version.js';
import * as pendingDeliveriesIndex from './2026-11-28-0007-pending-deliveries-index.js';
import * as uplinksWithoutForeignKeys from './2026-11-29-0008-uplinks-without-foreign-keys.js';
import * as devicesVersionNotify from './2026-11-29-0009-devices-version-notify.js';
import * as deliveryTargetNotify from './2026-11-29-0010-delivery-target-notify.js';
import * as pullJobsResume from './2026-11-29-0011-pull-jobs-resume.js';
import * as uplinkHolders from './2026-11-29-0012-uplink-holders.js';
import * as unlinkedRemotes from './2026-11-29-0013-unlinked-remotes.js';

/**
 * Every migration, in order. Names are date-prefixed and never change once released; a new
 * migration is a new file plus one line here. Migrations use Kysely<any> and portable builders,
 * so they run on SQLite and PostgreSQL alike, except where one database needs SQL of its own
 * (0008 to 0010): those look at the adapter.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-28-0001-initial': initial,
  '2026-11-28-0002-oauth': oauth,
  '2026-11-28-0003-applications': applications,
  '2026-11-28-0004-sync': sync,
  '2026-11-28-0005-uplinks': uplinks,
  '2026-11-28-0006-devices-version': devicesVersion,
  '2026-11-28-0007-pending-deliveries-index': pendingDeliveriesIndex,
  '2026-11-29-0008-uplinks-without-foreign-keys': uplinksWithoutForeignKeys,
  '2026-11-29-0009-devices-version-notify': devicesVersionNotify,
  '2026-11-29-0010-delivery-target-notify': deliveryTargetNotify,
  '2026-11-29-0011-pull-jobs-resume': pullJobsResume,
  '2026-11-29-0012-uplink-holders': uplinkHolders,
  '2026-11-29-0013-unlinked-remotes': unlinkedRemotes,
};
