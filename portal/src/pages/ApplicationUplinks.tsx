import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { useAsync } from '../useAsync';
import { DeliveryStatus } from './DeliveryStatus';
import { formatDateTime } from '../format';
import { payloadHex, type UplinkDocument } from './UplinkTypes';
import { useLiveUplinks, type StreamState, type UplinkRow } from './useLiveUplinks';

/** How many of the newest uplinks the application page shows. */
const SHOWN = 25;

/**
 * The uplinks part of the application page: delivery to the reporting URL, then the recent
 * uplinks, live.
 */
export function ApplicationUplinksSection({
  applicationId,
  isAdmin,
  onArrival,
}: {
  applicationId: string;
  isAdmin: boolean;
  /** Each uplink as it arrives on the live stream. */
  onArrival?: (document: UplinkDocument) => void;
}) {
  const networks = useAsync(
    () => unwrap(api.GET('/api/networks', { params: { query: { limit: 200 } } })),
    [],
  );
  const networkName = (id: string) =>
    networks.data?.items.find((n) => n.id === id)?.name ?? 'Network';
  // When the delivery counts move (deliveries made, failed, dead-lettered, requeued), the
  // uplinks' delivery column is read again.
  const [deliveryVersion, setDeliveryVersion] = useState('');
  return (
    <section aria-label="Uplinks and delivery" className="uplinks-section">
      <DeliveryStatus
        applicationId={applicationId}
        isAdmin={isAdmin}
        networkName={networkName}
        onStatus={(s) => setDeliveryVersion(`${s.delivered}/${s.backlog}/${s.deadLetters}`)}
      />
      <ApplicationUplinks
        applicationId={applicationId}
        deliveryVersion={deliveryVersion}
        onArrival={onArrival}
      />
    </section>
  );
}

/**
 * An application's recent uplinks (`GET /api/applications/{id}/uplinks`), updated live: new
 * uplinks appear at the top as they arrive, and their delivery is read again shortly after.
 */
export function ApplicationUplinks({
  applicationId,
  deliveryVersion,
  onArrival,
}: {
  applicationId: string;
  /** Changes when the application's delivery counts change: the list is then read again. */
  deliveryVersion?: string;
  /** Each uplink as it arrives on the live stream. */
  onArrival?: (document: UplinkDocument) => void;
}) {
  const { rows, total, error, stream, load, refreshSoon } = useLiveUplinks({
    applicationId,
    listKey: applicationId,
    shown: SHOWN,
    what: 'uplinks',
    onArrival,
    fetchPage: () =>
      unwrap(
        api.GET('/api/applications/{id}/uplinks', {
          params: { path: { id: applicationId }, query: { limit: SHOWN } },
        }),
      ),
  });

  useEffect(() => {
    if (deliveryVersion) refreshSoon();
  }, [deliveryVersion, refreshSoon]);

  // Deliveries still pending (retries) are followed every 5 s.
  const pending = rows?.some((r) => r.delivery?.status === 'pending') ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [pending, load]);

  const deviceNames = useDeviceNames(applicationId, rows);

  return (
    <div className="card" aria-label="Recent uplinks">
      <div className="card-head">
        <h2>Recent uplinks</h2>
        <LiveIndicator state={stream.state} onReconnect={stream.reconnect} />
      </div>
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {rows === null && !error && <p className="muted">Loading the uplinks…</p>}
      {rows !== null && rows.length === 0 && (
        <p className="muted">No uplinks yet. They appear here as soon as the devices send them.</p>
      )}
      {rows !== null && rows.length > 0 && (
        <>
          <p className="muted uplink-count" aria-live="polite">
            {total === 1 ? '1 uplink kept' : `${total} uplinks kept`}
            {total > rows.length && `, the newest ${rows.length} shown`}.
          </p>
          <UplinksTable
            rows={rows}
            applicationId={applicationId}
            deviceNames={deviceNames}
            showDevice
          />
        </>
      )}
    </div>
  );
}

/**
 * The names of the devices in `rows` (the uplink documents carry ids only): each device is
 * read once (`GET /api/applications/{id}/devices/{deviceId}`) while the view is open.
 */
function useDeviceNames(applicationId: string, rows: UplinkRow[] | null): Record<string, string> {
  const [names, setNames] = useState<Record<string, string>>({});
  const asked = useRef(new Set<string>());
  useEffect(() => {
    const wanted = new Set<string>();
    for (const r of rows ?? []) {
      const id = r.document.device.id;
      if (id && !asked.current.has(id)) wanted.add(id);
    }
    for (const deviceId of wanted) {
      asked.current.add(deviceId);
      unwrap(
        api.GET('/api/applications/{id}/devices/{deviceId}', {
          params: { path: { id: applicationId, deviceId } },
        }),
      ).then(
        (device) => setNames((n) => ({ ...n, [deviceId]: device.name })),
        // A deleted device keeps its id on the network as its label.
        () => undefined,
      );
    }
  }, [applicationId, rows]);
  return names;
}

