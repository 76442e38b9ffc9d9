/**
 * The demo's uplinks, end to end: the simulated devices send them all the time (as real ones
 * do), and a stand-in for the application vendor's server — the reporting URL a demo user
 * gives an application — prints each one LPWAN Server delivers, so that the whole path
 * (TTN → LPWAN Server → vendor) can be watched in the demo's terminal.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts the simulator's traffic generator (its `POST /_sim/uplinks`) for each application:
 * `perSecond` uplinks, round-robin over its devices, for days. Nobody receives them until LPWAN
 * Server subscribes: TTN publishes at QoS 0.
 */
export async function startDemoTraffic(
  accountUrl: string,
  appIds: readonly string[],
  perSecond: number,
): Promise<void> {
  for (const appId of appIds) {
    const res = await fetch(`${accountUrl}/_sim/uplinks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appId, count: 1_000_000, perSecond }),
    });
    if (!res.ok)
      throw new Error(`starting the traffic of ${appId}: ${res.status} ${await res.text()}`);
  }
}

/** The vendor's server: every delivery answered 200 and printed. */
export interface DemoEndpoint {
  /** Where deliveries go: `http://127.0.0.1:<port>/uplinks`. */
  url: string;
  close(): Promise<void>;
}

/** What a delivery line says: the uplink as the normalized document carries it. */
export function describeDelivery(body: string, signed: boolean): string {
  let document: {
    receivedAt?: string;
    device?: { remoteId?: string; devEui?: string | null };
    fCnt?: number | null;
    fPort?: number | null;
    decoded?: Record<string, unknown> | null;
    payload?: string | null;
  };
  try {
    document = JSON.parse(body) as typeof document;
  } catch {
    return 'delivery whose body is not JSON';
  }
  const device = document.device?.remoteId ?? 'unknown device';
  const fields =
    document.decoded != null ? JSON.stringify(document.decoded) : `payload ${document.payload}`;
  return (
    `uplink from ${device} (${document.device?.devEui ?? 'no DevEUI'}), fCnt ${document.fCnt}, ` +
    `fPort ${document.fPort}: ${fields} — ${signed ? 'signed' : 'not signed'}`
  );
}

export async function startDemoEndpoint(
  port: number,
  print: (line: string) => void,
): Promise<DemoEndpoint> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const signed = req.headers['x-lpwan-signature'] !== undefined;
      print(describeDelivery(Buffer.concat(chunks).toString('utf8'), signed));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/uplinks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
