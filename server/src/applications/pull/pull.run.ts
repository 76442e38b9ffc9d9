/**
 * Runs a pull: imports a network account's applications and devices.
 *
 * Matching, never by name: an application is the one linked to the same remote id on this
 * network, else the one last unlinked from it that kept it there (linked to it again); a
 * device is the one linked to the same remote id under that application link, else the
 * organization's device with the same DevEUI (which must then belong to the same
 * application). What matches is left as it is, so a second pull creates nothing.
 *
 * Streaming: devices are read page by page; the next two pages are fetched while the current
 * one is written, so memory holds at most three pages. Each page is written in one transaction
 * together with its item errors and the job's progress, so the counts a job shows are those of
 * what is stored.
 *
 * Taken up again: applications are imported in order of remote id, and every write also stores
 * where the run stands (the job's cursor). A run that takes up a job another run left (a stop, a
 * crash, a lost lease) goes on from that cursor with the stored counts and item errors, so
 * nothing is counted or reported twice.
 *
 * Lease: the run renews the job's lease every `renewMs` while it goes on, waits included, and
 * writes only while the job still carries its lease token; when another run has taken the job
 * over, it stops without writing.
 */
import { randomUUID } from 'node:crypto';
import { isoIn, nowIso } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../http/problem.js';
import { VaultError } from '../../oauth/token-vault.js';
import {
  NotFound,
  ProtocolError,
  RateLimited,
  Unauthorized,
  Unavailable,
} from '../../protocols/errors.js';
import type {
  NetworkProtocol,
  ProtocolContext,
  RemoteApplication,
  RemoteDeviceDetail,
} from '../../protocols/protocol.js';
import type {
  ApplicationLinkRow,
  ApplicationRow,
  DeviceLinkRow,
  DeviceRow,
} from '../applications.table.js';
import { insertApplication } from '../applications.repository.js';
import { accessKeyAad, checkDeviceFields } from '../device-fields.js';
import { findDevicesByEui, listDeviceEuisOfApplication } from '../devices.repository.js';
import { addDevices, deviceRow, pendingDeviceLinks, queueDeviceTasks } from '../devices.service.js';
import {
  findDeviceLinksByDevice,
  findDeviceLinksByRemote,
  findLinkByRemote,
  findUnlinkedRemote,
  insertApplicationLink,
  insertDeviceLinks,
  listDeviceLinksOfLink,
  lockLinksOfApplication,
  updateApplicationLink,
} from '../links.repository.js';
import { networkContext } from '../network-context.js';
import { UPLINK_KEY_NAME } from '../sync/push.js';
import { devicesToBeDeleted, isToBeDeleted } from '../sync/tasks.repository.js';
import { deleteJobErrors, insertJobErrors, updateHeldJob } from './jobs.repository.js';
import { emptyCounts, type PullCounts, type PullDeps } from './jobs.service.js';
import type { JobRow } from './jobs.table.js';

/** Devices per page asked of the network. */
export const PULL_PAGE_SIZE = 1000;
/**
 * Pages asked for ahead of the one being written. With one, the network sat idle while each
 * page was read before it was asked for the next; with two it is always serving one (a pull
 * that matches everything took 6 % less).
 */
const PAGES_AHEAD = 2;
/** A job's lease; a running pull renews it every quarter of it. */
export const JOB_LEASE_MS = 2 * 60_000;
const PAGE_ATTEMPTS = 4;

export interface PullTiming {
  /** How long a lease lasts from its last renewal. */
  leaseMs: number;
  /** How often a run renews its lease, whatever it is doing (well within `leaseMs`). */
  renewMs: number;
  /** The longest wait before asking again after a rate limit, whatever the network asks. */
  maxRetryWaitMs: number;
}

export const PULL_TIMING: PullTiming = {
  leaseMs: JOB_LEASE_MS,
  renewMs: JOB_LEASE_MS / 4,
  maxRetryWaitMs: 60_000,
};

/**
 * Where a run stands, stored with the job. Applications are imported in order of remote id:
 * those before `application` are done.
 */
export interface PullCursor {
  /** The remote application being imported. */
  application: string;
  /**
   * `key`: its link is found (or created) and counted, its uplink key is still to be set;
   * `devices`: its devices from `offset` on are still to be read; `done`: imported.
   */
  stage: 'key' | 'devices' | 'done';
  offset: number;
}

