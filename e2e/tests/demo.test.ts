// The demo's uplinks (`npm run demo`, scripts/demo-uplinks.ts) against the real server and the
// simulator: the traffic the demo starts reaches an application imported from the network, and
// the demo's vendor endpoint prints each delivery — unsigned, then signed once the application
// has a reporting secret.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiSignIn,
  linkTtnNetworkWithTokens,
  startServer,
  startTtnSimulator,
  type ApiSession,
  type ServerHandle,
  type SimulatorHandle,
} from '../harness/index.js';
import {
  startDemoEndpoint,
  startDemoTraffic,
  type DemoEndpoint,
} from '../../scripts/demo-uplinks.js';

let sim: SimulatorHandle;
let server: ServerHandle;
let api: ApiSession;
let endpoint: DemoEndpoint;
const printed: string[] = [];

async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await api.request(method, path, body);
  if (res.status >= 400)
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as T;
}

beforeAll(async () => {
  sim = await startTtnSimulator();
  server = await startServer();
  endpoint = await startDemoEndpoint(0, (line) => printed.push(line));
  api = await apiSignIn(server);

  // A TTN account with an application of three devices, linked to a network of the server with
  // tokens from the password grant (the sign-in itself is the browser tests' subject).
  const { networkId, account } = await linkTtnNetworkWithTokens(sim, server, api, 'TTN');
  // Generated devices device-0001…0003 (activated OTAA), registered on the handler.
  await sim.control('POST', '/applications', {
    owner: account.user.username,
    id: 'demo-weather',
    name: 'Weather',
    devices: 3,
  });
  // Imported as the demo's step 5 does it.
  const { jobId } = await call<{ jobId: string }>('POST', `/api/networks/${networkId}/pull`);
  await waitFor(async () => {
    const job = await call<{ state: string }>('GET', `/api/jobs/${jobId}`);
    return job.state === 'done' ? job : undefined;
  }, 'the import');
});

afterAll(async () => {
  await endpoint?.close();
  await server?.stop();
  await sim?.stop();
});

describe('the demo', () => {
  test('its vendor endpoint prints the uplinks of the demo traffic that the server delivers', async () => {
    const { items } = await call<{ items: { id: string; name: string }[] }>(
      'GET',
      '/api/applications',
    );
    const app = items.find((a) => a.name === 'Weather')!;
    await waitFor(async () => {
      const status = await call<{ subscriptions: { state: string }[] }>(
        'GET',
        `/api/applications/${app.id}/delivery`,
      );
      return status.subscriptions[0]?.state === 'subscribed' ? true : undefined;
    }, 'the subscription');
    await call('PATCH', `/api/applications/${app.id}`, { reportingUrl: endpoint.url });

    await startDemoTraffic(sim.accountUrl, ['demo-weather'], 20);
    try {
      const line =
        /^uplink from device-000[1-3] \([0-9A-F]{16}\), fCnt \d+, fPort 1: \{"temperature":-?[\d.]+,"humidity":\d+\} — (not signed|signed)$/;
      await waitFor(() => (printed.length >= 3 ? true : undefined), 'three deliveries');
      expect(printed.slice(0, 3)).toEqual([
        expect.stringMatching(line),
        expect.stringMatching(line),
        expect.stringMatching(line),
      ]);
      expect(printed[0]).toMatch(/— not signed$/);

      // With a reporting secret, what follows is signed.
      await call('POST', `/api/applications/${app.id}/reporting-secret`);
      const from = printed.length;
      await waitFor(
        () => (printed.slice(from + 5).some((l) => l.endsWith('— signed')) ? true : undefined),
        'a signed delivery',
      );
    } finally {
      await sim.control('DELETE', '/uplinks');
    }
  });
});
