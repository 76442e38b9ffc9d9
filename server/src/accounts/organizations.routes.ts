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
import {
  OrganizationSchema,
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  renameOrganization,
} from './organizations.service.js';

const OrganizationName = Type.String({ minLength: 1, maxLength: 200 });

export const organizationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const guards = [app.authenticate, app.requireSystemAdmin];
  const common = { tags: ['organizations'], security: AUTHENTICATED };

  app.post(
    '/api/organizations',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Create an organization (system admin)',
        body: Type.Object({ name: OrganizationName }, { additionalProperties: false }),
        response: { 201: OrganizationSchema, ...problemResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createOrganization(app.db, request.body.name.trim())),
  );

  app.get(
    '/api/organizations',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'List organizations (system admin)',
        querystring: PageQuery,
        response: { 200: pageOf(OrganizationSchema), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => listOrganizations(app.db, pageParams(request.query)),
  );

  app.get(
    '/api/organizations/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Get an organization (system admin)',
        params: IdParams,
        response: { 200: OrganizationSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getOrganization(app.db, request.params.id),
  );

  app.patch(
    '/api/organizations/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Rename an organization (system admin)',
        params: IdParams,
        body: Type.Object({ name: OrganizationName }, { additionalProperties: false }),
        response: {
          200: OrganizationSchema,
          ...problemResponses(400, 401, 403, 404, 409, 413, 415),
        },
      },
    },
    async (request) => {
      const organization = await renameOrganization(
        app.db,
        request.params.id,
        request.body.name.trim(),
      );
      app.principalCache.clear(); // principals carry the organization's name
      return organization;
    },
  );

  app.delete(
    '/api/organizations/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Delete an organization with its users, keys and networks (system admin)',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteOrganization(app.db, request.params.id);
      app.principalCache.clear();
      return reply.code(204).send(null);
    },
  );
};
