/**
 * Serves the built portal at / with a single-page-app fallback: any GET outside /api that is not
 * a file answers index.html, so deep links (/networks, /oauth/callback?…) work on reload.
 * Anything under /api that matches no route is a problem+json 404.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sendProblem } from '../http/error-handler.js';
import { toProblem } from '../http/problem.js';

const NOT_BUILT_TEXT =
  'LPWAN Server is running, but the portal is not built.\n' +
  'Run `npm run build` (or `npm start`, which builds everything) in the repository, or set PORTAL_DIR.\n' +
  'The API is at /api (documentation: /api/docs).\n';

function isApi(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');
}

async function portalPlugin(app: FastifyInstance, opts: { portalDir: string }): Promise<void> {
  const indexFile = path.join(opts.portalDir, 'index.html');
  const built = existsSync(indexFile);

  if (built) {
    await app.register(fastifyStatic, {
      root: opts.portalDir,
      prefix: '/',
      setHeaders(res, filePath) {
        // Vite puts content-hashed files in assets/: cache them for good; index.html never.
        if (filePath.includes(`${path.sep}assets${path.sep}`)) {
          res.header('cache-control', 'public, max-age=31536000, immutable');
        } else {
          res.header('cache-control', 'no-cache');
        }
      },
    });
  } else {
    app.log.warn({ portalDir: opts.portalDir }, 'portal not built: / answers a hint instead');
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send(NOT_BUILT_TEXT),
    );
  }

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const url = request.raw.url ?? request.url;
    if (isApi(url) || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return sendProblem(
        reply,
        toProblem(404, 'not_found', `No route ${request.method} ${url.split('?')[0]}.`, request.id),
      );
    }
    if (!built) return reply.code(404).type('text/plain; charset=utf-8').send(NOT_BUILT_TEXT);
    return reply.sendFile('index.html');
  });
}

export const portal = fp(portalPlugin, { name: 'portal' });
