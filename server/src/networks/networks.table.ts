import type { Insertable, Selectable, Updateable } from 'kysely';

export type NetworkStatus =
  'pending_authorization' | 'authorized' | 'reauthorization_required' | 'error' | 'disabled';

export interface NetworksTable {
  id: string;
  organization_id: string;
  protocol_id: string;
  name: string;
  /** JSON object of the non-secret settings (field name → string). */
  settings_json: string;
  /** JSON object of the secret settings (field name → sealed value, see crypto/secret-box.ts). */
  secrets_json: string;
  status: NetworkStatus;
  status_message: string | null;
  linked_account_username: string | null;
  linked_account_email: string | null;
  /** ISO 8601 (UTC) expiry of the current access token, for display; the token itself lives elsewhere. */
  token_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export type NetworkRow = Selectable<NetworksTable>;
export type NewNetworkRow = Insertable<NetworksTable>;
export type NetworkUpdate = Updateable<NetworksTable>;
