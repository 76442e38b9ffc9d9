import { useEffect, useRef, useState } from 'react';
import { ApiError, api, unwrap } from '../api/client';
import { messageFor } from '../errors';
import { formatDateTime, relativeTime } from '../format';
import { type DeliveryStatusView, type TestSendResult } from './UplinkTypes';

/** How often the status is read again while the page is open. */
const REFRESH_MS = 3000;

const endpointLabels: Record<DeliveryStatusView['endpoint']['state'], string> = {
  ok: 'Delivering',
  failing: 'Failing',
  unknown: 'No deliveries yet',
};
const endpointClasses: Record<DeliveryStatusView['endpoint']['state'], string> = {
  ok: 'badge-authorized',
  failing: 'badge-error',
  unknown: 'badge-neutral',
};
const subscriptionLabels: Record<DeliveryStatusView['subscriptions'][number]['state'], string> = {
  connecting: 'Connecting',
  subscribed: 'Subscribed',
  reconnecting: 'Reconnecting',
  refused: 'Refused',
};
const subscriptionClasses: Record<DeliveryStatusView['subscriptions'][number]['state'], string> = {
  connecting: 'badge-pending_authorization',
  subscribed: 'badge-authorized',
  reconnecting: 'badge-pending_authorization',
  refused: 'badge-error',
};

/**
 * Delivery to the application's reporting URL (`GET /api/applications/{id}/delivery`, read
 * again every few seconds): last success, last error, backlog, dead letters, the network
 * subscriptions; for organization admins redelivery of dead letters, a test send and the
 * reporting secret.
 */
export function DeliveryStatus({
  applicationId,
  isAdmin,
  networkName,
  onStatus,
}: {
  applicationId: string;
  isAdmin: boolean;
  /** A network's name by id, when the page knows it. */
  networkName?: (id: string) => string;
  /** Told every status read. */
  onStatus?: (status: DeliveryStatusView) => void;
}) {
  const [status, setStatus] = useState<DeliveryStatusView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const reload = () => setGeneration((g) => g + 1);
  const statusListener = useRef(onStatus);
  useEffect(() => {
    statusListener.current = onStatus;
  });

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const answer = await unwrap(
          api.GET('/api/applications/{id}/delivery', { params: { path: { id: applicationId } } }),
        );
        if (!live) return;
        setStatus(answer);
        setLoadError(null);
        statusListener.current?.(answer);
      } catch (e) {
        if (!live) return;
        setLoadError(`The delivery status could not be loaded: ${messageFor(e)}`);
      }
      if (live) timer = setTimeout(() => void read(), REFRESH_MS);
    };
    void read();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [applicationId, generation]);

  return (
    <div className="card" aria-label="Delivery">
      <h2>Delivery</h2>
      {loadError && (
        <p role="alert" className="alert error">
          {loadError}
        </p>
      )}
      {status === null && !loadError && <p className="muted">Loading the delivery status…</p>}
      {status !== null && (
        <>
          <dl className="facts">
            <dt>Reporting URL</dt>
            <dd>
              {status.reportingUrl ? (
                <code>{status.reportingUrl}</code>
              ) : (
                <span>
                  None: uplinks are kept but not delivered. Set one in the application’s settings.
                </span>
              )}
            </dd>
            <dt>Endpoint</dt>
            <dd>
              <span className={`badge ${endpointClasses[status.endpoint.state]}`}>
                {endpointLabels[status.endpoint.state]}
              </span>
              {status.endpoint.consecutiveFailures > 0 && (
                <span className="muted">
                  {' '}
                  {status.endpoint.consecutiveFailures === 1
                    ? '1 failure in a row'
                    : `${status.endpoint.consecutiveFailures} failures in a row`}
                </span>
              )}
            </dd>
            <dt>Last success</dt>
            <dd>{formatDateTime(status.endpoint.lastSuccessAt)}</dd>
            <dt>Last error</dt>
            <dd>
              {status.endpoint.lastError ? (
                <>
                  <span className="uplink-error">{status.endpoint.lastError}</span>
                  <div className="muted small-text">
                    {formatDateTime(status.endpoint.lastErrorAt)}
                  </div>
                </>
              ) : (
                '—'
              )}
            </dd>
            {status.endpoint.retryAt && (
              <>
                <dt>Next attempt</dt>
                <dd>
                  {formatDateTime(status.endpoint.retryAt)}{' '}
                  <span className="muted">({relativeTime(status.endpoint.retryAt)})</span>
                </dd>
              </>
            )}
            <dt>Signature</dt>
            <dd>
              {status.secretSet
                ? 'Signed (X-LPWAN-Signature)'
                : 'Not signed: no reporting secret is set'}
            </dd>
          </dl>
          <ul className="counts" aria-label="Deliveries">
            <li data-count="delivered">
              <strong>{status.delivered}</strong> delivered
            </li>
            <li data-count="backlog">
              <strong>{status.backlog}</strong> in backlog
            </li>
            <li data-count="dead" className={status.deadLetters > 0 ? 'count-bad' : undefined}>
              <strong>{status.deadLetters}</strong>{' '}
              {status.deadLetters === 1 ? 'dead letter' : 'dead letters'}
            </li>
          </ul>
          <Subscriptions status={status} networkName={networkName} />
          {isAdmin && <DeliveryActions status={status} onChanged={reload} />}
        </>
      )}
    </div>
  );
}

