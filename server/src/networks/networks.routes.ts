import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../accounts/auth.js';
import {
  AUTHENTICATED,
  IdParams,
  PageQuery,
  pageOf,
  pageParams,
  problemResponses,
} from '../http/schemas.js';
import { NetworkSchema, SettingsInput } from './networks.schemas.js';
import {
  createNetwork,
  deleteNetwork,
  getNetwork,
  listNetworks,
  updateNetwork,
} from './networks.service.js';

const NetworkName = Type.String({ minLength: 1, maxLength: 200 });

/** Networks of the caller's organization: members read, organization admins change. */
export const networksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const readers = [app.authenticate];
  const writers = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['networks'], security: AUTHENTICATED };

  app.post(
    '/api/networks',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Create a network (organization admin)',
        description:
          'Settings are checked against the protocol fields; defaults are applied; secret settings are ' +
          'stored encrypted and answered as {"set": true}.',
        body: Type.Object(
          {
            name: NetworkName,
            protocolId: Type.String({ minLength: 1, maxLength: 64 }),
            settings: SettingsInput,
          },
          { additionalProperties: false },
        ),
        response: { 201: NetworkSchema, ...problemResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const body = { ...request.body, name: request.body.name.trim() };
      return reply.code(201).send(await createNetwork(app, principalOf(request), body));
    },
  );

  app.get(
    '/api/networks',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'List the networks of your organization',
        querystring: PageQuery,
        response: { 200: pageOf(NetworkSchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => listNetworks(app, principalOf(request), pageParams(request.query)),
  );

  app.get(
    '/api/networks/:id',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'Get a network',
        params: IdParams,
        response: { 200: NetworkSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => getNetwork(app, principalOf(request), request.params.id),
  );

  app.patch(
    '/api/networks/:id',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Change a network (organization admin)',
        description:
          'Settings merge over the stored ones; a secret setting left out keeps its value.',
        params: IdParams,
        body: Type.Object(
          { name: Type.Optional(NetworkName), settings: Type.Optional(SettingsInput) },
          { additionalProperties: false },
        ),
        response: { 200: NetworkSchema, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const { name, settings } = request.body;
      return updateNetwork(app, principalOf(request), request.params.id, {
        name: name?.trim(),
        settings,
      });
    },
  );

  app.delete(
    '/api/networks/:id',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Delete a network (organization admin)',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteNetwork(app, principalOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
