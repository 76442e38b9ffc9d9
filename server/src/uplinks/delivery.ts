/**
 * Delivers stored uplinks to their application's reporting URL.
 *
 * Deliveries reach the worker two ways. New uplinks received by this process are handed over
 * by ingest: their deliveries are stored already claimed by this worker (`reserve` before the
 * commit, `stored` after it) and sent at once, which spares a claim query per batch on the
 * busiest path; past the documents the worker holds, they are held without them and their
 * documents read back by primary key when there is room (`readBack`). Everything else —
 * retries, a backlog, uplinks another process stored — is claimed from the database (several
 * processes share the work; see claimDeliveries). Hand-over stops for an application while it
 * has a backlog, so old deliveries are not passed by new ones for long (there is no ordering
 * guarantee: up to 64 requests run at once).
 *
 * Per-application limits keep one slow endpoint from taking every slot, and an endpoint that
 * fails is backed off as a whole (one probe at a time until it answers again) instead of
 * failing each of its deliveries. Outcomes are recorded in batches a few milliseconds apart.
 */
import type { FastifyBaseLogger } from 'fastify';
import { nowIso } from '../clock.js';
import type { UplinksConfig } from '../config.js';
import { SecretBoxError, type SecretBox } from '../crypto/secret-box.js';
import type { PgNotifications } from '../db/pg-notifications.js';
import type { BackgroundWorker } from '../workers/worker.js';
import { postDocument, requestLimitMs, type PostOutcome } from './post-document.js';
import {
  HeldDeliveries,
  type HeldClaim,
  type HeldDelivery,
  type HoldLimits,
} from './held-deliveries.js';
import type { ClaimedDelivery, Dialect } from './uplinks.repository.js';
import type { UplinkStorage } from './uplink-storage.js';

const BACKOFF_MIN_MS = 1_000;
/** Past the request time-out: a claim outlives the request it was made for. */
const CLAIM_MARGIN_MS = 5_000;
/** How often the claims of held deliveries are checked, and renewed before they can run out. */
const RENEW_EVERY_MS = 1_000;
/**
 * What one process holds, from DELIVERY_HELD_DOCUMENTS (D): D documents in memory, at most half
 * of them of one application, and 4·D claims in all, at most half of them of one application,
 * counting those held without their documents (see held-deliveries.ts). A burst that fits is
 * handed over from ingest in memory; past the documents, to the claims, it costs a read of each
 * document; past the claims, deliveries are stored unclaimed and claimed back later, which on
 * PostgreSQL cost a third of the database's time per uplink. With the default D = 65,536 that is
 * ~80 MB of documents (~850 bytes each, with their bookkeeping) and ~50 MB of claims without
 * them (~200 bytes each) at most.
 */
function holdLimits(heldDocuments: number): HoldLimits {
  const documentsPerApplication = Math.max(1, Math.floor(heldDocuments / 2));
  return {
    requests: 256,
    requestsPerApplication: 64,
    documents: heldDocuments,
    documentsPerApplication,
    total: 4 * heldDocuments,
    perApplication: 4 * documentsPerApplication,
  };
}
const MAX_CLAIM = 500;
const IDLE_MS = 500;
/**
 * How long a reporting URL and secret read from the database are used. One changed through
 * this process is read again before its answer (targetChanged, through core's
 * ReportingTargets); on PostgreSQL any change, made anywhere, is notified at commit
 * (migration 0010) and read again at once; otherwise (a change made outside the server) it is
 * used within this.
 */
const TARGET_CACHE_MS = 2_000;
/** The channel of changed reporting URLs and secrets: the application id. */
export const DELIVERY_TARGET_CHANNEL = 'lpwan_delivery_target';
const SUCCESS_RECORD_MS = 1_000;
/**
 * How long finished deliveries wait to be recorded together. Their claims keep them from being
 * sent again meanwhile; a crash in this window sends them again (at least once).
 */
const RECORD_DELAY_MS = 10;

