/**
 * The server's pino logger. Secrets never reach the log: authorization headers, cookies,
 * passwords, client secrets, tokens and keys are redacted wherever they appear in a log
 * object, and sensitive query parameters (OAuth `code`, `state`, tokens) are masked in URLs.
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
  'authorization',
  'cookie',
  'code',
  'codeVerifier',
  'code_verifier',
];

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  ...SENSITIVE_KEYS,
  ...SENSITIVE_KEYS.map((k) => `*.${k}`),
  ...SENSITIVE_KEYS.map((k) => `*.*.${k}`),
];

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
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: {
        // Only what helps to follow a request; never headers or bodies.
        req: (req: FastifyRequest) => ({
          method: req.method,
          url: sanitizeUrl(req.url),
          remoteAddress: req.ip,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
