/**
 * The uplinks feature: receiving (subscriptions → ingest), delivering (the outbox worker),
 * retention, and their routes. Workers are registered here and started by `serve`.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { loopWorker } from '../workers/worker.js';
import { DeliveryWorker } from './delivery.js';
import { UplinkIngest } from './ingest.js';
import { UplinkDecoder } from './uplink-decoder.js';
import { createUplinkStorage } from './uplink-storage.js';
import { STORED_EVENT } from './live.js';
import { SubscriptionManager } from './subscriptions.js';
import { purgeDeadLetters, purgeDelivered } from './uplinks.repository.js';
import { uplinksRoutes } from './uplinks.routes.js';

const PURGE_BATCH = 1_000;
const PURGE_EVERY_MS = 60_000;

export interface UplinkServices {
  ingest: UplinkIngest;
  delivery: DeliveryWorker;
  subscriptions: SubscriptionManager;
}

declare module 'fastify' {
  interface FastifyInstance {
    uplinks: UplinkServices;
  }
}

async function uplinksPlugin(app: FastifyInstance): Promise<void> {
  const { db, secretBox, protocols } = app;
  const config = app.config.uplinks;
  const bus = new EventEmitter();
  // One listener per open live view.
  bus.setMaxListeners(0);

  const storage = createUplinkStorage({
    db,
    config: app.config.database,
    log: app.log.child({ worker: 'uplink-storage' }),
  });
  const delivery = new DeliveryWorker({
    storage,
    notifications: app.notifications,
    dialect: app.config.database.dialect,
    secretBox,
    config,
    log: app.log.child({ worker: 'uplink-delivery' }),
    onRecorded: (delivered, failed) => {
      app.metrics.deliveries.inc({ outcome: 'delivered' }, delivered);
      app.metrics.deliveries.inc({ outcome: 'failed' }, failed);
    },
  });
  const ingest = new UplinkIngest({
    storage,
    dialect: app.config.database.dialect,
    log: app.log.child({ worker: 'uplink-ingest' }),
    delivery,
    onStored: (applicationIds, count) => {
      app.metrics.uplinksStored.inc(count);
      bus.emit(STORED_EVENT, applicationIds);
    },
  });
  const decoder = new UplinkDecoder(app.log.child({ worker: 'uplink-decoder' }));
  const subscriptions = new SubscriptionManager({
    db,
    secretBox,
    protocols,
    decoder,
    ingest,
    leaseMs: config.leaseMs,
    log: app.log.child({ worker: 'uplink-subscriptions' }),
  });
  const retention = loopWorker(
    'uplink-retention',
    { idleMs: PURGE_EVERY_MS, log: app.log },
    async () => {
      const now = Date.now();
      const delivered = await purgeDelivered(
        db,
        new Date(now - config.retentionMs).toISOString(),
        PURGE_BATCH,
      );
      const dead = await purgeDeadLetters(
        db,
        new Date(now - config.deadLetterRetentionMs).toISOString(),
        PURGE_BATCH,
      );
      if (delivered + dead > 0) app.log.info({ delivered, dead }, 'old uplinks purged');
      return { more: delivered === PURGE_BATCH || dead === PURGE_BATCH };
    },
  );

  app.decorate('uplinks', { ingest, delivery, subscriptions });
  app.reportingTargets.onChanged((applicationId) => delivery.targetChanged(applicationId));
  app.workers.add(subscriptions);
  app.workers.add(delivery);
  app.workers.add(retention);
  // Ingest and delivery write through the storage until they have stopped.
  app.workers.onStopped(() =>
    Promise.all([decoder.close(), storage.close()]).then(() => undefined),
  );

  await app.register(uplinksRoutes, {
    deps: {
      db,
      secretBox,
      protocols,
      config,
      notifyDelivery: () => delivery.notify(),
      reportingTargets: app.reportingTargets,
    },
    bus,
  });
}

export const uplinks = fp(uplinksPlugin, {
  name: 'uplinks',
  dependencies: ['core', 'auth', 'workers', 'metrics'],
});
