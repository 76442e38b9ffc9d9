/**
 * Runs a pull: imports a network account's applications and devices.
 *
 * Matching, never by name: an application is the one linked to the same remote id on this
 * network; a device is the one linked to the same remote id under that application link, else
 * the organization's device with the same DevEUI (which must then belong to the same
 * application). What matches is left as it is, so a second pull creates nothing.
 *
 * Streaming: devices are read page by page; the next two pages are fetched while the current
 * one is written, so memory holds at most three pages. Each page is written in one transaction
 * together with its item errors and the job's progress, so the counts a job shows are those of
 * what is stored.
 */
import { randomUUID } from 'node:crypto';
import type { Updateable } from 'kysely';
import { isoIn, nowIso } from '../../clock.js';
import { AppError } from '../../http/problem.js';
import { VaultError } from '../../oauth/token-vault.js';
import { NotFound, ProtocolError, RateLimited, Unavailable } from '../../protocols/errors.js';
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
import { findDevicesByEui } from '../devices.repository.js';
import { addDevices, deviceRow } from '../devices.service.js';
import {
  findDeviceLinksByDevice,
  findDeviceLinksByRemote,
  findLinkByRemote,
  insertApplicationLink,
  insertDeviceLinks,
  listLinksOfApplication,
  updateApplicationLink,
} from '../links.repository.js';
import { networkContext } from '../network-context.js';
import { UPLINK_KEY_NAME } from '../sync/push.js';
import { addJobErrors, updateJob } from './jobs.repository.js';
import { emptyCounts, type PullCounts, type PullDeps } from './jobs.service.js';
import type { JobRow, JobsTable } from './jobs.table.js';

/** Devices per page asked of the network. */
export const PULL_PAGE_SIZE = 1000;
/**
 * Pages asked for ahead of the one being written. With one, the network sat idle while each
 * page was read before it was asked for the next; with two it is always serving one (a pull
 * that matches everything took 6 % less).
 */
const PAGES_AHEAD = 2;
/** A job's lease; renewed with every page. */
export const JOB_LEASE_MS = 2 * 60_000;
const PAGE_ATTEMPTS = 4;

/** Runs a claimed pull job to its end; item failures are recorded, the job goes on. */
export async function runPull(deps: PullDeps, job: JobRow, signal: AbortSignal): Promise<void> {
  const run = new PullRun(deps, job);
  try {
    const { protocol, ctx } = await networkContext(deps, job.network_id, job.organization_id);
    const applications = await withRetries(() => protocol.listApplications!(ctx));
    await updateJob(deps.db, job.id, { total: applications.length, done: 0, updated_at: nowIso() });
    for (const [index, remote] of applications.entries()) {
      if (signal.aborted) return; // the lease expires and the job is taken up again
      try {
        await run.importApplication(protocol, ctx, remote);
      } catch (error) {
        await run.error(`application ${remote.id}`, messageOf(error));
      }
      await run.progress({ done: index + 1 });
    }
    await run.finish('done', null);
  } catch (error) {
    await run.finish('failed', messageOf(error));
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ProtocolError) return error.message;
  if (error instanceof AppError) return error.detail;
  if (error instanceof VaultError) return error.message;
  return 'Unexpected failure; see the server log.';
}

/** Rate limits and outages during a pull: wait and ask again a few times before giving up. */
async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retryable = error instanceof RateLimited || error instanceof Unavailable;
      if (!retryable || attempt >= PAGE_ATTEMPTS) throw error;
      const waitMs =
        error instanceof RateLimited && error.retryAfter !== undefined
          ? error.retryAfter * 1000
          : 250 * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
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

/** The job's counts, and its lease renewed. */
function progressOf(counts: PullCounts): Updateable<JobsTable> {
  return {
    counts_json: JSON.stringify(counts),
    lease_until: isoIn(JOB_LEASE_MS),
    updated_at: nowIso(),
  };
}

class PullRun {
  private counts: PullCounts;
  private errors: number;

  constructor(
    private readonly deps: PullDeps,
    private readonly job: JobRow,
  ) {
    this.counts = emptyCounts();
    this.errors = 0;
  }

  async error(item: string, message: string): Promise<void> {
    await addJobErrors(this.deps.db, this.job.id, this.errors++, [{ item, message }]);
  }

