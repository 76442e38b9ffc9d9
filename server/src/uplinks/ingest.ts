/**
 * Stores received uplinks in batches. A store resolves once its uplink is committed (the
 * subscription acknowledges the network's message only then). Batching is what makes the
 * durable path fast on PostgreSQL: every uplink that arrives while one batch commits goes
 * into the next transaction (group commit), so a busy server commits hundreds per round trip
 * while a quiet one commits each uplink right away.
 *
 * Deliveries the delivery worker has room for are stored claimed by it and handed to it once
 * committed: a new uplink reaches its endpoint without waiting for (and paying for) a claim.
 */
import type { FastifyBaseLogger } from 'fastify';
import { nowIso } from '../clock.js';
import { Backlog } from './backlog.js';
import type { DeliveryHandOff } from './delivery.js';
import type { UplinkStorage } from './uplink-storage.js';
import type { ClaimedDelivery, Dialect } from './uplinks.repository.js';
import type { NewUplinkRow } from './uplinks.table.js';

const MAX_BATCH = 500;
/**
 * Uplinks received and not yet stored past which the subscriptions stop reading (ready()),
 * and the level at which they read again: memory stays bounded whatever the network sends,
 * and the event loop keeps time for delivering what it stored.
 */
const HIGH_WATER = 2 * MAX_BATCH;
const LOW_WATER = MAX_BATCH;
/** A batch this large means a busy server: the next one gathers for GATHER_MS. */
const BUSY_BATCH = 16;
const GATHER_MS = 5;
/**
 * A database that fails is retried for about a minute — long enough for a PostgreSQL failover —
 * before the batch is given up (and left unacknowledged: QoS 1 messages come again from the
 * broker; QoS 0 ones are lost). Meanwhile the subscriptions stop reading (ready()).
 */
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000];

export interface IncomingUplink {
  row: Omit<NewUplinkRow, 'ingested_at'>;
}

type IncomingRow = IncomingUplink['row'];

/**
 * Uplinks stored in one transaction, and the promise their stores resolve with: one per batch
 * rather than one per uplink, which showed in the uplinks bench.
 */
class Batch {
  readonly rows: IncomingRow[] = [];
  readonly stored: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.stored = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Each caller of store() handles a failure; this keeps it from also counting as unhandled.
    this.stored.catch(() => undefined);
  }
}

export class UplinkIngest {
  /** Batches not yet taken for writing; only the last one still takes uplinks. */
  private queue: Batch[] = [];
  /** Uplinks in `queue`. */
  private readonly queued = new Backlog(HIGH_WATER, LOW_WATER);
  private flushing = false;

  constructor(
    private readonly deps: {
      /** Where the batches are written (uplink-storage.ts). */
      storage: UplinkStorage;
      dialect: Dialect;
      log: FastifyBaseLogger;
      delivery: DeliveryHandOff;
      /** Called after each commit with the applications that got new uplinks, and how many. */
      onStored: (applicationIds: Set<string>, count: number) => void;
    },
  ) {}

  store(uplink: IncomingUplink): Promise<void> {
    let batch = this.queue.at(-1);
    if (batch === undefined || batch.rows.length >= MAX_BATCH) {
      batch = new Batch();
      this.queue.push(batch);
    }
    batch.rows.push(uplink.row);
    this.queued.add(1);
    if (!this.flushing) {
      this.flushing = true;
      // Let the messages already read from the sockets join this batch.
      setImmediate(() => void this.drain());
    }
    return batch.stored;
  }

  /** Undefined while the queue is short; else resolves once it is back down to LOW_WATER. */
  ready(): Promise<void> | undefined {
    return this.queued.ready();
  }

  /** Resolves when everything queued so far is stored (or given up). */
  async idle(): Promise<void> {
    while (this.flushing || this.queued.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private async drain(): Promise<void> {
    for (let batch = this.queue.shift(); batch !== undefined; batch = this.queue.shift()) {
      this.queued.remove(batch.rows.length);
      try {
        await this.write(batch.rows);
        batch.resolve();
      } catch (error) {
        this.deps.log.error(
          { err: error, uplinks: batch.rows.length },
          'uplinks could not be stored',
        );
        batch.reject(error);
      }
      // Under load, the next batch gathers for a moment: a commit costs about as much as
      // storing twenty uplinks, so fewer, larger batches leave more time for delivering them.
      if (batch.rows.length >= BUSY_BATCH && this.queued.size < MAX_BATCH)
        await new Promise((r) => setTimeout(r, GATHER_MS));
    }
    this.flushing = false;
  }

  private async write(batch: IncomingRow[]): Promise<void> {
    const { delivery } = this.deps;
    const reserved = this.reserveDeliveries(batch);
    const claimed: ClaimedDelivery[] = [];
    const pendingApplications = new Set<string>();
    let leaseUntil = '';
    try {
      for (let attempt = 0; ; attempt++) {
        const now = nowIso();
        const rows = batch.map((row) => ({ ...row, ingested_at: now }));
        leaseUntil = delivery.leaseUntil();
        try {
          const result = await this.deps.storage.run('insertUplinks', this.deps.dialect, rows, {
            uplinkIds: reserved.uplinkIds,
            leaseUntil,
          });
          if (result.stored.length === 0) return;
          const stored = new Set(result.stored);
          // Counted now: the loop below empties the set.
          const count = stored.size;
          const claimedIds = new Set(result.claimed);
          const applications = new Set<string>();
          for (const row of rows) {
            // delete: a message received twice in one batch is sent once.
            if (!stored.delete(row.id)) continue;
            applications.add(row.application_id);
            if (claimedIds.has(row.id)) {
              claimed.push({
                uplink_id: row.id,
                application_id: row.application_id,
                attempts: 0,
                created_at: now,
                document: row.document,
              });
            } else pendingApplications.add(row.application_id);
          }
          this.deps.onStored(applications, count);
          return;
        } catch (error) {
          const delay = RETRY_DELAYS_MS[attempt];
          if (delay === undefined) throw error;
          this.deps.log.warn(
            { err: error, attempt: attempt + 1 },
            'storing uplinks failed; retrying',
          );
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      delivery.stored(claimed, leaseUntil, reserved.perApplication, pendingApplications);
    }
  }

  /** Room in the delivery worker for the batch's uplinks, in their order, per application. */
  private reserveDeliveries(batch: IncomingRow[]): {
    uplinkIds: Set<string>;
    perApplication: Map<string, number>;
  } {
    const byApplication = new Map<string, string[]>();
    for (const row of batch) {
      const ids = byApplication.get(row.application_id);
      if (ids === undefined) byApplication.set(row.application_id, [row.id]);
      else ids.push(row.id);
    }
    const uplinkIds = new Set<string>();
    const perApplication = new Map<string, number>();
    for (const [applicationId, ids] of byApplication) {
      const granted = this.deps.delivery.reserve(applicationId, ids.length);
      if (granted === 0) continue;
      perApplication.set(applicationId, granted);
      for (const id of ids.slice(0, granted)) uplinkIds.add(id);
    }
    return { uplinkIds, perApplication };
  }
}