/** Associated data of an application's sealed reporting secret. */
export function reportingSecretAad(applicationId: string): string {
  return `applications:${applicationId}:reporting_secret`;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(attempt: number, maxMs: number): number {
  const delay = Math.min(maxMs, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 30));
  return delay / 2 + Math.random() * (delay / 2);
}

interface Outcome {
  delivery: HeldClaim['delivery'];
  outcome: PostOutcome;
}

interface FailedOutcome {
  status: 'pending' | 'dead';
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string;
}

interface Target {
  url: string | null;
  secret: string | null;
  /** Why the application's deliveries cannot be sent (its secret does not open), if so. */
  problem?: string;
  loadedAt: number;
}

/** What ingest sees of the worker: deliveries of new uplinks go to it without a claim query. */
export interface DeliveryHandOff {
  /** Takes room for up to `wanted` new deliveries of the application; returns how many. */
  reserve(applicationId: string, wanted: number): number;
  /** The claim to store reserved deliveries with. */
  leaseUntil(): string;
  /**
   * After the commit: holds the deliveries stored claimed (until `claimedUntil`), frees the
   * reserved room they did not use, and looks for the deliveries of `applicationIds` that
   * were stored unclaimed.
   */
  stored(
    claimed: ClaimedDelivery[],
    claimedUntil: string,
    reserved: ReadonlyMap<string, number>,
    applicationIds: Iterable<string>,
  ): void;
}

export interface DeliveryDeps {
  /** Where the worker's SQL runs (uplink-storage.ts). */
  storage: UplinkStorage;
  /** PostgreSQL: notifications of changed reporting URLs and secrets. */
  notifications?: PgNotifications;
  dialect: Dialect;
  secretBox: SecretBox;
  log: FastifyBaseLogger;
  config: UplinksConfig;
  /** Told how many finished requests were recorded, delivered and failed (the metrics). */
  onRecorded: (delivered: number, failed: number) => void;
}

export class DeliveryWorker implements BackgroundWorker, DeliveryHandOff {
  readonly name = 'uplink-delivery';
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** A wake-up that came while the loop was busy: its next sleep returns at once. */
  private woken = false;
  /** The loop waits for held deliveries to be sent (no room to claim), not for new work. */
  private waitingForRoom = false;
  private readonly limits: HoldLimits;
  private readonly held: HeldDeliveries;
  /** Most deliveries of one application in a claim: half the documents it may hold. */
  private readonly claimShare: number;
  /** Applications whose spilled deliveries are being read back: one read at a time each. */
  private readonly readingBack = new Map<string, Promise<void>>();
  /** Applications whose endpoint failed last: one request at a time until it answers. */
  private readonly failing = new Set<string>();
  /**
   * Applications that may have due deliveries in the database: their new deliveries go through
   * claims too (no hand-over) until a claim finds no more.
   */
  private readonly backlogged = new Set<string>();
  private readonly targets = new Map<string, Target>();
  private readonly loadingTargets = new Set<string>();
  private readonly successRecordedAt = new Map<string, number>();
  private outcomes: Outcome[] = [];
  /** Deliveries let go of when their endpoint failed: their claims end at its backoff. */
  private readonly dropped = new Map<string, string[]>();
  private recordTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private recording: Promise<void> | undefined;
  private readonly isFailing = (applicationId: string) => this.failing.has(applicationId);

  constructor(private readonly deps: DeliveryDeps) {
    deps.notifications?.on(
      DELIVERY_TARGET_CHANNEL,
      (applicationId) => void this.targetChanged(applicationId),
    );
    this.limits = holdLimits(deps.config.heldDocuments);
    this.held = new HeldDeliveries(this.limits);
    this.claimShare = Math.max(1, Math.floor(this.limits.documentsPerApplication / 2));
  }

  start(): void {
    if (this.running) return;
    this.controller = new AbortController();
    this.running = this.loop(this.controller.signal);
    // One renewal at a time: under load one may take longer than the interval, and piling
    // more onto the database would only slow them all.
    this.renewTimer = setInterval(() => {
      this.renewing ??= this.renewClaims().finally(() => (this.renewing = undefined));
    }, RENEW_EVERY_MS);
    this.renewTimer.unref();
  }

