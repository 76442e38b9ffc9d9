import { randomUUID } from 'node:crypto';
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../db/database.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Page, PageResult } from '../db/paging.js';
import { conflict, notFound, validationFailed, type FieldError } from '../http/problem.js';
import { deleteTokens } from '../oauth/tokens.repository.js';
import { sameBaseUrl } from '../protocols/base-url.js';
import type { ProtocolDescriptor } from '../protocols/protocol.js';
import type { ProtocolRegistry } from '../protocols/registry.js';
import {
  deleteNetwork as deleteNetworkRow,
  findNetwork,
  findNetworkById,
  insertNetwork,
  listNetworks as listNetworkRows,
  updateNetwork as updateNetworkRow,
  updateNetworkStatusById,
} from './networks.repository.js';
import type { NetworkView } from './networks.schemas.js';
import type { NetworkRow, NetworkStatus, NetworkUpdate } from './networks.table.js';
import { checkSettings } from './settings.js';

export interface NetworkDeps {
  db: Db;
  secretBox: SecretBox;
  protocols: ProtocolRegistry;
}

/**
 * Associated data for a sealed setting: the network id and the field name, so a ciphertext
 * cannot be moved to another network or another field.
 */
export function secretAssociatedData(networkId: string, field: string): string {
  return `networks/${networkId}/settings/${field}`;
}

const nameTaken = () =>
  conflict('A network with that name exists in your organization.', 'name_taken');

function parseJsonObject(text: string): Record<string, string> {
  return JSON.parse(text) as Record<string, string>;
}

function descriptorOf(
  protocols: ProtocolRegistry,
  protocolId: string,
): ProtocolDescriptor | undefined {
  return protocols.describe(protocolId);
}

