import type { Insertable, Selectable } from 'kysely';

/**
 * Pending authorization starts. The state itself is never stored, only its SHA-256, so a
 * database reader cannot complete someone else's sign-in; the PKCE verifier is sealed.
 */
export interface OAuthAuthorizationsTable {
  id: string;
  state_hash: string;
  network_id: string;
  user_id: string;
  /** PKCE verifier, sealed with the authorization id as associated data. */
  code_verifier_sealed: string;
  redirect_uri: string;
  created_at: string;
  expires_at: string;
  /** Set when the state is consumed (successfully or not): a state works once. */
  used_at: string | null;
}

/**
 * The account tokens of a network, one row per network. `version` grows with every change, so a
 * refresh can tell whether somebody else already replaced the token it found stale.
 */
export interface OAuthTokensTable {
  network_id: string;
  access_token_sealed: string;
  refresh_token_sealed: string;
  /** When the access token stops working, if known. */
  expires_at: string | null;
  /** When to refresh ahead of expiry (about 80 % of the lifetime), if known. */
  refresh_after: string | null;
  version: number;
  updated_at: string;
}

export type OAuthAuthorizationRow = Selectable<OAuthAuthorizationsTable>;
export type NewOAuthAuthorizationRow = Insertable<OAuthAuthorizationsTable>;
export type OAuthTokensRow = Selectable<OAuthTokensTable>;
