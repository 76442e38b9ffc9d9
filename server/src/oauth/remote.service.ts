/** Calls to a linked network's account, made through the token vault. */
import { AppError } from '../http/problem.js';
import { ProtocolError } from '../protocols/errors.js';
import type { ProtocolContext, RemoteApplication, RemoteDevice } from '../protocols/protocol.js';
import { networkProblem, type Actor, type OAuthDeps } from './authorization.service.js';
import { loadLink, type NetworkLink } from './link-target.js';
import { VaultError } from './token-vault.js';

export async function listRemoteApplications(
  deps: OAuthDeps,
  actor: Actor,
  networkId: string,
): Promise<RemoteApplication[]> {
  const link = await loadLink(deps, networkId, actor.organizationId);
  if (link.protocol.listApplications === undefined) {
    throw new AppError(
      409,
      'not_supported',
      'This network type cannot list applications.',
      undefined,
      networkId,
    );
  }
  try {
    return await link.protocol.listApplications(contextOf(deps, link));
  } catch (error) {
    throw linkProblem(error, networkId);
  }
}

export async function listRemoteDevices(
  deps: OAuthDeps,
  actor: Actor,
  networkId: string,
  appId: string,
  page: { limit: number; offset: number },
): Promise<RemoteDevice[]> {
  const link = await loadLink(deps, networkId, actor.organizationId);
  if (link.protocol.listDevices === undefined) {
    throw new AppError(
      409,
      'not_supported',
      'This network type cannot list devices.',
      undefined,
      networkId,
    );
  }
  try {
    return await link.protocol.listDevices(contextOf(deps, link), appId, page);
  } catch (error) {
    throw linkProblem(error, networkId);
  }
}

function contextOf(deps: OAuthDeps, link: NetworkLink): ProtocolContext {
  return { networkId: link.networkId, settings: link.settings, fetch: deps.vault.fetchFor(link) };
}

/** A failure of a call made through the vault, as an answer of ours. */
export function linkProblem(error: unknown, networkId: string): unknown {
  if (error instanceof VaultError) {
    const detail =
      error.code === 'network_not_authorized'
        ? 'The network has not been authorized yet: sign in to its account first.'
        : 'The network no longer accepts the stored tokens: re-authorize the network.';
    return new AppError(409, error.code, detail, undefined, networkId);
  }
  if (error instanceof ProtocolError) return networkProblem(error, networkId);
  return error;
}
