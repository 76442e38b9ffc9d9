import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AUTHENTICATED, problemResponses } from '../http/schemas.js';
import { notFound } from '../http/problem.js';
import { callbackUrl as callbackUrlOf } from '../oauth/authorization.service.js';
import type { ProtocolDescriptor } from './protocol.js';

const ProtocolSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    version: Type.String(),
    networkType: Type.Literal('lorawan'),
    authorization: Type.Union([
      Type.Object({
        kind: Type.Literal('oauth2'),
        callbackUrl: Type.String({ description: 'Redirect URI to register at the network' }),
        serverClient: Type.Optional(
          Type.Object(
            {
              clientId: Type.String(),
              baseUrl: Type.String({
                description:
                  'Where that client is registered: the URL the setting named by the protocol (TTN: accountServerUrl) must have for it to be used',
              }),
            },
            {
              description:
                'Present when the server has its own OAuth client for this protocol; networks at its address may then leave the client fields empty',
            },
          ),
        ),
      }),
      Type.Object({ kind: Type.Literal('api-key') }),
    ]),
  },
  { $id: 'NetworkProtocol' },
);

const FieldSchema = Type.Object(
  {
    name: Type.String(),
    label: Type.String(),
    type: Type.Union([Type.Literal('string'), Type.Literal('url'), Type.Literal('password')]),
    required: Type.Boolean(),
    secret: Type.Boolean(),
    placeholder: Type.Optional(Type.String()),
    help: Type.Optional(Type.String()),
    default: Type.Optional(Type.String()),
  },
  { $id: 'ProtocolField' },
);

const ProtocolParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const protocolsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const callbackUrl = callbackUrlOf(app.config.publicUrl);
  const common = { tags: ['network-protocols'], security: AUTHENTICATED };

  function view(d: ProtocolDescriptor): Static<typeof ProtocolSchema> {
    return {
      id: d.id,
      name: d.name,
      version: d.version,
      networkType: d.networkType,
      authorization: d.authorization.kind === 'oauth2' ? oauthView(d) : { kind: 'api-key' },
    };
  }

  function oauthView(d: ProtocolDescriptor) {
    const serverClient =
      d.authorization.kind === 'oauth2' ? d.authorization.serverClient : undefined;
    return {
      kind: 'oauth2' as const,
      callbackUrl,
      ...(serverClient ? { serverClient } : {}),
    };
  }

  function describeOr404(id: string): ProtocolDescriptor {
    const descriptor = app.protocols.describe(id);
    if (!descriptor) throw notFound('network protocol');
    return descriptor;
  }

  app.get(
    '/api/network-protocols',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary: 'The network protocols this server offers',
        response: {
          200: Type.Object({ items: Type.Array(ProtocolSchema) }),
          ...problemResponses(401),
        },
      },
    },
    async () => ({ items: app.protocols.describeAll().map(view) }),
  );

  app.get(
    '/api/network-protocols/:id',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary:
          'Describe a network protocol (for OAuth: the callback URL to register at the network)',
        params: ProtocolParams,
        response: { 200: ProtocolSchema, ...problemResponses(401, 404) },
      },
    },
    async (request) => view(describeOr404(request.params.id)),
  );

  app.get(
    '/api/network-protocols/:id/fields',
    {
      onRequest: [app.authenticate],
      schema: {
        ...common,
        summary:
          'The settings a network of this protocol needs (the portal renders its form from them)',
        params: ProtocolParams,
        response: {
          200: Type.Object({ fields: Type.Array(FieldSchema) }),
          ...problemResponses(401, 404),
        },
      },
    },
    async (request) => ({
      // The response schema drops server-only facts such as `schemes`.
      fields: describeOr404(request.params.id).fields.map((f) => ({ ...f })),
    }),
  );
};
