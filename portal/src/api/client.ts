// The portal's one way to the API: openapi-fetch typed by `paths`, which `npm run api`
// generates from the server's own OpenAPI document, so portal and server cannot drift.
// Authentication is the server's HttpOnly session cookie (credentials: 'include').
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

export const api = createClient<paths>({
  baseUrl: typeof window === 'undefined' ? '' : window.location.origin,
  credentials: 'include',
});

/** One field-level message from a validation problem (`field` like `name` or `settings.clientId`). */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * An RFC 9457 problem answer from the API. `code` is the server's stable error code; pages
 * decide what to say from it, never from `title` or `detail`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[];
  /** Set by OAuth callback problems when the network is known, so the page can offer a retry. */
  readonly networkId: string | undefined;

  constructor(status: number, body: unknown) {
    const problem = isRecord(body) ? body : {};
    const title = str(problem.title) ?? `Request failed (${status})`;
    const detail = str(problem.detail);
    super(detail ?? title);
    this.name = 'ApiError';
    this.status = status;
    this.code = str(problem.code) ?? (status === 0 ? 'network_error' : `http_${status}`);
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(problem.errors)
      ? problem.errors
          .filter(isRecord)
          .map((e) => ({ field: str(e.field) ?? '', message: str(e.message) ?? '' }))
      : [];
    this.networkId = str(problem.networkId);
  }

  /** The message for one field, matching `name` or a nested path like `settings.clientId`. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => isFor(e, field))?.message;
  }

  /** The messages for none of `fields` (another field, or none), which a form cannot place. */
  errorsOutside(fields: readonly string[]): FieldError[] {
    return this.errors.filter((e) => !fields.some((field) => isFor(e, field)));
  }
}

/** Whether a message is about `field`, named as such or as a JSON pointer (`/settings/clientId`). */
function isFor(error: FieldError, field: string): boolean {
  return error.field === field || error.field === `/${field.replace(/\./g, '/')}`;
}

/**
 * Resolves an openapi-fetch call to its data, or throws ApiError. A fetch that never reached
 * the server (offline, server down) becomes ApiError with status 0 and code `network_error`.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, {
      title: 'The server could not be reached. Check your connection and try again.',
    });
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error);
  return result.data as T;
}

/** Listeners told when the session is no longer valid (a 401 on anything but sign-in). */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

const sessionWatch: Middleware = {
  onResponse({ request, response }) {
    if (response.status === 401 && new URL(request.url).pathname !== '/api/sessions') {
      for (const listener of unauthorizedListeners) listener();
    }
    return undefined;
  },
};
api.use(sessionWatch);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
