/**
 * Linking a network account with the OAuth 2.0 authorization-code grant, the server doing the
 * exchange (the client secret never reaches the browser):
 * 1. `startAuthorization`: a fresh state (256 random bits, single use, bound to the user and the
 *    network, ten minutes) and PKCE verifier are kept on the server; the browser is sent to the
 *    network's authorize URL with the redirect URI built from PUBLIC_URL.
 * 2. `completeAuthorization`: the portal posts what came back; the state is checked and spent,
 *    the code exchanged, the tokens stored encrypted by the vault, the network marked authorized.
 * @see RFC 6749 §4.1, §10.12 (state); RFC 7636 (PKCE)
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { nowIso } from '../clock.js';
import { AppError, notFound } from '../http/problem.js';
import { setNetworkStatus } from '../networks/networks.service.js';
import { ProtocolError } from '../protocols/errors.js';
import { OAuthGrantError, type TokenSet } from '../protocols/oauth.js';
import {
  consumeAuthorization,
  deleteAuthorizationsExpiredBefore,
  findAuthorizationByStateHash,
  insertAuthorization,
} from './authorizations.repository.js';
import { loadLink, type LinkTargetDeps, type NetworkLink } from './link-target.js';
import type { TokenVault } from './token-vault.js';

export const STATE_TTL_MS = 10 * 60 * 1000;

/** The portal route the network redirects the browser back to; owners register it at the network. */
export const CALLBACK_PATH = '/oauth/callback';

export interface OAuthDeps extends LinkTargetDeps {
  vault: TokenVault;
  publicUrl: string;
}

/** Who is acting: the signed-in user of an organization. */
export interface Actor {
  userId: string;
  organizationId: string;
}

export function callbackUrl(publicUrl: string): string {
  return `${publicUrl}${CALLBACK_PATH}`;
}

const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');
const verifierAad = (authorizationId: string) =>
  `oauth_authorizations:${authorizationId}:code_verifier`;

export async function startAuthorization(
  deps: OAuthDeps,
  actor: Actor,
  networkId: string,
): Promise<{ authorizeUrl: string }> {
  const link = await loadLink(deps, networkId, actor.organizationId);
  const state = randomBytes(32).toString('base64url');
  // RFC 7636 §4.1: 32 random octets, base64url → a 43-character verifier; §4.2: S256 challenge.
  const codeVerifier = randomBytes(32).toString('base64url');
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const redirectUri = callbackUrl(deps.publicUrl);
  const id = randomUUID();
  const now = Date.now();

  // Spent and expired starts are only kept for a day, to tell "used" from "unknown".
  await deleteAuthorizationsExpiredBefore(deps.db, new Date(now - 24 * 3600 * 1000).toISOString());
  await insertAuthorization(deps.db, {
    id,
    state_hash: sha256Hex(state),
    network_id: networkId,
    user_id: actor.userId,
    code_verifier_sealed: deps.secretBox.seal(codeVerifier, verifierAad(id)),
    redirect_uri: redirectUri,
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + STATE_TTL_MS).toISOString(),
    used_at: null,
  });
  const url = link.oauth.authorizeUrl(link.settings, {
    clientId: link.client.clientId,
    redirectUri,
    state,
    codeChallenge,
  });
  return { authorizeUrl: url.toString() };
}

export interface CallbackInput {
  state: string;
  code?: string | undefined;
  error?: string | undefined;
  errorDescription?: string | undefined;
}

const stateInvalid = (detail: string) => new AppError(400, 'oauth_state_invalid', detail);

/** Finishes a start: returns the id of the network that is now authorized. */
export async function completeAuthorization(
  deps: OAuthDeps,
  actor: Actor,
  input: CallbackInput,
): Promise<string> {
  const stateHash = sha256Hex(input.state);
  const found = await findAuthorizationByStateHash(deps.db, stateHash);
  // A state started by somebody else is treated as unknown, and is not spent by this attempt.
  if (found === undefined || found.user_id !== actor.userId) {
    throw stateInvalid(
      'This sign-in is not one you started here. Start the authorization again from the network page.',
    );
  }
  const start = await consumeAuthorization(deps.db, stateHash, nowIso());
  if (start === undefined) {
    throw stateInvalid('This sign-in link was already used. Start the authorization again.');
  }
  const networkId = start.network_id;
  if (start.expires_at <= nowIso()) {
    throw new AppError(
      400,
      'oauth_state_invalid',
      'This sign-in took longer than 10 minutes and has expired. Start the authorization again.',
      undefined,
      networkId,
    );
  }
  const link = await loadLink(deps, networkId, actor.organizationId).catch((error: unknown) => {
    if (error instanceof AppError && error.code === 'not_found') throw notFound('network');
    throw error;
  });

  if (input.error !== undefined) {
    throw await failLink(deps, link, networkDenied(input.error, input.errorDescription, networkId));
  }
  if (input.code === undefined || input.code === '') {
    throw new AppError(400, 'validation_failed', 'code: is required when there is no error', [
      { field: 'code', message: 'is required when there is no error' },
    ]);
  }

  let tokens: TokenSet;
  try {
    tokens = await link.oauth.exchangeCode(link.settings, link.client, {
      code: input.code,
      redirectUri: start.redirect_uri,
      codeVerifier: deps.secretBox.open(start.code_verifier_sealed, verifierAad(start.id)),
    });
  } catch (error) {
    throw await failLink(deps, link, exchangeProblem(error, networkId));
  }
  const account = await link.oauth
    .account(link.settings, tokens.accessToken)
    .catch((error: unknown) => {
      throw exchangeProblem(error, networkId);
    });
  await deps.vault.store(networkId, tokens, account);
  return networkId;
}

