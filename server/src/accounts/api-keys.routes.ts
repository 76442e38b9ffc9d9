import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  AUTHENTICATED,
  IdParams,
  PageQuery,
  pageOf,
  pageParams,
  problemResponses,
} from '../http/schemas.js';
import { principalOf } from './auth.js';
import { ApiKeySchema, createApiKey, deleteApiKey, listApiKeys } from './api-keys.service.js';

/** API keys belong to the user who created them and act with that user's rights. */
export const apiKeysRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['api-keys'], security: AUTHENTICATED };

  app.post(
    '/api/api-keys',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: 'Create an API key (the key is in this answer only)',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            expiresAt: Type.Optional(
              Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            apiKey: ApiKeySchema,
            key: Type.String({ description: 'Use as `Authorization: Bearer <key>`. Shown once.' }),
          }),
          ...problemResponses(400, 401, 413, 415),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createApiKey(app.db, principalOf(request), request.body)),
  );

  app.get(
    '/api/api-keys',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: 'List your API keys',
        querystring: PageQuery,
        response: { 200: pageOf(ApiKeySchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => listApiKeys(app.db, principalOf(request), pageParams(request.query)),
  );

  app.delete(
    '/api/api-keys/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: 'Revoke one of your API keys',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      await deleteApiKey(app.db, principalOf(request), request.params.id);
      app.principalCache.clear();
      return reply.code(204).send(null);
    },
  );
};
