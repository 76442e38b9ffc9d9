import { useState, type FormEvent } from 'react';
import { ApiError, api, unwrap } from '../api/client';
import { messageFor } from '../errors';
import { formatDateTime, relativeTime } from '../format';
import { LiveIndicator, UplinksTable } from './ApplicationUplinks';
import { base64ToBytes, bytesToBase64, type DownlinkResult } from './UplinkTypes';
import { useLiveUplinks } from './useLiveUplinks';

const SHOWN = 10;
const MAX_DOWNLINK_BYTES = 256;

/**
 * One device's traffic: when it was last seen and its recent uplinks
 * (`GET /api/devices/{id}/uplinks`, followed live through the application's stream), and for
 * organization admins a downlink form (`POST /api/devices/{id}/downlinks`).
 */
export function DeviceUplinks({
  applicationId,
  deviceId,
  isAdmin,
}: {
  applicationId: string;
  deviceId: string;
  isAdmin: boolean;
}) {
  const [lastSeenAt, setLastSeenAt] = useState<string | null>(null);
  const { rows, total, error, stream } = useLiveUplinks({
    applicationId,
    listKey: deviceId,
    shown: SHOWN,
    what: 'device’s uplinks',
    fetchPage: () =>
      unwrap(
        api.GET('/api/devices/{id}/uplinks', {
          params: { path: { id: deviceId }, query: { limit: SHOWN } },
        }),
      ),
    onPage: (page) => setLastSeenAt(page.lastSeenAt),
    accepts: (document) => document.device.id === deviceId,
    onArrival: (document) =>
      setLastSeenAt((seen) => (seen && seen > document.receivedAt ? seen : document.receivedAt)),
  });

  return (
    <>
      <div className="card" aria-label="Uplinks">
        <div className="card-head">
          <h2>Uplinks</h2>
          <LiveIndicator state={stream.state} onReconnect={stream.reconnect} />
        </div>
        {error && (
          <p role="alert" className="alert error">
            {error}
          </p>
        )}
        <dl className="facts">
          <dt>Last seen</dt>
          <dd data-testid="last-seen">
            {lastSeenAt ? (
              <>
                {formatDateTime(lastSeenAt)}{' '}
                <span className="muted">({relativeTime(lastSeenAt)})</span>
              </>
            ) : rows === null ? (
              '…'
            ) : (
              'Never'
            )}
          </dd>
        </dl>
        {rows === null && !error && <p className="muted">Loading the uplinks…</p>}
        {rows !== null && rows.length === 0 && (
          <p className="muted">No uplinks from this device yet.</p>
        )}
        {rows !== null && rows.length > 0 && (
          <>
            <p className="muted uplink-count">
              {total === 1 ? '1 uplink kept' : `${total} uplinks kept`}
              {total > rows.length && `, the newest ${rows.length} shown`}.
            </p>
            <UplinksTable rows={rows} applicationId={applicationId} showSignal />
          </>
        )}
      </div>
      {isAdmin && <DownlinkForm deviceId={deviceId} />}
    </>
  );
}

type PayloadFormat = 'hex' | 'base64';

/** The payload as the API's base64, or a message saying what is wrong with it. */
export function toBase64Payload(
  text: string,
  format: PayloadFormat,
): { payload: string; bytes: number } | { problem: string } {
  const value = text.replace(/\s+/g, '');
  if (value === '') return { problem: 'Enter a payload.' };
  let bytes: Uint8Array | null;
  if (format === 'hex') {
    const hex = value.replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]*$/.test(hex)) return { problem: 'Hex may only hold 0–9 and A–F.' };
    if (hex.length % 2 !== 0) return { problem: 'Hex needs two digits per byte.' };
    bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  } else {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value))
      return { problem: 'This is not base64 (A–Z, a–z, 0–9, +, / and = padding).' };
    bytes = base64ToBytes(value);
    if (!bytes) return { problem: 'This is not base64.' };
  }
  if (bytes.length === 0) return { problem: 'Enter a payload.' };
  if (bytes.length > MAX_DOWNLINK_BYTES)
    return { problem: `At most ${MAX_DOWNLINK_BYTES} bytes (this is ${bytes.length}).` };
  return { payload: bytesToBase64(bytes), bytes: bytes.length };
}

