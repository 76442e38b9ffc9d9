import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { FollowedReadProblem } from '../components/FollowedReadProblem';
import { messageFor } from '../errors';
import { formatDateTime } from '../format';
import { useFollowed } from '../useFollowed';
import { SyncBadge } from './ApplicationBadges';

/** Deletions shown at once; the card says how many more wait. */
const SHOWN = 50;

/**
 * Applications and devices deleted or unlinked here that are not gone from the network yet:
 * their own pages are gone, so this is where a deletion the network refuses is seen and tried
 * again. Nothing is shown while there are none; followed while some are still being tried.
 */
export function NetworkDeletions({ networkId, isAdmin }: { networkId: string; isAdmin: boolean }) {
  const deletions = useFollowed(
    () =>
      unwrap(
        api.GET('/api/networks/{id}/deletions', {
          params: { path: { id: networkId }, query: { limit: SHOWN } },
        }),
      ),
    [networkId],
    (read) => read.items.some((d) => d.state === 'pending'),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const page = deletions.shown;
  if (!deletions.failed && (page === undefined || page.total === 0)) return null;

  async function cancel(deletionId: string) {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.DELETE('/api/networks/{id}/deletions/{deletionId}', {
          params: { path: { id: networkId, deletionId } },
        }),
      );
      deletions.reload();
    } catch (e) {
      setError(`Cancelling failed: ${messageFor(e)}`);
    }
    setBusy(false);
  }

  async function retry() {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST('/api/networks/{id}/deletions/retry', { params: { path: { id: networkId } } }),
      );
      deletions.reload();
    } catch (e) {
      setError(`Retrying failed: ${messageFor(e)}`);
    }
    setBusy(false);
  }

  return (
    <div className="card" aria-label="Deletions on the network">
      <div className="card-head">
        <h2>Deletions on the network</h2>
        {isAdmin && page !== undefined && page.total > 0 && (
          <button type="button" className="secondary small" onClick={retry} disabled={busy}>
            Retry deletions
          </button>
        )}
      </div>
      <p className="muted">
        Deleted or unlinked here, and not gone from the network yet: tried again while the network
        is away, or refused by it until you retry. Cancelled, a deletion is forgotten and what it
        would delete stays on the network.
      </p>
      <FollowedReadProblem what="the deletions" read={deletions} />
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {page !== undefined && page.items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">What</th>
                <th scope="col">State</th>
                <th scope="col">Last error</th>
                {isAdmin && <th scope="col"></th>}
              </tr>
            </thead>
            <tbody>
              {page.items.map((d) => (
                <tr key={d.id}>
                  <td className="wrap-anywhere">
                    {d.kind === 'application' ? 'Application ' : 'Device '}
                    <code>{d.remoteDeviceId ?? d.remoteApplicationId}</code>
                    {d.remoteDeviceId !== null && (
                      <div className="muted">
                        of <code>{d.remoteApplicationId}</code>
                      </div>
                    )}
                    <div className="muted">asked {formatDateTime(d.createdAt)}</div>
                  </td>
                  <td>
                    <SyncBadge state={d.state} />
                  </td>
                  <td className="last-error">
                    {d.lastError ?? <span className="muted">—</span>}
                    {d.nextAttemptAt && d.lastError && (
                      <div className="muted">Next attempt {formatDateTime(d.nextAttemptAt)}</div>
                    )}
                  </td>
                  {isAdmin && (
                    <td className="row-actions">
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => cancel(d.id)}
                        disabled={busy}
                        title="Forget this deletion: it stays on the network as it is"
                      >
                        Cancel
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page !== undefined && page.total > page.items.length && (
        <p className="muted">And {page.total - page.items.length} more.</p>
      )}
    </div>
  );
}
