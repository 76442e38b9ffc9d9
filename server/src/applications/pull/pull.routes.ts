import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../accounts/auth.js';
import {
  AUTHENTICATED,
  IdParams,
  NullableTimestamp,
  Timestamp,
  problemResponses,
} from '../../http/schemas.js';
import { getJob, startPull, type PullDeps } from './jobs.service.js';

const Count = Type.Integer();
const JobSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('pull'),
    networkId: Type.String(),
    state: Type.Union([
      Type.Literal('queued'),
      Type.Literal('running'),
      Type.Literal('done'),
      Type.Literal('failed'),
    ]),
    progress: Type.Object(
      { done: Count, total: Count },
      { description: 'Applications imported of those the account has' },
    ),
    counts: Type.Object({
      applications: Type.Object({ created: Count, matched: Count }),
      devices: Type.Object({ created: Count, matched: Count, failed: Count }),
    }),
    errorCount: Count,
    errors: Type.Array(Type.Object({ item: Type.String(), message: Type.String() }), {
      description: 'Items that could not be imported (the first 500)',
    }),
    message: Type.Union([Type.String(), Type.Null()], { description: 'Why the whole job failed' }),
    createdAt: Timestamp,
    startedAt: NullableTimestamp,
    finishedAt: NullableTimestamp,
  },
  { $id: 'Job' },
);

/** Pulls (imports) from a network, run as stored jobs by the pull worker. */
export const pullRoutes: FastifyPluginAsyncTypebox<{
  /** Called when a pull is queued: the pull worker of this process starts it at once. */
  onQueued: () => void;
}> = async (app, { onQueued }) => {
  const deps: PullDeps = {
    db: app.db,
    secretBox: app.secretBox,
    protocols: app.protocols,
    vault: app.tokenVault,
  };

  app.post(
    '/api/networks/:id/pull',
    {
      onRequest: [app.authenticate, app.requireOrgAdmin],
      schema: {
        tags: ['networks'],
        security: AUTHENTICATED,
        summary: "Import the network account's applications and devices (organization admin)",
        description:
          'Queues a pull and answers its job id; a pull of this network already queued or running is answered ' +
          'instead. Matching is by remote id, then DevEUI, never by name: pulling again creates nothing new.',
        params: IdParams,
        response: {
          202: Type.Object({ jobId: Type.String() }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const queued = await startPull(deps, principalOf(request), request.params.id);
      onQueued();
      return reply.code(202).send(queued);
    },
  );

  app.get(
    '/api/jobs/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        tags: ['jobs'],
        security: AUTHENTICATED,
        summary: 'A job: state, progress, counts and item errors',
        params: IdParams,
        response: { 200: JobSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => getJob(app.db, principalOf(request), request.params.id),
  );
};
