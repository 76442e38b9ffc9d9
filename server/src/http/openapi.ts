/**
 * OpenAPI 3.1 generated from the route schemas (@fastify/swagger): JSON at /api/openapi.json,
 * browsable UI at /api/docs. The portal generates its typed client from this document.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemSchema, problemResponses } from './schemas.js';

export const OPENAPI_JSON_PATH = '/api/openapi.json';

/** Problems every route with a JSON body can answer, whether or not its schema lists them. */
const BODY_PROBLEMS = problemResponses(400, 413, 415);
const ANY_ROUTE_PROBLEMS = problemResponses();

async function openApiPlugin(app: FastifyInstance, opts: { publicUrl: string }): Promise<void> {
  app.addSchema(ProblemSchema);
  // Before @fastify/swagger's own onRoute hook: complete each route's documented answers with
  // the problems the framework itself can give (bad JSON, body too large, not JSON, faults).
  app.addHook('onRoute', (route) => {
    if (!route.schema || (route.schema as { hide?: boolean }).hide) return;
    const extra = route.schema.body
      ? { ...ANY_ROUTE_PROBLEMS, ...BODY_PROBLEMS }
      : ANY_ROUTE_PROBLEMS;
    const response = (route.schema.response ?? {}) as Record<string, unknown>;
    route.schema.response = { ...extra, ...response };
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LPWAN Server API',
        version: '0.1.0',
        description:
          'Manage LoRaWAN networks, applications and devices across several network servers. ' +
          'Errors are RFC 9457 problem+json with a stable `code`.',
      },
      servers: [{ url: opts.publicUrl }],
      components: {
        securitySchemes: {
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'lpwan_session' },
          bearerToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'A session token (lps_…) or an API key (lpk_…)',
          },
        },
      },
    },
    // Name shared schemas after their $id (components.schemas.Problem) instead of def-0.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.get(OPENAPI_JSON_PATH, { schema: { hide: true } }, async () => app.swagger());
}

export const openApi = fp(openApiPlugin, { name: 'openapi' });
