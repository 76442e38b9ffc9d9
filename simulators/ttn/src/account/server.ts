import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Sim } from '../context.js';
import { controlApi } from '../control.js';
import { OAuthError, SimError } from '../errors.js';
import { injectFaults } from '../faults.js';
import { logRequests, pathOf } from '../requests.js';
import { accountApi } from './api.js';
import { discovery } from './discovery.js';
import { oauthPages } from './oauth.js';
import { tokenRoutes } from './tokens.js';

const TOKEN_PATHS = new Set(['/users/token', '/api/v2/applications/token']);

/**
 * The account server ("ttn-account-v2"): OAuth pages and token endpoint, the account API
 * (with and without `/api/v2`), and the `/_sim` control API. Errors are `{code, error}`,
 * OAuth token errors `{error, error_description}`.
 */
export async function buildAccountServer(sim: Sim): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  await app.register(cookie);
  await app.register(formbody);
  logRequests(app, 'account', sim.log);
  injectFaults(app, 'account', sim.faults);

  app.setErrorHandler((error, request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (
      !(error instanceof SimError) &&
      !(error instanceof OAuthError) &&
      TOKEN_PATHS.has(pathOf(request.url)) &&
      status !== undefined &&
      status >= 400 &&
      status < 500
    ) {
      // A body the token endpoint cannot read (bad JSON, unknown media type) is an OAuth error too.
      error = new OAuthError(400, 'invalid_request', (error as Error).message);
    }
    if (error instanceof OAuthError) {
      if (error.status === 401) reply.header('www-authenticate', 'Basic realm="ttn-account-v2"');
      return reply
        .code(error.status)
        .send({ error: error.error, error_description: error.description });
    }
    if (error instanceof SimError) {
      return reply
        .code(error.status)
        .headers(error.headers)
        .send({ code: error.status, error: error.message });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ code: status, error: (error as Error).message });
    }
    return reply.code(500).send({ code: 500, error: 'internal error' });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ code: 404, error: 'not found' }),
  );

  discovery(app, sim);
  oauthPages(app, sim);
  tokenRoutes(app, sim);
  accountApi(app, sim, '/api/v2');
  accountApi(app, sim, '');
  controlApi(app, sim);
  return app;
}
