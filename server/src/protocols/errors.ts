/**
 * Typed errors a protocol raises when talking to its network; the caller decides whether to
 * refresh a token, retry, or report. Each has a stable code (tests assert the code).
 */
export type ProtocolErrorCode =
  | 'network_unauthorized'
  | 'network_forbidden'
  | 'network_not_found'
  | 'network_conflict'
  | 'network_rate_limited'
  | 'network_rejected'
  | 'network_unavailable';

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProtocolError';
  }
}

/** The network no longer accepts the token. */
export class Unauthorized extends ProtocolError {
  constructor(message = 'The network refused the credentials', options?: { cause?: unknown }) {
    super('network_unauthorized', message, options);
  }
}

/** The token is valid but lacks the rights or scope for this call. */
export class Forbidden extends ProtocolError {
  constructor(message = 'The network refused: missing rights', options?: { cause?: unknown }) {
    super('network_forbidden', message, options);
  }
}

export class NotFound extends ProtocolError {
  constructor(message = 'The network does not know this object', options?: { cause?: unknown }) {
    super('network_not_found', message, options);
  }
}

export class Conflict extends ProtocolError {
  constructor(message = 'The network reports a conflict', options?: { cause?: unknown }) {
    super('network_conflict', message, options);
  }
}

export class RateLimited extends ProtocolError {
  constructor(
    /** Seconds to wait, when the network said so. */
    readonly retryAfter: number | undefined,
    message = 'The network asks to slow down',
    options?: { cause?: unknown },
  ) {
    super('network_rate_limited', message, options);
  }
}

/**
 * The network refused the request itself (a 4xx other than the ones above, e.g. 400): sending
 * it again unchanged cannot succeed.
 */
export class Rejected extends ProtocolError {
  constructor(
    message = 'The network refused the request as invalid',
    options?: { cause?: unknown },
  ) {
    super('network_rejected', message, options);
  }
}

export class Unavailable extends ProtocolError {
  constructor(message = 'The network cannot be reached', options?: { cause?: unknown }) {
    super('network_unavailable', message, options);
  }
}

/** A data-plane message that is not in the network's format; it is dropped with a warning. */
export class UnreadableMessage extends Error {}
