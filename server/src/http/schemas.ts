/**
 * Schemas shared by routes of several features. Feature-specific schemas live with their routes.
 */
import { Type, type TSchema } from 'typebox';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the problem type; derived from `code`.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable snake_case error code, e.g. validation_failed.' }),
    instance: Type.String({ description: 'Identifies this occurrence (the request id).' }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: 'e.g. `settings.clientId`' }),
          message: Type.String(),
        }),
      ),
    ),
    networkId: Type.Optional(
      Type.String({
        description: 'The network the problem concerns, when there is one (e.g. a failed sign-in).',
      }),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation_failed, invalid_json, …)',
  401: 'Not signed in, or the token is not valid (unauthorized)',
  403: 'Signed in but not allowed (forbidden)',
  404: 'Does not exist, or belongs to another organization (not_found)',
  409: 'Conflicts with existing data (conflict)',
  413: 'Request body too large (payload_too_large)',
  415: 'The body is not JSON (unsupported_media_type)',
  429: 'Too many attempts (rate_limited)',
  502: 'The network server failed or could not be reached (network_unavailable, …)',
  500: 'Server fault; details are in the log only (internal_error)',
  503: 'Service unavailable',
};

/**
 * Response entries for problem+json answers, for a route's `response` schema; 500 is always
 * included (any route can fail). The error handler serializes problems itself; these entries
 * document them in OpenAPI.
 */
export function problemResponses<const S extends readonly number[]>(
  ...statuses: S
): Record<
  S[number] | 500,
  { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
> {
  const out: Record<
    number,
    { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
  > = {};
  for (const status of [...statuses, 500]) {
    out[status] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
    };
  }
  return out;
}

export const IdParams = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Object id (a UUID); unknown ids are 404',
    }),
  },
  { additionalProperties: false },
);

/** Past what any list holds, and within the databases' integers (a larger one was a 500). */
export const MAX_OFFSET = 2_147_483_647;

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 })),
  },
  { additionalProperties: false },
);

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    limit: Type.Integer(),
    offset: Type.Integer(),
  });
}

export const DEFAULT_PAGE_LIMIT = 50;

export function pageParams(query: { limit?: number; offset?: number }): {
  limit: number;
  offset: number;
} {
  return { limit: query.limit ?? DEFAULT_PAGE_LIMIT, offset: query.offset ?? 0 };
}

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/** Security requirement for routes that need a signed-in user or an API key. */
export const AUTHENTICATED: { [scheme: string]: string[] }[] = [
  { sessionCookie: [] },
  { bearerToken: [] },
];