/** The run stops without writing: the worker is stopping, or another run took the job over. */
class Stopped extends Error {}

/**
 * Runs a claimed pull job to its end; item failures are recorded, the job goes on. A job taken
 * up again goes on from its cursor.
 */
export async function runPull(
  deps: PullDeps,
  job: JobRow,
  signal: AbortSignal,
  timing: PullTiming = PULL_TIMING,
): Promise<void> {
  if (job.lease_token === null) throw new Error(`job ${job.id} is not claimed`);
  const lease = new Lease(deps.db, job.id, job.lease_token, timing, signal);
  const run = new PullRun(deps, job, lease, timing);
  try {
    const { protocol, ctx } = await networkContext(deps, job.network_id, job.organization_id);
    const listed = await run.retrying(() => protocol.listApplications!(ctx));
    await run.importAll(protocol, ctx, listed);
    await run.finish('done', null);
  } catch (error) {
    if (error instanceof Stopped || lease.signal.aborted) return;
    try {
      await run.finish('failed', messageOf(error));
    } catch (failure) {
      if (!(failure instanceof Stopped)) throw failure;
    }
  } finally {
    await lease.end();
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ProtocolError) return error.message;
  if (error instanceof AppError) return error.detail;
  if (error instanceof VaultError) return error.message;
  return 'Unexpected failure; see the server log.';
}

/**
 * How long to wait before asking again after `error` on attempt `attempt`; undefined when it is
 * not worth asking again. A network's Retry-After is followed up to `maxMs`.
 */
export function retryWaitMs(error: unknown, attempt: number, maxMs: number): number | undefined {
  const retryable = error instanceof RateLimited || error instanceof Unavailable;
  if (!retryable || attempt >= PAGE_ATTEMPTS) return undefined;
  const waitMs =
    error instanceof RateLimited && error.retryAfter !== undefined
      ? error.retryAfter * 1000
      : 250 * 2 ** attempt;
  return Math.min(Math.max(0, waitMs), maxMs);
}

/** Waits `ms`; throws Stopped as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Stopped());
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(new Stopped());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}

/**
 * A run's hold on its job: renewed every `renewMs` (so waits and slow answers never let it
 * lapse), lost when the job no longer carries the run's token. Its signal aborts when the
 * worker stops or the lease is lost.
 */
class Lease {
  readonly signal: AbortSignal;
  private readonly lost = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private renewal: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly jobId: string,
    readonly token: string,
    private readonly timing: PullTiming,
    private readonly stop: AbortSignal,
  ) {
    this.signal = AbortSignal.any([stop, this.lost.signal]);
    this.timer = setInterval(() => {
      this.renewal ??= this.renew().finally(() => (this.renewal = undefined));
    }, timing.renewMs);
  }

  private async renew(): Promise<void> {
    try {
      const held = await updateHeldJob(this.db, this.jobId, this.token, {
        lease_until: isoIn(this.timing.leaseMs),
      });
      if (!held) this.lose();
    } catch {
      // The database is away: asked again at the next tick; writes check the token anyway.
    }
  }

  /** Another run holds the job: stop, and write nothing more. */
  lose(): void {
    clearInterval(this.timer);
    this.lost.abort();
  }

  /** Throws Stopped when the run must stop. */
  check(): void {
    if (this.signal.aborted) throw new Stopped();
  }

  /**
   * Stops renewing. A run stopped by its worker gives its lease up, so that the job is taken up
   * again at once (by another process, or this one when it starts again).
   */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.renewal;
    if (this.stop.aborted && !this.lost.signal.aborted) {
      await updateHeldJob(this.db, this.jobId, this.token, { lease_until: nowIso() }).catch(
        () => false,
      );
    }
  }
}

/** What a page of remote devices comes to, decided (and keys sealed) before anything is written. */
interface PagePlan {
  /** New local devices. */
  devices: DeviceRow[];
  /** Links of the new devices and of the devices matched by DevEUI. */
  links: DeviceLinkRow[];
  /** Devices matched through an existing link or by DevEUI. */
  matched: number;
  errors: { item: string; message: string }[];
  /** When the page was read: the new rows' times. */
  now: string;
}

/** What a step of the run changes in the job, written with what the step stores. */
interface Step {
  counts?: PullCounts;
  cursor?: PullCursor;
  errors?: { item: string; message: string }[];
  done?: number;
  total?: number;
}

