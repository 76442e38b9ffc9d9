import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { messageFor } from '../errors';
import { formatDateTime } from '../format';
import { useAsync } from '../useAsync';
import { Pager, PastTheEnd, offsetParam } from '../components/Pager';

const PAGE_SIZE = 50;

/**
 * An application's devices, searchable by name or DevEUI and narrowed to those refused by (or
 * waiting for) a network, a page at a time. The search, the narrowing and the page are kept in
 * the address (`?search=&syncState=&offset=`), so that Back, reload and links return to them.
 * `seenLive` holds when devices were last heard on the application's live stream since the
 * page was read, so that "Last seen" keeps up without reading the list again.
 */
export function DevicesTable({
  applicationId,
  version,
  seenLive,
}: {
  applicationId: string;
  version: number;
  seenLive: ReadonlyMap<string, string>;
}) {
  const [params, setParams] = useSearchParams();
  const query = params.get('search') ?? '';
  const syncState = syncStateParam(params);
  const offset = offsetParam(params);
  const [search, setSearch] = useState(query);
  // The address changed by Back or Forward: the box shows its search (what is being typed
  // stays, as long as it is the same search).
  const [lastQuery, setLastQuery] = useState(query);
  if (query !== lastQuery) {
    setLastQuery(query);
    if (search.trim() !== query) setSearch(query);
  }

  // Ask the server once typing pauses, not on every key; only a changed search goes back to
  // the first page (otherwise the pause after mounting would undo an early click on Next).
  // Typing replaces the address instead of adding a step per pause to the history.
  useEffect(() => {
    const next = search.trim();
    if (next === query) return;
    const timer = setTimeout(
      () => setParams(listParams(next, syncState, 0), { replace: true }),
      250,
    );
    return () => clearTimeout(timer);
  }, [search, query, syncState, setParams]);

  const showPage = (next: number) => setParams(listParams(query, syncState, next));

  const devices = useAsync(
    () =>
      unwrap(
        api.GET('/api/applications/{id}/devices', {
          params: {
            path: { id: applicationId },
            query: {
              limit: PAGE_SIZE,
              offset,
              ...(query ? { search: query } : {}),
              ...(syncState ? { syncState } : {}),
            },
          },
        }),
      ),
    [applicationId, offset, query, syncState, version],
  );

  return (
    <div className="card" id="devices" aria-label="Devices">
      <div className="card-head">
        <h2>Devices{devices.data ? ` (${devices.data.total})` : ''}</h2>
        <div className="actions">
          <select
            aria-label="Devices to show"
            value={syncState ?? ''}
            onChange={(e) => setParams(listParams(query, syncStateOf(e.target.value), 0))}
          >
            <option value="">All devices</option>
            <option value="error">Refused by a network</option>
            <option value="pending">Waiting to be pushed</option>
          </select>
          <input
            type="search"
            aria-label="Search devices"
            placeholder="Search by name or DevEUI"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
      </div>
      {devices.status === 'loading' && <p className="muted">Loading devices…</p>}
      {devices.status === 'failed' && (
        <p role="alert" className="alert error">
          Could not load the devices: {messageFor(devices.error)}
        </p>
      )}
      {devices.status === 'done' && devices.data.total === 0 && (
        <p className="muted">{query || syncState ? 'No device matches.' : 'No devices yet.'}</p>
      )}
      {devices.status === 'done' && devices.data.items.length === 0 && devices.data.total > 0 && (
        <PastTheEnd total={devices.data.total} onFirstPage={() => showPage(0)} />
      )}
      {devices.status === 'done' && devices.data.items.length > 0 && (
        <>
          <div className="table-scroll">
            <table className="table" aria-label="Device list">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">DevEUI</th>
                  <th scope="col">Activation</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.items.map((d) => (
                  <tr key={d.id}>
                    <td className="wrap-anywhere">
                      <Link to={`/applications/${applicationId}/devices/${d.id}`}>{d.name}</Link>
                    </td>
                    <td>
                      <code>{d.devEui}</code>
                    </td>
                    <td>{d.activation.toUpperCase()}</td>
                    <td>{formatDateTime(latest(d.lastSeenAt, seenLive.get(d.id)))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            offset={offset}
            pageSize={PAGE_SIZE}
            shown={devices.data.items.length}
            total={devices.data.total}
            label="Device pages"
            onOffset={showPage}
          />
        </>
      )}
    </div>
  );
}

type SyncState = 'pending' | 'error';

const syncStateOf = (value: string | null): SyncState | undefined =>
  value === 'pending' || value === 'error' ? value : undefined;

/** The devices' sync state the list is narrowed to (`?syncState=`), if any. */
function syncStateParam(params: URLSearchParams): SyncState | undefined {
  return syncStateOf(params.get('syncState'));
}

/** The address's parameters for a page of the list. */
function listParams(search: string, syncState: SyncState | undefined, offset: number) {
  return {
    ...(search ? { search } : {}),
    ...(syncState ? { syncState } : {}),
    ...(offset > 0 ? { offset: String(offset) } : {}),
  };
}

/** The later of two ISO 8601 times (either may be missing). */
function latest(a: string | null, b: string | undefined): string | null {
  if (b === undefined) return a;
  return a === null || b > a ? b : a;
}