/** The API form: secrets replaced by {set}, never decrypted. */
export function toNetworkView(row: NetworkRow, protocols: ProtocolRegistry): NetworkView {
  const plain = parseJsonObject(row.settings_json);
  const sealed = parseJsonObject(row.secrets_json);
  const settings: NetworkView['settings'] = { ...plain };
  for (const field of descriptorOf(protocols, row.protocol_id)?.fields ?? []) {
    if (field.secret) settings[field.name] = { set: Object.hasOwn(sealed, field.name) };
  }
  return {
    id: row.id,
    name: row.name,
    protocolId: row.protocol_id,
    organizationId: row.organization_id,
    settings,
    status: row.status,
    statusMessage: row.status_message,
    linkedAccount:
      row.linked_account_username !== null
        ? { username: row.linked_account_username, email: row.linked_account_email }
        : null,
    tokenExpiresAt: row.token_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function createNetwork(
  deps: NetworkDeps,
  actor: Principal,
  input: { name: string; protocolId: string; settings: Record<string, string> },
): Promise<NetworkView> {
  const descriptor = descriptorOf(deps.protocols, input.protocolId);
  if (!descriptor)
    throw validationFailed([{ field: 'protocolId', message: 'is not a known protocol' }]);
  const checked = checkSettings(descriptor, input.settings);
  if (checked.errors.length > 0) throw validationFailed(checked.errors);

  const id = randomUUID();
  const sealed: Record<string, string> = {};
  for (const [field, value] of Object.entries(checked.secrets)) {
    sealed[field] = deps.secretBox.seal(value, secretAssociatedData(id, field));
  }
  const now = nowIso();
  try {
    await insertNetwork(deps.db, {
      id,
      organization_id: actor.user.organizationId,
      protocol_id: descriptor.id,
      name: input.name,
      settings_json: JSON.stringify(checked.plain),
      secrets_json: JSON.stringify(sealed),
      // Every protocol so far links an account before it can be used.
      status: 'pending_authorization',
      status_message: null,
      linked_account_username: null,
      linked_account_email: null,
      token_expires_at: null,
      created_at: now,
      updated_at: now,
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
  return getNetwork(deps, actor, id);
}

export async function getNetwork(
  deps: NetworkDeps,
  actor: Principal,
  id: string,
): Promise<NetworkView> {
  const row = await findNetwork(deps.db, actor.user.organizationId, id);
  if (!row) throw notFound('network');
  return toNetworkView(row, deps.protocols);
}

export async function listNetworks(
  deps: NetworkDeps,
  actor: Principal,
  page: Page,
): Promise<PageResult<NetworkView>> {
  const { rows, total } = await listNetworkRows(deps.db, actor.user.organizationId, page);
  return { items: rows.map((row) => toNetworkView(row, deps.protocols)), total, ...page };
}

export async function updateNetwork(
  deps: NetworkDeps,
  actor: Principal,
  id: string,
  patch: { name?: string; settings?: Record<string, string> },
): Promise<NetworkView> {
  const row = await findNetwork(deps.db, actor.user.organizationId, id);
  if (!row) throw notFound('network');
  const update: NetworkUpdate = { updated_at: nowIso() };
  if (patch.name !== undefined) update.name = patch.name;
  let forgetAccount = false;

  if (patch.settings !== undefined) {
    const descriptor = descriptorOf(deps.protocols, row.protocol_id);
    if (!descriptor)
      throw conflict(
        'The protocol of this network is no longer available.',
        'protocol_unavailable',
      );
    const sealed = parseJsonObject(row.secrets_json);
    const stored = parseJsonObject(row.settings_json);
    const checked = checkSettings(descriptor, patch.settings, {
      plain: stored,
      secretsSet: new Set(Object.keys(sealed)),
    });
    const moved = movedAddresses(descriptor, stored, checked.plain);
    checked.errors.push(...secretsToEnterAgain(descriptor, moved, sealed, checked.secrets));
    if (checked.errors.length > 0) throw validationFailed(checked.errors);
    for (const [field, value] of Object.entries(checked.secrets)) {
      sealed[field] = deps.secretBox.seal(value, secretAssociatedData(id, field));
    }
    update.settings_json = JSON.stringify(checked.plain);
    update.secrets_json = JSON.stringify(sealed);
    if (moved.length > 0) {
      // The account's tokens were issued for the old addresses and would be sent to the new
      // ones: they are dropped, and the owner signs in again at the new address.
      forgetAccount = true;
      Object.assign(update, {
        status: 'pending_authorization',
        status_message: `Sign in again: ${moved.map((f) => `settings.${f}`).join(', ')} changed.`,
        linked_account_username: null,
        linked_account_email: null,
        token_expires_at: null,
      } satisfies NetworkUpdate);
    }
  }
  try {
    await deps.db.transaction().execute(async (trx) => {
      await updateNetworkRow(trx, actor.user.organizationId, id, update);
      if (forgetAccount) await deleteTokens(trx, id);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
  return getNetwork(deps, actor, id);
}

/** The URL settings whose address an update changes. */
function movedAddresses(
  descriptor: ProtocolDescriptor,
  before: Record<string, string>,
  after: Record<string, string>,
): string[] {
  return descriptor.fields
    .filter((f) => f.type === 'url')
    .map((f) => f.name)
    .filter((name) => {
      const [was, is] = [before[name], after[name]];
      return was !== undefined && is !== undefined && !sameBaseUrl(was, is);
    });
}

/**
 * A network's own client secret is sent to its token endpoint: moving that endpoint takes the
 * secret entered again, so that nobody can have a stored secret sent to an address of theirs.
 */
function secretsToEnterAgain(
  descriptor: ProtocolDescriptor,
  moved: readonly string[],
  sealed: Record<string, string>,
  given: Record<string, string>,
): FieldError[] {
  if (descriptor.authorization.kind !== 'oauth2') return [];
  const { tokenEndpoint, clientFields } = descriptor.authorization;
  const secret = clientFields.secret;
  if (!moved.includes(tokenEndpoint.baseField) || sealed[secret] === undefined) return [];
  if (given[secret] !== undefined) return [];
  return [
    {
      field: `settings.${secret}`,
      message: `must be entered again when settings.${tokenEndpoint.baseField} changes (it is sent there)`,
    },
  ];
}

export async function deleteNetwork(
  deps: NetworkDeps,
  actor: Principal,
  id: string,
): Promise<void> {
  if (!(await deleteNetworkRow(deps.db, actor.user.organizationId, id))) throw notFound('network');
}

// ---- For server-internal work (OAuth, workers): not exposed through the API. ----

export interface NetworkSettings {
  id: string;
  organizationId: string;
  protocolId: string;
  status: NetworkStatus;
  /** All settings, secrets decrypted. Keep inside the server: never log or return it. */
  settings: Record<string, string>;
}

/** Read a network with its secrets decrypted. Throws SecretBoxError on a wrong or missing key. */
export async function readNetworkSettings(
  deps: Pick<NetworkDeps, 'db' | 'secretBox'>,
  id: string,
): Promise<NetworkSettings | undefined> {
  const row = await findNetworkById(deps.db, id);
  if (!row) return undefined;
  const settings = parseJsonObject(row.settings_json);
  for (const [field, value] of Object.entries(parseJsonObject(row.secrets_json))) {
    settings[field] = deps.secretBox.open(value, secretAssociatedData(id, field));
  }
  return {
    id: row.id,
    organizationId: row.organization_id,
    protocolId: row.protocol_id,
    status: row.status,
    settings,
  };
}

export interface NetworkStatusChange {
  status: NetworkStatus;
  statusMessage?: string | null;
  linkedAccount?: { username: string; email: string | null } | null;
  tokenExpiresAt?: string | null;
}

export async function setNetworkStatus(
  db: Db,
  id: string,
  change: NetworkStatusChange,
): Promise<boolean> {
  const update: NetworkUpdate = {
    status: change.status,
    updated_at: nowIso(),
  };
  if (change.statusMessage !== undefined) update.status_message = change.statusMessage;
  if (change.linkedAccount !== undefined) {
    update.linked_account_username = change.linkedAccount?.username ?? null;
    update.linked_account_email = change.linkedAccount?.email ?? null;
  }
  if (change.tokenExpiresAt !== undefined) update.token_expires_at = change.tokenExpiresAt;
  return updateNetworkStatusById(db, id, update);
}