/** A device's link as a pull makes it: synced, what is on the network being what it imports. */
export function importedDeviceLink(
  deviceId: string,
  applicationLinkId: string,
  remoteId: string,
  now: string,
): DeviceLinkRow {
  return {
    id: randomUUID(),
    device_id: deviceId,
    application_link_id: applicationLinkId,
    remote_id: remoteId,
    state: 'synced',
    last_error: null,
    last_attempt_at: now,
    synced_at: now,
    created_at: now,
    updated_at: now,
  };
}

const byId = (a: RemoteApplication, b: RemoteApplication) =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

class PullRun {
  private counts: PullCounts;
  /** Item errors recorded so far: the position of the next one. */
  private errors: number;
  /** Where an earlier run of the job stopped (undefined: the job starts from the beginning). */
  private readonly resume: PullCursor | undefined;
  /** Links this run made to applications unlinked before (see applicationLink). */
  private readonly linkedAgain = new Set<string>();

  constructor(
    private readonly deps: PullDeps,
    private readonly job: JobRow,
    private readonly lease: Lease,
    private readonly timing: PullTiming,
  ) {
    this.resume =
      job.cursor_json === null ? undefined : (JSON.parse(job.cursor_json) as PullCursor);
    // Without a cursor nothing was recorded by a run of this job (or only by a version that
    // kept none): start from the beginning.
    this.counts =
      this.resume === undefined ? emptyCounts() : (JSON.parse(job.counts_json) as PullCounts);
    this.errors = this.resume === undefined ? 0 : job.error_count;
  }

