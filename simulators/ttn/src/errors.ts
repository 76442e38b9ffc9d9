/** An error a route answers with; each server renders it in its own wire format. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * An OAuth 2.0 token endpoint error (RFC 6749 §5.2): `{error, error_description}`.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

export const unauthorized = (message: string) =>
  new SimError(401, message, {
    'www-authenticate': `Bearer error="invalid_token", error_description="${message}"`,
  });
export const forbidden = (message: string) => new SimError(403, message);
export const notFound = (message: string) => new SimError(404, message);
export const conflict = (message: string) => new SimError(409, message);
export const badRequest = (message: string) => new SimError(400, message);

/** gRPC status codes the TTN v2 handler's HTTP gateway put in `code` (inferred). */
export function grpcCode(status: number): number {
  switch (status) {
    case 400:
      return 3; // InvalidArgument
    case 401:
      return 16; // Unauthenticated
    case 403:
      return 7; // PermissionDenied
    case 404:
      return 5; // NotFound
    case 409:
      return 6; // AlreadyExists
    case 429:
      return 8; // ResourceExhausted
    case 503:
      return 14; // Unavailable
    default:
      return 2; // Unknown
  }
}
