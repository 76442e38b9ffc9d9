import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, issueAppToken, issueUserToken, scopeCovered } from '../auth.js';
import type { Sim } from '../context.js';
import { OAuthError, SimError, forbidden } from '../errors.js';
import { basicClientId, basicCredentials } from '../requests.js';
import { randomToken, type OAuthClient, type User } from '../state.js';
import { sameSecret } from './oauth.js';

type Body = Record<string, unknown>;

/**
 * Client authentication with `Authorization: Basic base64(client_id:client_secret)`, as the
 * TTN v2 reference describes it: id and secret are compared as they are, with no
 * form-urlencoding undone (RFC 6749 §2.3.1 asks for it; TTN's wire format, which wins, does
 * not). A missing or malformed header is a 401 `invalid_client`, never a 500.
 */
function authenticateClient(sim: Sim, request: FastifyRequest): OAuthClient {
  const credentials = basicCredentials(request.headers.authorization);
  const fail = () => new OAuthError(401, 'invalid_client', 'client authentication failed');
  if (!credentials) throw fail();
  const client = sim.state.clients.get(credentials.id);
  if (
    !client ||
    !client.accepted ||
    client.rejected ||
    !sameSecret(client.secret, credentials.secret)
  ) {
    throw fail();
  }
  return client;
}

function str(body: Body, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function required(body: Body, name: string): string {
  const value = str(body, name);
  if (value === undefined) throw new OAuthError(400, 'invalid_request', `${name} is missing`);
  return value;
}

/** `scope` as TTN's JSON array, a JSON-encoded array, or space/comma separated (forms). */
export function parseScope(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
      } catch {
        // fall through
      }
    } else {
      return text.split(/[\s,]+/).filter(Boolean);
    }
  }
  throw new OAuthError(400, 'invalid_request', 'scope must be a list of scopes');
}

function narrowScope(granted: string[], requested: string[] | undefined): string[] {
  if (!requested) return granted;
  for (const s of requested) {
    if (!scopeCovered(granted, s)) {
      throw new OAuthError(400, 'invalid_scope', `the client may not request the scope "${s}"`);
    }
  }
  return requested;
}

function requireGrant(client: OAuthClient, grant: string): void {
  if (!client.grants.includes(grant)) {
    throw new OAuthError(400, 'unauthorized_client', `the client may not use the ${grant} grant`);
  }
}

async function tokenPair(sim: Sim, client: OAuthClient, user: User, scope: string[]) {
  const { token } = await issueUserToken(sim.state, sim.signer, user, client.id, scope, true);
  const answer: Record<string, unknown> = {
    token_type: 'bearer',
    access_token: token,
    expires_in: sim.state.settings.accessTokenLifetimeSeconds,
  };
  if (client.grants.includes('refresh_token')) {
    const refresh = randomToken(32);
    sim.state.refreshTokens.set(refresh, {
      token: refresh,
      clientId: client.id,
      username: user.username,
      scope,
    });
    answer.refresh_token = refresh;
  }
  return answer;
}

/**
 * `POST /users/token`, `POST /users/restrict-token`, `POST /api/v2/applications/token`
 * and `GET /key`.
 */