const liveLabels: Record<StreamState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Not live',
};

export function LiveIndicator({ state, onReconnect }: { state: StreamState; onReconnect(): void }) {
  return (
    <span className="live-indicator">
      <span role="status" className={`live-dot live-${state}`}>
        {liveLabels[state]}
      </span>
      {state === 'closed' && (
        <button type="button" className="secondary small" onClick={onReconnect}>
          Reconnect
        </button>
      )}
    </span>
  );
}

function decodedText(decoded: UplinkDocument['decoded']): string | null {
  if (!decoded) return null;
  return Object.entries(decoded)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

function signalText(document: UplinkDocument): string | null {
  const gateways = document.radio.gateways;
  const best = [...gateways].sort((a, b) => (b.rssi ?? -999) - (a.rssi ?? -999))[0];
  const parts: string[] = [];
  if (best?.rssi != null) parts.push(`${best.rssi}\u00a0dBm`);
  if (best?.snr != null) parts.push(`SNR\u00a0${best.snr}`);
  if (document.radio.dataRate) parts.push(document.radio.dataRate);
  if (gateways.length > 1) parts.push(`${gateways.length}\u00a0gateways`);
  return parts.length > 0 ? parts.join(' · ') : null;
}

export function DeliveryBadge({ row }: { row: UplinkRow }) {
  if (row.arrived) return <span className="badge badge-neutral">Received</span>;
  const d = row.delivery;
  if (d === null) {
    return (
      <span className="badge badge-neutral" title="There was no reporting URL when it arrived">
        Not delivered
      </span>
    );
  }
  const attempts = d.attempts === 1 ? '1 attempt' : `${d.attempts} attempts`;
  if (d.status === 'delivered') {
    return (
      <span className="badge badge-authorized" title={`Delivered ${formatDateTime(d.deliveredAt)}`}>
        Delivered
      </span>
    );
  }
  return (
    <>
      <span
        className={`badge ${d.status === 'dead' ? 'badge-error' : 'badge-pending_authorization'}`}
      >
        {d.status === 'dead' ? 'Dead letter' : 'Pending'}
      </span>
      {d.attempts > 0 && <div className="muted small-text">{attempts}</div>}
      {d.lastError && <div className="small-text uplink-error">{d.lastError}</div>}
    </>
  );
}

/**
 * Uplinks as a table; the device column (application page) links to the device page. The
 * signal column (strongest gateway's RSSI and SNR, data rate) is shown unless turned off.
 */
export function UplinksTable({
  rows,
  applicationId,
  deviceNames = {},
  showDevice = false,
  showSignal = true,
}: {
  rows: UplinkRow[];
  applicationId: string;
  /** Device names by device id, where known. */
  deviceNames?: Record<string, string>;
  showDevice?: boolean;
  showSignal?: boolean;
}) {
  return (
    <div className="table-scroll">
      <table className="table compact" aria-label="Uplinks">
        <thead>
          <tr>
            <th scope="col">Received</th>
            {showDevice && <th scope="col">Device</th>}
            <th scope="col">fPort</th>
            <th scope="col">fCnt</th>
            <th scope="col">Payload (hex)</th>
            <th scope="col">Decoded</th>
            {showSignal && <th scope="col">Signal</th>}
            <th scope="col">Delivery</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const doc = row.document;
            const hex = payloadHex(doc.payload);
            const decoded = decodedText(doc.decoded);
            const signal = signalText(doc);
            return (
              <tr key={row.id} data-uplink={row.id} className={row.arrived ? 'arrived' : undefined}>
                <td className="nowrap">{formatDateTime(doc.receivedAt)}</td>
                {showDevice && (
                  <td>
                    {doc.device.id ? (
                      <Link to={`/applications/${applicationId}/devices/${doc.device.id}`}>
                        {deviceNames[doc.device.id] ?? doc.device.remoteId}
                      </Link>
                    ) : (
                      <span title="Not (yet) a device of this application">
                        {doc.device.remoteId}
                      </span>
                    )}
                    {doc.device.devEui && (
                      <div className="muted small-text">{doc.device.devEui}</div>
                    )}
                  </td>
                )}
                <td>{doc.fPort ?? '—'}</td>
                <td>{doc.fCnt ?? '—'}</td>
                <td>
                  {hex ? (
                    <code title={`base64 ${doc.payload ?? ''}`}>{hex}</code>
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
                <td className="small-text">{decoded ?? <span className="muted">—</span>}</td>
                {showSignal && (
                  <td className="small-text">{signal ?? <span className="muted">—</span>}</td>
                )}
                <td>
                  <DeliveryBadge row={row} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
