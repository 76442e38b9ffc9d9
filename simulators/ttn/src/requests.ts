import type { FastifyInstance } from 'fastify';

/** One request received by the account server or the handler; never holds secrets. */
export interface LoggedRequest {
  time: string;
  server: 'account' | 'handler';
  method: string;
  /** the path without its query string (queries can carry codes) */
  path: string;
  status?: number;
  grantType?: string;
  clientId?: string;
  fault?: string;
}

const MAX_ENTRIES = 10_000;

/** The last 10,000 requests, oldest first. */
export class RequestLog {
  entries: LoggedRequest[] = [];

  add(entry: LoggedRequest): void {
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES * 1.1) this.entries = this.entries.slice(-MAX_ENTRIES);
  }

  list(): LoggedRequest[] {
    return this.entries.slice(-MAX_ENTRIES);
  }

  clear(): void {
    this.entries = [];
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    simLog?: LoggedRequest;
  }
}

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Standard base64 (padding optional). */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The client id and secret of `Authorization: Basic base64(id:secret)`, taken as they are
 * (no percent-decoding); undefined when the header is missing or malformed: not Basic, not
 * base64, or no `:` in what it decodes to.
 */
export function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const encoded = header.slice(6).trim();
  if (encoded === '' || !BASE64.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The client id of `Authorization: Basic base64(id:secret)`, never the secret. */
export function basicClientId(header: string | undefined): string | undefined {
  return basicCredentials(header)?.id;
}

/** Logs every request outside `/_sim` with its final status. */
export function logRequests(
  app: FastifyInstance,
  server: 'account' | 'handler',
  log: RequestLog,
): void {
  app.addHook('onRequest', async (request) => {
    const path = pathOf(request.url);
    if (path.startsWith('/_sim')) return;
    const entry: LoggedRequest = {
      time: new Date().toISOString(),
      server,
      method: request.method,
      path,
    };
    request.simLog = entry;
    log.add(entry);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.simLog) request.simLog.status = reply.statusCode;
  });
}