/**
 * Stores tokens obtained elsewhere (the design notes' `PUT …/tokens`), after proving them
 * against the network: a token the network refuses is never stored.
 */
export async function storeGivenTokens(
  deps: OAuthDeps,
  actor: Actor,
  networkId: string,
  given: { accessToken: string; refreshToken: string; expiresIn?: number | undefined },
): Promise<void> {
  const link = await loadLink(deps, networkId, actor.organizationId);
  const account = await link.oauth
    .verify(link.settings, given.accessToken)
    .catch((error: unknown) => {
      if (error instanceof ProtocolError && error.code === 'network_unauthorized') {
        throw new AppError(
          400,
          'tokens_rejected',
          'The network does not accept this access token (it is invalid or expired).',
          undefined,
          networkId,
        );
      }
      throw exchangeProblem(error, networkId);
    });
  const expiry = link.oauth.accessTokenExpiry(given.accessToken);
  await deps.vault.store(
    networkId,
    {
      accessToken: given.accessToken,
      refreshToken: given.refreshToken,
      expiresIn: given.expiresIn,
    },
    account,
    expiry,
  );
}

/**
 * Records a failed link on a network that has no working link yet (a failed re-authorization
 * leaves a working link alone), then hands the problem back to be thrown.
 */
async function failLink(deps: OAuthDeps, link: NetworkLink, problem: AppError): Promise<AppError> {
  if (link.status !== 'authorized') {
    await setNetworkStatus(deps.db, link.networkId, {
      status: problem.code === 'oauth_access_denied' ? link.status : 'error',
      statusMessage: problem.detail,
    });
  }
  return problem;
}

function networkDenied(
  error: string,
  description: string | undefined,
  networkId: string,
): AppError {
  if (error === 'access_denied') {
    return new AppError(
      400,
      'oauth_access_denied',
      'Access was denied at the network: the account owner did not allow LPWAN Server. Try again and choose Allow.',
      undefined,
      networkId,
    );
  }
  // The network's own words, cut short; never reflected as markup (the portal shows text).
  const said = description ? `: ${description.slice(0, 200)}` : '';
  return new AppError(
    400,
    'oauth_failed',
    `The network refused the sign-in (${error}${said}).`,
    undefined,
    networkId,
  );
}

/** A failed code exchange, in words the owner can act on. */
export function exchangeProblem(error: unknown, networkId: string): AppError {
  if (error instanceof OAuthGrantError) {
    if (error.error === 'invalid_grant') {
      return new AppError(
        400,
        'oauth_invalid_grant',
        'The network did not accept the sign-in code: it expired (codes last about 5 minutes) or was already used. Start the authorization again.',
        undefined,
        networkId,
      );
    }
    if (error.error === 'invalid_client' || error.error === 'unauthorized_client') {
      return new AppError(
        400,
        'oauth_invalid_client',
        'The network rejected the client id or client secret. Check the TTN Client ID and TTN Client Secret of this network.',
        undefined,
        networkId,
      );
    }
    return new AppError(
      400,
      'oauth_failed',
      `The network refused the token request (${error.error}).`,
      undefined,
      networkId,
    );
  }
  if (error instanceof ProtocolError) {
    return networkProblem(error, networkId);
  }
  throw error;
}

/** A network call that failed, as an answer of ours. */
export function networkProblem(error: ProtocolError, networkId: string): AppError {
  switch (error.code) {
    case 'network_unavailable':
      return new AppError(
        502,
        'network_unreachable',
        `The network's server could not be reached or failed: ${error.message}`,
        undefined,
        networkId,
      );
    case 'network_rate_limited':
      return new AppError(503, 'network_rate_limited', error.message, undefined, networkId);
    case 'network_not_found':
      return new AppError(404, 'network_object_not_found', error.message, undefined, networkId);
    case 'network_conflict':
      return new AppError(409, 'network_conflict', error.message, undefined, networkId);
    default:
      return new AppError(502, error.code, error.message, undefined, networkId);
  }
}
