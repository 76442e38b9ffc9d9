/**
 * The applications feature: applications, devices, their links to networks, the sync worker
 * that pushes changes, and pull jobs. Needs the token vault (oauth plugin) for network calls.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { applicationsRoutes } from './applications.routes.js';
import { devicesRoutes } from './devices.routes.js';
import { DevicesVersionWatch } from './devices-version-watch.js';
import { linksRoutes } from './links.routes.js';
import { pullRoutes } from './pull/pull.routes.js';
import { pullWorker } from './pull/pull.worker.js';
import { syncWorker } from './sync/sync.worker.js';

async function applicationsPlugin(app: FastifyInstance): Promise<void> {
  const deps = {
    db: app.db,
    dialect: app.config.database.dialect,
    secretBox: app.secretBox,
    protocols: app.protocols,
    vault: app.tokenVault,
    log: app.log,
  };
  const pulls = pullWorker(deps);
  const versions = app.notifications && new DevicesVersionWatch(app.notifications);
  await app.register(applicationsRoutes, { versions });
  await app.register(devicesRoutes, { versions });
  await app.register(linksRoutes);
  await app.register(pullRoutes, { onQueued: () => pulls.wake() });
  app.workers.add(syncWorker(deps));
  app.workers.add(pulls);
}

export const applications = fp(applicationsPlugin, {
  name: 'applications',
  dependencies: ['core', 'auth', 'oauth', 'workers'],
});
