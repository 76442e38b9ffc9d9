import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import type { Network, Protocol, ProtocolField } from '../api/types';
import { CallbackUrl } from '../components/CallbackUrl';
import { fieldMessage, ProtocolFields, settingsToSend } from '../components/ProtocolFields';
import { messageFor } from '../errors';
import { serverClientOf, signInLabel, startAuthorization } from '../oauth';
import { useAsync } from '../useAsync';

interface Loaded {
  protocol: Protocol;
  fields: ProtocolField[];
}

/**
 * Create Network, the designed flow: pick a protocol, fill in its fields (as the server
 * describes them) and a name, then "Sign Into Your Things Account" saves the network as
 * pending and sends the browser to the network's sign-in; /oauth/callback finishes it.
 */
export function NewNetworkPage() {
  const navigate = useNavigate();
  const { user } = useAuth();
  const protocols = useAsync(() => unwrap(api.GET('/api/network-protocols')), []);
  const [protocolId, setProtocolId] = useState('');
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Set once the network is saved; a later failure to start sign-in must not save it twice. */
  const [created, setCreated] = useState<Network | null>(null);

  useEffect(() => {
    setLoaded(null);
    setLoadError(null);
    setProblem(null);
    if (!protocolId) return;
    let live = true;
    const path = { params: { path: { id: protocolId } } };
    Promise.all([
      unwrap(api.GET('/api/network-protocols/{id}', path)),
      unwrap(api.GET('/api/network-protocols/{id}/fields', path)),
    ]).then(
      ([protocol, { fields }]) => {
        if (!live) return;
        setLoaded({ protocol, fields });
        setValues(Object.fromEntries(fields.map((f) => [f.name, f.default ?? ''])));
      },
      (e: unknown) => live && setLoadError(messageFor(e)),
    );
    return () => {
      live = false;
    };
  }, [protocolId]);

  async function begin(network: Network) {
    try {
      await startAuthorization(network.id);
      // The browser is leaving for the network's sign-in page; keep the button busy.
    } catch (e) {
      setError(`The network was saved, but signing in could not start: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!loaded) return;
    setBusy(true);
    setError(null);
    setProblem(null);
    if (created) return begin(created);
    let network: Network;
    try {
      network = await unwrap(
        api.POST('/api/networks', {
          body: { name: name.trim(), protocolId, settings: settingsToSend(loaded.fields, values) },
        }),
      );
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) setProblem(e);
      else setError(`The network could not be saved: ${messageFor(e)}`);
      setBusy(false);
      return;
    }
    setCreated(network);
    if (loaded.protocol.authorization.kind === 'oauth2') return begin(network);
    navigate(`/networks/${network.id}`);
  }

  const fieldNames = new Set(['name', ...(loaded?.fields.map((f) => f.name) ?? [])]);
  const errorFor = (field: string) =>
    problem?.fieldError(field) ?? problem?.fieldError(`settings.${field}`);
  // Problems the form cannot place next to a field are listed at the top.
  const unplaced =
    problem?.errors.filter((e) => !fieldNames.has(e.field.replace(/^\/?settings[./]/, ''))) ?? [];
  const serverClient = loaded ? serverClientOf(loaded.protocol) : undefined;

  const heading = (
    <>
      <p className="crumbs">
        <Link to="/networks">Networks</Link> / New
      </p>
      <h1>Create Network</h1>
    </>
  );

  if (user && user.role !== 'admin') {
    return (
      <section className="narrow">
        {heading}
        <p className="notice">Only an organization admin can create networks.</p>
      </section>
    );
  }

  return (
    <section className="narrow">
      {heading}
      <form onSubmit={handleSubmit} noValidate className="card">
        {problem && (
          <div role="alert" className="alert error">
            <p>
              {problem.errors.length
                ? 'Some fields need attention.'
                : (problem.detail ?? problem.title)}
            </p>
            {unplaced.length > 0 && (
              <ul>
                {unplaced.map((e) => (
                  <li key={e.field + e.message}>
                    {e.field ? `${e.field}: ` : ''}
                    {e.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {error && (
          <div role="alert" className="alert error">
            <p>{error}</p>
            {created && (
              <p>
                <Link to={`/networks/${created.id}`}>Open the saved network</Link> or press the
                button again.
              </p>
            )}
          </div>
        )}

        <fieldset disabled={!!created} className="plain">
          <div className="field">
            <label htmlFor="protocol">Protocol</label>
            {protocols.status === 'failed' ? (
              <p role="alert" className="alert error">
                Could not load the protocols: {messageFor(protocols.error)}
              </p>
            ) : (
              <select
                id="protocol"
                value={protocolId}
                onChange={(e) => setProtocolId(e.target.value)}
                disabled={protocols.status !== 'done'}
              >
                <option value="">
                  {protocols.status === 'done' ? 'Choose a network…' : 'Loading…'}
                </option>
                {protocols.data?.items.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            )}
          </div>

          {loadError && (
            <p role="alert" className="alert error">
              Could not load this protocol: {loadError}
            </p>
          )}
          {protocolId && !loaded && !loadError && (
            <p className="muted">Loading the protocol's fields…</p>
          )}

          {loaded && (
            <>
              <div className={`field${errorFor('name') ? ' invalid' : ''}`}>
                <label htmlFor="network-name">Name</label>
                <input
                  id="network-name"
                  name="name"
                  required
                  placeholder="e.g. Farm sensors"
                  value={name}
                  onChange={(e) => setName(e.target.value)}
                  aria-invalid={errorFor('name') ? true : undefined}
                  aria-describedby={errorFor('name') ? 'network-name-error' : 'network-name-help'}
                />
                <p className="help" id="network-name-help">
                  How this network is called in LPWAN Server.
                </p>
                {errorFor('name') && (
                  <p className="field-error" id="network-name-error">
                    {fieldMessage('Name', errorFor('name'))}
                  </p>
                )}
              </div>

              {serverClient && (
                <p className="callout">
                  This server's TTN client ({serverClient.clientId}) will be used unless you enter
                  your own. It signs in at {serverClient.baseUrl} only: for another account server,
                  enter a client of your own.
                </p>
              )}

              <ProtocolFields
                fields={loaded.fields}
                values={values}
                onChange={(field, value) => setValues((v) => ({ ...v, [field]: value }))}
                errorFor={errorFor}
              />

              {loaded.protocol.authorization.kind === 'oauth2' && (
                <CallbackUrl
                  url={loaded.protocol.authorization.callbackUrl}
                  protocolId={loaded.protocol.id}
                  serverClientId={serverClient?.clientId}
                />
              )}
            </>
          )}
        </fieldset>

        {loaded && (
          <div className="actions">
            <button type="submit" disabled={busy}>
              {busy ? 'Please wait…' : signInLabel(loaded.protocol)}
            </button>
            <Link to="/networks" className="button secondary">
              Cancel
            </Link>
          </div>
        )}
        {loaded?.protocol.authorization.kind === 'oauth2' && !created && (
          <p className="help">
            The network is saved first; then you sign in at {loaded.protocol.name} and come back
            here.
          </p>
        )}
      </form>
    </section>
  );
}