export function tokenRoutes(app: FastifyInstance, sim: Sim): void {
  app.get('/key', async () => ({ algorithm: 'RS256', key: sim.signer.publicKeyPem }));

  /** @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3 */
  app.post('/users/token', async (request, reply) => {
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Body;
    const grantType = str(body, 'grant_type');
    if (request.simLog) {
      if (grantType) request.simLog.grantType = grantType;
      const clientId = basicClientId(request.headers.authorization);
      if (clientId) request.simLog.clientId = clientId;
    }
    const client = authenticateClient(sim, request);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'grant_type is missing');
    const requested = parseScope(body.scope);
    const { state } = sim;

    if (grantType === 'authorization_code') {
      const code = state.codes.get(required(body, 'code'));
      const redirectUri = str(body, 'redirect_uri');
      if (!code || code.clientId !== client.id) {
        throw new OAuthError(400, 'invalid_grant', 'the code is invalid');
      }
      if (code.used) throw new OAuthError(400, 'invalid_grant', 'the code has already been used');
      code.used = true;
      if (code.expiresAt <= Date.now()) {
        throw new OAuthError(400, 'invalid_grant', 'the code has expired');
      }
      if (
        (code.redirectUriGiven && redirectUri !== code.redirectUri) ||
        (redirectUri !== undefined && redirectUri !== code.redirectUri)
      ) {
        throw new OAuthError(
          400,
          'invalid_grant',
          'redirect_uri does not match the authorization request',
        );
      }
      requireGrant(client, 'authorization_code');
      const user = state.users.get(code.username);
      if (!user) throw new OAuthError(400, 'invalid_grant', 'the user no longer exists');
      return tokenPair(sim, client, user, narrowScope(code.scope, requested));
    }

    if (grantType === 'refresh_token') {
      const old = state.refreshTokens.get(required(body, 'refresh_token'));
      if (!old || old.clientId !== client.id) {
        throw new OAuthError(400, 'invalid_grant', 'the refresh token is invalid');
      }
      requireGrant(client, 'refresh_token');
      const user = state.users.get(old.username);
      if (!user) throw new OAuthError(400, 'invalid_grant', 'the user no longer exists');
      const scope = narrowScope(old.scope, requested);
      state.refreshTokens.delete(old.token);
      return tokenPair(sim, client, user, scope);
    }

    if (grantType === 'password') {
      requireGrant(client, 'password');
      const username = required(body, 'username');
      const password = required(body, 'password');
      const user = state.users.get(username);
      if (!user || !sameSecret(user.password, password)) {
        throw new OAuthError(400, 'invalid_grant', 'invalid username or password');
      }
      return tokenPair(sim, client, user, narrowScope(client.scope, requested));
    }

    throw new OAuthError(
      400,
      'unsupported_grant_type',
      `grant_type "${grantType}" is not supported`,
    );
  });

  app.post('/users/restrict-token', async (request) => {
    const principal = authenticate(sim.state, request.headers.authorization, false);
    if (principal.kind !== 'token') throw forbidden('a token is needed');
    const { issued } = principal;
    if (!issued.claims.interchangeable) throw forbidden('this token is not interchangeable');
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Body;
    let scope: string[] | undefined;
    try {
      scope = parseScope(body.scope);
    } catch {
      scope = undefined;
    }
    if (!scope || scope.length === 0) throw new SimError(400, 'scope must be a non-empty list');
    for (const s of scope) {
      if (!scopeCovered(issued.claims.scope, s))
        throw forbidden(`the token does not hold the scope "${s}"`);
      if (s.startsWith('apps:')) {
        const appId = s.slice(5);
        if (sim.state.userRights(issued.username ?? '', appId).length === 0) {
          throw forbidden(`no rights on application "${appId}"`);
        }
      }
    }
    const user = sim.state.users.get(issued.username ?? '');
    if (!user) throw forbidden('the user no longer exists');
    // A restricted token lives no longer than the token it came from.
    const { token } = await issueUserToken(
      sim.state,
      sim.signer,
      user,
      issued.claims.client ?? '',
      scope,
      false,
      issued.claims.exp,
    );
    return { access_token: token };
  });

  app.post('/api/v2/applications/token', async (request) => {
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Body;
    const grantType = str(body, 'grant_type');
    if (request.simLog) {
      if (grantType) request.simLog.grantType = grantType;
      const clientId = basicClientId(request.headers.authorization);
      if (clientId) request.simLog.clientId = clientId;
    }
    authenticateClient(sim, request);
    if (grantType !== 'password') {
      throw new OAuthError(400, 'unsupported_grant_type', 'only grant_type=password is supported');
    }
    const appId = required(body, 'username');
    const key = sim.state.findAccessKey(required(body, 'password'));
    if (!key || key.app.id !== appId) {
      throw new OAuthError(400, 'invalid_grant', 'invalid application id or access key');
    }
    const lifetime = 86400;
    const { token } = await issueAppToken(sim.state, sim.signer, appId, key.key, lifetime);
    return { access_token: token, expires_in: lifetime };
  });
}
