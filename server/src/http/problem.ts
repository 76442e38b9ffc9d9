/**
 * Application errors and their RFC 9457 problem+json form.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 *
 * Features throw AppError (or use the helpers below) with a stable snake_case `code`; the one
 * error handler (error-handler.ts) renders them. Clients and tests rely on `code`, not on text.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_BASE = 'https://lpwan-server.dev/problems/';

export interface FieldError {
  /** Path of the offending value in the request, e.g. `settings.clientId`, `name`, `limit`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  errors?: FieldError[];
  /** Extension member: the network the problem concerns, so a client can offer to retry there. */
  networkId?: string;
}

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    /** Safe to show to the client: never put secrets, tokens or database text here. */
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly networkId?: string,
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export const notFound = (what = 'resource') =>
  new AppError(404, 'not_found', `The ${what} does not exist.`);
export const unauthorized = (detail = 'Sign in or send a valid bearer token.') =>
  new AppError(401, 'unauthorized', detail);
export const forbidden = (detail = 'You are not allowed to do this.') =>
  new AppError(403, 'forbidden', detail);
export const conflict = (detail: string, code = 'conflict') => new AppError(409, code, detail);
export const validationFailed = (errors: FieldError[], detail?: string) =>
  new AppError(
    400,
    'validation_failed',
    detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  );

/** Titles per status (RFC 9110 reason phrases); the code tells the precise case. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Default code for a status when the error carries none of ours. */
export const CODE_FOR_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal_error',
  503: 'service_unavailable',
};

export function problemType(code: string): string {
  return PROBLEM_TYPE_BASE + code.replace(/_/g, '-');
}

export function toProblem(
  status: number,
  code: string,
  detail: string,
  requestId: string,
  errors?: FieldError[],
  networkId?: string,
): Problem {
  return {
    type: problemType(code),
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    instance: `urn:lpwan:request:${requestId}`,
    ...(errors !== undefined ? { errors } : {}),
    ...(networkId !== undefined ? { networkId } : {}),
  };
}
