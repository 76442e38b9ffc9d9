/**
 * `npm run demo`: the whole product offline. Starts the TTN simulator with its demo seed (a
 * TTN user, an approved OAuth client whose callback is this server's, two applications) and
 * its devices sending uplinks, LPWAN Server on the embedded default with a demo database of its
 * own, and a vendor endpoint that prints every uplink delivered to it; then prints what to open
 * and what to type. Ctrl+C stops them all.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulator } from '@lpwan/ttn-sim';
import { startDemoEndpoint, startDemoTraffic } from './demo-uplinks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 3000);
const publicUrl = `http://localhost:${port}`;
const adminPassword = process.env.LPWAN_ADMIN_PASSWORD ?? 'demo-admin-password';
const endpointPort = Number(process.env.DEMO_ENDPOINT_PORT ?? 3001);
/** Uplinks per second of each demo application, round-robin over its devices. */
const UPLINKS_PER_SECOND = 0.5;

// The demo seed registers http://localhost:3000/oauth/callback for its client.
if (port !== 3000)
  console.warn(
    'The demo TTN client expects the server on port 3000; sign-in will fail on another port.',
  );

const sim = await startSimulator({
  host: '127.0.0.1',
  accountPort: 8090,
  handlerPort: 8084,
  mqttPort: 1884,
  seed: fileURLToPath(new URL('../simulators/ttn/seeds/demo.json', import.meta.url)),
});

const endpoint = await startDemoEndpoint(endpointPort, (line) =>
  console.log(`[vendor endpoint] ${line}`),
);

const server = spawn(process.execPath, ['server/dist/main.js', 'serve'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: {
    ...process.env,
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    // A database of its own, so the demo never mixes with real data in ./data/lpwan.db.
    DATABASE_URL: process.env.DATABASE_URL ?? 'sqlite:data/demo/lpwan.db',
    LPWAN_ADMIN_PASSWORD: adminPassword,
  },
});

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  await endpoint.close();
  await sim.close();
  process.exit(code);
};
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));
server.once('exit', (code) => {
  if (!stopping) {
    console.error(`LPWAN Server stopped (exit code ${code}).`);
    void stop(code ?? 1);
  }
});

await waitForHealth(`http://127.0.0.1:${port}/api/health`);
await startDemoTraffic(sim.accountUrl, ['demo-weather', 'demo-parking'], UPLINKS_PER_SECOND);
console.log(`
──────────────── LPWAN Server demo ────────────────
1. Open ${publicUrl} and sign in as  admin / ${adminPassword}
   (the first start of the demo database set that password).
2. Networks → Create Network → Protocol "The Things Network", any name, and:
     TTN Client ID            lpwan-demo
     TTN Client Secret        lpwan-demo-secret
     TTN Account Server URL   ${sim.accountUrl}
     TTN Handler URL          ${sim.handlerUrl}
     TTN MQTT URL             ${sim.mqttUrl}
3. Press "Sign Into Your Things Account"; at the (simulated) TTN sign in as
     demo / demo-password
   and press Allow. Back in the portal you are connected as "demo": press Done.
4. Open the network: its TTN applications are listed live.
5. Applications → "Import from a network": choose the network and press Import. Both TTN
   applications arrive with their devices, and LPWAN Server subscribes to their uplinks.
6. Open "Weather stations": its devices' uplinks appear live under "Recent uplinks"
   (each demo application sends one every ${1 / UPLINKS_PER_SECOND} s).
7. In its Settings set the Reporting URL to
     ${endpoint.url}
   and Save: from then on every uplink is delivered there and printed below
   ("[vendor endpoint] …"), signed once you press "Set reporting secret".
Ctrl+C stops the server, the simulator and the vendor endpoint.
───────────────────────────────────────────────────
`);

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`LPWAN Server did not become healthy at ${url}`);
}
