/**
 * Everything the OAuth work needs of one network: its protocol's OAuth link, its settings and
 * the client credentials to use (the network's own, else the deployment-wide client the
 * operator configured for that protocol).
 */
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../http/problem.js';
import { readNetworkSettings } from '../networks/networks.service.js';
import type { NetworkStatus } from '../networks/networks.table.js';
import type { NetworkProtocol } from '../protocols/protocol.js';
import type { ProtocolRegistry } from '../protocols/registry.js';
import type { LinkTarget } from './token-vault.js';

export interface LinkTargetDeps {
  db: Db;
  secretBox: SecretBox;
  protocols: ProtocolRegistry;
}

export interface NetworkLink extends LinkTarget {
  organizationId: string;
  status: NetworkStatus;
  protocol: NetworkProtocol;
}

/**
 * The network as the OAuth work sees it. `organizationId` scopes the lookup for callers acting
 * for a user: another tenant's network is simply not found.
 */
export async function loadLink(
  deps: LinkTargetDeps,
  networkId: string,
  organizationId: string | undefined,
): Promise<NetworkLink> {
  const network = await readNetworkSettings(deps, networkId);
  if (
    network === undefined ||
    (organizationId !== undefined && network.organizationId !== organizationId)
  ) {
    throw notFound('network');
  }
  const protocol = deps.protocols.get(network.protocolId);
  if (protocol?.oauth === undefined) {
    throw new AppError(
      409,
      'not_oauth_network',
      'This network does not link its account through OAuth.',
      undefined,
      networkId,
    );
  }
  const { authorization } = protocol.describe();
  const fields = authorization.kind === 'oauth2' ? authorization.clientFields : undefined;
  const settings = { ...network.settings };
  const clientId = fields ? settings[fields.id] : undefined;
  const clientSecret = fields ? settings[fields.secret] : undefined;
  if (fields) {
    delete settings[fields.id];
    delete settings[fields.secret];
  }
  // The network's own client wins; settings validation guarantees id and secret come together.
  // The server's client only signs in where it is registered: its secret goes to that address.
  const client =
    clientId !== undefined && clientSecret !== undefined
      ? { clientId, clientSecret }
      : deps.protocols.serverClientFor(network.protocolId, settings);
  if (client === undefined) {
    throw new AppError(
      409,
      'oauth_client_missing',
      "The network has no OAuth client id and secret, and the server has no client of its protocol registered at the network's address.",
      undefined,
      networkId,
    );
  }
  return {
    networkId,
    organizationId: network.organizationId,
    status: network.status,
    protocol,
    oauth: protocol.oauth,
    settings,
    client,
  };
}
