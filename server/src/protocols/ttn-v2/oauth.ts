/**
 * TTN v2's side of linking an account: where to send the owner, and the token grants.
 * @see docs/ttn.md
 */
import { decodeJwt } from 'jose';
import type { LinkedAccount, OAuthLink, TokenSet } from '../oauth.js';
import { accountServerUrl, fetchAccount, jwtExpiry, requestToken } from './account-server.js';
import type { Fetch } from './wire.js';

export function ttnV2OAuth(fetchFn: Fetch = fetch): OAuthLink {
  return {
    authorizeUrl(settings, request) {
      const url = accountServerUrl(settings, 'users/authorize');
      url.searchParams.set('client_id', request.clientId);
      url.searchParams.set('redirect_uri', request.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('state', request.state);
      // TTN v2 predates PKCE and ignores it; we send it anyway so the flow is the same
      // everywhere and a server that checks it (The Things Stack accepts it) gets it.
      url.searchParams.set('code_challenge', request.codeChallenge);
      url.searchParams.set('code_challenge_method', 'S256');
      return url;
    },

    async exchangeCode(settings, client, grant) {
      const tokens = await requestToken(fetchFn, settings, client, {
        grant_type: 'authorization_code',
        code: grant.code,
        redirect_uri: grant.redirectUri,
        code_verifier: grant.codeVerifier,
      });
      return withExpiry(tokens);
    },

    async refresh(settings, client, refreshToken) {
      const tokens = await requestToken(fetchFn, settings, client, {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      return withExpiry(tokens);
    },

    async account(settings, accessToken) {
      // TTN's access tokens carry the account's username and email as claims; a token that
      // does not (an opaque one from a future server) is asked about at /api/v2/users/me.
      const claims = safeClaims(accessToken);
      if (typeof claims.username === 'string') {
        return {
          username: claims.username,
          email: typeof claims.email === 'string' ? claims.email : null,
        } satisfies LinkedAccount;
      }
      return fetchAccount(withBearer(fetchFn, accessToken), settings);
    },

    verify(settings, accessToken) {
      return fetchAccount(withBearer(fetchFn, accessToken), settings);
    },

    accessTokenExpiry: jwtExpiry,
  };
}

/** TTN answers `expires_in`; when it does not, the JWT's `exp` says the same. */
function withExpiry(tokens: TokenSet): TokenSet {
  if (tokens.expiresIn !== undefined) return tokens;
  const expiry = jwtExpiry(tokens.accessToken);
  if (expiry === undefined) return tokens;
  return { ...tokens, expiresIn: Math.max(0, Math.floor((expiry.getTime() - Date.now()) / 1000)) };
}

function safeClaims(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}

function withBearer(fetchFn: Fetch, accessToken: string): Fetch {
  return (url, init = {}) =>
    fetchFn(url, {
      ...init,
      headers: {
        ...Object.fromEntries(new Headers(init.headers)),
        Authorization: `Bearer ${accessToken}`,
      },
    });
}
