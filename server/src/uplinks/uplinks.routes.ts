import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Type } from 'typebox';
import { principalOf } from '../accounts/auth.js';
import {
  AUTHENTICATED,
  IdParams,
  NullableTimestamp,
  PageQuery,
  pageOf,
  pageParams,
  problemResponses,
} from '../http/schemas.js';
import { uplinkJsonSchema } from './document.js';
import { streamUplinks } from './live.js';
import {
  DeliveryStatusSchema,
  DownlinkBody,
  DownlinkSchema,
  ReportingSecretSchema,
  TestSendSchema,
  UplinkEntrySchema,
} from './uplinks.schemas.js';
import {
  canSeeApplication,
  deliveryStatus,
  listApplicationUplinks,
  listDeviceUplinks,
  redeliverDeadLetters,
  requireApplication,
  rotateReportingSecret,
  sendDownlink,
  testSend,
  type UplinkServiceDeps,
} from './uplinks.service.js';

/** Bytes of a live view the client has not read yet past which the stream is dropped. */
const LIVE_UNREAD_LIMIT = 4 * 1024 * 1024;

/** Uplinks, their delivery and downlinks: members read, organization admins act. */
export const uplinksRoutes: FastifyPluginAsyncTypebox<{
  deps: UplinkServiceDeps;
  bus: EventEmitter;
}> = async (app, { deps, bus }) => {
  // Live views end when the server closes; otherwise each would hold the shutdown open.
  const liveStreams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const raw of liveStreams) raw.end();
  });

  const readers = [app.authenticate];
  const writers = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['uplinks'], security: AUTHENTICATED };

  app.get(
    '/api/uplink-schema',
    {
      schema: {
        tags: ['uplinks'],
        summary: 'The JSON Schema of the uplink document (version 1) delivered to reporting URLs',
        response: { 200: Type.Object({}, { additionalProperties: true }) },
      },
    },
    async () => uplinkJsonSchema(),
  );

  app.get(
    '/api/applications/:id/uplinks',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: "An application's recent uplinks, newest first, with their delivery",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: pageOf(UplinkEntrySchema), ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      listApplicationUplinks(
        deps,
        principalOf(request),
        request.params.id,
        pageParams(request.query),
      ),
  );

  app.get(
    '/api/applications/:id/uplinks/live',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: "An application's new uplinks as they arrive (Server-Sent Events)",
        description:
          'A text/event-stream: each new uplink is an `uplink` event whose data is the normalized document ' +
          '(docs/uplinks.md) and whose id is the message id. Comments keep the connection alive.',
        params: IdParams,
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const application = await requireApplication(deps, principalOf(request), request.params.id);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // The stream is the connection's last response: ending it (shutdown) closes the socket.
        connection: 'close',
        'x-request-id': request.id,
        // Proxies (nginx) must not buffer the stream.
        'x-accel-buffering': 'no',
      });
      liveStreams.add(raw);
      raw.once('close', () => liveStreams.delete(raw));
      const stillAllowed = async () => {
        const principal = await app.principalNow(request);
        return principal !== undefined && canSeeApplication(deps, principal, application.id);
      };
      await streamUplinks({ db: deps.db, bus, stillAllowed }, application.id, {
        write: (chunk) => {
          // A client that stopped reading is dropped rather than buffered for without end.
          if (raw.writableLength > LIVE_UNREAD_LIMIT) raw.destroy();
          else raw.write(chunk);
        },
        end: () => raw.end(),
        onClose: (listener) => raw.once('close', listener),
      });
    },
  );

  app.get(
    '/api/applications/:id/delivery',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary:
          'Delivery status of the reporting URL: last success, last error, backlog, dead letters, subscriptions',
        params: IdParams,
        response: { 200: DeliveryStatusSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => deliveryStatus(deps, principalOf(request), request.params.id),
  );

  app.post(
    '/api/applications/:id/delivery/redeliver',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Deliver the dead letters again (organization admin)',
        description: 'Dead letters become pending with a fresh retry period.',
        params: IdParams,
        response: {
          200: Type.Object({ requeued: Type.Integer() }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => redeliverDeadLetters(deps, principalOf(request), request.params.id),
  );

  app.post(
    '/api/applications/:id/delivery/test',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'POST a test document to the reporting URL now (organization admin)',
        description:
          'The document is signed and shaped like an uplink, with `"test": true`. Sent once, not stored, ' +
          'not retried; the answer says what the endpoint did.',
        params: IdParams,
        response: { 200: TestSendSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => testSend(deps, principalOf(request), request.params.id),
  );

  app.post(
    '/api/applications/:id/reporting-secret',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Set a new reporting secret (organization admin)',
        description:
          'Generates a random secret for X-LPWAN-Signature and answers it once; it is stored encrypted and ' +
          'never shown again. Deliveries from now on are signed with it: at once by this server process, ' +
          'within 2 s by others sharing its database.',
        params: IdParams,
        response: { 201: ReportingSecretSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await rotateReportingSecret(deps, principalOf(request), request.params.id)),
  );

  app.get(
    '/api/devices/:id/uplinks',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: "A device's recent uplinks, newest first, and when it was last seen",
        params: IdParams,
        querystring: PageQuery,
        response: {
          200: Type.Intersect([
            pageOf(UplinkEntrySchema),
            Type.Object({ lastSeenAt: NullableTimestamp }),
          ]),
          ...problemResponses(400, 401, 404),
        },
      },
    },
    async (request) =>
      listDeviceUplinks(deps, principalOf(request), request.params.id, pageParams(request.query)),
  );

  app.post(
    '/api/devices/:id/downlinks',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Queue a downlink for a device on its network (organization admin)',
        params: IdParams,
        body: DownlinkBody,
        response: { 202: DownlinkSchema, ...problemResponses(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await sendDownlink(deps, principalOf(request), request.params.id, request.body)),
  );
};
