import type { Selectable } from 'kysely';

/** Small server-wide values, e.g. the key check that tells a wrong LPWAN_SECRET_KEY at start. */
export interface SystemValuesTable {
  name: string;
  value: string;
  updated_at: string;
}

export type SystemValueRow = Selectable<SystemValuesTable>;
