import { useCallback, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { messageFor } from '../errors';
import { formatDateTime } from '../format';
import { FollowedReadProblem } from '../components/FollowedReadProblem';
import { FormProblem } from '../components/FormProblem';
import { TextField } from '../components/TextField';
import { useAsync } from '../useAsync';
import { useFollowed } from '../useFollowed';
import { SyncBadge } from './ApplicationBadges';
import { ApplicationUplinksSection } from './ApplicationUplinks';
import type { Application, ApplicationLink } from './ApplicationTypes';
import type { UplinkDocument } from './UplinkTypes';
import { DeviceImport } from './DeviceImport';
import { DevicesTable } from './DevicesTable';

/** One application: its details, its links to networks (state, errors, retry), its devices. */
export function ApplicationPage() {
  const { id = '' } = useParams();
  const { user } = useAuth();
  const isAdmin = user?.role === 'admin';
  const application = useAsync(
    () => unwrap(api.GET('/api/applications/{id}', { params: { path: { id } } })),
    [id],
  );
  const [devicesVersion, setDevicesVersion] = useState(0);
  /** Device id → when its newest uplink on the live stream was received. */
  const [seenLive, setSeenLive] = useState<ReadonlyMap<string, string>>(new Map());
  const noteArrival = useCallback((document: UplinkDocument) => {
    const deviceId = document.device.id;
    if (deviceId === null) return;
    setSeenLive((seen) => {
      const before = seen.get(deviceId);
      if (before !== undefined && before >= document.receivedAt) return seen;
      return new Map(seen).set(deviceId, document.receivedAt);
    });
  }, []);

  if (application.status === 'loading') return <p className="muted">Loading the application…</p>;
  if (application.status === 'failed') {
    return (
      <div role="alert" className="alert error">
        Could not load the application: {messageFor(application.error)}{' '}
        <Link to="/applications">Back to the applications</Link>
      </div>
    );
  }
  const app = application.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/applications">Applications</Link> / {app.name}
      </p>
      <div className="page-head">
        <h1>{app.name}</h1>
        {isAdmin && (
          <Link to={`/applications/${app.id}/devices/new`} className="button">
            Add Device
          </Link>
        )}
      </div>
      {app.description && <p className="muted wrap-anywhere">{app.description}</p>}
      {/* Full width each: the links table needs the room for its last errors and buttons. */}
      <Links applicationId={app.id} isAdmin={isAdmin} />
      {isAdmin && <EditApplication app={app} onSaved={application.reload} />}
      <ApplicationUplinksSection applicationId={app.id} isAdmin={isAdmin} onArrival={noteArrival} />
      <DevicesTable applicationId={app.id} version={devicesVersion} seenLive={seenLive} />
      {isAdmin && (
        <DeviceImport applicationId={app.id} onImported={() => setDevicesVersion((v) => v + 1)} />
      )}
    </section>
  );
}

