/**
 * What a protocol whose accounts are linked through OAuth 2.0 provides: the wire calls of the
 * authorization-code grant and of the refresh grant. Storage, state, PKCE and the decision to
 * refresh live in the server's oauth/ feature; a protocol only speaks its network's dialect
 * (TTN v2, for instance, documents JSON token bodies instead of forms).
 */

/** Tokens as a network's token endpoint issued them. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** Lifetime of the access token in seconds, when the network said so. */
  expiresIn: number | undefined;
}

/** The OAuth client the server acts as towards the network. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * A deployment-wide client as the operator configures it: `baseUrl` is the token endpoint's
 * base URL (the setting `tokenEndpoint.baseField`) it is registered at; the protocol's default
 * for that setting when left out.
 */
export interface ServerClientConfig extends ClientCredentials {
  baseUrl?: string;
}

/** The network account a token belongs to. */
export interface LinkedAccount {
  username: string;
  email: string | null;
}

/** The network's own (non-secret) settings, e.g. its base URLs. */
export type NetworkSettings = Readonly<Record<string, string>>;

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  /** RFC 7636 S256 challenge. */
  codeChallenge: string;
}

export interface OAuthLink {
  /** @see RFC 6749 §4.1.1 */
  authorizeUrl(settings: NetworkSettings, request: AuthorizationRequest): URL;
  /** @see RFC 6749 §4.1.3 */
  exchangeCode(
    settings: NetworkSettings,
    client: ClientCredentials,
    grant: { code: string; redirectUri: string; codeVerifier: string },
  ): Promise<TokenSet>;
  /** @see RFC 6749 §6 */
  refresh(
    settings: NetworkSettings,
    client: ClientCredentials,
    refreshToken: string,
  ): Promise<TokenSet>;
  /** The account a freshly issued token belongs to (from its claims, or by asking the network). */
  account(settings: NetworkSettings, accessToken: string): Promise<LinkedAccount>;
  /** Proves a token given to us directly works, by reading its account from the network. */
  verify(settings: NetworkSettings, accessToken: string): Promise<LinkedAccount>;
  /** When an access token expires, if the token says so (e.g. a JWT's `exp`). */
  accessTokenExpiry(accessToken: string): Date | undefined;
}

/**
 * The token endpoint refused a grant (RFC 6749 §5.2). `error` is the endpoint's own code
 * (`invalid_grant`, `invalid_client`, …); the description is the network's text, which never
 * contains our secrets.
 */
export class OAuthGrantError extends Error {
  constructor(
    readonly error: string,
    readonly description: string | undefined,
    readonly status: number,
  ) {
    super(description ? `${error}: ${description}` : error);
    this.name = 'OAuthGrantError';
  }
}
