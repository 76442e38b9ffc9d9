import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { messageFor } from '../errors';
import { formatDateTime } from '../format';
import { useAsync } from '../useAsync';
import type { Job } from './ApplicationTypes';
import { FormProblem } from '../components/FormProblem';
import { Pager, PastTheEnd, offsetParam } from '../components/Pager';
import { TextField } from '../components/TextField';

const PAGE_SIZE = 25;
/** Following an import job: every 0.5 s; a failed read is tried again after 1 s, 3 times. */
const POLL_MS = 500;
const RETRY_MS = 1000;
const MAX_POLL_FAILURES = 3;

/** Applications of the organization; admins create them and import them from a network. */
export function ApplicationsPage() {
  const { user } = useAuth();
  const isAdmin = user?.role === 'admin';
  const [params, setParams] = useSearchParams();
  const offset = offsetParam(params);
  const applications = useAsync(
    () => unwrap(api.GET('/api/applications', { params: { query: { limit: PAGE_SIZE, offset } } })),
    [offset],
  );

  return (
    <section>
      <div className="page-head">
        <h1>Applications</h1>
      </div>
      <p className="muted">
        Manage applications and devices once here; they are pushed to every network they are linked
        to.
      </p>
      {isAdmin && (
        <div className="grid">
          <NewApplication />
          <PullFromNetwork onDone={applications.reload} />
        </div>
      )}

      {applications.status === 'loading' && <p className="muted">Loading applications…</p>}
      {applications.status === 'failed' && (
        <div role="alert" className="alert error">
          Could not load the applications: {messageFor(applications.error)}{' '}
          <button type="button" className="link" onClick={applications.reload}>
            Try again
          </button>
        </div>
      )}
      {applications.status === 'done' && applications.data.total === 0 && (
        <div className="empty">
          <p>No applications yet.</p>
        </div>
      )}
      {applications.status === 'done' &&
        applications.data.items.length === 0 &&
        applications.data.total > 0 && (
          <PastTheEnd total={applications.data.total} onFirstPage={() => setParams({})} />
        )}
      {applications.status === 'done' && applications.data.items.length > 0 && (
        <>
          <div className="table-scroll">
            <table className="table" aria-label="Applications">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Devices</th>
                  <th scope="col">Description</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {applications.data.items.map((a) => (
                  <tr key={a.id}>
                    <td className="wrap-anywhere">
                      <Link to={`/applications/${a.id}`}>{a.name}</Link>
                    </td>
                    <td>{a.deviceCount}</td>
                    <td className="wrap-anywhere">
                      {a.description ?? <span className="muted">—</span>}
                    </td>
                    <td>{formatDateTime(a.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            offset={offset}
            pageSize={PAGE_SIZE}
            shown={applications.data.items.length}
            total={applications.data.total}
            onOffset={(next) => setParams({ offset: String(next) })}
          />
        </>
      )}
    </section>
  );
}

const NEW_APPLICATION_LABELS = { name: 'Name', description: 'Description' };

function NewApplication() {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    setError(null);
    try {
      const created = await unwrap(
        api.POST('/api/applications', {
          body: {
            name: name.trim(),
            ...(description.trim() ? { description: description.trim() } : {}),
          },
        }),
      );
      navigate(`/applications/${created.id}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && e.errors.length > 0) setProblem(e);
      else setError(`The application could not be created: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={handleSubmit} noValidate aria-label="New application">
      <h2>New application</h2>
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      <FormProblem problem={problem} labels={NEW_APPLICATION_LABELS} />
      <TextField
        id="application-name"
        label={NEW_APPLICATION_LABELS.name}
        value={name}
        onChange={setName}
        placeholder="e.g. Weather stations"
        error={problem?.fieldError('name')}
      />
      <TextField
        id="application-description"
        label={NEW_APPLICATION_LABELS.description}
        value={description}
        onChange={setDescription}
        error={problem?.fieldError('description')}
      />
      <div className="actions">
        <button type="submit" disabled={busy}>
          Create Application
        </button>
      </div>
    </form>
  );
}

/** Pull: import a linked network account's applications and devices, with a progress bar. */
function PullFromNetwork({ onDone }: { onDone(): void }) {
  const networks = useAsync(
    () => unwrap(api.GET('/api/networks', { params: { query: { limit: 200 } } })),
    [],
  );
  const [networkId, setNetworkId] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);

  useEffect(() => {
    if (jobId === null) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const poll = async () => {
      try {
        const current = await unwrap(
          api.GET('/api/jobs/{id}', { params: { path: { id: jobId } } }),
        );
        if (!live) return;
        failures = 0;
        setJob(current);
        if (current.state === 'done' || current.state === 'failed') {
          onDone();
          return;
        }
      } catch (e) {
        if (!live) return;
        failures += 1;
        if (failures >= MAX_POLL_FAILURES) {
          // Stop following; Import is enabled again (importing again adds only what is new).
          setError(`Could not follow the import: ${messageFor(e)}`);
          setJobId(null);
          onDone();
          return;
        }
        timer = setTimeout(poll, RETRY_MS);
        return;
      }
      timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [jobId, onDone]);

  async function start() {
    setError(null);
    setJob(null);
    setStarting(true);
    try {
      const { jobId: id } = await unwrap(
        api.POST('/api/networks/{id}/pull', { params: { path: { id: networkId } } }),
      );
      setJobId(id);
    } catch (e) {
      setError(`The import could not start: ${messageFor(e)}`);
    }
    setStarting(false);
  }

  // Followed and not finished yet (before its first read, a job counts as queued).
  const running =
    starting ||
    (jobId !== null && (job === null || job.state === 'queued' || job.state === 'running'));
  const noNetworks = networks.status === 'done' && networks.data.items.length === 0;
  return (
    <div className="card" aria-label="Import from a network">
      <h2>Import from a network</h2>
      <p className="muted">
        Brings in the applications and devices the network account has. Importing again adds only
        what is new.
      </p>
      {networks.status === 'failed' && (
        <p role="alert" className="alert error">
          Could not load the networks: {messageFor(networks.error)}{' '}
          <button type="button" className="link" onClick={networks.reload}>
            Try again
          </button>
        </p>
      )}
      {noNetworks ? (
        <p>
          There is no network to import from yet.{' '}
          <Link to="/networks/new">Create a network first</Link>.
        </p>
      ) : (
        <>
          <div className="field">
            <label htmlFor="pull-network">Network</label>
            <select
              id="pull-network"
              value={networkId}
              onChange={(e) => setNetworkId(e.target.value)}
            >
              <option value="">Choose a network…</option>
              {networks.data?.items.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.name}
                </option>
              ))}
            </select>
          </div>
          <div className="actions">
            <button type="button" onClick={start} disabled={!networkId || running}>
              Import
            </button>
          </div>
        </>
      )}
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {job && (
        <div aria-live="polite">
          <progress
            aria-label="Import progress"
            max={Math.max(1, job.progress.total)}
            value={job.state === 'done' ? Math.max(1, job.progress.total) : job.progress.done}
          />
          <p>
            {job.state === 'done'
              ? 'Import finished'
              : job.state === 'failed'
                ? 'Import failed'
                : jobId === null
                  ? 'Last known progress'
                  : 'Importing…'}
            : {job.progress.done} of {job.progress.total} applications; devices{' '}
            {job.counts.devices.created} new, {job.counts.devices.matched} already here
            {job.errorCount > 0 ? `, ${job.errorCount} not imported` : ''}.
          </p>
          {jobId === null && (job.state === 'queued' || job.state === 'running') && (
            <p className="muted">
              The import may still be running on the server; importing again adds only what is new.
            </p>
          )}
          {job.message && <p className="alert error">{job.message}</p>}
          {job.errors.length > 0 && (
            <ul>
              {job.errors.map((e, i) => (
                <li key={i}>
                  {e.item}: {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
