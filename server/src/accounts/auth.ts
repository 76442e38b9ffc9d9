/**
 * Authentication and authorization as route hooks (never by URL prefix): a route that needs a
 * caller lists `onRequest: [app.authenticate]`, plus `app.requireOrgAdmin` or
 * `app.requireSystemAdmin` when it needs a role.
 *
 * Credentials: `Authorization: Bearer <session token or API key>`, else the `lpwan_session`
 * cookie. A malformed Authorization header is refused rather than falling back to the cookie.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden, unauthorized } from '../http/problem.js';
import type { Principal } from './principal.js';
import { PrincipalCache } from './principal-cache.js';
import { authenticateToken } from './sessions.service.js';
import { hashToken } from './tokens.js';

export const SESSION_COOKIE = 'lpwan_session';

const ENDED = 'The session has ended or the token is not valid. Sign in again.';

export type AuthHook = (request: FastifyRequest) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Resolves the caller into `request.principal`, or answers 401. */
    authenticate: AuthHook;
    /**
     * The principal the request's credential stands for now, or undefined once it no longer
     * does (signed out, expired, user deleted): for responses that outlive their request.
     */
    principalNow: (request: FastifyRequest) => Promise<Principal | undefined>;
    /**
     * Recently resolved credentials. Routes that end sessions or change users, organizations
     * or API keys clear it, so the change holds at once in this process.
     */
    principalCache: PrincipalCache;
    /** After authenticate: the caller is an admin of their organization, or 403. */
    requireOrgAdmin: AuthHook;
    /** After authenticate: the caller is a system administrator, or 403. */
    requireSystemAdmin: AuthHook;
  }
}

/** The credential the request carries, or undefined. An unusable Authorization header gives ''. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer[ \t]+([A-Za-z0-9_\-.~+/]+=*)[ \t]*$/i.exec(header);
    return match?.[1] ?? '';
  }
  return request.cookies[SESSION_COOKIE];
}

/** The principal of a route that ran `authenticate` (a programming error otherwise). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('route is missing the authenticate hook');
  return request.principal;
}

async function authPlugin(app: FastifyInstance): Promise<void> {
  app.decorateRequest('principal', null);

  const cache = new PrincipalCache(app.config.authCacheMs);
  app.decorate('principalCache', cache);

  const principalFor = async (token: string): Promise<Principal | undefined> => {
    const tokenHash = hashToken(token);
    const cached = cache.get(tokenHash);
    if (cached !== undefined) return cached;
    const found = await authenticateToken(app.db, token, tokenHash);
    if (found === undefined) return undefined;
    cache.set(tokenHash, found.principal, found.expiresAt);
    return found.principal;
  };

  app.decorate('authenticate', async (request: FastifyRequest) => {
    const token = credentialOf(request);
    if (token === undefined) throw unauthorized();
    if (token === '') throw unauthorized(ENDED);
    const principal = await principalFor(token);
    if (principal === undefined) throw unauthorized(ENDED);
    request.principal = principal;
  });

  app.decorate('principalNow', async (request: FastifyRequest) => {
    const token = credentialOf(request);
    return token ? principalFor(token) : undefined;
  });

  app.decorate('requireOrgAdmin', async (request: FastifyRequest) => {
    if (principalOf(request).user.role !== 'admin') {
      throw forbidden('Only administrators of the organization may do this.');
    }
  });

  app.decorate('requireSystemAdmin', async (request: FastifyRequest) => {
    if (!principalOf(request).user.isSystemAdmin) {
      throw forbidden('Only system administrators may do this.');
    }
  });
}

export const auth = fp(authPlugin, { name: 'auth', dependencies: ['core', '@fastify/cookie'] });