function Subscriptions({
  status,
  networkName,
}: {
  status: DeliveryStatusView;
  networkName?: (id: string) => string;
}) {
  if (status.subscriptions.length === 0) {
    return (
      <p className="muted small-text">
        No network subscription is active (the application is not linked yet, or a server is taking
        it over).
      </p>
    );
  }
  return (
    <ul className="subscriptions" aria-label="Subscriptions">
      {status.subscriptions.map((s) => (
        <li key={s.networkId}>
          <span className={`badge ${subscriptionClasses[s.state]}`}>
            {subscriptionLabels[s.state]}
          </span>{' '}
          {networkName?.(s.networkId) ?? 'Network'}{' '}
          <span className="muted small-text">since {formatDateTime(s.since)}</span>
          {s.lastError && <div className="small-text uplink-error">{s.lastError}</div>}
        </li>
      ))}
    </ul>
  );
}

function DeliveryActions({ status, onChanged }: { status: DeliveryStatusView; onChanged(): void }) {
  const applicationId = status.applicationId;
  const [busy, setBusy] = useState<'redeliver' | 'test' | 'secret' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [test, setTest] = useState<TestSendResult | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  function start(what: 'redeliver' | 'test' | 'secret') {
    setBusy(what);
    setError(null);
    setNotice(null);
    if (what === 'test') setTest(null);
  }

  async function redeliver() {
    start('redeliver');
    try {
      const { requeued } = await unwrap(
        api.POST('/api/applications/{id}/delivery/redeliver', {
          params: { path: { id: applicationId } },
        }),
      );
      setNotice(
        requeued === 0
          ? 'There were no dead letters to redeliver.'
          : requeued === 1
            ? '1 dead letter is queued for delivery again.'
            : `${requeued} dead letters are queued for delivery again.`,
      );
      onChanged();
    } catch (e) {
      setError(`Redelivery failed: ${messageFor(e)}`);
    }
    setBusy(null);
  }

  async function sendTest() {
    start('test');
    try {
      setTest(
        await unwrap(
          api.POST('/api/applications/{id}/delivery/test', {
            params: { path: { id: applicationId } },
          }),
        ),
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === 'no_reporting_url')
        setError('Set a reporting URL first: there is nowhere to send the test uplink.');
      else setError(`The test uplink could not be sent: ${messageFor(e)}`);
    }
    setBusy(null);
  }

  async function rotateSecret() {
    if (
      status.secretSet &&
      !window.confirm(
        'Replace the reporting secret? Deliveries are signed with the new one at once; the old one stops working.',
      )
    )
      return;
    start('secret');
    setSecret(null);
    setCopied(false);
    try {
      const answer = await unwrap(
        api.POST('/api/applications/{id}/reporting-secret', {
          params: { path: { id: applicationId } },
        }),
      );
      setSecret(answer.secret);
      onChanged();
    } catch (e) {
      setError(`The reporting secret could not be set: ${messageFor(e)}`);
    }
    setBusy(null);
  }

  async function copySecret() {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setError('Copying failed: select the secret and copy it by hand.');
    }
  }

  const canCopy = typeof navigator !== 'undefined' && !!navigator.clipboard;
  return (
    <div className="delivery-actions">
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className="muted">
          {notice}
        </p>
      )}
      {test && (
        <div
          role="status"
          className={`test-result ${test.delivered ? 'test-ok' : 'test-failed'}`}
          aria-label="Test result"
        >
          {test.delivered ? (
            <p>
              <strong>Test uplink delivered.</strong> The endpoint answered {test.status} in{' '}
              {test.durationMs} ms.
            </p>
          ) : (
            <p>
              <strong>Test uplink not delivered.</strong>{' '}
              {test.error ??
                (test.status !== null
                  ? `The endpoint answered ${test.status}.`
                  : 'The endpoint did not answer.')}{' '}
              <span className="muted">({test.durationMs} ms)</span>
            </p>
          )}
          <p className="muted small-text">
            Message id <code>{test.messageId}</code>, marked <code>"test": true</code>
          </p>
        </div>
      )}
      {secret && (
        <div className="callout secret-once" aria-label="New reporting secret">
          <p>
            <strong>Store this secret now.</strong> It is shown only this once; deliveries are
            signed with it from now on (HMAC-SHA256 in X-LPWAN-Signature).
          </p>
          <p className="copy-row">
            <code data-testid="reporting-secret">{secret}</code>
            {canCopy && (
              <button type="button" className="secondary small" onClick={copySecret}>
                {copied ? 'Copied' : 'Copy'}
              </button>
            )}
            <button type="button" className="secondary small" onClick={() => setSecret(null)}>
              I have stored it
            </button>
          </p>
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          className="secondary"
          onClick={sendTest}
          disabled={busy !== null || !status.reportingUrl}
        >
          {busy === 'test' ? 'Sending…' : 'Send test uplink'}
        </button>
        <button
          type="button"
          className="secondary"
          onClick={redeliver}
          disabled={busy !== null || status.deadLetters === 0}
        >
          {busy === 'redeliver' ? 'Requeueing…' : 'Redeliver dead letters'}
        </button>
        <button type="button" className="secondary" onClick={rotateSecret} disabled={busy !== null}>
          {status.secretSet ? 'Rotate reporting secret' : 'Set reporting secret'}
        </button>
      </div>
    </div>
  );
}