  /** Rate limits and outages: wait and ask again a few times before giving up. */
  async retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.lease.check();
      try {
        return await call();
      } catch (error) {
        const waitMs = retryWaitMs(error, attempt, this.timing.maxRetryWaitMs);
        if (waitMs === undefined) throw error;
        await pause(waitMs, this.lease.signal);
      }
    }
  }

  /**
   * One transaction: what `write` stores, the step's item errors, and the job's counts, cursor,
   * progress and lease; nothing at all when the lease was taken over (then Stopped is thrown).
   */
  private async save(step: Step, write?: (trx: Db) => Promise<void>): Promise<void> {
    this.lease.check();
    const errors = step.errors ?? [];
    const counts = step.counts ?? this.counts;
    const now = nowIso();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        const held = await updateHeldJob(trx, this.job.id, this.lease.token, {
          counts_json: JSON.stringify(counts),
          error_count: this.errors + errors.length,
          ...(step.cursor !== undefined ? { cursor_json: JSON.stringify(step.cursor) } : {}),
          ...(step.done !== undefined ? { done: step.done } : {}),
          ...(step.total !== undefined ? { total: step.total } : {}),
          lease_until: isoIn(this.timing.leaseMs),
          updated_at: now,
        });
        if (!held) throw new Stopped();
        if (write !== undefined) await write(trx);
        if (errors.length > 0) await insertJobErrors(trx, this.job.id, this.errors, errors);
      });
    } catch (error) {
      if (error instanceof Stopped) this.lease.lose();
      throw error;
    }
    this.counts = counts;
    this.errors += errors.length;
  }

  async finish(state: 'done' | 'failed', message: string | null): Promise<void> {
    const now = nowIso();
    const held = await updateHeldJob(this.deps.db, this.job.id, this.lease.token, {
      state,
      message,
      counts_json: JSON.stringify(this.counts),
      lease_until: null,
      finished_at: now,
      updated_at: now,
    });
    if (!held) throw new Stopped();
  }

  /** Imports the account's applications in order of id, from where an earlier run stopped. */
  async importAll(
    protocol: NetworkProtocol,
    ctx: ProtocolContext,
    listed: readonly RemoteApplication[],
  ): Promise<void> {
    const applications = [...listed].sort(byId);
    const resume = this.resume;
    let start = 0;
    if (resume !== undefined) {
      start = applications.findIndex((a) => a.id >= resume.application);
      if (start === -1) start = applications.length;
    }
    await this.save(
      { total: applications.length, done: start },
      // A job starting from the beginning forgets what a run of an older version recorded.
      resume === undefined ? (trx) => deleteJobErrors(trx, this.job.id) : undefined,
    );
    for (let index = start; index < applications.length; index++) {
      const remote = applications[index]!;
      const at = resume?.application === remote.id ? resume : undefined;
      const errors: { item: string; message: string }[] = [];
      if (at?.stage !== 'done') {
        if (await isToBeDeleted(this.deps.db, this.job.network_id, remote.id)) {
          // Imported now, it would be deleted on the network by the waiting task.
          errors.push({
            item: `application ${remote.id}`,
            message:
              'Not imported: its deletion on this network (asked for by an unlink or a deletion here) is still to be done.',
          });
        } else {
          try {
            await this.importApplication(protocol, ctx, remote, at);
          } catch (error) {
            // Without a token the account accepts, every application after would fail alike:
            // the job fails once, saying so (pulled again once the network is signed in to).
            if (
              error instanceof Stopped ||
              error instanceof VaultError ||
              error instanceof Unauthorized
            ) {
              throw error;
            }
            errors.push({ item: `application ${remote.id}`, message: messageOf(error) });
          }
        }
      }
      await this.save({
        done: index + 1,
        cursor: { application: remote.id, stage: 'done', offset: 0 },
        errors,
      });
    }
  }

  /** Imports one application, or goes on with it from `at`, where an earlier run stopped. */
  private async importApplication(
    protocol: NetworkProtocol,
    ctx: ProtocolContext,
    remote: RemoteApplication,
    at: PullCursor | undefined,
  ): Promise<void> {
    const counted =
      at === undefined
        ? undefined
        : await findLinkByRemote(this.deps.db, this.job.network_id, remote.id);
    // Its link was counted by the run that found or created it (unless since removed).
    const link = counted ?? (await this.applicationLink(remote));
    if (at === undefined || at.stage === 'key' || counted === undefined) {
      await this.uplinkKey(protocol, ctx, remote, link);
    }
    const from = counted !== undefined && at?.stage === 'devices' ? at.offset : 0;
    await this.importDevices(protocol, ctx, remote, link, from);
    // Only an application linked again may have devices the network lacks (a run taken up
    // again cannot tell whether it was, and looks).
    if (this.linkedAgain.has(link.id) || at !== undefined) await this.pushLocalOnlyDevices(link);
  }

  /**
   * Devices of the local application that have no link on this network — added here while the
   * application was unlinked from it (see applicationLink) — are linked and queued to be pushed
   * there, as linking does. Run again when a run is taken up again, it finds nothing left to do.
   */
  private async pushLocalOnlyDevices(link: ApplicationLinkRow): Promise<void> {
    const localOnly = async (db: Db) => {
      const linked = new Set((await listDeviceLinksOfLink(db, link.id)).map((d) => d.device_id));
      return (await listDeviceEuisOfApplication(db, link.application_id)).filter(
        (d) => !linked.has(d.id),
      );
    };
    if ((await localOnly(this.deps.db)).length === 0) return;
    await this.save({}, async (trx) => {
      // Read again under the application's lock: a device added meanwhile has its link already.
      await lockLinksOfApplication(trx, link.application_id);
      const devices = await localOnly(trx);
      const now = nowIso();
      const deviceLinks = await pendingDeviceLinks(trx, devices, link.id, now);
      await insertDeviceLinks(trx, deviceLinks);
      await queueDeviceTasks(trx, this.job.organization_id, link, deviceLinks, now);
    });
  }

  /** The link's uplink access key, created or read if it has none; its cursor moves on to the devices. */
  private async uplinkKey(
    protocol: NetworkProtocol,
    ctx: ProtocolContext,
    remote: RemoteApplication,
    link: ApplicationLinkRow,
  ): Promise<void> {
    const cursor: PullCursor = { application: remote.id, stage: 'devices', offset: 0 };
    if (link.access_key_sealed !== null || protocol.ensureUplinkKey === undefined) {
      await this.save({ cursor });
      return;
    }
    let sealed: string;
    try {
      const key = await this.retrying(() =>
        protocol.ensureUplinkKey!(ctx, remote.id, UPLINK_KEY_NAME),
      );
      sealed = this.deps.secretBox.seal(key, accessKeyAad(link.id));
    } catch (error) {
      if (error instanceof Stopped) throw error;
      const message = `No uplink access key: ${messageOf(error)}`;
      await this.save({ cursor, errors: [{ item: `application ${remote.id}`, message }] });
      return;
    }
    await this.save({ cursor }, (trx) =>
      updateApplicationLink(trx, link.id, { access_key_sealed: sealed, updated_at: nowIso() }),
    );
  }

  private async importDevices(
    protocol: NetworkProtocol,
    ctx: ProtocolContext,
    remote: RemoteApplication,
    link: ApplicationLinkRow,
    from: number,
  ): Promise<void> {
    const fetchPage = (offset: number) => {
      const page = this.retrying(() =>
        protocol.exportDevices!(ctx, remote.id, { limit: PULL_PAGE_SIZE, offset }),
      ).catch((error: unknown) => {
        // Not registered on the handler: an application without devices there.
        if (error instanceof NotFound && offset === 0) return [];
        throw error;
      });
      // Marked handled now: it is awaited only after the current page is written.
      page.catch(() => undefined);
      return page;
    };
    // Pages asked for and not yet written, in order. Past the last page, a network answers an
    // empty one: asked for ahead, it is dropped.
    const pages: { offset: number; devices: Promise<RemoteDeviceDetail[]> }[] = [];
    let offset = from;
    const askNext = () => {
      pages.push({ offset, devices: fetchPage(offset) });
      offset += PULL_PAGE_SIZE;
    };
    for (let i = 0; i < PAGES_AHEAD; i++) askNext();
    while (pages.length > 0) {
      const page = pages.shift()!;
      const devices = await page.devices;
      this.lease.check();
      if (devices.length === PULL_PAGE_SIZE) askNext();
      else pages.length = 0;
      const plan = await this.planPage(link, remote.id, devices);
      await this.writePage(link, plan, {
        application: remote.id,
        stage: 'devices',
        offset: page.offset + PULL_PAGE_SIZE,
      });
    }
  }

  /**
   * The link of the remote application on this network, creating application and link if new;
   * counted, and the cursor moved to it, in the same transaction.
   */
  private async applicationLink(remote: RemoteApplication): Promise<ApplicationLinkRow> {
    const cursor: PullCursor = { application: remote.id, stage: 'key', offset: 0 };
    const { applications, devices } = this.counts;
    const matched = {
      applications: { ...applications, matched: applications.matched + 1 },
      devices,
    };
    const existing = await findLinkByRemote(this.deps.db, this.job.network_id, remote.id);
    if (existing !== undefined) {
      await this.save({ cursor, counts: matched });
      return existing;
    }
    const now = nowIso();
    // Unlinked from a local application that kept it on the network: linked to that one again.
    const unlinkedFrom = await findUnlinkedRemote(this.deps.db, this.job.network_id, remote.id);
    if (unlinkedFrom !== undefined) {
      const link = this.newLink(unlinkedFrom, remote.id, now);
      await this.save({ cursor, counts: matched }, async (trx) => {
        // As linking does: devices added meanwhile see the link, or it sees them.
        await lockLinksOfApplication(trx, unlinkedFrom);
        await insertApplicationLink(trx, link);
      });
      this.linkedAgain.add(link.id);
      return link;
    }
    const application: ApplicationRow = {
      id: randomUUID(),
      organization_id: this.job.organization_id,
      name: remote.name.slice(0, 200) || remote.id,
      description: null,
      reporting_url: null,
      reporting_secret_sealed: null,
      devices_version: 0,
      created_at: now,
      updated_at: now,
    };
    const link = this.newLink(application.id, remote.id, now);
    await this.save(
      {
        cursor,
        counts: { applications: { ...applications, created: applications.created + 1 }, devices },
      },
      async (trx) => {
        await insertApplication(trx, application);
        await insertApplicationLink(trx, link);
      },
    );
    return link;
  }

  /** A link as a pull makes it: synced, what is on the network being what it imports. */
  private newLink(applicationId: string, remoteId: string, now: string): ApplicationLinkRow {
    return {
      id: randomUUID(),
      application_id: applicationId,
      network_id: this.job.network_id,
      remote_id: remoteId,
      state: 'synced',
      last_error: null,
      last_attempt_at: now,
      synced_at: now,
      access_key_sealed: null,
      created_at: now,
      updated_at: now,
    };
  }

  private async planPage(
    link: ApplicationLinkRow,
    remoteAppId: string,
    devices: RemoteDeviceDetail[],
  ): Promise<PagePlan> {
    const { db, secretBox } = this.deps;
    const now = nowIso();
    const plan: PagePlan = { devices: [], links: [], matched: 0, errors: [], now };
    const refuse = (remote: RemoteDeviceDetail, message: string) =>
      plan.errors.push({ item: `device ${remoteAppId}/${remote.id}`, message });
    const linked = new Set(
      (
        await findDeviceLinksByRemote(
          db,
          link.id,
          devices.map((d) => d.id),
        )
      ).map((l) => l.remote_id),
    );
    plan.matched += linked.size;
    // Deleted here, and its deletion there still to be done: imported, it would come back.
    const beingDeleted = await devicesToBeDeleted(
      db,
      this.job.network_id,
      remoteAppId,
      devices.filter((d) => !linked.has(d.id)).map((d) => d.id),
    );
    const candidates: {
      remote: RemoteDeviceDetail;
      devEui: string;
      fields: NonNullable<ReturnType<typeof checkDeviceFields>['device']>;
    }[] = [];
    for (const remote of devices) {
      if (linked.has(remote.id)) continue;
      if (beingDeleted.has(remote.id)) {
        refuse(
          remote,
          'Not imported: deleted here; its deletion on this network is still to be done.',
        );
        continue;
      }
      const { device, errors } = checkDeviceFields({
        name: remote.id,
        description: remote.description,
        devEui: remote.devEui,
        activation: remote.activation,
        joinEui: remote.appEui,
        appKey: remote.appKey,
        devAddr: remote.devAddr,
        nwkSKey: remote.nwkSKey,
        appSKey: remote.appSKey,
      });
      if (device === undefined) {
        refuse(remote, errors.map((e) => `${e.field} ${e.message}`).join('; '));
        continue;
      }
      candidates.push({ remote, devEui: device.devEui, fields: device });
    }
    const byEui = new Map(
      (
        await findDevicesByEui(
          db,
          this.job.organization_id,
          candidates.map((c) => c.devEui),
        )
      ).map((d) => [d.dev_eui, d]),
    );
    const alreadyLinked = new Set(
      (
        await findDeviceLinksByDevice(
          db,
          link.id,
          [...byEui.values()].map((d) => d.id),
        )
      ).map((l) => l.device_id),
    );
    const seen = new Set<string>();
    for (const { remote, devEui, fields } of candidates) {
      const existing = byEui.get(devEui);
      let deviceId: string;
      if (existing !== undefined) {
        if (existing.application_id !== link.application_id) {
          refuse(
            remote,
            `DevEUI ${devEui} belongs to device "${existing.name}" of another application`,
          );
          continue;
        }
        if (alreadyLinked.has(existing.id) || seen.has(devEui)) {
          refuse(
            remote,
            `DevEUI ${devEui} is linked to another device of this application on the network`,
          );
          continue;
        }
        deviceId = existing.id;
        plan.matched++;
      } else if (seen.has(devEui)) {
        refuse(remote, `DevEUI ${devEui} appears twice in the application`);
        continue;
      } else {
        const row = deviceRow(
          secretBox,
          { id: link.application_id, organization_id: this.job.organization_id },
          fields,
          now,
        );
        plan.devices.push(row);
        deviceId = row.id;
      }
      seen.add(devEui);
      plan.links.push(importedDeviceLink(deviceId, link.id, remote.id, now));
    }
    return plan;
  }

  /** One transaction: the page's devices and links, its item errors, and the job's progress. */
  private async writePage(
    link: ApplicationLinkRow,
    plan: PagePlan,
    cursor: PullCursor,
  ): Promise<void> {
    const { applications, devices } = this.counts;
    const counts: PullCounts = {
      applications,
      devices: {
        created: devices.created + plan.devices.length,
        matched: devices.matched + plan.matched,
        failed: devices.failed + plan.errors.length,
      },
    };
    await this.save({ counts, cursor, errors: plan.errors }, async (trx) => {
      if (plan.links.length === 0) return;
      // New devices also go to the application's other networks, as devices added by hand do.
      const otherLinks = (await lockLinksOfApplication(trx, link.application_id)).filter(
        (other) => other.id !== link.id,
      );
      await addDevices(trx, this.job.organization_id, plan.devices, otherLinks, plan.now);
      await insertDeviceLinks(trx, plan.links);
    });
  }
}
