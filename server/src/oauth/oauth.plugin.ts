/**
 * The OAuth feature: builds the token vault (one per process) and registers the routes.
 * Other features that call networks use `app.tokenVault`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { oauthRoutes } from './oauth.routes.js';
import { TokenVault } from './token-vault.js';

declare module 'fastify' {
  interface FastifyInstance {
    tokenVault: TokenVault;
  }
}

async function oauthPlugin(app: FastifyInstance): Promise<void> {
  const vault = new TokenVault({
    db: app.db,
    dialect: app.config.database.dialect,
    secretBox: app.secretBox,
    log: app.log,
  });
  app.decorate('tokenVault', vault);
  await app.register(oauthRoutes, {
    deps: {
      db: app.db,
      secretBox: app.secretBox,
      protocols: app.protocols,
      vault,
      publicUrl: app.config.publicUrl,
    },
  });
}

export const oauth = fp(oauthPlugin, { name: 'oauth', dependencies: ['core'] });
