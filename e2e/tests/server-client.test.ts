// A deployment-wide TTN client (issue 4, item 7): the operator registers one OAuth client for
// the whole LPWAN Server and configures it (TTN_CLIENT_ID / TTN_CLIENT_SECRET). Owners then
// create networks without a client of their own; the portal says whose client is used.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiSignIn,
  registerTtnAccount,
  screenshot,
  signInAsAdmin,
  startStack,
  ttnLogIn,
  type Stack,
} from '../harness/index.js';

const SERVER_CLIENT_ID = 'lpwan-deployment';
const SERVER_CLIENT_SECRET = randomBytes(18).toString('base64url');

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    // Registered at the simulator's account server, as an operator's would be at TTN's.
    serverEnv: (sim) => ({
      TTN_CLIENT_ID: SERVER_CLIENT_ID,
      TTN_CLIENT_SECRET: SERVER_CLIENT_SECRET,
      TTN_ACCOUNT_SERVER_URL: sim.accountUrl,
    }),
  });
  // The operator's client, registered at TTN with this server's callback URL.
  await stack.sim.createClient({
    id: SERVER_CLIENT_ID,
    secret: SERVER_CLIENT_SECRET,
    name: 'LPWAN Server (deployment)',
    redirectUris: [stack.server.callbackUrl],
    grants: ['authorization_code', 'refresh_token'],
    scope: ['profile', 'apps', 'components', 'gateways'],
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe("the server's own TTN client", () => {
  test('an owner creates a network without a client of their own and signs in with the server’s', async () => {
    // Only the owner's TTN user matters here; their own client goes unused.
    const { user } = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.getByRole('link', { name: 'Create Network' }).click();
    await page.getByLabel('Protocol').selectOption({ label: 'The Things Network' });

    await page
      .getByText(
        `This server's TTN client (${SERVER_CLIENT_ID}) will be used unless you enter your own. ` +
          `It signs in at ${stack.sim.accountUrl} only: for another account server, enter a client of your own.`,
      )
      .waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Deployment client network');
    await page.locator('input[name="accountServerUrl"]').fill(stack.sim.accountUrl);
    await page.locator('input[name="handlerUrl"]').fill(stack.sim.handlerUrl);
    await page.locator('input[name="mqttUrl"]').fill(stack.sim.mqttUrl);
    expect(await page.getByLabel('TTN Client ID').inputValue()).toBe('');
    await screenshot(page, 'create-network-server-client');

    await page.getByRole('button', { name: 'Sign Into Your Things Account' }).click();
    await page.waitForURL(`${stack.sim.accountUrl}/users/authorize?**`);
    expect(new URL(page.url()).searchParams.get('client_id')).toBe(SERVER_CLIENT_ID);
    await ttnLogIn(page, user);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: `Connected as ${user.username}` }).waitFor();

    // The exchange used the server's client; the network stores no client secret of its own.
    const exchanges = await stack.sim.requests({ server: 'account', path: '/users/token' });
    expect(exchanges.at(-1)).toMatchObject({
      clientId: SERVER_CLIENT_ID,
      grantType: 'authorization_code',
      status: 200,
    });
    const admin = await apiSignIn(stack.server);
    const list = await admin.request<{ items: { name: string; status: string }[] }>(
      'GET',
      '/api/networks',
    );
    expect(list.body.items.find((n) => n.name === 'Deployment client network')?.status).toBe(
      'authorized',
    );
    expect(JSON.stringify(list.body)).not.toContain(SERVER_CLIENT_SECRET);
  });
});
