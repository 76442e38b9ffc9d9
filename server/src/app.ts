/**
 * buildApp: one Fastify instance with every plugin registered, not listening. main.ts listens;
 * tests call `inject` on it. Order: external plugins, shared app plugins, feature routes, portal.
 */
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import { registerAjvFormats, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { apiKeysRoutes } from './accounts/api-keys.routes.js';
import { applications } from './applications/applications.plugin.js';
import { auth } from './accounts/auth.js';
import { organizationsRoutes } from './accounts/organizations.routes.js';
import { rateLimitedError, sessionsRoutes } from './accounts/sessions.routes.js';
import { usersRoutes } from './accounts/users.routes.js';
import type { Config } from './config.js';
import { core } from './core.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { Db } from './db/database.js';
import { startWalCheckpointer } from './db/wal-checkpointer.js';
import { healthRoutes } from './health/health.routes.js';
import { errorHandler } from './http/error-handler.js';
import { createLogger } from './http/logging.js';
import { openApi } from './http/openapi.js';
import { securityHeaders } from './http/security-headers.js';
import { refuseUndeclaredBody, validatorCompiler } from './http/validator.js';
import { metrics } from './metrics/metrics.plugin.js';
import { networksRoutes } from './networks/networks.routes.js';
import { oauth } from './oauth/oauth.plugin.js';
import { portal } from './portal/portal.plugin.js';
import { protocolsRoutes } from './protocols/protocols.routes.js';
import { BUILT_IN_PROTOCOLS, ProtocolRegistry } from './protocols/registry.js';
import { uplinks } from './uplinks/uplinks.plugin.js';
import { workers } from './workers/worker.js';

export interface AppDeps {
  db: Db;
  secretBox: SecretBox;
  /** Defaults to a logger at config.logLevel on stdout. */
  logger?: Logger;
  /** Defaults to the built-in protocols. */
  protocols?: ProtocolRegistry;
}

export type App = FastifyInstance;

registerAjvFormats();

export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: (deps.logger ?? createLogger(config.logLevel)) as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Validate with TypeBox (no type coercion of bodies, no silent removal of unknown fields).
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onRoute', refuseUndeclaredBody);
  // Bodies are JSON (and the CSV import's text/csv). Fastify also parses text/plain, one of the
  // types a page of another site may POST without asking: refused (415) instead.
  app.removeContentTypeParser('text/plain');

  // External plugins
  await app.register(cookie);
  await app.register(rateLimit, { global: false, errorResponseBuilder: rateLimitedError });

  // Shared app plugins
  await app.register(core, {
    config,
    db: deps.db,
    secretBox: deps.secretBox,
    protocols: deps.protocols ?? new ProtocolRegistry(BUILT_IN_PROTOCOLS, config.oauthClients),
  });
  await app.register(errorHandler);
  await app.register(securityHeaders);
  await app.register(openApi, { publicUrl: config.publicUrl });
  await app.register(auth);
  await app.register(workers);
  // An SQLite file's checkpoints run on a thread of their own (db/wal-checkpointer.ts).
  if (config.database.dialect === 'sqlite' && config.database.file !== ':memory:') {
    const checkpointer = startWalCheckpointer(config.database.file, app.log);
    app.addHook('onClose', () => checkpointer.stop());
  }
  // PostgreSQL's notifications: features register their channels while they are registered;
  // listening starts once all are (db/pg-notifications.ts).
  const { notifications } = app;
  if (notifications !== undefined) {
    app.addHook('onReady', () => notifications.start());
    app.addHook('onClose', () => notifications.stop());
  }

  // Features
  await app.register(healthRoutes);
  await app.register(sessionsRoutes);
  await app.register(usersRoutes);
  await app.register(organizationsRoutes);
  await app.register(apiKeysRoutes);
  await app.register(protocolsRoutes);
  await app.register(networksRoutes);
  await app.register(oauth);
  await app.register(applications);
  await app.register(metrics);
  await app.register(uplinks);

  // Portal last: it owns / and the not-found fallback.
  await app.register(portal, { portalDir: config.portalDir });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  return app;
}
