import type { UserWithOrganizationRow } from './users.repository.js';
import type { UserView } from './users.schemas.js';

/** Who is calling, and through which credential. */
export interface Principal {
  user: UserView;
  via: 'session' | 'api_key';
  /** Set when `via` is 'session'. */
  sessionId?: string;
  /** Set when `via` is 'api_key'. */
  apiKeyId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `authenticate` hook; null on routes without it. */
    principal: Principal | null;
  }
}

export function toUserView(row: UserWithOrganizationRow): UserView {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    isSystemAdmin: row.organization_kind === 'system' && row.role === 'admin',
    createdAt: row.created_at,
  };
}
