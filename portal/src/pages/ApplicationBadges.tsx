import type { LinkState } from './ApplicationTypes';

const labels: Record<LinkState, string> = { synced: 'Synced', pending: 'Pending', error: 'Error' };
// The network badges' colours: green, amber, red.
const classes: Record<LinkState, string> = {
  synced: 'badge-authorized',
  pending: 'badge-pending_authorization',
  error: 'badge-error',
};

export function SyncBadge({ state }: { state: LinkState }) {
  return <span className={`badge ${classes[state]}`}>{labels[state]}</span>;
}
