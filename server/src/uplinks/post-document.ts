/**
 * One delivery request: an HTTP POST of an uplink document to a reporting URL.
 *
 * It goes through undici's `dispatch` with a handler of its own, the layer under `request` and
 * `fetch`: no response stream, promise chain or WHATWG object is built per request, which
 * halves a delivery's CPU (`request` with an AbortSignal cost three times as much). Redirects
 * are not followed: a 3xx is a refusal.
 */
import { createHmac } from 'node:crypto';
import { Agent } from 'undici';

export const SIGNATURE_HEADER = 'X-LPWAN-Signature';
const SIGNATURE = SIGNATURE_HEADER.toLowerCase();
const USER_AGENT = 'LPWAN-Server';
/** How much of a refusal's body is kept for its error message. */
const ERROR_BODY_CHARS = 200;
const ERROR_BODY_BYTES = 4 * ERROR_BODY_CHARS;
/** An answer's body that did not end within the time-out. */
const BODY_TIMEOUT = 'LPWAN_BODY_TIMEOUT';
/** A connection, an answer's headers or its body that took too long. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', BODY_TIMEOUT]);

/** HMAC-SHA256 of the exact body bytes, hex: what X-LPWAN-Signature carries. */
export function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

export interface PostOutcome {
  ok: boolean;
  /** HTTP status; null when no answer came (connection refused, time-out). */
  status: number | null;
  error: string | null;
  /** The endpoint itself is in trouble (no answer, 5xx, 408, 429), not just this message. */
  endpointFailure: boolean;
  durationMs: number;
}

/**
 * The longest a delivery request can last: opening a connection and waiting for the answer
 * are each bounded by the time-out (reading the answer's body ends with the first).
 */
export function requestLimitMs(timeoutMs: number): number {
  return 2 * timeoutMs;
}

/**
 * The deliveries' own connection pools (keep-alive connections per endpoint), one per time-out
 * (in practice one: the configured one). Not the process's global dispatcher: that is Node's
 * bundled copy of undici once anything has called `fetch` (the TTN calls do), whose writes
 * cost several times more CPU.
 */
const agents = new Map<number, Agent>();

function agentFor(timeoutMs: number): Agent {
  let agent = agents.get(timeoutMs);
  if (agent === undefined) {
    agent = new Agent({ connect: { timeout: timeoutMs } });
    agents.set(timeoutMs, agent);
  }
  return agent;
}

/**
 * POSTs `body` with its Idempotency-Key and, given a secret, its signature. Never rejects: a
 * failure is an outcome. The answer's headers must come within `timeoutMs` (undici's timer,
 * which ticks every half second), and its body by the end of `timeoutMs` from the start; a 2xx
 * whose body does not end by then still counts as delivered.
 */
export function postDocument(
  url: string,
  body: string,
  messageId: string,
  secret: string | null,
  timeoutMs: number,
): Promise<PostOutcome> {
  const started = performance.now();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': messageId,
    'user-agent': USER_AGENT,
  };
  if (secret !== null) headers[SIGNATURE] = sign(secret, body);
  return new Promise((resolve) => {
    let status = 0;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let bodyTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: Omit<PostOutcome, 'durationMs'>) => {
      clearTimeout(bodyTimer);
      resolve({ ...outcome, durationMs: performance.now() - started });
    };
    try {
      const { origin, pathname, search } = new URL(url);
      agentFor(timeoutMs).dispatch(
        {
          origin,
          path: pathname + search,
          method: 'POST',
          headers,
          body,
          headersTimeout: timeoutMs,
        },
        {
          // Nothing to do; its presence tells undici this handler is of its current kind.
          onRequestStart() {},
          onResponseStart(controller, statusCode) {
            status = statusCode;
            // undici's bodyTimeout would start again with every chunk of a trickling body.
            const left = Math.max(0, timeoutMs - (performance.now() - started));
            bodyTimer = setTimeout(() => {
              // A 2xx status accepted the delivery, whatever its body then does: counted as
              // delivered (a failure would send it again), and the connection is dropped.
              if (status >= 200 && status < 300) settle(answered(status, kept));
              controller.abort(timedOut());
            }, left);
          },
          onResponseData(_controller, chunk) {
            // Read to the end so the keep-alive connection is reused; a refusal's start is kept.
            if (keptBytes < ERROR_BODY_BYTES) {
              kept.push(chunk);
              keptBytes += chunk.length;
            }
          },
          onResponseEnd() {
            settle(answered(status, kept));
          },
          onResponseError(_controller, error) {
            settle(unanswered(error, timeoutMs));
          },
        },
      );
    } catch (error) {
      settle(unanswered(error, timeoutMs));
    }
  });
}

function answered(status: number, body: Buffer[]): Omit<PostOutcome, 'durationMs'> {
  if (status >= 200 && status < 300) {
    return { ok: true, status, error: null, endpointFailure: false };
  }
  const detail = Buffer.concat(body).toString('utf8').trim().slice(0, ERROR_BODY_CHARS);
  return {
    ok: false,
    status,
    error: `The reporting URL answered ${status}${detail ? `: ${detail}` : ''}`,
    endpointFailure: status >= 500 || status === 408 || status === 429,
  };
}

function unanswered(error: unknown, timeoutMs: number): Omit<PostOutcome, 'durationMs'> {
  const failure = error as { code?: string; message?: string; cause?: { code?: string } };
  const code = failure.code ?? failure.cause?.code;
  return {
    ok: false,
    status: null,
    error:
      code !== undefined && TIMEOUT_CODES.has(code)
        ? `The reporting URL did not answer within ${timeoutMs / 1000} s`
        : `The reporting URL cannot be reached (${code ?? failure.message})`,
    endpointFailure: true,
  };
}

function timedOut(): Error {
  return Object.assign(new Error('the answer did not end in time'), { code: BODY_TIMEOUT });
}
