import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * A few response headers that cost nothing. `Referrer-Policy: no-referrer` matters here:
 * the portal's OAuth callback page carries the authorization code in its URL.
 */
async function securityHeadersPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });
}

export const securityHeaders = fp(securityHeadersPlugin, { name: 'security-headers' });
