import type { NetworkStatus } from '../api/types';

export const statusLabels: Record<NetworkStatus, string> = {
  authorized: 'Authorized',
  pending_authorization: 'Pending authorization',
  reauthorization_required: 'Reauthorization required',
  error: 'Error',
  disabled: 'Disabled',
};

/** The status as a coloured badge; `message` (the network's status message) shows on hover. */
export function StatusBadge({
  status,
  message,
}: {
  status: NetworkStatus;
  message?: string | null;
}) {
  return (
    <span className={`badge badge-${status}`} title={message ?? undefined}>
      {statusLabels[status] ?? status}
    </span>
  );
}
