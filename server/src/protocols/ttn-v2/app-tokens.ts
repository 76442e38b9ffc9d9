/**
 * App-scoped tokens: TTN's handler accepts only tokens restricted to one application
 * (`POST /users/restrict-token`). Getting one costs a round trip to the account server, so they
 * are cached per network and application until shortly before they expire.
 */
import type { NetworkSettings } from '../oauth.js';
import { jwtExpiry, restrictToken } from './account-server.js';
import type { Fetch } from './wire.js';

/** Drop a cached token this long before its `exp`, so it never expires in flight. */
const EXPIRY_MARGIN_MS = 60_000;
/** When a token carries no `exp`, keep it this long at most. */
const DEFAULT_TTL_MS = 10 * 60_000;

interface Cached {
  token: string;
  expiresAt: number;
}

export class AppTokenCache {
  private readonly tokens = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<string>>();

  /**
   * A token for `appId`, restricted from the account token that `accountFetch` carries.
   * Concurrent callers for the same application share one restrict-token call.
   */
  async get(
    networkId: string,
    appId: string,
    accountFetch: Fetch,
    settings: NetworkSettings,
  ): Promise<string> {
    const key = `${networkId}\n${appId}`;
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.token;
    const running = this.pending.get(key);
    if (running !== undefined) return running;
    const started = restrictToken(accountFetch, settings, appId)
      .then((token) => {
        const exp = jwtExpiry(token)?.getTime() ?? Date.now() + DEFAULT_TTL_MS;
        this.tokens.set(key, { token, expiresAt: exp - EXPIRY_MARGIN_MS });
        return token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, started);
    return started;
  }

  /** Forget a token the handler refused, or all tokens of a network that was re-linked. */
  forget(networkId: string, appId?: string): void {
    for (const key of this.tokens.keys()) {
      if (
        appId === undefined ? key.startsWith(`${networkId}\n`) : key === `${networkId}\n${appId}`
      ) {
        this.tokens.delete(key);
      }
    }
  }
}

/**
 * A fetch for handler calls of one application: carries the app-scoped token, and on a 401
 * gets a fresh one and retries once.
 */
export function appFetch(
  cache: AppTokenCache,
  networkId: string,
  appId: string,
  accountFetch: Fetch,
  settings: NetworkSettings,
  fetchFn: Fetch = fetch,
): Fetch {
  return async (url, init = {}) => {
    const attempt = async () => {
      const token = await cache.get(networkId, appId, accountFetch, settings);
      return fetchFn(url, {
        ...init,
        headers: {
          ...Object.fromEntries(new Headers(init.headers)),
          Authorization: `Bearer ${token}`,
        },
      });
    };
    const res = await attempt();
    if (res.status !== 401) return res;
    await res.body?.cancel();
    cache.forget(networkId, appId);
    return attempt();
  };
}
