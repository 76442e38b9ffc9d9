/**
 * The token vault: every call to an OAuth-linked network goes through `fetchFor`, which adds
 * the account's access token, refreshes it ahead of expiry (at about 80 % of its lifetime) or
 * when the network answers 401, and retries once.
 *
 * Refreshing is the delicate part, because networks rotate refresh tokens (a refresh token works
 * once) and several requests, or several server processes, may find the same token stale:
 * - within a process, one refresh per network runs at a time and everybody waits for it;
 * - across processes on PostgreSQL, the refresh holds the token row lock (`FOR UPDATE`) and,
 *   once it has the lock, re-reads the version: if somebody else refreshed meanwhile, their
 *   token is used and no refresh is sent;
 * - the rotated pair is saved in the same transaction;
 * - `invalid_grant` marks the network `reauthorization_required` only if nobody else refreshed.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Transaction } from 'kysely';
import { nowIso } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { Unauthorized } from '../protocols/errors.js';
import type {
  ClientCredentials,
  LinkedAccount,
  NetworkSettings,
  OAuthLink,
  TokenSet,
} from '../protocols/oauth.js';
import { OAuthGrantError } from '../protocols/oauth.js';
import type { OAuthTokensRow } from './oauth.table.js';
import {
  deleteTokens,
  findTokens,
  findTokensForUpdate,
  replaceTokensIfVersion,
  saveTokens,
  type SealedTokens,
} from './tokens.repository.js';
import { setNetworkStatus } from '../networks/networks.service.js';

/** Refresh when this share of the access token's lifetime has passed. */
export const REFRESH_AT_LIFETIME_SHARE = 0.8;

export type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** What the vault needs to know of a network to use and refresh its tokens. */
export interface LinkTarget {
  networkId: string;
  oauth: OAuthLink;
  settings: NetworkSettings;
  client: ClientCredentials;
}

interface CurrentToken {
  accessToken: string;
  version: number;
}

export type VaultErrorCode = 'network_not_authorized' | 'network_reauthorization_required';

/** The network has no usable tokens: somebody must (re-)authorize it in the portal. */
export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VaultError';
  }
}

export class TokenVault {
  private readonly refreshes = new Map<string, Promise<CurrentToken>>();

  constructor(
    private readonly deps: {
      db: Db;
      dialect: 'sqlite' | 'postgres';
      secretBox: SecretBox;
      log: FastifyBaseLogger;
      /** The fetch used for the network calls themselves (tests and benchmarks use the global one). */
      fetch?: Fetch;
    },
  ) {}

  /** Stores a fresh pair (code exchange or tokens given directly) and marks the network linked. */
  async store(
    networkId: string,
    tokens: TokenSet,
    account: LinkedAccount,
    expiry?: Date,
  ): Promise<void> {
    const sealed = this.seal(networkId, tokens, expiry);
    await this.deps.db.transaction().execute(async (trx) => {
      await saveTokens(trx, networkId, sealed);
      await setNetworkStatus(trx, networkId, {
        status: 'authorized',
        statusMessage: null,
        linkedAccount: account,
        tokenExpiresAt: sealed.expires_at,
      });
    });
  }

  /** Forgets the tokens of a network (it is being deleted or unlinked). */
  async wipe(networkId: string): Promise<void> {
    await deleteTokens(this.deps.db, networkId);
  }

  /** A fetch that carries the network's access token and refreshes it when needed. */
  fetchFor(target: LinkTarget): Fetch {
    const fetchFn = this.deps.fetch ?? fetch;
    return async (url, init = {}) => {
      const attempt = async (token: CurrentToken) =>
        fetchFn(url, {
          ...init,
          headers: { ...headersObject(init.headers), Authorization: `Bearer ${token.accessToken}` },
        });
      const token = await this.current(target);
      const res = await attempt(token);
      if (res.status !== 401) return res;
      // The network no longer accepts the token (expired early or revoked): refresh once, retry once.
      await res.body?.cancel();
      const refreshed = await this.refresh(target, token.version);
      return attempt(refreshed);
    };
  }

  /** The access token to use now; refreshed first when it is past 80 % of its lifetime. */
  async current(target: LinkTarget): Promise<CurrentToken> {
    const row = await findTokens(this.deps.db, target.networkId);
    if (row === undefined) {
      throw new VaultError('network_not_authorized', 'The network has not been authorized yet.');
    }
    const current = this.open(row);
    if (row.refresh_after !== null && row.refresh_after <= nowIso()) {
      try {
        return await this.refresh(target, row.version);
      } catch (error) {
        // Refreshing early is a courtesy: while the old token still works, a network that is
        // down for a moment must not fail the call. An account that needs re-authorizing must.
        const stillValid = row.expires_at === null || row.expires_at > nowIso();
        if (error instanceof VaultError || !stillValid) throw error;
        this.deps.log.warn(
          { networkId: target.networkId, err: error },
          'early token refresh failed',
        );
      }
    }
    return current;
  }

  /**
   * Replaces the token found stale at `staleVersion`, unless somebody already did. One refresh
   * per network at a time in this process; the database serialises processes.
   */
  refresh(target: LinkTarget, staleVersion: number): Promise<CurrentToken> {
    const running = this.refreshes.get(target.networkId);
    if (running) return running;
    const started = this.refreshOnce(target, staleVersion).finally(() => {
      this.refreshes.delete(target.networkId);
    });
    this.refreshes.set(target.networkId, started);
    return started;
  }

