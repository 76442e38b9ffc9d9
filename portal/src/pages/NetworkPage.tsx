import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import type { Network, Protocol, ProtocolField } from '../api/types';
import { CallbackUrl } from '../components/CallbackUrl';
import { fieldMessage, ProtocolFields, settingsToSend } from '../components/ProtocolFields';
import { StatusBadge } from '../components/StatusBadge';
import { messageFor } from '../errors';
import { formatDateTime, relativeTime } from '../format';
import { serverClientOf, startAuthorization } from '../oauth';
import { useAsync } from '../useAsync';
import { NetworkDeletions } from './NetworkDeletions';

const NEEDS_AUTHORIZATION = new Set<Network['status']>([
  'pending_authorization',
  'reauthorization_required',
  'error',
]);

export function NetworkPage() {
  const { id = '' } = useParams();
  const network = useAsync(
    () => unwrap(api.GET('/api/networks/{id}', { params: { path: { id } } })),
    [id],
  );
  const protocolId = network.data?.protocolId;
  const protocol = useAsync(async () => {
    if (!protocolId) return null;
    const path = { params: { path: { id: protocolId } } };
    const [p, f] = await Promise.all([
      unwrap(api.GET('/api/network-protocols/{id}', path)),
      unwrap(api.GET('/api/network-protocols/{id}/fields', path)),
    ]);
    return { protocol: p, fields: f.fields };
  }, [protocolId]);

  if (network.status === 'loading') return <p className="muted">Loading the network…</p>;
  if (network.status === 'failed') {
    return (
      <section className="narrow">
        <p className="crumbs">
          <Link to="/networks">Networks</Link>
        </p>
        <p role="alert" className="alert error">
          {network.error instanceof ApiError && network.error.status === 404
            ? 'This network does not exist, or it was deleted.'
            : `Could not load the network: ${messageFor(network.error)}`}
        </p>
      </section>
    );
  }
  return (
    <NetworkDetails
      network={network.data}
      protocol={protocol.data?.protocol}
      fields={protocol.data?.fields}
      onChanged={network.reload}
    />
  );
}

