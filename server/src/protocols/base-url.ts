/** Base URLs of a network's services (settings), compared as the same address or not. */

/** A base URL compared as URLs are: case of scheme and host, default port, trailing slash. */
export function normalizedBaseUrl(value: string): string {
  const url = new URL(value);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function sameBaseUrl(a: string, b: string): boolean {
  try {
    return normalizedBaseUrl(a) === normalizedBaseUrl(b);
  } catch {
    return false;
  }
}