  private async refreshOnce(target: LinkTarget, staleVersion: number): Promise<CurrentToken> {
    const { db, dialect } = this.deps;
    if (dialect !== 'postgres') return this.refreshOptimistic(target, staleVersion);
    // The row lock is held across the network call: the others must wait for its outcome anyway.
    // A refused refresh is returned, not thrown, so that the status it records is committed.
    const outcome = await db
      .transaction()
      .execute((trx) => this.refreshLocked(trx, target, staleVersion));
    if ('failure' in outcome) throw outcome.failure;
    return outcome;
  }

  private async refreshLocked(
    trx: Transaction<Database>,
    target: LinkTarget,
    staleVersion: number,
  ): Promise<CurrentToken | { failure: unknown }> {
    const row = await findTokensForUpdate(trx, target.networkId, 'postgres');
    if (row === undefined) {
      throw new VaultError('network_not_authorized', 'The network has not been authorized yet.');
    }
    if (row.version !== staleVersion) return this.open(row);
    let tokens: TokenSet;
    try {
      tokens = await this.requestRefresh(target, row);
    } catch (error) {
      // We hold the lock and the version is ours: nobody refreshed meanwhile.
      await this.failRefresh(trx, target.networkId, error);
      return { failure: this.refreshError(error) };
    }
    const sealed = this.seal(target.networkId, tokens);
    const version = await saveTokens(trx, target.networkId, sealed);
    await markRefreshed(trx, target.networkId, sealed);
    return { accessToken: tokens.accessToken, version };
  }

  private async refreshOptimistic(target: LinkTarget, staleVersion: number): Promise<CurrentToken> {
    const { db } = this.deps;
    const row = await findTokens(db, target.networkId);
    if (row === undefined) {
      throw new VaultError('network_not_authorized', 'The network has not been authorized yet.');
    }
    if (row.version !== staleVersion) return this.open(row);
    let tokens: TokenSet;
    try {
      tokens = await this.requestRefresh(target, row);
    } catch (error) {
      const now = await findTokens(db, target.networkId);
      if (now !== undefined && now.version !== staleVersion) return this.open(now);
      await this.failRefresh(db, target.networkId, error);
      throw this.refreshError(error);
    }
    const sealed = this.seal(target.networkId, tokens);
    const saved = await db.transaction().execute(async (trx) => {
      const replaced = await replaceTokensIfVersion(trx, target.networkId, staleVersion, sealed);
      if (replaced) await markRefreshed(trx, target.networkId, sealed);
      return replaced;
    });
    if (!saved) {
      const now = await findTokens(db, target.networkId);
      if (now !== undefined) return this.open(now);
    }
    return { accessToken: tokens.accessToken, version: staleVersion + 1 };
  }

  private requestRefresh(target: LinkTarget, row: OAuthTokensRow): Promise<TokenSet> {
    const refreshToken = this.deps.secretBox.open(
      row.refresh_token_sealed,
      refreshAad(target.networkId),
    );
    this.deps.log.info({ networkId: target.networkId }, 'refreshing network access token');
    return target.oauth.refresh(target.settings, target.client, refreshToken);
  }

  /** A refused refresh token means the owner must sign in again; say so on the network. */
  private async failRefresh(db: Db, networkId: string, error: unknown) {
    if (error instanceof OAuthGrantError && error.error === 'invalid_grant') {
      await setNetworkStatus(db, networkId, {
        status: 'reauthorization_required',
        statusMessage:
          'The network no longer accepts the stored refresh token (it was revoked or expired). Re-authorize the network.',
      });
    }
  }

  private refreshError(error: unknown): unknown {
    if (error instanceof OAuthGrantError) {
      if (error.error === 'invalid_grant') {
        return new VaultError(
          'network_reauthorization_required',
          'The network no longer accepts the stored tokens. Re-authorize the network.',
        );
      }
      return new Unauthorized(`Refreshing the token failed: ${error.message}`);
    }
    return error;
  }

  private seal(networkId: string, tokens: TokenSet, expiry?: Date): SealedTokens {
    const now = Date.now();
    const lifetimeMs =
      tokens.expiresIn !== undefined
        ? tokens.expiresIn * 1000
        : expiry !== undefined
          ? expiry.getTime() - now
          : undefined;
    const box = this.deps.secretBox;
    return {
      access_token_sealed: box.seal(tokens.accessToken, accessAad(networkId)),
      refresh_token_sealed: box.seal(tokens.refreshToken, refreshAad(networkId)),
      expires_at: lifetimeMs === undefined ? null : new Date(now + lifetimeMs).toISOString(),
      refresh_after:
        lifetimeMs === undefined
          ? null
          : new Date(now + lifetimeMs * REFRESH_AT_LIFETIME_SHARE).toISOString(),
      updated_at: new Date(now).toISOString(),
    };
  }

  private open(row: OAuthTokensRow): CurrentToken {
    return {
      accessToken: this.deps.secretBox.open(row.access_token_sealed, accessAad(row.network_id)),
      version: row.version,
    };
  }
}

/** A refresh that worked also proves the link: the network is authorized, with the new expiry. */
function markRefreshed(db: Db, networkId: string, sealed: SealedTokens) {
  return setNetworkStatus(db, networkId, {
    status: 'authorized',
    statusMessage: null,
    tokenExpiresAt: sealed.expires_at,
  });
}

/** Associated data: a sealed token only opens in its own network's row and slot. */
const accessAad = (networkId: string) => `oauth_tokens:${networkId}:access_token`;
const refreshAad = (networkId: string) => `oauth_tokens:${networkId}:refresh_token`;

function headersObject(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries(new Headers(headers).entries());
}
