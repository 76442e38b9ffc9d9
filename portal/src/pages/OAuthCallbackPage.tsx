import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { ApiError, api, unwrap } from '../api/client';
import type { Network } from '../api/types';
import { StatusBadge } from '../components/StatusBadge';
import { messageFor } from '../errors';
import { startAuthorization } from '../oauth';

type Outcome =
  | { ok: true; network: Network }
  | { ok: false; code: string; message: string; detail?: string; networkId?: string };

/**
 * A state is single use, so each one is posted at most once per page load, even when React
 * runs effects twice (StrictMode) or the component remounts: the promise is kept by state.
 */
const completions = new Map<string, Promise<Outcome>>();

function complete(body: {
  state: string;
  code?: string;
  error?: string;
  error_description?: string;
}) {
  let pending = completions.get(body.state);
  if (!pending) {
    pending = unwrap(api.POST('/api/oauth/callback', { body })).then(
      ({ network }): Outcome => ({ ok: true, network }),
      (e: unknown): Outcome => failure(e),
    );
    completions.set(body.state, pending);
  }
  return pending;
}

function failure(e: unknown): Outcome {
  const code = e instanceof ApiError ? e.code : 'unknown';
  const networkId = e instanceof ApiError ? e.networkId : undefined;
  const detail = e instanceof ApiError ? e.detail : undefined;
  return { ok: false, code, message: callbackMessage(e), detail, networkId };
}

/** What a person needs to read for each way signing in can fail. */
function callbackMessage(e: unknown): string {
  if (!(e instanceof ApiError)) return messageFor(e);
  switch (e.code) {
    case 'oauth_access_denied':
      return 'You denied access at The Things Network, so the network was not connected. To connect it, try again and choose Allow.';
    case 'oauth_state_invalid':
      return 'The sign-in link expired or was already used — start again.';
    case 'oauth_invalid_grant':
      return 'The Things Network did not accept the sign-in code: it expired or was already used. Start again.';
    case 'oauth_invalid_client':
      return 'The client ID or client secret was rejected by TTN. Check the TTN Client ID and TTN Client Secret of this network, and that the client is registered with this server’s callback URL.';
    case 'network_unreachable':
      return 'The Things Network account server could not be reached or had a problem. Try again in a moment.';
    default:
      return messageFor(e);
  }
}

export function OAuthCallbackPage() {
  const [params] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const remembered = (location.state as { outcome?: Outcome } | null)?.outcome;
  const state = params.get('state');
  const [outcome, setOutcome] = useState<Outcome | undefined>(remembered);

  useEffect(() => {
    if (remembered) return setOutcome(remembered);
    if (!state) {
      const error = params.get('error');
      setOutcome({
        ok: false,
        code: error ?? 'missing_state',
        message: error
          ? 'The Things Network sent you back without a sign-in. Start again from your network.'
          : 'This page finishes signing in at The Things Network; it was opened without a sign-in to finish.',
      });
      return;
    }
    let live = true;
    const body = {
      state,
      ...(params.get('code') ? { code: params.get('code') as string } : {}),
      ...(params.get('error') ? { error: params.get('error') as string } : {}),
      ...(params.get('error_description')
        ? { error_description: params.get('error_description') as string }
        : {}),
    };
    complete(body).then((result) => {
      if (!live) return;
      setOutcome(result);
      // Take code and state out of the address bar; a reload shows the outcome without re-posting.
      navigate('/oauth/callback', { replace: true, state: { outcome: result } });
    });
    return () => {
      live = false;
    };
  }, [state, params, remembered, navigate]);

  if (!outcome) {
    return (
      <section className="narrow card">
        <h1>Connecting…</h1>
        <p className="muted" role="status">
          Finishing the sign-in at The Things Network.
        </p>
      </section>
    );
  }
  if (outcome.ok) return <Connected network={outcome.network} />;
  return <Failed outcome={outcome} />;
}

function Connected({ network }: { network: Network }) {
  const navigate = useNavigate();
  return (
    <section className="narrow card">
      <h1>Connected as {network.linkedAccount?.username ?? 'your TTN account'}</h1>
      <p>
        The network <strong>{network.name}</strong> is linked to The Things Network account{' '}
        <strong>{network.linkedAccount?.username}</strong>
        {network.linkedAccount?.email ? ` (${network.linkedAccount.email})` : ''}.
      </p>
      <dl className="facts">
        <dt>Network</dt>
        <dd>{network.name}</dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={network.status} />
        </dd>
      </dl>
      <div className="actions">
        <button type="button" onClick={() => navigate('/networks')}>
          Done
        </button>
        <Link to={`/networks/${network.id}`} className="button secondary">
          View network
        </Link>
      </div>
    </section>
  );
}

function Failed({ outcome }: { outcome: Extract<Outcome, { ok: false }> }) {
  const [busy, setBusy] = useState(false);
  const [retryError, setRetryError] = useState<string | null>(null);
  const { networkId } = outcome;

  async function tryAgain() {
    if (!networkId) return;
    setBusy(true);
    setRetryError(null);
    try {
      await startAuthorization(networkId);
    } catch (e) {
      setRetryError(`Signing in could not start: ${messageFor(e)}`);
      setBusy(false);
    }
  }

  return (
    <section className="narrow card">
      <h1>The network was not connected</h1>
      <div role="alert" className="alert error">
        <p>{outcome.message}</p>
      </div>
      {retryError && (
        <p role="alert" className="alert error">
          {retryError}
        </p>
      )}
      <div className="actions">
        {networkId && (
          <button type="button" onClick={tryAgain} disabled={busy}>
            {busy ? 'Please wait…' : 'Try again'}
          </button>
        )}
        {networkId ? (
          <Link to={`/networks/${networkId}`} className="button secondary">
            View network
          </Link>
        ) : (
          <Link to="/networks" className="button secondary">
            Back to networks
          </Link>
        )}
      </div>
    </section>
  );
}
