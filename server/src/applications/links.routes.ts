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
import type { NetworkDeps } from '../networks/networks.service.js';
import {
  ApplicationLinkSchema,
  NetworkDeletionSchema,
  NetworkLinkSchema,
} from './applications.schemas.js';
import {
  cancelNetworkDeletion,
  listNetworkDeletions,
  retryNetworkDeletions,
} from './deletions.service.js';
import {
  linkApplication,
  listLinks,
  listNetworkLinks,
  retryLink,
  unlinkApplication,
} from './links.service.js';

const AppParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const LinkParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    linkId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

const DeletionParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    deletionId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

/** An application's links to networks: push, state per network, retry, unlink. */
export const linksRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const common = { tags: ['applications'], security: AUTHENTICATED };
  const deps: NetworkDeps = { db: app.db, secretBox: app.secretBox, protocols: app.protocols };

  app.post(
    '/api/applications/:id/links',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        ...common,
        summary: 'Link the application to a network (organization admin)',
        description:
          'Creates the application on the network (adopting one that exists with that id), makes it ready for ' +
          'devices, creates the uplink access key, then creates its devices. The work is queued: the answer is ' +
          'the link in state `pending`; follow it with GET …/links.',
        params: AppParams,
        body: Type.Object(
          {
            networkId: Type.String({ minLength: 1, maxLength: 64 }),
            remoteId: Type.Optional(
              Type.String({
                maxLength: 36,
                description:
                  "The application's id on the network; by default derived from its name",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 202: ApplicationLinkSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await linkApplication(deps, principalOf(request), request.params.id, request.body)),
  );

  app.get(
    '/api/applications/:id/links',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: "The application's links: state, last error and device counts per network",
        params: AppParams,
        response: {
          200: Type.Object({ items: Type.Array(ApplicationLinkSchema) }),
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (request) => ({
      items: await listLinks(app.db, principalOf(request), request.params.id),
    }),
  );

  app.get(
    '/api/networks/:id/links',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: 'The applications linked to the network, by their id there',
        params: IdParams,
        response: {
          200: Type.Object({ items: Type.Array(NetworkLinkSchema) }),
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (request) => ({
      items: await listNetworkLinks(deps, principalOf(request), request.params.id),
    }),
  );

  app.get(
    '/api/networks/:id/deletions',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary:
          'Deletions on the network not done yet: applications and devices deleted or unlinked here',
        description:
          'Oldest first. `pending`: tried again at `nextAttemptAt` (a network that is down or rate-limits); ' +
          '`error`: the network refused it, and it waits for POST …/deletions/retry.',
        params: IdParams,
        querystring: PageQuery,
        response: { 200: pageOf(NetworkDeletionSchema), ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      listNetworkDeletions(
        deps,
        principalOf(request),
        request.params.id,
        pageParams(request.query),
      ),
  );

  app.post(
    '/api/networks/:id/deletions/retry',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        ...common,
        summary: 'Retry every deletion on the network now (organization admin)',
        params: IdParams,
        response: {
          202: Type.Object({ retried: Type.Integer({ description: 'Deletions queued again' }) }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await retryNetworkDeletions(deps, principalOf(request), request.params.id)),
  );

  app.delete(
    '/api/networks/:id/deletions/:deletionId',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        ...common,
        summary: 'Cancel a deletion on the network (organization admin)',
        description:
          'What it would delete stays on the network as it is. 409 `deletion_running` while a worker is trying it.',
        params: DeletionParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await cancelNetworkDeletion(
        deps,
        principalOf(request),
        request.params.id,
        request.params.deletionId,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/applications/:id/links/:linkId/retry',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        ...common,
        summary: 'Retry the link now (organization admin)',
        description:
          'Every change waiting for its next attempt, or refused, on this network is tried again at once.',
        params: LinkParams,
        response: { 202: ApplicationLinkSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await retryLink(app.db, principalOf(request), request.params.id, request.params.linkId),
        ),
  );

  app.delete(
    '/api/applications/:id/links/:linkId',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        ...common,
        summary: 'Unlink the application from a network (organization admin)',
        description:
          'LPWAN Server stops pushing the application to that network and receiving its uplinks there. ' +
          'The application and its devices stay on the network as they are, unless `deleteOnNetwork` is ' +
          'true: then they are deleted there (queued, retried like any push). Uplinks already received ' +
          'are kept.',
        params: LinkParams,
        querystring: Type.Object(
          {
            deleteOnNetwork: Type.Optional(
              Type.Boolean({
                default: false,
                description: 'Also delete the application and its devices on the network',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await unlinkApplication(
        app.db,
        principalOf(request),
        request.params.id,
        request.params.linkId,
        {
          deleteOnNetwork: request.query.deleteOnNetwork ?? false,
        },
      );
      return reply.code(204).send(null);
    },
  );
};
