import type { Insertable, Selectable } from 'kysely';

/** API keys for machines. A key acts as the user who created it; only its SHA-256 is stored. */
export interface ApiKeysTable {
  id: string;
  organization_id: string;
  user_id: string;
  name: string;
  key_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;
