/**
 * The one place where errors become HTTP answers (RFC 9457 problem+json).
 * - AppError: its status, code and detail.
 * - Schema validation: 400 validation_failed with the offending fields.
 * - Fastify's own client errors (bad JSON, body too large, …): their status and a stable code.
 * - Anything else: 500 internal_error, masked; the real error goes to the log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  AppError,
  CODE_FOR_STATUS,
  PROBLEM_CONTENT_TYPE,
  toProblem,
  type FieldError,
  type Problem,
} from './problem.js';

/** Fastify error codes that deserve a more precise code than their status gives. */
const FASTIFY_CODES: Record<string, { code: string; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'invalid_json',
    detail: 'The request body is not valid JSON.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'invalid_json',
    detail: 'The request body is empty but JSON was declared.',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload_too_large',
    detail: 'The request body is too large.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    detail: 'Send the request body as application/json (the CSV import of devices: as text/csv).',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'bad_request',
    detail: 'The Content-Length header does not match the body.',
  },
};

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  // Serialize here rather than through route response schemas: problems are built by us only,
  // and this works for errors raised before a route is known (404, bad JSON, rate limits).
  return reply
    .code(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .serializer((payload: unknown) => JSON.stringify(payload))
    .send(problem);
}

export function problemFor(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof AppError) {
    return toProblem(
      error.statusCode,
      error.code,
      error.detail,
      request.id,
      error.errors,
      error.networkId,
    );
  }
  const fastifyError = error as Partial<FastifyError> & { validation?: unknown };
  if (Array.isArray(fastifyError.validation)) {
    const errors = fieldErrors(fastifyError.validation, fastifyError.validationContext);
    return toProblem(
      400,
      'validation_failed',
      errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'The request is not valid.',
      request.id,
      errors,
    );
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = fastifyError.code !== undefined ? FASTIFY_CODES[fastifyError.code] : undefined;
    const code = known?.code ?? CODE_FOR_STATUS[status] ?? 'bad_request';
    return toProblem(status, code, known?.detail ?? 'The request was not accepted.', request.id);
  }
  return toProblem(500, 'internal_error', 'Something went wrong on the server.', request.id);
}

interface ValidationIssue {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** Turn schema errors (ajv-style, as TypeBox reports them) into `{field, message}` pairs. */
export function fieldErrors(validation: unknown[], context?: string): FieldError[] {
  const out: FieldError[] = [];
  const issues = validation as ValidationIssue[];
  // A union of literals ('otaa' | 'abp') fails once per literal and once as a whole: said once,
  // with the values it takes.
  const allowed = new Map<string, unknown[]>();
  for (const issue of issues) {
    if (issue.keyword !== 'const') continue;
    const path = issue.instancePath ?? '';
    allowed.set(path, [...(allowed.get(path) ?? []), issue.params?.allowedValue]);
  }
  for (const raw of issues) {
    const segments = (raw.instancePath ?? '')
      .split('/')
      .filter((s) => s !== '')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const message = raw.message ?? 'is not valid';
    const params = raw.params ?? {};
    // TypeBox reports an unknown property twice: as `additionalProperties` on the object and as
    // a `false` schema on the property itself. Keep the first, clearer one.
    if (raw.keyword === 'boolean') continue;
    const values =
      raw.keyword === 'enum' ? params.allowedValues : allowed.get(raw.instancePath ?? '');
    if (
      Array.isArray(values) &&
      (raw.keyword === 'const' || raw.keyword === 'enum' || raw.keyword === 'anyOf')
    ) {
      const message = `must be one of: ${values.map((v) => JSON.stringify(v)).join(', ')}`;
      out.push({ field: join(segments, context), message });
      continue;
    }
    if (raw.keyword === 'required') {
      const missing = params.requiredProperties ?? params.missingProperty;
      for (const name of Array.isArray(missing) ? missing : [missing]) {
        out.push({ field: join([...segments, String(name)], context), message: 'is required' });
      }
      continue;
    }
    if (raw.keyword === 'additionalProperties') {
      const extra = params.additionalProperties ?? params.additionalProperty;
      for (const name of Array.isArray(extra) ? extra : [extra]) {
        out.push({
          field: join([...segments, String(name)], context),
          message: 'is not a known property',
        });
      }
      continue;
    }
    out.push({ field: join(segments, context), message });
  }
  // One message per field is enough (unions report each branch).
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.field}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function join(segments: string[], context?: string): string {
  if (segments.length > 0) return segments.join('.');
  return context === 'body' || context === undefined ? '(body)' : `(${context})`;
}

async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => {
    const problem = problemFor(error, request);
    if (problem.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ problem: problem.code, status: problem.status }, 'request refused');
    }
    return sendProblem(reply, problem);
  });
}

export const errorHandler = fp(errorHandlerPlugin, { name: 'error-handler' });