function DownlinkForm({ deviceId }: { deviceId: string }) {
  const [fPort, setFPort] = useState('1');
  const [format, setFormat] = useState<PayloadFormat>('hex');
  const [payload, setPayload] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<{ fPort?: string; payload?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<(DownlinkResult & { bytes: number }) | null>(null);
  const [busy, setBusy] = useState(false);

  async function send(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setSent(null);
    const errors: { fPort?: string; payload?: string } = {};
    const port = Number(fPort);
    if (!/^\d+$/.test(fPort.trim()) || port < 1 || port > 223)
      errors.fPort = 'fPort must be a whole number from 1 to 223.';
    const converted = toBase64Payload(payload, format);
    if ('problem' in converted) errors.payload = converted.problem;
    setFieldErrors(errors);
    if (errors.fPort || errors.payload || 'problem' in converted) return;
    setBusy(true);
    try {
      const answer = await unwrap(
        api.POST('/api/devices/{id}/downlinks', {
          params: { path: { id: deviceId } },
          body: { fPort: port, payload: converted.payload, confirmed },
        }),
      );
      setSent({ ...answer, bytes: converted.bytes });
    } catch (e) {
      if (e instanceof ApiError && e.status === 400 && e.errors.length > 0) {
        setFieldErrors({ fPort: e.fieldError('fPort'), payload: e.fieldError('payload') });
        setError('The downlink was refused: some fields need attention.');
      } else if (e instanceof ApiError && [409, 502, 503].includes(e.status) && e.detail) {
        // The device is not on a network yet, or the network failed: the server says which.
        setError(`The downlink could not be sent: ${e.detail}`);
      } else {
        setError(`The downlink could not be sent: ${messageFor(e)}`);
      }
    }
    setBusy(false);
  }

  return (
    <form className="card" onSubmit={send} noValidate aria-label="Send a downlink">
      <h2>Send a downlink</h2>
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {sent && (
        <p role="status" className="downlink-sent">
          Downlink queued at {formatDateTime(sent.queuedAt)}: fPort {sent.fPort},{' '}
          {sent.bytes === 1 ? '1 byte' : `${sent.bytes} bytes`}
          {sent.confirmed ? ', confirmed' : ''}. The network sends it after the device’s next
          uplink.
        </p>
      )}
      <div className="downlink-fields">
        <div className={`field${fieldErrors.fPort ? ' invalid' : ''}`}>
          <label htmlFor="downlink-fport">fPort</label>
          <input
            id="downlink-fport"
            inputMode="numeric"
            value={fPort}
            onChange={(e) => setFPort(e.target.value)}
            aria-invalid={fieldErrors.fPort ? true : undefined}
            aria-describedby={fieldErrors.fPort ? 'downlink-fport-error' : undefined}
          />
          {fieldErrors.fPort && (
            <p className="field-error" id="downlink-fport-error">
              {fieldErrors.fPort}
            </p>
          )}
        </div>
        <div className="field">
          <label htmlFor="downlink-format">Payload format</label>
          <select
            id="downlink-format"
            value={format}
            onChange={(e) => setFormat(e.target.value as PayloadFormat)}
          >
            <option value="hex">Hex</option>
            <option value="base64">Base64</option>
          </select>
        </div>
      </div>
      <div className={`field${fieldErrors.payload ? ' invalid' : ''}`}>
        <label htmlFor="downlink-payload">Payload</label>
        <input
          id="downlink-payload"
          value={payload}
          autoComplete="off"
          spellCheck={false}
          placeholder={format === 'hex' ? '01 FF 2A' : 'Af8q'}
          onChange={(e) => setPayload(e.target.value)}
          aria-invalid={fieldErrors.payload ? true : undefined}
          aria-describedby={`downlink-payload-help${fieldErrors.payload ? ' downlink-payload-error' : ''}`}
        />
        <p className="help" id="downlink-payload-help">
          {format === 'hex'
            ? 'Hexadecimal bytes; spaces are ignored.'
            : 'Base64, as the API takes it.'}{' '}
          At most {MAX_DOWNLINK_BYTES} bytes.
        </p>
        {fieldErrors.payload && (
          <p className="field-error" id="downlink-payload-error">
            {fieldErrors.payload}
          </p>
        )}
      </div>
      <div className="field checkbox">
        <label>
          <input
            type="checkbox"
            checked={confirmed}
            onChange={(e) => setConfirmed(e.target.checked)}
          />{' '}
          Confirmed (the device acknowledges it)
        </label>
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send downlink'}
        </button>
      </div>
    </form>
  );
}
