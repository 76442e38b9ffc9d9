import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { messageFor } from '../errors';
import { FormProblem } from '../components/FormProblem';
import { useAsync } from '../useAsync';
import type { DeviceDetail, DeviceKeys } from './ApplicationTypes';
import { DeviceLinks } from './DeviceLinks';
import { DeviceUplinks } from './DeviceUplinks';

type Activation = 'otaa' | 'abp';
type Field =
  'name' | 'description' | 'devEui' | 'joinEui' | 'appKey' | 'devAddr' | 'nwkSKey' | 'appSKey';
const LABELS: Record<Field, string> = {
  name: 'Name',
  description: 'Description',
  devEui: 'DevEUI',
  joinEui: 'JoinEUI / AppEUI',
  appKey: 'AppKey',
  devAddr: 'DevAddr',
  nwkSKey: 'NwkSKey',
  appSKey: 'AppSKey',
};
const HELP: Partial<Record<Field, string>> = {
  devEui: '16 hexadecimal digits',
  joinEui: '16 hexadecimal digits',
  appKey: '32 hexadecimal digits',
  devAddr: '8 hexadecimal digits',
  nwkSKey: '32 hexadecimal digits',
  appSKey: '32 hexadecimal digits',
};
const KEY_FIELDS: readonly Field[] = ['appKey', 'nwkSKey', 'appSKey'];

/** Add a device (`/applications/:id/devices/new`) or see and change one. */
export function DevicePage() {
  const { id = '', deviceId } = useParams();
  const isNew = deviceId === undefined;
  const device = useAsync(
    () =>
      isNew
        ? Promise.resolve(undefined)
        : unwrap(
            api.GET('/api/applications/{id}/devices/{deviceId}', {
              params: { path: { id, deviceId } },
            }),
          ),
    [id, deviceId],
  );
  if (device.status === 'loading') return <p className="muted">Loading the device…</p>;
  if (device.status === 'failed') {
    return (
      <div role="alert" className="alert error">
        Could not load the device: {messageFor(device.error)}{' '}
        <Link to={`/applications/${id}`}>Back to the application</Link>
      </div>
    );
  }
  return <DeviceForm applicationId={id} device={device.data} onSaved={device.reload} />;
}

