import type { Principal } from './principal.js';

/**
 * Principals of credentials seen in the last moment, by token hash, so that a burst of requests
 * with one credential looks it up once: the lookup (a join of three tables) was the largest
 * cost of a cached device list. An entry lives `ttlMs` at most and never past the credential's
 * own expiry. This process forgets entries as soon as it ends a session or changes accounts;
 * a change made by another process takes effect here within `ttlMs`.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(tokenHash: string, now = Date.now()): Principal | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.principal;
  }

  /** `expiresAt`: the credential's own expiry (ISO time), if it has one. */
  set(tokenHash: string, principal: Principal, expiresAt: string | null, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    const until = Math.min(now + this.ttlMs, expiresAt === null ? Infinity : Date.parse(expiresAt));
    // Insertion order is age order: the oldest entry goes first.
    if (this.entries.size >= this.maxEntries)
      this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(tokenHash, { principal, until });
  }

  forget(tokenHash: string): void {
    this.entries.delete(tokenHash);
  }

  /** After a change to users, organizations, sessions or API keys. */
  clear(): void {
    this.entries.clear();
  }
}