function Links({ applicationId, isAdmin }: { applicationId: string; isAdmin: boolean }) {
  // Pushes run in the background: followed while something is still on its way.
  const links = useFollowed(
    () =>
      unwrap(api.GET('/api/applications/{id}/links', { params: { path: { id: applicationId } } })),
    [applicationId],
    (read) =>
      read.items.some((l) => l.state !== 'synced' || l.devices.pending > 0 || l.devices.error > 0),
  );
  const networks = useAsync(
    () => unwrap(api.GET('/api/networks', { params: { query: { limit: 200 } } })),
    [],
  );
  const [networkId, setNetworkId] = useState('');
  /** The application's id on the network; empty: the server derives it from the name. */
  const [remoteId, setRemoteId] = useState('');
  const [remoteIdError, setRemoteIdError] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** The link whose unlinking waits for confirmation. */
  const [unlinking, setUnlinking] = useState<string | null>(null);
  const items = links.shown?.items ?? [];
  const confirming = items.find((l) => l.id === unlinking);

  const networkName = (nid: string) => networks.data?.items.find((n) => n.id === nid)?.name ?? nid;
  const linkable =
    networks.data?.items.filter((n) => !items.some((l) => l.networkId === n.id)) ?? [];

  async function link(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setRemoteIdError(undefined);
    try {
      await unwrap(
        api.POST('/api/applications/{id}/links', {
          params: { path: { id: applicationId } },
          body: { networkId, ...(remoteId.trim() ? { remoteId: remoteId.trim() } : {}) },
        }),
      );
      setNetworkId('');
      setRemoteId('');
      links.reload();
    } catch (e) {
      const fieldError = e instanceof ApiError ? e.fieldError('remoteId') : undefined;
      if (fieldError !== undefined) setRemoteIdError(fieldError);
      else setError(`The application could not be linked: ${messageFor(e)}`);
    }
    setBusy(false);
  }

  async function retry(l: ApplicationLink) {
    setError(null);
    try {
      await unwrap(
        api.POST('/api/applications/{id}/links/{linkId}/retry', {
          params: { path: { id: applicationId, linkId: l.id } },
        }),
      );
      links.reload();
    } catch (e) {
      setError(`Retrying failed: ${messageFor(e)}`);
    }
  }

  async function unlink(l: ApplicationLink, deleteOnNetwork: boolean) {
    setError(null);
    try {
      await unwrap(
        api.DELETE('/api/applications/{id}/links/{linkId}', {
          params: { path: { id: applicationId, linkId: l.id }, query: { deleteOnNetwork } },
        }),
      );
      setUnlinking(null);
      links.reload();
    } catch (e) {
      setError(`Unlinking failed: ${messageFor(e)}`);
    }
  }

  return (
    <div className="card" aria-label="Networks">
      <h2>Networks</h2>
      <FollowedReadProblem what="the links" read={links} />
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {links.shown !== undefined && items.length === 0 && (
        <p className="muted">Not linked to any network yet.</p>
      )}
      {items.length > 0 && (
        <div className="table-scroll">
          <table className="table" aria-label="Links">
            <thead>
              <tr>
                <th scope="col">Network</th>
                <th scope="col">State</th>
                <th scope="col">Devices</th>
                <th scope="col">Last error</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {items.map((l) => (
                <tr key={l.id} data-network={networkName(l.networkId)}>
                  <td className="wrap-anywhere">
                    <Link to={`/networks/${l.networkId}`}>{networkName(l.networkId)}</Link>
                    <div className="muted">
                      <code>{l.remoteId}</code>
                    </div>
                  </td>
                  <td>
                    <SyncBadge state={l.state} />
                  </td>
                  <td>
                    {l.devices.synced} synced
                    {l.devices.pending > 0 && `, ${l.devices.pending} pending`}
                    {l.devices.error > 0 && (
                      <>
                        , {/* The devices table below, narrowed to the refused ones. */}
                        <Link
                          to="?syncState=error"
                          onClick={() =>
                            document.getElementById('devices')?.scrollIntoView({ block: 'start' })
                          }
                        >
                          {l.devices.error} failed
                        </Link>
                      </>
                    )}
                  </td>
                  <td className="last-error">
                    {l.lastError ?? <span className="muted">—</span>}
                    {l.lastError && l.lastAttemptAt && (
                      <div className="muted">{formatDateTime(l.lastAttemptAt)}</div>
                    )}
                    {l.nextAttemptAt && l.lastError && (
                      <div className="muted">Next attempt {formatDateTime(l.nextAttemptAt)}</div>
                    )}
                  </td>
                  <td className="row-actions">
                    {isAdmin && (l.state === 'error' || l.devices.error > 0) && (
                      <button type="button" className="secondary small" onClick={() => retry(l)}>
                        Retry
                      </button>
                    )}
                    {isAdmin && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={unlinking === l.id}
                        onClick={() => setUnlinking(l.id)}
                      >
                        Unlink
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isAdmin && confirming !== undefined && (
        <ConfirmUnlink
          key={confirming.id}
          networkName={networkName(confirming.networkId)}
          onConfirm={(deleteOnNetwork) => unlink(confirming, deleteOnNetwork)}
          onCancel={() => setUnlinking(null)}
        />
      )}
      {isAdmin && linkable.length > 0 && (
        <form onSubmit={link} className="copy-row">
          <label htmlFor="link-network" className="muted">
            Link to
          </label>
          <select
            id="link-network"
            value={networkId}
            onChange={(e) => setNetworkId(e.target.value)}
          >
            <option value="">Choose a network…</option>
            {linkable.map((n) => (
              <option key={n.id} value={n.id}>
                {n.name}
              </option>
            ))}
          </select>
          <label htmlFor="link-remote-id" className="muted">
            with the id
          </label>
          <input
            id="link-remote-id"
            className="remote-id"
            value={remoteId}
            placeholder="from its name"
            aria-describedby="link-remote-id-help"
            onChange={(e) => setRemoteId(e.target.value)}
          />
          <button type="submit" className="small" disabled={!networkId || busy}>
            Link
          </button>
          <p id="link-remote-id-help" className="help">
            The application&apos;s id on the network: the id of one that is there already takes it
            over; empty, a new one is named after this application.
          </p>
          {remoteIdError && <p className="field-error">Id {remoteIdError}</p>}
        </form>
      )}
    </div>
  );
}

/**
 * Unlinking asks first, and says what happens on the network: by default the application stays
 * there as it is; deleting it there (with its devices) is a choice of its own.
 */
function ConfirmUnlink({
  networkName,
  onConfirm,
  onCancel,
}: {
  networkName: string;
  onConfirm(deleteOnNetwork: boolean): Promise<void>;
  onCancel(): void;
}) {
  const [deleteOnNetwork, setDeleteOnNetwork] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <div role="group" aria-label={`Unlink from ${networkName}`} className="confirm">
      <p>
        <strong>Unlink from {networkName}?</strong> LPWAN Server stops pushing this application to{' '}
        {networkName} and receiving its uplinks there.{' '}
        {deleteOnNetwork
          ? `It is deleted on ${networkName}, with its devices.`
          : `It stays on ${networkName} as it is.`}
      </p>
      <div className="field checkbox">
        <label>
          <input
            type="checkbox"
            checked={deleteOnNetwork}
            onChange={(e) => setDeleteOnNetwork(e.target.checked)}
          />
          Also delete it and its devices on {networkName}
        </label>
      </div>
      <div className="actions">
        <button
          type="button"
          className="danger small"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            await onConfirm(deleteOnNetwork);
            setBusy(false);
          }}
        >
          Confirm Unlink
        </button>
        <button type="button" className="secondary small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

const SETTINGS_LABELS = {
  name: 'Name',
  description: 'Description',
  reportingUrl: 'Reporting URL',
};

function EditApplication({ app, onSaved }: { app: Application; onSaved(): void }) {
  const navigate = useNavigate();
  const [name, setName] = useState(app.name);
  const [description, setDescription] = useState(app.description ?? '');
  const [reportingUrl, setReportingUrl] = useState(app.reportingUrl ?? '');
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setProblem(null);
    setError(null);
    setSaved(false);
    try {
      await unwrap(
        api.PATCH('/api/applications/{id}', {
          params: { path: { id: app.id } },
          body: {
            name: name.trim(),
            description: description.trim() || null,
            reportingUrl: reportingUrl.trim() || null,
          },
        }),
      );
      setSaved(true);
      onSaved();
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && e.errors.length > 0) setProblem(e);
      else setError(`Saving failed: ${messageFor(e)}`);
    }
  }

  async function remove() {
    if (!window.confirm(`Delete ${app.name} and its devices, here and on every linked network?`))
      return;
    try {
      await unwrap(api.DELETE('/api/applications/{id}', { params: { path: { id: app.id } } }));
      navigate('/applications');
    } catch (e) {
      setError(`Deleting failed: ${messageFor(e)}`);
    }
  }

  return (
    <form className="card" onSubmit={save} noValidate aria-label="Application settings">
      <h2>Settings</h2>
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      <FormProblem problem={problem} labels={SETTINGS_LABELS} />
      {saved && <p className="muted">Saved.</p>}
      <TextField
        id="edit-name"
        label={SETTINGS_LABELS.name}
        value={name}
        onChange={setName}
        error={problem?.fieldError('name')}
      />
      <TextField
        id="edit-description"
        label={SETTINGS_LABELS.description}
        value={description}
        onChange={setDescription}
        error={problem?.fieldError('description')}
      />
      <TextField
        id="edit-reporting-url"
        label={SETTINGS_LABELS.reportingUrl}
        value={reportingUrl}
        onChange={setReportingUrl}
        placeholder="https://vendor.example.com/uplinks"
        help="Where the devices' uplinks are delivered."
        error={problem?.fieldError('reportingUrl')}
      />
      <div className="actions">
        <button type="submit">Save</button>
        <button type="button" className="danger" onClick={remove}>
          Delete Application
        </button>
      </div>
    </form>
  );
}
