import { createHash } from 'node:crypto';
import { forbidden, unauthorized } from './errors.js';
import type { Signer } from './keys.js';
import {
  randomToken,
  type AccessKey,
  type AppRight,
  type IssuedToken,
  type SimState,
  type TokenClaims,
  type User,
} from './state.js';

/** Who made an API call: a bearer access token, or an application access key. */
export type Principal =
  | { kind: 'token'; token: string; issued: IssuedToken }
  | { kind: 'key'; appId: string; key: AccessKey };

/** TTN v2 put at most 10 entities in a token. */
const MAX_ENTITIES = 10;

export function hasScope(claims: TokenClaims, scope: string): boolean {
  return claims.scope.includes(scope);
}

/** A requested scope is covered when the granted list holds it, or holds `apps` for `apps:<id>`. */
export function scopeCovered(granted: string[], wanted: string): boolean {
  if (granted.includes(wanted)) return true;
  const colon = wanted.indexOf(':');
  return colon > 0 && granted.includes(wanted.slice(0, colon));
}

function userObjectId(username: string): string {
  return createHash('sha1').update(username).digest('hex').slice(0, 24);
}

/** Issues a user's access token for a client and remembers it (so it can be expired or revoked). */
export async function issueUserToken(
  state: SimState,
  signer: Signer,
  user: User,
  clientId: string,
  scope: string[],
  interchangeable: boolean,
  maxExp?: number,
): Promise<{ token: string; claims: TokenClaims }> {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + state.settings.accessTokenLifetimeSeconds;
  const claims: TokenClaims = {
    iss: 'ttn-account-v2',
    sub: user.username,
    type: 'user',
    client: clientId,
    scope,
    interchangeable,
    username: user.username,
    email: user.email,
    name: user.name,
    created: user.created,
    valid: true,
    _id: userObjectId(user.username),
    jti: randomToken(12),
    iat,
    exp: maxExp === undefined ? exp : Math.min(exp, maxExp),
  };
  const apps = appsClaim(state, user.username, scope);
  if (apps) claims.apps = apps;
  const token = await signer.sign(claims);
  state.rememberToken(token, {
    claims,
    username: user.username,
    expiredByControl: false,
    revoked: false,
  });
  return { token, claims };
}

/** The `apps` claim: only with the `apps` scope (all apps) or `apps:<id>` scopes (those apps). */
function appsClaim(
  state: SimState,
  username: string,
  scope: string[],
): Record<string, AppRight[]> | undefined {
  const ids: string[] = [];
  if (scope.includes('apps')) {
    for (const app of state.applications.values()) {
      if (app.collaborators.has(username)) ids.push(app.id);
    }
  }
  for (const s of scope) if (s.startsWith('apps:')) ids.push(s.slice(5));
  if (!scope.includes('apps') && ids.length === 0) return undefined;
  const apps: Record<string, AppRight[]> = {};
  for (const id of [...new Set(ids)].slice(0, MAX_ENTITIES)) {
    const rights = state.userRights(username, id);
    if (rights.length > 0) apps[id] = [...rights];
  }
  return apps;
}

/** A token for an application, exchanged for one of its access keys. */
export async function issueAppToken(
  state: SimState,
  signer: Signer,
  appId: string,
  key: AccessKey,
  lifetimeSeconds: number,
): Promise<{ token: string; claims: TokenClaims }> {
  const iat = Math.floor(Date.now() / 1000);
  const claims: TokenClaims = {
    iss: 'ttn-account-v2',
    sub: appId,
    type: 'app',
    scope: [`apps:${appId}`],
    apps: { [appId]: [...key.rights] },
    interchangeable: false,
    valid: true,
    _id: userObjectId(`app:${appId}`),
    jti: randomToken(12),
    iat,
    exp: iat + lifetimeSeconds,
  };
  const token = await signer.sign(claims);
  state.rememberToken(token, { claims, expiredByControl: false, revoked: false });
  return { token, claims };
}

/**
 * Reads `Authorization: Bearer <JWT>` or `Authorization: Key <accessKey>`.
 * Every token the simulator accepts was issued by it, so a lookup replaces signature checks.
 */
export function authenticate(
  state: SimState,
  header: string | undefined,
  allowKey: boolean,
): Principal {
  if (!header) throw unauthorized('missing authorization');
  const space = header.indexOf(' ');
  const scheme = space > 0 ? header.slice(0, space).toLowerCase() : '';
  const value = space > 0 ? header.slice(space + 1).trim() : '';
  if (scheme === 'bearer' && value) {
    const issued = state.accessTokens.get(value);
    if (!issued) throw unauthorized('invalid token');
    if (issued.revoked) throw unauthorized('token has been revoked');
    if (issued.expiredByControl || issued.claims.exp * 1000 <= Date.now()) {
      throw unauthorized('Token is expired');
    }
    return { kind: 'token', token: value, issued };
  }
  if (scheme === 'key' && value) {
    if (!allowKey) throw unauthorized('access keys are not accepted here');
    const found = state.findAccessKey(value);
    if (!found) throw unauthorized('invalid access key');
    return { kind: 'key', appId: found.app.id, key: found.key };
  }
  throw unauthorized('unsupported authorization scheme');
}

/** The authenticated user of a token principal, or 401/403. */
export function requireUser(state: SimState, principal: Principal, scope?: string): User {
  if (principal.kind !== 'token' || principal.issued.claims.type !== 'user') {
    throw forbidden('this call needs a user token');
  }
  const claims = principal.issued.claims;
  if (scope && !hasScope(claims, scope)) throw forbidden(`token lacks the "${scope}" scope`);
  const user = state.users.get(principal.issued.username ?? '');
  if (!user) throw unauthorized('user no longer exists');
  return user;
}

/**
 * Rights of a principal on an application at the account server: a user token with the
 * `apps` scope has the user's current rights; an `apps:<id>` token the rights it carries.
 */
export function accountRights(state: SimState, principal: Principal, appId: string): AppRight[] {
  if (principal.kind === 'key') return principal.appId === appId ? principal.key.rights : [];
  const claims = principal.issued.claims;
  if (claims.type === 'user' && hasScope(claims, 'apps')) {
    return state.userRights(principal.issued.username ?? '', appId);
  }
  if (hasScope(claims, `apps:${appId}`)) {
    const carried = claims.apps?.[appId] ?? [];
    if (claims.type !== 'user') return state.applications.has(appId) ? carried : [];
    const current = state.userRights(principal.issued.username ?? '', appId);
    return carried.filter((r) => current.includes(r));
  }
  return [];
}

/**
 * Rights of a principal on the handler: an app-scoped token (`apps:<id>` scope and the
 * rights in its `apps` claim) or that application's access key.
 */
export function handlerRights(principal: Principal, appId: string): AppRight[] {
  if (principal.kind === 'key') return principal.appId === appId ? principal.key.rights : [];
  const claims = principal.issued.claims;
  if (!hasScope(claims, `apps:${appId}`)) return [];
  return claims.apps?.[appId] ?? [];
}

export function requireRight(rights: AppRight[], right: AppRight, appId: string): void {
  if (!rights.includes(right)) {
    throw forbidden(`not allowed: the "${right}" right on application "${appId}" is missing`);
  }
}
