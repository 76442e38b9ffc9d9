import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { FollowedReadProblem } from '../components/FollowedReadProblem';
import { formatDateTime } from '../format';
import { useAsync } from '../useAsync';
import { useFollowed } from '../useFollowed';
import { SyncBadge } from './ApplicationBadges';

/**
 * The device on each linked network: its ids there, state and last error. Pushes run in the
 * background, so it is followed as the application page follows its links, and read afresh
 * whenever `version` changes (the device was saved).
 */
export function DeviceLinks({
  applicationId,
  deviceId,
  version,
}: {
  applicationId: string;
  deviceId: string;
  version: number;
}) {
  const device = useFollowed(
    () =>
      unwrap(
        api.GET('/api/applications/{id}/devices/{deviceId}', {
          params: { path: { id: applicationId, deviceId } },
        }),
      ),
    [applicationId, deviceId, version],
    (read) => read.links.some((l) => l.state !== 'synced'),
  );
  const networks = useAsync(
    () => unwrap(api.GET('/api/networks', { params: { query: { limit: 200 } } })),
    [],
  );
  const networkName = (id: string) => networks.data?.items.find((n) => n.id === id)?.name ?? id;
  const links = device.shown?.links;

  return (
    <div className="card" aria-label="Networks">
      <h2>Networks</h2>
      <FollowedReadProblem what="the networks" read={device} />
      {links === undefined && !device.failed && <p className="muted">Loading the networks…</p>}
      {links?.length === 0 && (
        <p className="muted">The application is not linked to any network.</p>
      )}
      {links !== undefined && links.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Network</th>
                <th scope="col">Id there</th>
                <th scope="col">State</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {links.map((l) => (
                <tr key={l.applicationLinkId}>
                  <td className="wrap-anywhere">
                    <Link to={`/networks/${l.networkId}`}>{networkName(l.networkId)}</Link>
                    <div className="muted">
                      <code>{l.remoteApplicationId}</code>
                    </div>
                  </td>
                  <td>
                    <code>{l.remoteId}</code>
                  </td>
                  <td>
                    <SyncBadge state={l.state} />
                  </td>
                  <td className="last-error">
                    {l.lastError ?? <span className="muted">—</span>}
                    {l.lastError && l.lastAttemptAt && (
                      <div className="muted">{formatDateTime(l.lastAttemptAt)}</div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
