/**
 * Devices versions known without asking PostgreSQL (see device-page-cache.ts for what the
 * version is for). On PostgreSQL, reading an application's version was nearly all the time a
 * cached device list took: a round trip per request. This process listens instead: a trigger on
 * `applications` (migration 0009) notifies every new version and every deletion at commit
 * (db/pg-notifications.ts), and the versions read from the database are kept and moved by those
 * notifications.
 *
 * What keeps it right:
 * - a version is only ever raised (a late answer from an earlier read cannot lower it), and a
 *   notification for an application not known yet is kept too, so that such an answer is
 *   raised to it;
 * - nothing is trusted while the notifications' connection is down, everything known is dropped
 *   when it goes down (notifications were missed), and a read is only kept if the connection
 *   was listening, the same one, when the read began (`beginRead`);
 * - a version is trusted for TRUST_MS after the database or a notification last confirmed it,
 *   whatever happens to the connection (one that died silently delays updates by that much at
 *   most);
 * - after a write, this process reads the new version from the database before it answers
 *   (devices.service.ts), so that a client reads its own writes even before the notification
 *   is here.
 * Another process's write shows here once its notification arrives: milliseconds.
 */
import type { PgNotifications } from '../db/pg-notifications.js';

export const DEVICES_VERSION_CHANNEL = 'lpwan_devices_version';
const TRUST_MS = 5_000;
/** Past this many applications, what is known is dropped and learnt again. */
const MAX_KNOWN = 100_000;

interface Known {
  version: number;
  /** Undefined while known from a notification only: not enough for an access check. */
  organizationId: string | undefined;
  confirmedAt: number;
  deleted: boolean;
}

export class DevicesVersionWatch {
  private readonly known = new Map<string, Known>();
  /** Raised whenever what is known is dropped: reads begun before are not kept. */
  private epoch = 0;

  constructor(
    private readonly notifications: PgNotifications,
    private readonly now: () => number = Date.now,
  ) {
    notifications.on(DEVICES_VERSION_CHANNEL, (payload) => this.notified(payload));
    notifications.onLost(() => this.drop());
  }

  /**
   * The application's devices version, if known and trusted for this organization; undefined:
   * ask the database. An application of another organization is undefined too (the database
   * then says it is not found).
   */
  versionOf(organizationId: string, applicationId: string): number | undefined {
    if (!this.notifications.listening) return undefined;
    const known = this.known.get(applicationId);
    if (known === undefined || known.deleted || known.organizationId !== organizationId)
      return undefined;
    if (this.now() - known.confirmedAt > TRUST_MS) return undefined;
    return known.version;
  }

  /** Call before reading a version from the database; give the answer to `remember`. */
  beginRead(): number {
    return this.notifications.listening ? this.epoch : -1;
  }

  /**
   * A version read from the database (with the access check: the application is the
   * organization's), by a read that `beginRead` gave `read`.
   */
  remember(read: number, organizationId: string, applicationId: string, version: number): void {
    if (read !== this.epoch || !this.notifications.listening) return;
    this.raise(applicationId, version, organizationId);
  }

  /** The application is gone: this process deleted it (its notification may not be here yet). */
  forget(applicationId: string): void {
    this.notified(`${applicationId} deleted`);
  }

  private notified(payload: string): void {
    const [applicationId, value] = payload.split(' ');
    if (!applicationId || value === undefined) return;
    if (value === 'deleted') {
      const known = this.known.get(applicationId);
      if (known !== undefined) known.deleted = true;
      else {
        const gone = { version: 0, organizationId: undefined, confirmedAt: 0, deleted: true };
        this.add(applicationId, gone);
      }
      return;
    }
    const version = Number(value);
    if (Number.isInteger(version)) this.raise(applicationId, version, undefined);
  }

  /**
   * What is known of the application is raised to `version`, confirmed now (a lower version, an
   * earlier read's late answer, changes nothing); with the organization when a read gave it.
   */
  private raise(applicationId: string, version: number, organizationId: string | undefined): void {
    const known = this.known.get(applicationId);
    if (known === undefined) {
      this.add(applicationId, { version, organizationId, confirmedAt: this.now(), deleted: false });
      return;
    }
    if (known.deleted) return;
    if (organizationId !== undefined) known.organizationId = organizationId;
    if (version >= known.version) {
      known.version = version;
      known.confirmedAt = this.now();
    }
  }

  private add(applicationId: string, known: Known): void {
    if (this.known.size >= MAX_KNOWN) {
      this.known.clear();
      this.epoch++;
    }
    this.known.set(applicationId, known);
  }

  /** Notifications may have been missed: nothing known is trusted any more. */
  private drop(): void {
    this.epoch++;
    this.known.clear();
  }
}
