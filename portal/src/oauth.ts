import { api, unwrap } from './api/client';
import type { Protocol } from './api/types';

/**
 * Asks the server to start an OAuth authorization for a network and sends the browser to the
 * network's sign-in page. The server keeps state and PKCE verifier; the browser only carries
 * them through the redirect. Resolves only if navigation failed to start (it throws then).
 */
export async function startAuthorization(networkId: string): Promise<void> {
  const { authorizeUrl } = await unwrap(
    api.POST('/api/networks/{id}/authorization', { params: { path: { id: networkId } } }),
  );
  window.location.assign(authorizeUrl);
}

/** The label of the button that saves a network and goes to its network server's sign-in. */
export function signInLabel(protocol: Pick<Protocol, 'id' | 'name' | 'authorization'>): string {
  if (protocol.authorization.kind !== 'oauth2') return 'Create Network';
  // The Things Network (v2) and The Things Stack (v3) both call it a "Things account".
  return /^tt[ns]-/.test(protocol.id)
    ? 'Sign Into Your Things Account'
    : `Sign in to ${protocol.name}`;
}

/**
 * The deployment-wide OAuth client the operator configured on the server (e.g. TTN_CLIENT_ID),
 * if any: networks of this protocol at its address (`baseUrl`) may then leave their own client
 * fields empty.
 */
export function serverClientOf(
  protocol: Protocol,
): { clientId: string; baseUrl: string } | undefined {
  return protocol.authorization.kind === 'oauth2' ? protocol.authorization.serverClient : undefined;
}
