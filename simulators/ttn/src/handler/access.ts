import type { FastifyRequest } from 'fastify';
import { authenticate, handlerRights, requireRight, type Principal } from '../auth.js';
import type { Sim } from '../context.js';
import { SimError, forbidden, notFound } from '../errors.js';
import type { AppRight, HandlerApplication } from '../state.js';

/**
 * TTN's handler limited each client and each application (5 requests/s in its code);
 * here a fixed one-second window, off unless `handlerRateLimitPerSecond` is set.
 */
export class RateLimiter {
  private window = 0;
  private counts = new Map<string, number>();

  take(keys: string[], limit: number): boolean {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.window) {
      this.window = now;
      this.counts.clear();
    }
    let ok = true;
    for (const key of keys) {
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      if (count > limit) ok = false;
    }
    return ok;
  }
}

function principalKey(principal: Principal): string {
  if (principal.kind === 'key') return `key:${principal.key.key}`;
  const claims = principal.issued.claims;
  return `client:${claims.client ?? claims.sub}`;
}

/** Authenticates a handler call and checks one right on the application; 403 without it. */
export function authorizeHandler(
  sim: Sim,
  limiter: RateLimiter,
  request: FastifyRequest,
  appId: string,
  right: AppRight,
): Principal {
  const principal = authenticate(sim.state, request.headers.authorization, true);
  const limit = sim.state.settings.handlerRateLimitPerSecond;
  if (limit > 0 && !limiter.take([principalKey(principal), `app:${appId}`], limit)) {
    throw new SimError(429, 'rate limit exceeded', { 'retry-after': '1' });
  }
  const rights = handlerRights(principal, appId);
  if (rights.length === 0) throw forbidden(`no rights on application "${appId}"`);
  requireRight(rights, right, appId);
  return principal;
}

export function registeredApp(sim: Sim, appId: string): HandlerApplication {
  const happ = sim.state.handlerApps.get(appId);
  if (!happ) throw notFound(`application "${appId}" is not registered on this handler`);
  return happ;
}