function DeviceForm({
  applicationId,
  device,
  onSaved,
}: {
  applicationId: string;
  device: DeviceDetail | undefined;
  onSaved(): void;
}) {
  const navigate = useNavigate();
  const { user } = useAuth();
  const isAdmin = user?.role === 'admin';
  const [activation, setActivation] = useState<Activation>(device?.activation ?? 'otaa');
  // For the breadcrumb only: until it is read (or if it cannot be), it says "Application".
  const application = useAsync(
    () => unwrap(api.GET('/api/applications/{id}', { params: { path: { id: applicationId } } })),
    [applicationId],
  );
  const [values, setValues] = useState<Record<Field, string>>({
    name: device?.name ?? '',
    description: device?.description ?? '',
    devEui: device?.devEui ?? '',
    joinEui: device?.joinEui ?? '',
    devAddr: device?.devAddr ?? '',
    // Keys are never sent to the page unless asked for; left empty, they stay as they are.
    appKey: '',
    nwkSKey: '',
    appSKey: '',
  });
  const [problem, setProblem] = useState<ApiError | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [keys, setKeys] = useState<DeviceKeys | null>(null);
  /** Successful saves so far: the networks card reads the device's links afresh on each. */
  const [saves, setSaves] = useState(0);

  const shown: Field[] =
    activation === 'otaa'
      ? ['name', 'description', 'devEui', 'joinEui', 'appKey']
      : ['name', 'description', 'devEui', 'joinEui', 'devAddr', 'nwkSKey', 'appSKey'];

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    setError(null);
    setSaved(false);
    const body: Record<string, string | null> = { activation };
    for (const field of shown) {
      const value = values[field].trim();
      if (KEY_FIELDS.includes(field) && value === '' && device) continue;
      body[field] = value === '' ? null : value;
    }
    body.name = values.name.trim();
    body.devEui = values.devEui.trim();
    try {
      if (device) {
        await unwrap(
          api.PATCH('/api/applications/{id}/devices/{deviceId}', {
            params: { path: { id: applicationId, deviceId: device.id } },
            body,
          }),
        );
        setSaved(true);
        setSaves((n) => n + 1);
        // Saved keys are stored: the inputs say "unchanged" again (and send nothing next time),
        // and keys on show are read again instead of showing the old ones.
        setValues((v) => ({ ...v, appKey: '', nwkSKey: '', appSKey: '' }));
        if (keys !== null) await readKeys();
        onSaved();
      } else {
        await unwrap(
          api.POST('/api/applications/{id}/devices', {
            params: { path: { id: applicationId } },
            body: body as { name: string; devEui: string },
          }),
        );
        navigate(`/applications/${applicationId}`);
      }
    } catch (e) {
      if (e instanceof ApiError && (e.status === 400 || e.status === 409) && e.errors.length > 0)
        setProblem(e);
      else setError(`The device could not be saved: ${messageFor(e)}`);
    }
    setBusy(false);
  }

  async function readKeys() {
    if (!device) return;
    try {
      setKeys(
        await unwrap(
          api.GET('/api/applications/{id}/devices/{deviceId}/keys', {
            params: { path: { id: applicationId, deviceId: device.id } },
          }),
        ),
      );
    } catch (e) {
      setKeys(null); // rather than keys that may be old
      setError(`The keys could not be shown: ${messageFor(e)}`);
    }
  }

  async function remove() {
    if (!device || !window.confirm(`Delete ${device.name} here and on every linked network?`))
      return;
    try {
      await unwrap(
        api.DELETE('/api/applications/{id}/devices/{deviceId}', {
          params: { path: { id: applicationId, deviceId: device.id } },
        }),
      );
      navigate(`/applications/${applicationId}`);
    } catch (e) {
      setError(`Deleting failed: ${messageFor(e)}`);
    }
  }

  const fieldError = (field: Field) => problem?.fieldError(field);
  const shownLabels = Object.fromEntries(shown.map((field) => [field, LABELS[field]]));
  return (
    <section className="narrow">
      <p className="crumbs">
        <Link to="/applications">Applications</Link> /{' '}
        <Link to={`/applications/${applicationId}`}>{application.data?.name ?? 'Application'}</Link>{' '}
        / {device ? device.name : 'New device'}
      </p>
      <h1>{device ? device.name : 'Add Device'}</h1>
      <form className="card" onSubmit={handleSubmit} noValidate aria-label="Device">
        <FormProblem problem={problem} labels={shownLabels} />
        {error && (
          <p role="alert" className="alert error">
            {error}
          </p>
        )}
        {saved && <p className="muted">Saved. The change is on its way to the linked networks.</p>}
        <fieldset className="plain" disabled={!isAdmin}>
          <div className="field">
            <label htmlFor="device-activation">Activation</label>
            <select
              id="device-activation"
              value={activation}
              onChange={(e) => setActivation(e.target.value as Activation)}
            >
              <option value="otaa">OTAA (join with AppKey)</option>
              <option value="abp">ABP (session keys)</option>
            </select>
          </div>
          {shown.map((field) => (
            <div key={field} className={`field${fieldError(field) ? ' invalid' : ''}`}>
              <label htmlFor={`device-${field}`}>{LABELS[field]}</label>
              <input
                id={`device-${field}`}
                value={values[field]}
                autoComplete="off"
                placeholder={device && KEY_FIELDS.includes(field) ? 'unchanged' : undefined}
                onChange={(e) => setValues({ ...values, [field]: e.target.value })}
                aria-invalid={fieldError(field) ? true : undefined}
                aria-describedby={fieldError(field) ? `device-${field}-error` : undefined}
              />
              {HELP[field] && <p className="help">{HELP[field]}</p>}
              {fieldError(field) && (
                <p className="field-error" id={`device-${field}-error`}>
                  {LABELS[field]} {fieldError(field)}
                </p>
              )}
            </div>
          ))}
        </fieldset>
        {isAdmin && (
          <div className="actions">
            <button type="submit" disabled={busy}>
              {device ? 'Save' : 'Add Device'}
            </button>
            {device && (
              <button type="button" className="danger" onClick={remove}>
                Delete Device
              </button>
            )}
          </div>
        )}
      </form>

      {device && <DeviceLinks applicationId={applicationId} deviceId={device.id} version={saves} />}

      {device && (
        <DeviceUplinks applicationId={applicationId} deviceId={device.id} isAdmin={isAdmin} />
      )}

      {device && isAdmin && (
        <div className="card" aria-label="Keys">
          <h2>Keys</h2>
          {keys === null ? (
            <button type="button" className="secondary small" onClick={readKeys}>
              Show keys
            </button>
          ) : (
            <dl className="facts">
              {KEY_FIELDS.map((field) => (
                <div key={field} style={{ display: 'contents' }}>
                  <dt>{LABELS[field]}</dt>
                  <dd>
                    <code>{keys[field as keyof DeviceKeys] ?? '—'}</code>
                  </dd>
                </div>
              ))}
            </dl>
          )}
        </div>
      )}
    </section>
  );
}
