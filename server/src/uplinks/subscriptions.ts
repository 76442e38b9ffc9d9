/**
 * Keeps one uplink subscription per application link across all server processes, spread over
 * them evenly.
 *
 * Each process has a holder id. Every round it renews the leases it holds, drops the
 * subscriptions whose lease it lost (or whose link is gone or got a new key), and takes the
 * lease of links nobody holds, or whose holder let it expire — a holder that died — then
 * subscribes. A lease lives `leaseMs` and is renewed every third of it, so a dead holder's
 * subscriptions move within `leaseMs` plus one round. Every holder uses the same MQTT client id
 * for a link, so even in a race the broker keeps one connection.
 *
 * Spread: the processes seen in the last `leaseMs` (uplink_holders) share the links; a process
 * takes links only up to its share (the links divided by the processes, rounded up) and hands
 * over what it holds beyond it. A hand-over gives the lease up but keeps the subscription until
 * the new holder connects with the same client id and the broker closes the old connection, so
 * no message published meanwhile is missed (TTN v2 publishes at QoS 0: a gap would lose them).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { accessKeyAad } from '../applications/device-fields.js';
import { findApplicationLink } from '../applications/links.repository.js';
import { isoIn, nowIso } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import { readNetworkSettings } from '../networks/networks.service.js';
import type {
  NetworkActivation,
  RawUplink,
  SubscriptionStatus,
  UplinkSubscription,
} from '../protocols/protocol.js';
import type { ProtocolRegistry } from '../protocols/registry.js';
import { loopWorker, type BackgroundWorker } from '../workers/worker.js';
import type { DocumentContext } from './document.js';
import type { UplinkIngest } from './ingest.js';
import type { UplinkDecoder } from './uplink-decoder.js';
import {
  acquireLease,
  countHolders,
  forgetHolder,
  listDeviceLinks,
  listSubscribableLinks,
  releaseLease,
  renewLeases,
  setLeaseState,
  setLinkError,
  touchDevices,
  type SubscribableLinkRow,
} from './uplinks.repository.js';

/** Link errors written by this feature start with this, so that only they are cleared here. */
const LINK_ERROR_PREFIX = 'Uplink subscription: ';

/** How often a device unknown to a subscription makes it re-read the device links. */
const DEVICE_RELOAD_MS = 5_000;

interface Running {
  link: SubscribableLinkRow;
  /** The network and application every document of this subscription names. */
  context: DocumentContext;
  subscription: UplinkSubscription;
  devices: Map<string, string>;
  devicesLoadedAt: number;
  /**
   * The status writes of this subscription, one after the other: written concurrently (on a
   * pool of connections) an earlier `connecting` could land after `subscribed` and stay.
   */
  statusWrites: Promise<void>;
}

export interface SubscriptionDeps {
  db: Db;
  secretBox: SecretBox;
  protocols: ProtocolRegistry;
  decoder: UplinkDecoder;
  ingest: UplinkIngest;
  log: FastifyBaseLogger;
  leaseMs: number;
}

export class SubscriptionManager implements BackgroundWorker {
  readonly name = 'uplink-subscriptions';
  /** This process, as written into the leases it holds. */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly running = new Map<string, Running>();
  /** Subscriptions handed over and not yet closed by the broker, by link id. */
  private readonly handingOver = new Map<string, { running: Running; ended: Promise<void> }>();
  private readonly loop: BackgroundWorker;
  private lastRenewal = Date.now();

  constructor(private readonly deps: SubscriptionDeps) {
    this.loop = loopWorker(
      this.name,
      { idleMs: Math.max(200, Math.floor(deps.leaseMs / 3)), log: deps.log },
      () => this.round(),
    );
  }

  start(): void {
    this.lastRenewal = Date.now();
    this.loop.start();
  }