function NetworkDetails({
  network,
  protocol,
  fields,
  onChanged,
}: {
  network: Network;
  protocol: Protocol | undefined;
  fields: ProtocolField[] | undefined;
  onChanged(): void;
}) {
  const navigate = useNavigate();
  const { user } = useAuth();
  // Signing in, editing and deleting are for organization admins (the server refuses members).
  const isAdmin = user?.role === 'admin';
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const isOAuth = protocol?.authorization.kind === 'oauth2';

  async function reauthorize() {
    setBusy(true);
    setError(null);
    try {
      await startAuthorization(network.id);
    } catch (e) {
      setError(`Signing in could not start: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.DELETE('/api/networks/{id}', { params: { path: { id: network.id } } }));
      navigate('/networks', { replace: true });
    } catch (e) {
      setError(`The network could not be deleted: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  const label = (name: string) => fields?.find((f) => f.name === name)?.label ?? name;
  // Only an authorized network's token counts; another's has expired or was refused.
  const expiry = network.status === 'authorized' ? network.tokenExpiresAt : null;
  // Never authorized: signing in finishes creating the network; otherwise it is signing in again.
  const signInLabel =
    network.status === 'pending_authorization'
      ? `Sign in to ${protocol?.name ?? 'the network'}`
      : 'Re-authorize';

  return (
    <section>
      <p className="crumbs">
        <Link to="/networks">Networks</Link> / {network.name}
      </p>
      <div className="page-head">
        <h1>{network.name}</h1>
        <StatusBadge status={network.status} />
      </div>

      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}

      {network.status !== 'authorized' && (
        <div className={`notice notice-${network.status}`}>
          <p>
            {network.statusMessage ||
              (network.status === 'pending_authorization'
                ? isAdmin
                  ? 'This network is not linked to an account yet. Sign in to finish creating it.'
                  : 'This network is not linked to an account yet. An organization admin signs in to finish creating it.'
                : 'This network is not working right now.')}
          </p>
          {isAdmin && isOAuth && NEEDS_AUTHORIZATION.has(network.status) && (
            <button type="button" onClick={reauthorize} disabled={busy}>
              {signInLabel}
            </button>
          )}
        </div>
      )}

      <div className="grid">
        <div className="card">
          <h2>Overview</h2>
          <dl className="facts">
            <dt>Protocol</dt>
            <dd>{protocol?.name ?? network.protocolId}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={network.status} />
              {network.status === 'authorized' && network.statusMessage && (
                <span className="muted"> {network.statusMessage}</span>
              )}
            </dd>
            <dt>Linked account</dt>
            <dd>
              {network.linkedAccount ? (
                <>
                  {network.linkedAccount.username}
                  {network.linkedAccount.email && (
                    <span className="muted"> ({network.linkedAccount.email})</span>
                  )}
                </>
              ) : (
                <span className="muted">None yet</span>
              )}
            </dd>
            <dt>Access token expires</dt>
            <dd>
              {expiry ? (
                <>
                  {formatDateTime(expiry)}{' '}
                  <span className="muted">({relativeTime(expiry)}; renewed automatically)</span>
                </>
              ) : (
                <span className="muted">—</span>
              )}
            </dd>
            <dt>Created</dt>
            <dd>{formatDateTime(network.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{formatDateTime(network.updatedAt)}</dd>
          </dl>
        </div>

        <div className="card">
          <div className="card-head">
            <h2>Settings</h2>
            {isAdmin && fields && !editing && (
              <button type="button" className="secondary small" onClick={() => setEditing(true)}>
                Edit settings
              </button>
            )}
          </div>
          {editing && fields ? (
            <EditSettings
              network={network}
              fields={fields}
              onDone={(changed) => {
                setEditing(false);
                if (changed) onChanged();
              }}
            />
          ) : (
            <dl className="facts">
              {Object.entries(network.settings).map(([key, value]) => (
                <SettingRow key={key} label={label(key)} value={value} />
              ))}
            </dl>
          )}
          {!editing && !network.settings.clientId && protocol && serverClientOf(protocol) && (
            <p className="muted">
              Uses this server&apos;s TTN client ({serverClientOf(protocol)?.clientId}).
            </p>
          )}
          {protocol?.authorization.kind === 'oauth2' && (
            <CallbackUrl
              url={protocol.authorization.callbackUrl}
              protocolId={protocol.id}
              serverClientId={
                network.settings.clientId ? undefined : serverClientOf(protocol)?.clientId
              }
            />
          )}
        </div>
      </div>

      {network.status === 'authorized' && (
        <RemoteApplications networkId={network.id} onLinkBroken={onChanged} />
      )}
      <NetworkDeletions networkId={network.id} isAdmin={isAdmin} />

      {isAdmin && (
        <div className="card danger-zone">
          <h2>Delete network</h2>
          <p className="muted">
            Deleting removes the network and wipes its stored tokens. The applications linked to it
            are unlinked here: they stay on the network as they are, but no longer receive uplinks
            through it. Nothing is deleted at the network server.
          </p>
          {confirmDelete ? (
            <>
              <LinkedApplications networkId={network.id} />
              <div className="actions">
                <button type="button" className="danger" onClick={remove} disabled={busy}>
                  Yes, delete {network.name}
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => setConfirmDelete(false)}
                  disabled={busy}
                >
                  Cancel
                </button>
              </div>
            </>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
              Delete network
            </button>
          )}
        </div>
      )}
    </section>
  );
}

/** What deleting the network unlinks: read when the deletion is confirmed, so it is current. */
function LinkedApplications({ networkId }: { networkId: string }) {
  const links = useAsync(
    () => unwrap(api.GET('/api/networks/{id}/links', { params: { path: { id: networkId } } })),
    [networkId],
  );
  if (links.status === 'loading') {
    return <p className="muted">Looking up the applications linked to it…</p>;
  }
  if (links.status === 'failed') {
    return (
      <p role="alert" className="alert error">
        Could not list the applications linked to it: {messageFor(links.error)}
      </p>
    );
  }
  if (links.data.items.length === 0) return <p>No application is linked to this network.</p>;
  return (
    <div aria-label="Applications to unlink">
      <p>
        {links.data.items.length === 1
          ? 'This application is unlinked from it and stops receiving uplinks through it:'
          : `These ${links.data.items.length} applications are unlinked from it and stop receiving uplinks through it:`}
      </p>
      <ul>
        {links.data.items.map((l) => (
          <li key={l.id}>
            <Link to={`/applications/${l.applicationId}`}>{l.applicationName}</Link>{' '}
            <span className="muted">
              (<code>{l.remoteId}</code> on the network)
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function SettingRow({ label, value }: { label: string; value: unknown }) {
  let shown: ReactNode;
  if (value && typeof value === 'object' && 'set' in value) {
    shown = (value as { set: boolean }).set ? (
      <span className="badge badge-neutral">set</span>
    ) : (
      <span className="muted">not set</span>
    );
  } else if (value === '' || value === null || value === undefined) {
    shown = <span className="muted">—</span>;
  } else {
    shown = <code>{String(value)}</code>;
  }
  return (
    <>
      <dt>{label}</dt>
      <dd>{shown}</dd>
    </>
  );
}

function EditSettings({
  network,
  fields,
  onDone,
}: {
  network: Network;
  fields: ProtocolField[];
  onDone(changed: boolean): void;
}) {
  const secretsSet = new Set(
    Object.entries(network.settings)
      .filter(([, v]) => v && typeof v === 'object' && 'set' in v && (v as { set: boolean }).set)
      .map(([k]) => k),
  );
  const [name, setName] = useState(network.name);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      fields.map((f) => {
        const v = network.settings[f.name];
        return [f.name, typeof v === 'string' ? v : ''];
      }),
    ),
  );
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    setError(null);
    try {
      await unwrap(
        api.PATCH('/api/networks/{id}', {
          params: { path: { id: network.id } },
          body: { name: name.trim(), settings: settingsToSend(fields, values) },
        }),
      );
      onDone(true);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) setProblem(e);
      else setError(`The settings could not be saved: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  const errorFor = (field: string) =>
    problem?.fieldError(field) ?? problem?.fieldError(`settings.${field}`);
  return (
    <form onSubmit={save} noValidate>
      {(problem || error) && (
        <div role="alert" className="alert error">
          {error ??
            (problem?.errors.length
              ? 'Some fields need attention.'
              : (problem?.detail ?? problem?.title))}
        </div>
      )}
      <div className={`field${errorFor('name') ? ' invalid' : ''}`}>
        <label htmlFor="edit-name">Name</label>
        <input id="edit-name" value={name} onChange={(e) => setName(e.target.value)} required />
        {errorFor('name') && (
          <p className="field-error">{fieldMessage('Name', errorFor('name'))}</p>
        )}
      </div>
      <ProtocolFields
        fields={fields}
        values={values}
        onChange={(field, value) => setValues((v) => ({ ...v, [field]: value }))}
        errorFor={errorFor}
        secretsSet={secretsSet}
      />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
        <button type="button" className="secondary" onClick={() => onDone(false)} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Answers of the remote-applications call that mean the network's status has changed. */
const LINK_BROKEN = new Set(['network_reauthorization_required', 'network_not_authorized']);

function RemoteApplications({
  networkId,
  onLinkBroken,
}: {
  networkId: string;
  /** Called when the server says the link no longer works, so the page shows the new status. */
  onLinkBroken(): void;
}) {
  const apps = useAsync(
    () =>
      unwrap(
        api.GET('/api/networks/{id}/remote-applications', { params: { path: { id: networkId } } }),
      ),
    [networkId],
  );
  // Which of them LPWAN Server manages: the applications linked to this network, by remote id.
  const links = useAsync(
    () => unwrap(api.GET('/api/networks/{id}/links', { params: { path: { id: networkId } } })),
    [networkId],
  );
  const linkedAs = new Map(links.data?.items.map((l) => [l.remoteId, l]) ?? []);
  const broken =
    apps.status === 'failed' && apps.error instanceof ApiError && LINK_BROKEN.has(apps.error.code);
  useEffect(() => {
    if (broken) onLinkBroken();
  }, [broken, onLinkBroken]);

  return (
    <div className="card">
      <div className="card-head">
        <h2>Applications at the network</h2>
        <button
          type="button"
          className="secondary small"
          onClick={() => {
            apps.reload();
            links.reload();
          }}
          disabled={apps.status === 'loading' || apps.reloading}
        >
          Refresh
        </button>
      </div>
      <p className="muted">Read live from the linked account.</p>
      {apps.status === 'loading' && <p className="muted">Loading applications…</p>}
      {apps.status === 'failed' && (
        <p role="alert" className="alert error">
          Could not list the applications: {messageFor(apps.error)}
        </p>
      )}
      {apps.status === 'done' && apps.data.items.length === 0 && (
        <p>This account has no applications yet.</p>
      )}
      {apps.status === 'done' && apps.data.items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Application ID</th>
                <th scope="col">Name</th>
                <th scope="col">EUIs</th>
                <th scope="col">In LPWAN Server</th>
              </tr>
            </thead>
            <tbody>
              {apps.data.items.map((a) => (
                <tr key={a.id}>
                  <td>
                    <code>{a.id}</code>
                  </td>
                  <td>{a.name}</td>
                  <td>
                    {a.euis.length ? (
                      a.euis.map((eui) => (
                        <code key={eui} className="eui">
                          {eui}
                        </code>
                      ))
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>
                    <InLpwanServer link={linkedAs.get(a.id)} />
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

/** Where an application of the network is managed here, or that it is not (yet). */
function InLpwanServer({
  link,
}: {
  link: { applicationId: string; applicationName: string } | undefined;
}) {
  if (link === undefined) return <span className="muted">Not imported</span>;
  return <Link to={`/applications/${link.applicationId}`}>{link.applicationName}</Link>;
}
