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
import { ApplicationInput, ApplicationSchema } from './applications.schemas.js';
import {
  createApplication,
  deleteApplication,
  getApplication,
  listApplications,
  updateApplication,
} from './applications.service.js';
import type { DevicesVersionWatch } from './devices-version-watch.js';

/** Applications of the caller's organization: members read, organization admins change. */
export const applicationsRoutes: FastifyPluginAsyncTypebox<{
  /** PostgreSQL: the devices versions this process knows; a deleted application leaves them. */
  versions: DevicesVersionWatch | undefined;
}> = async (app, { versions }) => {
  const readers = [app.authenticate];
  const writers = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['applications'], security: AUTHENTICATED };

  app.post(
    '/api/applications',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Create an application (organization admin)',
        body: Type.Object(
          {
            name: ApplicationInput.name,
            description: Type.Optional(ApplicationInput.description),
            reportingUrl: Type.Optional(ApplicationInput.reportingUrl),
          },
          { additionalProperties: false },
        ),
        response: { 201: ApplicationSchema, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createApplication(app.db, principalOf(request), request.body)),
  );

  app.get(
    '/api/applications',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'List the applications of your organization',
        querystring: PageQuery,
        response: { 200: pageOf(ApplicationSchema), ...problemResponses(400, 401) },
      },
    },
    async (request) => listApplications(app.db, principalOf(request), pageParams(request.query)),
  );

  app.get(
    '/api/applications/:id',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'Get an application',
        params: IdParams,
        response: { 200: ApplicationSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => getApplication(app.db, principalOf(request), request.params.id),
  );

  app.patch(
    '/api/applications/:id',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Change an application (organization admin)',
        description: 'A new name is pushed to every network the application is linked to.',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(ApplicationInput.name),
            description: Type.Optional(ApplicationInput.description),
            reportingUrl: Type.Optional(ApplicationInput.reportingUrl),
          },
          { additionalProperties: false },
        ),
        response: { 200: ApplicationSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const updated = await updateApplication(
        app.db,
        principalOf(request),
        request.params.id,
        request.body,
      );
      if (request.body.reportingUrl !== undefined) await app.reportingTargets.changed(updated.id);
      return updated;
    },
  );

  app.delete(
    '/api/applications/:id',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Delete an application and its devices (organization admin)',
        description:
          'The application is deleted on every linked network too (queued, retried until done).',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteApplication(app.db, principalOf(request), request.params.id);
      versions?.forget(request.params.id);
      return reply.code(204).send(null);
    },
  );
};