  /**
   * Stops the loop and lets go of every subscription. With other processes about, they are
   * handed over — kept until the others' connections take them (at most one lease lifetime) —
   * so that the uplinks published meanwhile are not missed; alone, the process closes them and
   * hands their leases back.
   */
  async stop(): Promise<void> {
    await this.loop.stop();
    const { db, leaseMs } = this.deps;
    const others = await this.countHolders()
      .then((n) => n - 1)
      .catch(() => 0);
    await forgetHolder(db, this.holder).catch(() => undefined);
    if (others > 0 && this.running.size > 0) {
      for (const id of [...this.running.keys()]) this.handOver(id);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.handingOver.values()].map(({ ended }) => ended)),
        new Promise((resolve) => (timer = setTimeout(resolve, leaseMs))),
      ]);
      clearTimeout(timer);
    }
    await Promise.all([...this.running.keys()].map((id) => this.stopOne(id, true)));
    // Handed over and not taken yet: not waited for (their leases are free already).
    await Promise.all(
      [...this.handingOver.values()].map(({ running, ended }) =>
        running.subscription
          .close()
          .catch(() => undefined)
          .then(() => ended),
      ),
    );
    // Uplinks received before the close are stored before the database goes away.
    await this.deps.decoder.idle();
    await this.deps.ingest.idle();
  }

  /**
   * The processes taking subscriptions (this one included, recorded as seen now): those seen
   * within a lease lifetime; those not seen for ten are forgotten.
   */
  private countHolders(): Promise<number> {
    const { db, leaseMs } = this.deps;
    return countHolders(db, this.holder, nowIso(), isoIn(-leaseMs), isoIn(-10 * leaseMs));
  }

  /** Link ids this process subscribes to. */
  get linkIds(): string[] {
    return [...this.running.keys()];
  }

  private async round(): Promise<{ more: boolean }> {
    const { db, leaseMs } = this.deps;
    try {
      const kept = new Set(await renewLeases(db, this.holder, this.linkIds, isoIn(leaseMs)));
      this.lastRenewal = Date.now();
      for (const id of this.linkIds) {
        if (!kept.has(id)) {
          // An unlink (or a deleted application or network) takes the lease with the link: that
          // is the usual way a subscription ends. A link still there went to another process.
          if ((await findApplicationLink(db, id)) === undefined) {
            this.deps.log.info({ linkId: id }, 'uplink subscription ended: its link is gone');
          } else {
            this.deps.log.warn({ linkId: id }, 'uplink subscription lease lost; unsubscribing');
          }
          await this.stopOne(id, false);
        }
      }
    } catch (error) {
      // Past its lease, another process may hold the link now: stop rather than subscribe twice.
      if (Date.now() - this.lastRenewal >= leaseMs) {
        await Promise.all(this.linkIds.map((id) => this.stopOne(id, false)));
      }
      throw error;
    }

    const links = (await listSubscribableLinks(db)).filter(
      (link) => this.deps.protocols.get(link.protocol_id)?.subscribeUplinks !== undefined,
    );
    const wanted = new Map(links.map((l) => [l.id, l]));
    // Gone, or changed: a new key, or new network settings (a new MQTT URL) start it again.
    for (const [id, running] of this.running) {
      const link = wanted.get(id);
      if (
        !link ||
        link.access_key_sealed !== running.link.access_key_sealed ||
        link.network_settings !== running.link.network_settings
      )
        await this.stopOne(id, true);
    }
    const holders = await this.countHolders();
    const share = Math.ceil(links.length / holders);
    // The most recently taken go first: the others' sessions stay put.
    for (const id of [...this.running.keys()].slice(share)) this.handOver(id);
    for (const link of links) {
      if (this.running.size >= share) break;
      if (this.running.has(link.id) || this.handingOver.has(link.id)) continue;
      if (await acquireLease(db, link.id, this.holder, nowIso(), isoIn(leaseMs))) {
        await this.startOne(link).catch(async (error: unknown) => {
          this.deps.log.error(
            { err: error, linkId: link.id },
            'uplink subscription could not start',
          );
          await releaseLease(db, link.id, this.holder);
        });
      }
    }
    return { more: false };
  }

  private async startOne(link: SubscribableLinkRow): Promise<void> {
    const { db, secretBox, protocols } = this.deps;
    const protocol = protocols.get(link.protocol_id)!;
    const network = await readNetworkSettings({ db, secretBox }, link.network_id);
    if (!network) return;
    const accessKey = secretBox.open(link.access_key_sealed, accessKeyAad(link.id));
    const running: Running = {
      link,
      context: {
        network: { id: link.network_id, protocol: link.protocol_id },
        application: { id: link.application_id, remoteId: link.remote_id },
      },
      devices: new Map(),
      devicesLoadedAt: 0,
      statusWrites: Promise.resolve(),
      subscription: undefined as unknown as UplinkSubscription,
    };
    await this.loadDevices(running);
    // Running once subscribed: a subscription that failed to start is not stopped later (its
    // lease is released by the caller).
    running.subscription = protocol.subscribeUplinks!(
      {
        networkId: link.network_id,
        settings: network.settings,
        remoteAppId: link.remote_id,
        accessKey,
        clientId: `lpwan-${link.id}`,
      },
      {
        onUplink: (uplink) => this.onUplink(running, uplink),
        onActivation: (activation) => this.onActivation(running, activation),
        onStatus: (status, error) => {
          running.statusWrites = running.statusWrites.then(() =>
            this.onStatus(link, status, error),
          );
        },
        onDiscard: (topic, reason) => this.discard(link.id, topic, reason),
        ready: () => this.deps.ingest.ready() ?? this.deps.decoder.ready(),
      },
    );
    this.running.set(link.id, running);
  }

  /**
   * Gives the link's lease up for another process to take, and keeps receiving until the
   * broker closes this connection for the new holder's (or, if nobody takes it, a while).
   */
  private handOver(linkId: string): void {
    const running = this.running.get(linkId);
    if (!running) return;
    this.running.delete(linkId);
    const handOver = running.subscription.handOver;
    if (handOver === undefined) {
      void this.close(linkId, running, true);
      return;
    }
    this.deps.log.info({ linkId }, 'handing an uplink subscription over to another process');
    let timer: NodeJS.Timeout | undefined;
    const ended = Promise.race([
      handOver.call(running.subscription),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 3 * this.deps.leaseMs))),
    ])
      .then(async () => {
        clearTimeout(timer);
        await running.subscription.close();
        await running.statusWrites;
      })
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, linkId }, 'ending a handed-over subscription failed'),
      )
      .finally(() => this.handingOver.delete(linkId));
    this.handingOver.set(linkId, { running, ended });
    void releaseLease(this.deps.db, linkId, this.holder).catch(() => undefined);
  }

  private async stopOne(linkId: string, release: boolean): Promise<void> {
    const running = this.running.get(linkId);
    if (!running) return;
    this.running.delete(linkId);
    await this.close(linkId, running, release);
  }

  private async close(linkId: string, running: Running, release: boolean): Promise<void> {
    await running.subscription
      .close()
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, linkId }, 'closing an uplink subscription failed'),
      );
    await running.statusWrites;
    if (release) await releaseLease(this.deps.db, linkId, this.holder).catch(() => undefined);
    this.deps.log.info({ linkId }, 'uplink subscription stopped');
  }

  private async loadDevices(running: Running): Promise<void> {
    const rows = await listDeviceLinks(this.deps.db, running.link.id);
    running.devices = new Map(rows.map((r) => [r.remote_id, r.device_id]));
    running.devicesLoadedAt = Date.now();
  }

  /** The device must be read again first: unknown, and the list is older than DEVICE_RELOAD_MS. */
  private mustReload(running: Running, remoteId: string): boolean {
    return (
      !running.devices.has(remoteId) && Date.now() - running.devicesLoadedAt > DEVICE_RELOAD_MS
    );
  }

  private async deviceId(running: Running, remoteId: string): Promise<string | null> {
    if (this.mustReload(running, remoteId)) await this.loadDevices(running);
    return running.devices.get(remoteId) ?? null;
  }

  /**
   * Not async on the common path (an uplink of a device known or known to be unknown): every
   * uplink passes here, and the promises and resumptions of async calls per uplink showed in
   * the uplinks bench.
   */
  private onUplink(running: Running, uplink: RawUplink): Promise<void> {
    if (!this.mustReload(running, uplink.remoteDeviceId)) {
      const deviceId = running.devices.get(uplink.remoteDeviceId) ?? null;
      return this.storeUplink(running, deviceId, uplink);
    }
    return this.deviceId(running, uplink.remoteDeviceId).then((deviceId) =>
      this.storeUplink(running, deviceId, uplink),
    );
  }

  private async onActivation(running: Running, activation: NetworkActivation): Promise<void> {
    const deviceId = await this.deviceId(running, activation.remoteDeviceId);
    if (deviceId) {
      await this.deps.db
        .transaction()
        .execute((trx) => touchDevices(trx, [deviceId], activation.receivedAt));
    }
  }

  private storeUplink(running: Running, deviceId: string | null, uplink: RawUplink): Promise<void> {
    const { link, context } = running;
    return this.deps.decoder.decode(context, deviceId, uplink).then((decoded) => {
      if ('unreadable' in decoded) {
        this.discard(link.id, uplink.topic, decoded.unreadable);
        return;
      }
      return this.deps.ingest.store({
        row: {
          id: decoded.id,
          application_id: link.application_id,
          device_id: deviceId,
          network_id: link.network_id,
          received_at: decoded.receivedAt,
          document: decoded.document,
        },
      });
    });
  }

  /** A message that could not be read, or not stored, is dropped (it is acknowledged). */
  private discard(linkId: string, topic: string, reason: string): void {
    this.deps.log.warn({ linkId, topic, reason }, 'uplink message dropped');
  }

  private async onStatus(
    link: SubscribableLinkRow,
    status: SubscriptionStatus,
    error?: string,
  ): Promise<void> {
    const { db, log } = this.deps;
    const now = nowIso();
    try {
      await setLeaseState(db, link.id, this.holder, status, error ?? null, now);
      if (status === 'refused') {
        log.warn({ linkId: link.id, reason: error }, 'uplink subscription refused');
        await setLinkError(
          db,
          link.id,
          `${LINK_ERROR_PREFIX}${error ?? 'refused'}`,
          LINK_ERROR_PREFIX,
          now,
        );
      } else if (status === 'subscribed') {
        log.info(
          { linkId: link.id, applicationId: link.application_id, holder: this.holder },
          'uplink subscription active',
        );
        await setLinkError(db, link.id, null, LINK_ERROR_PREFIX, now);
      }
    } catch (err) {
      log.warn({ err, linkId: link.id }, 'recording the subscription status failed');
    }
  }
}
