import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { StatusBadge } from '../components/StatusBadge';
import { messageFor } from '../errors';
import { useAsync } from '../useAsync';
import { formatDateTime } from '../format';
import { Pager } from '../components/Pager';

const PAGE_SIZE = 25;

export function NetworksPage() {
  const { user } = useAuth();
  // Creating a network is for organization admins (the server refuses members).
  const isAdmin = user?.role === 'admin';
  const [params, setParams] = useSearchParams();
  const offset = Math.max(0, Number(params.get('offset')) || 0);

  const networks = useAsync(
    () => unwrap(api.GET('/api/networks', { params: { query: { limit: PAGE_SIZE, offset } } })),
    [offset],
  );
  // Protocol names for the table; the list still shows (with ids) if this fails.
  const protocols = useAsync(() => unwrap(api.GET('/api/network-protocols')), []);
  const protocolName = (id: string) => protocols.data?.items.find((p) => p.id === id)?.name ?? id;

  return (
    <section>
      <div className="page-head">
        <h1>Networks</h1>
        {isAdmin && (
          <Link to="/networks/new" className="button">
            Create Network
          </Link>
        )}
      </div>
      <p className="muted">
        Each network links one account at a LoRaWAN network server to this LPWAN Server.
      </p>

      {networks.status === 'loading' && <p className="muted">Loading networks…</p>}
      {networks.status === 'failed' && (
        <div role="alert" className="alert error">
          Could not load the networks: {messageFor(networks.error)}{' '}
          <button type="button" className="link" onClick={networks.reload}>
            Try again
          </button>
        </div>
      )}
      {networks.status === 'done' && networks.data.items.length === 0 && (
        <div className="empty">
          <p>No networks yet.</p>
          <p className="muted">
            {isAdmin
              ? 'Create one to link your account at The Things Network.'
              : 'An organization admin creates them.'}
          </p>
        </div>
      )}
      {networks.status === 'done' && networks.data.items.length > 0 && (
        <>
          <div className="table-scroll">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">Status</th>
                  <th scope="col">Linked account</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {networks.data.items.map((n) => (
                  <tr key={n.id}>
                    <td>
                      <Link to={`/networks/${n.id}`}>{n.name}</Link>
                    </td>
                    <td>{protocolName(n.protocolId)}</td>
                    <td>
                      <StatusBadge status={n.status} message={n.statusMessage} />
                    </td>
                    <td>{n.linkedAccount?.username ?? <span className="muted">—</span>}</td>
                    <td>{formatDateTime(n.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            offset={offset}
            pageSize={PAGE_SIZE}
            shown={networks.data.items.length}
            total={networks.data.total}
            onOffset={(next) => setParams({ offset: String(next) })}
          />
        </>
      )}
    </section>
  );
}