  /**
   * Stops claiming; waits for the requests in flight and their outcomes to be recorded, and
   * lets go of the deliveries still waiting (due at once for the next process).
   */
  async stop(): Promise<void> {
    this.controller?.abort();
    this.wake?.();
    await this.running;
    this.running = undefined;
    clearInterval(this.renewTimer);
    await Promise.all(this.readingBack.values());
    const waiting = [...this.held.applications()].flatMap((app) => this.held.dropWaiting(app));
    while (this.held.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    clearTimeout(this.recordTimer);
    this.recordTimer = undefined;
    await this.flushOutcomes();
    await this.giveBack(waiting.map((h) => h.delivery.uplink_id));
  }

  /** Ends this process's claims on deliveries it will not send: due at once for any process. */
  private async giveBack(uplinkIds: string[]): Promise<void> {
    try {
      await this.deps.storage.run('rescheduleDeliveries', this.deps.dialect, uplinkIds, nowIso());
    } catch (err) {
      this.deps.log.warn({ err }, 'held deliveries are left to their claims running out');
    }
  }

  private get accepting(): boolean {
    return this.running !== undefined && this.controller?.signal.aborted === false;
  }

  reserve(applicationId: string, wanted: number): number {
    if (!this.accepting || this.failing.has(applicationId)) return 0;
    const target = this.targets.get(applicationId);
    if (target === undefined || Date.now() - target.loadedAt > TARGET_CACHE_MS)
      void this.refreshTargets([applicationId]);
    // Unknown yet: this batch goes through a claim, which loads it.
    if (target === undefined) return 0;
    if (target.url === null) return 0; // no delivery is made
    if (this.backlogged.has(applicationId)) return 0;
    const granted = this.held.reserve(applicationId, wanted);
    if (granted < wanted) this.backlogged.add(applicationId);
    return granted;
  }

  leaseUntil(): string {
    return new Date(this.leaseEnd()).toISOString();
  }

  private leaseEnd(): number {
    return Date.now() + requestLimitMs(this.deps.config.deliveryTimeoutMs) + CLAIM_MARGIN_MS;
  }

  stored(
    claimed: ClaimedDelivery[],
    claimedUntil: string,
    reserved: ReadonlyMap<string, number>,
    applicationIds: Iterable<string>,
  ): void {
    if (!this.accepting) {
      // Stopped while the batch was stored: its claims are given back, due at once.
      for (const [applicationId, n] of reserved) this.held.unreserve(applicationId, n);
      void this.giveBack(claimed.map((d) => d.uplink_id));
      return;
    }
    const unused = new Map(reserved);
    const leaseUntil = Date.parse(claimedUntil);
    for (const delivery of claimed) {
      unused.set(delivery.application_id, (unused.get(delivery.application_id) ?? 0) - 1);
      this.held.add({ delivery, body: delivery.document!, leaseUntil }, true);
    }
    for (const [applicationId, n] of unused) {
      this.held.unreserve(applicationId, n);
      this.readBack(applicationId);
    }
    this.send(this.held.takeSendable(this.isFailing));
    this.notifyStored(applicationIds);
  }

  /** New work may be due (an uplink was stored, a dead letter requeued). */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  /**
   * Uplinks of these applications were stored unclaimed. A claim now would skip the
   * applications that hold enough — at full speed, nearly always the case — and cost a scan of
   * the due deliveries for nothing; their next claim comes when what they hold is sent.
   */
  private notifyStored(applicationIds: Iterable<string>): void {
    for (const id of applicationIds) {
      if (!this.isSaturated(id)) {
        this.notify();
        return;
      }
    }
  }

  /**
   * The application's reporting URL or secret changed: they are read again now. Requests sent
   * meanwhile use what was read before (without it they would fail as having no URL).
   */
  async targetChanged(applicationId: string): Promise<void> {
    if (!this.targets.has(applicationId)) return; // read when first needed
    try {
      await this.readTargets([applicationId]);
    } catch (err) {
      const target = this.targets.get(applicationId);
      if (target !== undefined) target.loadedAt = 0; // read again before the next hand-over
      this.deps.log.error({ err }, 'reading a changed reporting URL failed');
    }
  }

  /**
   * Claims leave out the application: it holds enough, or deliveries without their documents
   * (reading those back is cheaper than a claim, and they are older than what waits unclaimed).
   */
  private isSaturated(applicationId: string): boolean {
    const n = this.held.of(applicationId);
    return (
      n > this.limits.perApplication / 2 ||
      this.held.documentsOf(applicationId) > this.claimCap(applicationId) ||
      this.held.spilledOf(applicationId) > 0 ||
      (this.failing.has(applicationId) && n > 0)
    );
  }

  /** Most deliveries of the application in a claim: its share, or one probe while it fails. */
  private claimCap(applicationId: string): number {
    return this.failing.has(applicationId) ? 1 : this.claimShare;
  }

  /**
   * Reads back the documents of the application's spilled deliveries, MAX_CLAIM at a time,
   * while it holds no more than half the documents it may: sends go on from what is held
   * meanwhile.
   */
  private readBack(applicationId: string): void {
    if (!this.accepting || this.readingBack.has(applicationId)) return;
    if (this.held.spilledOf(applicationId) === 0) return;
    if (this.held.documentsOf(applicationId) > this.limits.documentsPerApplication / 2) return;
    const taken = this.held.takeSpilled(applicationId, MAX_CLAIM);
    if (taken.length === 0) return;
    this.readingBack.set(
      applicationId,
      this.readDocuments(applicationId, taken).finally(() =>
        this.readingBack.delete(applicationId),
      ),
    );
  }

  private async readDocuments(applicationId: string, taken: HeldClaim[]): Promise<void> {
    let found: ClaimedDelivery[];
    try {
      found = await this.deps.storage.run(
        'readClaimedDeliveries',
        this.deps.dialect,
        taken.map((claim) => claim.delivery.uplink_id),
      );
    } catch (err) {
      // Held as they were; the loop's next round reads them again.
      this.held.unload(applicationId, taken);
      this.deps.log.error({ err }, 'reading back held deliveries failed');
      return;
    }
    const byId = new Map(found.map((delivery) => [delivery.uplink_id, delivery]));
    let gone = 0;
    for (const claim of taken) {
      const delivery = byId.get(claim.delivery.uplink_id);
      if (delivery?.document == null) gone++;
      else this.held.loaded({ delivery, body: delivery.document, leaseUntil: claim.leaseUntil });
    }
    this.held.notLoaded(applicationId, gone);
    this.send(this.held.takeSendable(this.isFailing, applicationId));
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        this.woken = false;
        done();
      };
    });
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for (const applicationId of [...this.held.applications()]) this.readBack(applicationId);
        const room = this.held.room;
        const limit = Math.min(room, MAX_CLAIM);
        const { claimed, leaseUntil } =
          room > 0 ? await this.claim(limit) : { claimed: [], leaseUntil: '' };
        if (claimed.length > 0) await this.dispatch(claimed, leaseUntil);
        // Claim again while a claim may find more: it was full, or one of its applications can
        // take more (per-application limits make claims partial). Otherwise wait for new work,
        // room, or an application falling below its limit: at full speed a claim for nothing
        // but saturated applications scans the due deliveries for nothing.
        const more =
          claimed.length === limit ||
          claimed.some((delivery) => !this.isSaturated(delivery.application_id));
        if (!more || room <= 0) {
          this.waitingForRoom = room <= 0;
          await this.sleep(IDLE_MS);
          this.waitingForRoom = false;
        }
      } catch (err) {
        if (!signal.aborted)
          this.deps.log.error({ err, worker: this.name }, 'delivery round failed');
        await this.sleep(IDLE_MS);
      }
    }
  }

  private async claim(limit: number): Promise<{ claimed: ClaimedDelivery[]; leaseUntil: string }> {
    // Claims of half of what an application may hold, for applications holding at most half,
    // keep each under the limit while claiming in bulk.
    const excluded = [...this.held.applications()].filter((app) => this.isSaturated(app));
    const leaseUntil = this.leaseUntil();
    const claimed = await this.deps.storage.run('claimDeliveries', this.deps.dialect, {
      now: nowIso(),
      leaseUntil,
      limit,
      perApplication: this.claimShare,
      excluded,
    });
    this.noteBacklogs(claimed, claimed.length === limit, new Set(excluded));
    return { claimed, leaseUntil };
  }

  /**
   * An application whose claim was capped may have more due, and so may every application of a
   * claim cut short by the overall limit; one that got less than its cap in a claim that was
   * not cut short has none left.
   */
  private noteBacklogs(claimed: ClaimedDelivery[], cutShort: boolean, excluded: Set<string>): void {
    const counts = new Map<string, number>();
    for (const c of claimed) counts.set(c.application_id, (counts.get(c.application_id) ?? 0) + 1);
    for (const [applicationId, n] of counts)
      if (cutShort || n >= this.claimCap(applicationId)) this.backlogged.add(applicationId);
    if (cutShort) return;
    for (const applicationId of this.backlogged) {
      const n = counts.get(applicationId) ?? 0;
      if (!excluded.has(applicationId) && n < this.claimCap(applicationId))
        this.backlogged.delete(applicationId);
    }
  }

  private async dispatch(claimed: ClaimedDelivery[], claimedUntil: string): Promise<void> {
    await this.loadTargets([...new Set(claimed.map((c) => c.application_id))]);
    const leaseUntil = Date.parse(claimedUntil);
    for (const delivery of claimed) {
      const body = delivery.document;
      if (body === null) continue; // purged meanwhile, nothing to send
      this.held.add({ delivery, body, leaseUntil }, false);
    }
    this.send(this.held.takeSendable(this.isFailing));
  }

  private send(items: HeldDelivery[]): void {
    for (const item of items) void this.deliver(item).finally(() => this.sent(item));
  }

  /** A request ended: its slot goes to the next waiting delivery, and claims may go on. */
  private sent(item: HeldDelivery): void {
    const applicationId = item.delivery.application_id;
    const allBusy = this.held.inFlight >= this.limits.requests;
    this.held.finish(item);
    // A slot of all the process's: any application may use it; else only this one's.
    this.send(this.held.takeSendable(this.isFailing, allBusy ? undefined : applicationId));
    this.readBack(applicationId);
    // The loop cares only when it waits for room, or when the application has due deliveries
    // in the database and has just come down to the documents that let claims take it again
    // (so that it claims many at once); new work wakes it through notify().
    if (
      this.waitingForRoom ||
      (this.backlogged.has(applicationId) &&
        this.held.spilledOf(applicationId) === 0 &&
        this.held.documentsOf(applicationId) === this.claimCap(applicationId))
    )
      this.notify();
  }

  /**
   * Held deliveries wait for a slot longer than a claim lasts when their endpoint is slow:
   * their claims are extended before they run out, so no other process takes them meanwhile.
   */
  private async renewClaims(): Promise<void> {
    // A delivery may wait up to a round before its renewal, then be sent: its claim must
    // outlast both.
    const soon =
      Date.now() + requestLimitMs(this.deps.config.deliveryTimeoutMs) + 2 * RENEW_EVERY_MS;
    const expiring = [...this.held.waiting()].filter((h) => h.leaseUntil < soon);
    if (expiring.length === 0) return;
    const leaseUntil = this.leaseEnd();
    try {
      await this.deps.storage.run(
        'rescheduleDeliveries',
        this.deps.dialect,
        expiring.map((h) => h.delivery.uplink_id),
        new Date(leaseUntil).toISOString(),
      );
      for (const h of expiring) h.leaseUntil = leaseUntil;
    } catch (err) {
      this.deps.log.error({ err }, 'renewing the claims of held deliveries failed');
    }
  }

  /** Reads the targets of applications not read yet (or too long ago) before their claims are sent. */
  private async loadTargets(applicationIds: string[]): Promise<void> {
    const stale = applicationIds.filter((id) => {
      const t = this.targets.get(id);
      return t === undefined || Date.now() - t.loadedAt > TARGET_CACHE_MS;
    });
    await this.readTargets(stale);
  }

  /** loadTargets in the background, for hand-overs: once at a time per application. */
  private async refreshTargets(applicationIds: string[]): Promise<void> {
    const wanted = applicationIds.filter((id) => !this.loadingTargets.has(id));
    if (wanted.length === 0) return;
    for (const id of wanted) this.loadingTargets.add(id);
    try {
      await this.readTargets(wanted);
    } catch (err) {
      this.deps.log.error({ err }, 'reading reporting URLs failed');
    } finally {
      for (const id of wanted) this.loadingTargets.delete(id);
    }
  }

  private async readTargets(applicationIds: string[]): Promise<void> {
    for (const row of await this.deps.storage.run('findDeliveryTargets', applicationIds)) {
      const target: Target = { url: row.reporting_url, secret: null, loadedAt: Date.now() };
      try {
        if (row.reporting_secret_sealed !== null)
          target.secret = this.deps.secretBox.open(
            row.reporting_secret_sealed,
            reportingSecretAad(row.id),
          );
      } catch (error) {
        // One application's secret (e.g. sealed with a key no longer configured) must not hold
        // up the others' deliveries: its own fail, with the reason, and are retried.
        if (!(error instanceof SecretBoxError)) throw error;
        target.problem = `The reporting secret cannot be used: ${error.message}`;
      }
      this.targets.set(row.id, target);
    }
  }

  /**
   * Sends one delivery. Its outcome is recorded with the others that finish within
   * RECORD_DELAY_MS: a few statements per batch instead of several per delivery, which keeps
   * the database (and its connection pool) free for other applications' work.
   */
  private async deliver({ delivery, body }: HeldDelivery): Promise<void> {
    const target = this.targets.get(delivery.application_id);
    const url = target?.problem === undefined ? target?.url : null;
    const outcome: PostOutcome =
      url == null
        ? {
            ok: false,
            status: null,
            error: target?.problem ?? 'The application has no reporting URL',
            endpointFailure: true,
            durationMs: 0,
          }
        : await postDocument(
            url,
            body,
            delivery.uplink_id,
            target!.secret,
            this.deps.config.deliveryTimeoutMs,
          );
    if (outcome.ok) {
      if (this.failing.delete(delivery.application_id))
        this.successRecordedAt.delete(delivery.application_id);
    } else if (outcome.endpointFailure) {
      // The endpoint is in trouble: what waits for it goes back to the database, due when its
      // backoff ends (recordFailures), and is claimed one at a time from there.
      this.failing.add(delivery.application_id);
      const dropped = this.held.dropWaiting(delivery.application_id);
      if (dropped.length > 0) {
        const ids = this.dropped.get(delivery.application_id) ?? [];
        ids.push(...dropped.map((h) => h.delivery.uplink_id));
        this.dropped.set(delivery.application_id, ids);
      }
    }
    this.outcomes.push({ delivery, outcome });
    this.recordTimer ??= setTimeout(() => {
      this.recordTimer = undefined;
      void this.flushOutcomes();
    }, RECORD_DELAY_MS);
  }

  /** Records the finished deliveries, one batch at a time. */
  private flushOutcomes(): Promise<void> {
    // `finally` runs as a later microtask, so it never clears the field before it is set.
    this.recording ??= this.recordAll().finally(() => {
      this.recording = undefined;
    });
    return this.recording;
  }

  private async recordAll(): Promise<void> {
    while (this.outcomes.length > 0) await this.recordOutcomes();
  }

  private async recordOutcomes(): Promise<void> {
    const batch = this.outcomes;
    this.outcomes = [];
    const nowText = nowIso();
    try {
      const delivered = batch.filter((o) => o.outcome.ok);
      if (delivered.length > 0) {
        await this.deps.storage.run(
          'markDelivered',
          this.deps.dialect,
          delivered.map((o) => ({ uplinkId: o.delivery.uplink_id, status: o.outcome.status! })),
          nowText,
        );
        // A healthy endpoint's last success is refreshed once a second, not with every batch;
        // an endpoint that was failing is marked healthy at once (its backoff ends).
        const now = Date.now();
        const stale = [...new Set(delivered.map((o) => o.delivery.application_id))].filter(
          (app) => now - (this.successRecordedAt.get(app) ?? 0) >= SUCCESS_RECORD_MS,
        );
        if (stale.length > 0) {
          await this.deps.storage.run('recordEndpointSuccess', stale, nowText);
          for (const app of stale) this.successRecordedAt.set(app, now);
        }
      }
      const failedByApp = new Map<string, Outcome[]>();
      for (const o of batch) {
        if (!o.outcome.ok)
          failedByApp.set(o.delivery.application_id, [
            ...(failedByApp.get(o.delivery.application_id) ?? []),
            o,
          ]);
      }
      for (const [applicationId, failed] of failedByApp)
        await this.recordFailures(applicationId, failed);
      this.deps.onRecorded(delivered.length, batch.length - delivered.length);
    } catch (err) {
      // Unrecorded outcomes are sent again once their claim expires: at least once, never lost.
      this.deps.log.error({ err, deliveries: batch.length }, 'recording delivery outcomes failed');
    }
  }

  private async recordFailures(applicationId: string, failed: Outcome[]): Promise<void> {
    const { config, log } = this.deps;
    const now = Date.now();
    const nowText = new Date(now).toISOString();
    const expiredBefore = new Date(now - config.retryPeriodMs).toISOString();
    let blockedUntil: string | undefined;
    const endpointFailure = failed.find((o) => o.outcome.endpointFailure);
    if (endpointFailure) {
      const endpoint = await this.deps.storage.run('findEndpoint', applicationId);
      const blocked = endpoint?.blocked_until != null && endpoint.blocked_until > nowText;
      // Requests already in flight when the endpoint failed do not lengthen its backoff.
      const failures = blocked
        ? endpoint.consecutive_failures
        : (endpoint?.consecutive_failures ?? 0) + 1;
      blockedUntil = blocked
        ? endpoint.blocked_until!
        : new Date(now + backoffMs(failures - 1, config.backoffMaxMs)).toISOString();
      const error = endpointFailure.outcome.error!;
      await this.deps.storage.run(
        'recordEndpointFailure',
        applicationId,
        { consecutiveFailures: failures, blockedUntil, error },
        nowText,
      );
      if (!blocked) await this.deps.storage.run('postponeDeliveries', applicationId, blockedUntil);
      const dropped = this.dropped.get(applicationId);
      if (dropped !== undefined) {
        this.dropped.delete(applicationId);
        await this.deps.storage.run(
          'rescheduleDeliveries',
          this.deps.dialect,
          dropped,
          blockedUntil,
        );
      }
      const dead = await this.deps.storage.run(
        'deadLetterExpired',
        applicationId,
        expiredBefore,
        error,
        nowText,
      );
      if (dead > 0) log.warn({ applicationId, deliveries: dead }, 'deliveries dead-lettered');
    }
    // Deliveries failing alike are recorded by one statement.
    const groups = new Map<string, { ids: string[]; outcome: FailedOutcome }>();
    for (const { delivery, outcome } of failed) {
      const result: FailedOutcome = {
        status: delivery.created_at < expiredBefore ? 'dead' : 'pending',
        // An endpoint failure waits for the endpoint; a refused message backs off on its own.
        nextAttemptAt:
          outcome.endpointFailure && blockedUntil !== undefined
            ? blockedUntil
            : new Date(now + backoffMs(delivery.attempts, config.backoffMaxMs)).toISOString(),
        lastStatus: outcome.status,
        lastError: outcome.error!,
      };
      const key = JSON.stringify(result);
      const group = groups.get(key) ?? { ids: [], outcome: result };
      group.ids.push(delivery.uplink_id);
      groups.set(key, group);
    }
    for (const { ids, outcome } of groups.values())
      await this.deps.storage.run('markFailed', this.deps.dialect, ids, outcome, nowText);
  }
}
