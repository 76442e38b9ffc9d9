/**
 * The shared services every feature plugin may use, as typed Fastify decorators.
 * Registered first by buildApp; feature plugins declare `dependencies: ['core']`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { Db } from './db/database.js';
import { PgNotifications } from './db/pg-notifications.js';
import type { ProtocolRegistry } from './protocols/registry.js';
import { ReportingTargets } from './reporting-targets.js';

export interface CoreServices {
  config: Config;
  db: Db;
  secretBox: SecretBox;
  protocols: ProtocolRegistry;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Db;
    secretBox: SecretBox;
    protocols: ProtocolRegistry;
    /** PostgreSQL only: notifications that triggers send at commit (db/pg-notifications.ts). */
    notifications: PgNotifications | undefined;
    /** Changes of an application's reporting URL or secret, for the delivery worker. */
    reportingTargets: ReportingTargets;
  }
}

async function corePlugin(app: FastifyInstance, services: CoreServices): Promise<void> {
  app.decorate('config', services.config);
  app.decorate('db', services.db);
  app.decorate('secretBox', services.secretBox);
  app.decorate('protocols', services.protocols);
  app.decorate('reportingTargets', new ReportingTargets());
  const { database } = services.config;
  app.decorate(
    'notifications',
    database.dialect === 'postgres'
      ? new PgNotifications(database.url, app.log.child({ worker: 'notifications' }))
      : undefined,
  );
}

export const core = fp(corePlugin, { name: 'core' });
