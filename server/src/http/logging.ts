/**
 * The server's pino logger. Secrets never reach the log: authorization headers, cookies,
 * passwords, client secrets, tokens and keys are redacted wherever they appear in a logged
 * object (errors included), requests are logged without headers or bodies, and sensitive query
 * parameters (OAuth `code`, `state`, tokens) are masked in URLs.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { FastifyRequest } from 'fastify';
import type { LogLevel } from '../config.js';

export const REDACTED = '[redacted]';

const SENSITIVE_KEYS = [
  'password',
  'newPassword',
  'adminPassword',
  'passwordHash',
  'password_hash',
  'clientSecret',
  'client_secret',
  'secret',
  'secrets',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'apiKey',
  'key',
  'accessKey',
  'access_key',
  'appKey',
  'app_key',
  'nwkSKey',
  'nwk_s_key',
  'appSKey',
  'app_s_key',
  'reportingSecret',
  'reporting_secret',
  'authorization',
  'cookie',
  'code',
  'codeVerifier',
  'code_verifier',
];

const SENSITIVE = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));

/** Keys whose serializer below writes a safe summary; the scrub leaves them to it. */
const SERIALIZED_KEYS = new Set(['req', 'res']);

/** Deep enough for every object the server logs; deeper values are left out. */
const SCRUB_DEPTH = 6;

/**
 * A copy of a logged value with every sensitive key's value replaced, at any depth. Errors are
 * serialized first (pino's standard form: type, message, stack, own properties; then their
 * cause), so what they carry is scrubbed too. It runs only for lines that are written, unlike pino's `redact`,
 * whose wildcard paths cost every request ~10 µs to build its child logger.
 */
function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= SCRUB_DEPTH) return '[too deep]';
  if (value instanceof Error) {
    const serialized = pino.stdSerializers.err(value) as unknown as Record<string, unknown>;
    // An error's `code` names the error (ECONNREFUSED, invalid_grant): worth keeping.
    const copy = scrubObject(serialized, depth, 'code');
    if (value.cause !== undefined) copy.cause = scrub(value.cause, depth + 1);
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  return scrubObject(value as Record<string, unknown>, depth);
}

function scrubObject(value: Record<string, unknown>, depth: number, keep?: string) {
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      key !== keep && SENSITIVE.has(key.toLowerCase()) ? REDACTED : scrub(item, depth + 1);
  }
  return copy;
}

const SENSITIVE_QUERY = new Set([
  'code',
  'state',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'key',
  'api_key',
  'password',
  'client_secret',
]);

/** Mask the values of sensitive query parameters: `/oauth/callback?code=…` must not be logged. */
export function sanitizeUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeSafe(eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
      return SENSITIVE_QUERY.has(name) && eq >= 0 ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      formatters: {
        log: (object) => {
          const safe: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(object)) {
            if (SERIALIZED_KEYS.has(key)) safe[key] = value;
            else safe[key] = SENSITIVE.has(key.toLowerCase()) ? REDACTED : scrub(value, 1);
          }
          return safe;
        },
      },
      serializers: {
        // Only what helps to follow a request; never headers or bodies.
        req: (req: FastifyRequest) => ({
          method: req.method,
          url: sanitizeUrl(req.url),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        // Errors are serialized (and scrubbed) by the formatter above; pino's default would
        // serialize that plain copy again, as an error of type Object.
        err: (err: unknown) => err,
      },
    },
    destination,
  );
}
