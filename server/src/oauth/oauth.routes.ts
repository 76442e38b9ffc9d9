import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../accounts/auth.js';
import type { Principal } from '../accounts/principal.js';
import { AUTHENTICATED, IdParams, MAX_OFFSET, problemResponses } from '../http/schemas.js';
import { NetworkSchema } from '../networks/networks.schemas.js';
import { getNetwork } from '../networks/networks.service.js';
import {
  completeAuthorization,
  startAuthorization,
  storeGivenTokens,
} from './authorization.service.js';
import { listRemoteApplications, listRemoteDevices } from './remote.service.js';
import type { OAuthDeps } from './authorization.service.js';

const actorOf = (principal: Principal) => ({
  userId: principal.user.id,
  organizationId: principal.user.organizationId,
});

/** Linking a network's account (OAuth 2.0) and using the link. */
export const oauthRoutes: FastifyPluginAsyncTypebox<{ deps: OAuthDeps }> = async (
  app,
  { deps },
) => {
  const readers = [app.authenticate];
  const writers = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['network authorization'], security: AUTHENTICATED };

  app.post(
    '/api/networks/:id/authorization',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: "Start linking the network's account (organization admin)",
        description:
          "Answers the URL of the network's sign-in page. The state (single use, bound to you and the " +
          'network, 10 minutes) and the PKCE verifier stay on the server; the redirect URI is ' +
          '`PUBLIC_URL/oauth/callback`.',
        params: IdParams,
        response: {
          200: Type.Object({ authorizeUrl: Type.String({ format: 'uri' }) }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => startAuthorization(deps, actorOf(principalOf(request)), request.params.id),
  );

  app.post(
    '/api/oauth/callback',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'Finish linking: what the network sent back to the portal',
        description:
          'The portal posts the query parameters the network redirected the browser with. The server ' +
          'checks the state, exchanges the code with the client secret, stores the tokens encrypted and ' +
          'marks the network authorized.',
        body: Type.Object(
          {
            state: Type.String({ minLength: 1, maxLength: 512 }),
            code: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
            error: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            error_description: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ network: NetworkSchema }),
          ...problemResponses(400, 401, 404, 409, 502, 503),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { state, code, error, error_description } = request.body;
      const networkId = await completeAuthorization(deps, actorOf(principal), {
        state,
        code,
        error,
        errorDescription: error_description,
      });
      return { network: await getNetwork(app, principal, networkId) };
    },
  );

  app.put(
    '/api/networks/:id/tokens',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Store tokens obtained elsewhere (organization admin)',
        description:
          'The access token is proven against the network before anything is stored; the tokens are ' +
          'stored encrypted and never answered.',
        params: IdParams,
        body: Type.Object(
          {
            access_token: Type.String({ minLength: 1, maxLength: 8192 }),
            refresh_token: Type.String({ minLength: 1, maxLength: 8192 }),
            expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: NetworkSchema, ...problemResponses(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { access_token, refresh_token, expires_in } = request.body;
      await storeGivenTokens(deps, actorOf(principal), request.params.id, {
        accessToken: access_token,
        refreshToken: refresh_token,
        expiresIn: expires_in,
      });
      return getNetwork(app, principal, request.params.id);
    },
  );

  app.get(
    '/api/networks/:id/remote-applications',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: "The applications of the network's linked account, read live",
        params: IdParams,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                euis: Type.Array(Type.String()),
              }),
            ),
          }),
          ...problemResponses(401, 404, 409, 502, 503),
        },
      },
    },
    async (request) => ({
      items: await listRemoteApplications(deps, actorOf(principalOf(request)), request.params.id),
    }),
  );

  app.get(
    '/api/networks/:id/remote-applications/:appId/devices',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'One page of the devices of an application on the network, read live',
        params: Type.Object(
          { id: IdParams.properties.id, appId: Type.String({ minLength: 1, maxLength: 64 }) },
          { additionalProperties: false },
        ),
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                description: Type.Union([Type.String(), Type.Null()]),
                devEui: Type.Union([Type.String(), Type.Null()]),
                appEui: Type.Union([Type.String(), Type.Null()]),
                devAddr: Type.Union([Type.String(), Type.Null()]),
                activation: Type.Union([Type.Literal('otaa'), Type.Literal('abp')]),
              }),
            ),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
          ...problemResponses(400, 401, 404, 409, 502, 503),
        },
      },
    },
    async (request) => {
      const page = { limit: request.query.limit ?? 50, offset: request.query.offset ?? 0 };
      const items = await listRemoteDevices(
        deps,
        actorOf(principalOf(request)),
        request.params.id,
        request.params.appId,
        page,
      );
      return { items, ...page };
    },
  );
};
