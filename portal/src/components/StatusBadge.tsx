import type { NetworkStatus } from '../api/types';

export const statusLabels: Record<NetworkStatus, string> = {
  authorized: 'Authorized',
  pending_authorization: 'Pending authorization',
  reauthorization_required: 'Reauthorization required',
  error: 'Error',
  disabled: 'Disabled',
};

export function StatusBadge({ status }: { status: NetworkStatus }) {
  return <span className={`badge badge-${status}`}>{statusLabels[status] ?? status}</span>;
}
