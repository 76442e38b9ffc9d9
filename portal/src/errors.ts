import { ApiError } from './api/client';

/** A plain-words message for any error a page caught. */
export function messageFor(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0)
      return 'The server could not be reached. Check your connection and try again.';
    if (e.status === 401) return 'Your session has ended. Sign in again.';
    if (e.status === 403) return 'You do not have permission to do this.';
    if (e.status === 404) return 'It was not found. It may have been deleted.';
    if (e.status === 429) return 'Too many requests. Wait a minute and try again.';
    if (e.status >= 500) return 'The server ran into a problem. Try again in a moment.';
    return e.detail ?? e.title;
  }
  return e instanceof Error ? e.message : String(e);
}
