import type { Insertable, Selectable, Updateable } from 'kysely';

/** Tenants. Exactly one organization has kind 'system': it holds the system administrators. */
export interface OrganizationsTable {
  id: string;
  name: string;
  kind: 'system' | 'tenant';
  created_at: string;
  updated_at: string;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type NewOrganizationRow = Insertable<OrganizationsTable>;
export type OrganizationUpdate = Updateable<OrganizationsTable>;
