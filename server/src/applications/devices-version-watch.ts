/**
 * Devices versions known without asking PostgreSQL (see device-page-cache.ts for what the
 * version is for). On PostgreSQL, reading an application's version was nearly all the time a
 * cached device list took: a round trip per request. This process LISTENs instead: a trigger on
 * `applications` (migration 0009) NOTIFYs every new version and every deletion at commit, and
 * the versions read from the database are kept and moved by those notifications.
 *
 * What keeps it right:
 * - a version is only ever raised (a late answer from an earlier read cannot lower it), and a
 *   notification for an application not known yet is kept too, so that such an answer is
 *   raised to it;
 * - nothing is trusted while the listening connection is down, everything known is dropped
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
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';

export const DEVICES_VERSION_CHANNEL = 'lpwan_devices_version';
const TRUST_MS = 5_000;
/** Past this many applications, what is known is dropped and learnt again. */
const MAX_KNOWN = 100_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

interface Known {
  version: number;
  /** Undefined while known from a notification only: not enough for an access check. */
  organizationId: string | undefined;
  confirmedAt: number;
  deleted: boolean;
}

export class DevicesVersionWatch {
  private readonly known = new Map<string, Known>();
  private client: pg.Client | undefined;
  private listening = false;
  /** Raised whenever listening starts or stops: reads begun under another epoch are not kept. */
  private epoch = 0;
  private stopped = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts listening; resolves once the first attempt has connected or failed (it retries). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.drop();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /**
   * The application's devices version, if known and trusted for this organization; undefined:
   * ask the database. An application of another organization is undefined too (the database
   * then says it is not found).
   */
  versionOf(organizationId: string, applicationId: string): number | undefined {
    if (!this.listening) return undefined;
    const known = this.known.get(applicationId);
    if (known === undefined || known.deleted || known.organizationId !== organizationId)
      return undefined;
    if (this.now() - known.confirmedAt > TRUST_MS) return undefined;
    return known.version;
  }

  /** Call before reading a version from the database; give the answer to `remember`. */
  beginRead(): number {
    return this.listening ? this.epoch : -1;
  }

  /**
   * A version read from the database (with the access check: the application is the
   * organization's), by a read that `beginRead` gave `read`.
   */
  remember(read: number, organizationId: string, applicationId: string, version: number): void {
    if (read !== this.epoch || !this.listening) return;
    const known = this.known.get(applicationId);
    if (known === undefined) {
      this.add(applicationId, { version, organizationId, confirmedAt: this.now(), deleted: false });
      return;
    }
    if (known.deleted) return;
    known.organizationId = organizationId;
    if (version >= known.version) {
      known.version = version;
      known.confirmedAt = this.now();
    }
  }

  /** The application is gone: this process deleted it (its notification may not be here yet). */
  forget(applicationId: string): void {
    this.notified(`${applicationId} deleted`);
  }

  private notified(payload: string | undefined): void {
    const [applicationId, value] = (payload ?? '').split(' ');
    if (!applicationId || value === undefined) return;
    const now = this.now();
    const known = this.known.get(applicationId);
    if (value === 'deleted') {
      if (known !== undefined) known.deleted = true;
      else this.add(applicationId, { ...blank(now), deleted: true });
      return;
    }
    const version = Number(value);
    if (!Number.isInteger(version)) return;
    if (known === undefined) {
      this.add(applicationId, { ...blank(now), version });
      return;
    }
    if (version >= known.version) {
      known.version = version;
      known.confirmedAt = now;
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
    this.listening = false;
    this.epoch++;
    this.known.clear();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true });
    this.client = client;
    client.on('notification', (message) => this.notified(message.payload));
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.drop();
      if (error) this.log.warn({ err: error }, 'devices version notifications lost; reconnecting');
      void client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${DEVICES_VERSION_CHANNEL}`);
      this.attempts = 0;
      if (this.client === client) {
        this.epoch++;
        this.listening = true;
      }
    } catch (error) {
      lost(error as Error);
    }
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}

function blank(now: number): Known {
  return { version: 0, organizationId: undefined, confirmedAt: now, deleted: false };
}