  async progress(extra: { done?: number } = {}): Promise<void> {
    await updateJob(this.deps.db, this.job.id, { ...extra, ...progressOf(this.counts) });
  }

  async finish(state: 'done' | 'failed', message: string | null): Promise<void> {
    const now = nowIso();
    await updateJob(this.deps.db, this.job.id, {
      state,
      message,
      counts_json: JSON.stringify(this.counts),
      lease_until: null,
      finished_at: now,
      updated_at: now,
    });
  }

  async importApplication(
    protocol: NetworkProtocol,
    ctx: ProtocolContext,
    remote: RemoteApplication,
  ): Promise<void> {
    const link = await this.applicationLink(remote);
    if (link.access_key_sealed === null && protocol.ensureUplinkKey !== undefined) {
      try {
        const key = await withRetries(() =>
          protocol.ensureUplinkKey!(ctx, remote.id, UPLINK_KEY_NAME),
        );
        const sealed = this.deps.secretBox.seal(key, accessKeyAad(link.id));
        await updateApplicationLink(this.deps.db, link.id, {
          access_key_sealed: sealed,
          updated_at: nowIso(),
        });
      } catch (error) {
        await this.error(`application ${remote.id}`, `No uplink access key: ${messageOf(error)}`);
      }
    }
    const fetchPage = (offset: number) => {
      const page = withRetries(() =>
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
    const pages: Promise<RemoteDeviceDetail[]>[] = [];
    let offset = 0;
    const askNext = () => {
      pages.push(fetchPage(offset));
      offset += PULL_PAGE_SIZE;
    };
    for (let i = 0; i < PAGES_AHEAD; i++) askNext();
    while (pages.length > 0) {
      const devices: RemoteDeviceDetail[] = await pages.shift()!;
      if (devices.length === PULL_PAGE_SIZE) askNext();
      else pages.length = 0;
      await this.writePage(link, await this.planPage(link, remote.id, devices));
    }
  }

  /** The link of the remote application on this network, creating application and link if new. */
  private async applicationLink(remote: RemoteApplication): Promise<ApplicationLinkRow> {
    const existing = await findLinkByRemote(this.deps.db, this.job.network_id, remote.id);
    if (existing !== undefined) {
      this.counts.applications.matched++;
      return existing;
    }
    const now = nowIso();
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
    const link: ApplicationLinkRow = {
      id: randomUUID(),
      application_id: application.id,
      network_id: this.job.network_id,
      remote_id: remote.id,
      state: 'synced',
      last_error: null,
      last_attempt_at: now,
      synced_at: now,
      access_key_sealed: null,
      created_at: now,
      updated_at: now,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await insertApplication(trx, application);
      await insertApplicationLink(trx, link);
    });
    this.counts.applications.created++;
    return link;
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
    const candidates: {
      remote: RemoteDeviceDetail;
      devEui: string;
      fields: NonNullable<ReturnType<typeof checkDeviceFields>['device']>;
    }[] = [];
    for (const remote of devices) {
      if (linked.has(remote.id)) continue;
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
      plan.links.push({
        id: randomUUID(),
        device_id: deviceId,
        application_link_id: link.id,
        remote_id: remote.id,
        state: 'synced',
        last_error: null,
        last_attempt_at: now,
        synced_at: now,
        created_at: now,
        updated_at: now,
      });
    }
    return plan;
  }

  /** One transaction: the page's devices and links, its item errors, and the job's progress. */
  private async writePage(link: ApplicationLinkRow, plan: PagePlan): Promise<void> {
    const { applications, devices } = this.counts;
    const counts: PullCounts = {
      applications,
      devices: {
        created: devices.created + plan.devices.length,
        matched: devices.matched + plan.matched,
        failed: devices.failed + plan.errors.length,
      },
    };
    await this.deps.db.transaction().execute(async (trx) => {
      if (plan.links.length > 0) {
        // New devices also go to the application's other networks, as devices added by hand do.
        const otherLinks = (await listLinksOfApplication(trx, link.application_id)).filter(
          (other) => other.id !== link.id,
        );
        await addDevices(trx, this.job.organization_id, plan.devices, otherLinks, plan.now);
        await insertDeviceLinks(trx, plan.links);
      }
      await addJobErrors(trx, this.job.id, this.errors, plan.errors);
      await updateJob(trx, this.job.id, progressOf(counts));
    });
    this.counts = counts;
    this.errors += plan.errors.length;
  }
}
