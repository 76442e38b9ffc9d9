/**
 * The TTN v2 account server ("ttn-account-v2"): OAuth token grants, app-scoped tokens and the
 * account API. Wire facts: docs/ttn.md and the TTN v2 reference (token bodies are JSON, client
 * authentication is HTTP Basic, errors are `{error, error_description}` on /users/token and
 * `{code, error}` elsewhere).
 */
import { decodeJwt } from 'jose';
import type { RemoteApplication } from '../protocol.js';
import type { ClientCredentials, LinkedAccount, NetworkSettings, TokenSet } from '../oauth.js';
import { OAuthGrantError } from '../oauth.js';
import { Unavailable } from '../errors.js';
import { ensureOk, readJson, send, type Fetch } from './wire.js';

export function accountServerUrl(settings: NetworkSettings, path: string): URL {
  const base = settings.accountServerUrl;
  if (!base) throw new Error('ttn-v2 network has no accountServerUrl setting');
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/**
 * `POST /users/token` with `Authorization: Basic base64(client_id:client_secret)` and the JSON
 * body TTN documented.
 * @see RFC 6749 §4.1.3 (code), §6 (refresh); RFC 7636 §4.5 (code_verifier)
 */
export async function requestToken(
  fetchFn: Fetch,
  settings: NetworkSettings,
  client: ClientCredentials,
  body: Record<string, string>,
): Promise<TokenSet> {
  // TTN's docs and ttnctl send the id and secret as they are (no form-encoding first), so we do too.
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  const res = await send(fetchFn, accountServerUrl(settings, 'users/token'), {
    method: 'POST',
    headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return parseTokenResponse(res);
}

/** Validates a token endpoint answer. @see RFC 6749 §5.1, §5.2 */
export async function parseTokenResponse(res: Response): Promise<TokenSet> {
  if (res.status >= 500) throw new Unavailable(`The TTN account server answered ${res.status}`);
  const body = await readJson(res);
  if (!isRecord(body)) throw new Unavailable('The TTN token endpoint answered with no JSON object');
  if (!res.ok) {
    const error = typeof body.error === 'string' ? body.error : `http_${res.status}`;
    const description =
      typeof body.error_description === 'string' ? body.error_description : undefined;
    throw new OAuthGrantError(error, description, res.status);
  }
  const { access_token, refresh_token, expires_in, token_type } = body;
  if (typeof access_token !== 'string' || access_token === '') {
    throw new Unavailable('The TTN token answer has no access_token');
  }
  if (typeof refresh_token !== 'string' || refresh_token === '') {
    throw new Unavailable('The TTN token answer has no refresh_token');
  }
  if (typeof token_type === 'string' && token_type.toLowerCase() !== 'bearer') {
    throw new Unavailable(`The TTN token answer has token_type ${token_type}, not bearer`);
  }
  return {
    accessToken: access_token,
    refreshToken: refresh_token,
    expiresIn: typeof expires_in === 'number' && expires_in > 0 ? expires_in : undefined,
  };
}

/**
 * The account behind an access token, read from the server (`GET /api/v2/users/me`, scope
 * `profile`), so a token given to us directly is proven to work before it is stored.
 */
export async function fetchAccount(
  fetchFn: Fetch,
  settings: NetworkSettings,
): Promise<LinkedAccount> {
  const res = await send(fetchFn, accountServerUrl(settings, 'api/v2/users/me'));
  await ensureOk(res, 'Reading the TTN account');
  const body = await readJson(res);
  if (!isRecord(body) || typeof body.username !== 'string') {
    throw new Unavailable('The TTN account answer has no username');
  }
  return { username: body.username, email: typeof body.email === 'string' ? body.email : null };
}

/**
 * Expiry of a TTN JWT (its `exp` claim), without verifying it: we only use it to know when to
 * refresh or drop a cached token; TTN itself verifies every token it receives.
 */
export function jwtExpiry(token: string): Date | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** `GET /api/v2/applications`: the applications the token's account can see (scope `apps`). */
export async function listApplications(
  fetchFn: Fetch,
  settings: NetworkSettings,
): Promise<RemoteApplication[]> {
  const res = await send(fetchFn, accountServerUrl(settings, 'api/v2/applications'));
  await ensureOk(res, 'Listing TTN applications');
  const body = await readJson(res);
  if (!Array.isArray(body)) throw new Unavailable('The TTN applications answer is not a list');
  return body.filter(isRecord).map((app) => ({
    id: String(app.id),
    name: typeof app.name === 'string' ? app.name : String(app.id),
    euis: Array.isArray(app.euis) ? app.euis.filter((e): e is string => typeof e === 'string') : [],
  }));
}

/**
 * `POST /users/restrict-token {"scope":["apps:<id>"]}` → a token for one application, which
 * TTN's handler requires. Works only for tokens whose `interchangeable` claim is true.
 */
export async function restrictToken(
  fetchFn: Fetch,
  settings: NetworkSettings,
  appId: string,
): Promise<string> {
  const res = await send(fetchFn, accountServerUrl(settings, 'users/restrict-token'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ scope: [`apps:${appId}`] }),
  });
  await ensureOk(res, `Restricting the TTN token to application ${appId}`);
  const body = await readJson(res);
  if (!isRecord(body) || typeof body.access_token !== 'string') {
    throw new Unavailable('The TTN restrict-token answer has no access_token');
  }
  return body.access_token;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
