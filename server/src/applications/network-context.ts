/** A linked network as the sync and pull work use it: its protocol and an authorized context. */
import { loadLink, type LinkTargetDeps } from '../oauth/link-target.js';
import type { TokenVault } from '../oauth/token-vault.js';
import type { NetworkProtocol, ProtocolContext } from '../protocols/protocol.js';

export interface NetworkCallDeps extends LinkTargetDeps {
  vault: TokenVault;
}

export interface NetworkContext {
  protocol: NetworkProtocol;
  ctx: ProtocolContext;
}

/**
 * Every call through `ctx.fetch` carries the account token from the token vault (refreshed as
 * needed); the protocol gets app-scoped tokens from it where the network wants them.
 */
export async function networkContext(
  deps: NetworkCallDeps,
  networkId: string,
  organizationId?: string,
): Promise<NetworkContext> {
  const link = await loadLink(deps, networkId, organizationId);
  return {
    protocol: link.protocol,
    ctx: { networkId, settings: link.settings, fetch: deps.vault.fetchFor(link) },
  };
}
