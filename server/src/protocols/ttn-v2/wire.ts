/**
 * HTTP plumbing shared by the TTN v2 account-server and handler calls: time-outs, JSON parsing
 * and the mapping of TTN's statuses to the protocol's typed errors. TTN v2 API errors are
 * `{code, error}` bodies; only their text (never a token) goes into an error message.
 */
import {
  Conflict,
  Forbidden,
  NotFound,
  ProtocolError,
  RateLimited,
  Rejected,
  Unauthorized,
  Unavailable,
} from '../errors.js';

/** A network call that hangs must not hold a request or a worker for ever. */
export const TTN_REQUEST_TIMEOUT_MS = 15_000;

export type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Sends a request; a connection failure or time-out becomes `Unavailable`. Anything else the
 * fetch throws (the token vault's "re-authorize" error, say) passes through unchanged.
 */
export async function send(fetchFn: Fetch, url: URL, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetchFn(url, {
      ...init,
      headers: { Accept: 'application/json', ...init.headers },
      signal: init.signal ?? AbortSignal.timeout(TTN_REQUEST_TIMEOUT_MS),
    });
  } catch (cause) {
    if (isTransportFailure(cause))
      throw new Unavailable(`${url.host} cannot be reached`, { cause });
    throw cause;
  }
}

/** fetch signals network failures as TypeError, time-outs and aborts as DOMExceptions. */
function isTransportFailure(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    (error instanceof DOMException &&
      (error.name === 'TimeoutError' || error.name === 'AbortError'))
  );
}

/** Reads a JSON answer; a body that is not JSON means the peer is not the TTN we expect. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Unavailable(`The network answered ${res.status} with a body that is not JSON`);
  }
}

/** Throws the typed error for a non-2xx answer of TTN's REST APIs. */
export async function ensureOk(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  const detail = await errorText(res);
  const message = `${what}: TTN answered ${res.status}${detail ? ` (${detail})` : ''}`;
  throw errorForStatus(res.status, message, res.headers.get('retry-after'));
}

export function errorForStatus(
  status: number,
  message: string,
  retryAfter: string | null = null,
): ProtocolError {
  if (status === 401) return new Unauthorized(message);
  if (status === 403) return new Forbidden(message);
  if (status === 404) return new NotFound(message);
  if (status === 409) return new Conflict(message);
  if (status === 429) {
    const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
    return new RateLimited(Number.isFinite(seconds) ? seconds : undefined, message);
  }
  // 408 (timed out) may well succeed when asked again; the other 4xx would not.
  if (status >= 400 && status < 500 && status !== 408) return new Rejected(message);
  return new Unavailable(message);
}

/** TTN's `{code, error}` text (or an OAuth `error_description`), trimmed for a message. */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const candidate = body.error_description ?? body.error ?? body.message;
    if (typeof candidate === 'string') return candidate.slice(0, 200);
  } catch {
    // Not JSON: fall through to no detail; raw bodies may be whole HTML pages.
  }
  return '';
}
