import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * A few response headers that cost nothing. `Referrer-Policy: no-referrer` matters here:
 * the portal's OAuth callback page carries the authorization code in its URL.
 */
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

async function securityHeadersPlugin(app: FastifyInstance): Promise<void> {
  // Set when the request arrives (a synchronous hook: no promise per request); error answers
  // and the not-found fallback keep them too.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(HEADERS);
    done();
  });
}

export const securityHeaders = fp(securityHeadersPlugin, { name: 'security-headers' });
