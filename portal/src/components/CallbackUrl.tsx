import { useState } from 'react';

/**
 * The redirect URI the owner must register for their OAuth client at the network. It comes
 * from the server's configuration (PUBLIC_URL), never from the browser's address.
 */
export function CallbackUrl({
  url,
  protocolId,
  serverClientId,
}: {
  url: string;
  protocolId: string;
  /** The deployment-wide client, when there is one: registering a client is then optional. */
  serverClientId?: string;
}) {
  const [copied, setCopied] = useState(false);
  const canCopy = typeof navigator !== 'undefined' && !!navigator.clipboard;

  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  }

  return (
    <div className="callout">
      <p>
        <strong>Callback URL.</strong>{' '}
        {serverClientId
          ? `Only if you use your own OAuth client instead of ${serverClientId}: register exactly this redirect URI for it:`
          : 'Register exactly this redirect URI for your OAuth client:'}
      </p>
      <p className="copy-row">
        <code data-testid="callback-url">{url}</code>
        {canCopy && (
          <button type="button" className="secondary small" onClick={copy}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        )}
      </p>
      {protocolId === 'ttn-v2' && (
        <details>
          <summary>How to register a client with ttnctl</summary>
          <pre>
            {`ttnctl clients request lpwan-server "LPWAN Server" \\
  --uri ${url} \\
  --scope profile,apps,gateways,components \\
  --grants authorization_code,refresh_token`}
          </pre>
          <p className="help">
            TTN shows the client secret once the client is accepted. Enter the client name as the
            TTN Client ID.
          </p>
        </details>
      )}
    </div>
  );
}
