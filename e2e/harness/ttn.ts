import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { passwordGrant } from '../../server/test/harness/password-grant.js';
import { signInAsAdmin, type ApiSession } from './portal.js';
import type { ServerHandle } from './server.js';
import type { SimClient, SimUser, SimulatorHandle } from './simulator.js';

export interface TtnAccount {
  user: SimUser;
  client: SimClient;
}

/**
 * Registers a fresh TTN user and an OAuth client (as `ttnctl clients request` would) whose
 * redirect URI is the server's portal callback. Names are unique per call.
 */
export async function registerTtnAccount(
  sim: SimulatorHandle,
  server: ServerHandle,
  overrides: { user?: Partial<SimUser>; client?: Partial<SimClient> } = {},
): Promise<TtnAccount> {
  const tag = randomBytes(3).toString('hex');
  const user: SimUser = {
    username: `owner-${tag}`,
    password: `pw-${randomBytes(9).toString('base64url')}`,
    email: `owner-${tag}@example.com`,
    ...overrides.user,
  };
  const client: SimClient = {
    id: `lpwan-${tag}`,
    secret: randomBytes(18).toString('base64url'),
    name: 'LPWAN Server',
    redirectUris: [server.callbackUrl],
    grants: ['authorization_code', 'refresh_token'],
    scope: ['profile', 'apps', 'components', 'gateways'],
    ...overrides.client,
  };
  await sim.createUser(user);
  await sim.createClient(client);
  return { user, client };
}

/** Fills the Create Network form for The Things Network, as an owner would. */
export async function fillTtnNetworkForm(
  page: Page,
  sim: SimulatorHandle,
  values: { name: string; clientId: string; clientSecret: string },
): Promise<void> {
  await page.getByLabel('Protocol').selectOption({ label: 'The Things Network' });
  await page.getByLabel('Name', { exact: true }).fill(values.name);
  await page.getByLabel('TTN Client ID').fill(values.clientId);
  await page.getByLabel('TTN Client Secret').fill(values.clientSecret);
  await fillIfPresent(page, 'accountServerUrl', sim.accountUrl);
  await fillIfPresent(page, 'handlerUrl', sim.handlerUrl);
  await fillIfPresent(page, 'mqttUrl', sim.mqttUrl);
}

async function fillIfPresent(page: Page, fieldName: string, value: string) {
  const input = page.locator(`input[name="${fieldName}"]`);
  if ((await input.count()) > 0) await input.fill(value);
}

/** Logs in on the simulator's TTN login page. */
export async function ttnLogIn(page: Page, user: SimUser): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/**
 * A linked TTN network made the way an owner makes it in the portal: a fresh TTN account,
 * Create Network, sign in at TTN, Allow, Done. Leaves the page signed in as admin on the
 * networks list. For tests that need a linked network as their starting point; the flow's own
 * tests walk it step by step.
 */
export async function linkTtnNetworkInPortal(
  page: Page,
  sim: SimulatorHandle,
  server: ServerHandle,
  name: string,
): Promise<TtnAccount> {
  const account = await registerTtnAccount(sim, server);
  await signInAsAdmin(page, server);
  await page.getByRole('link', { name: 'Create Network' }).click();
  await fillTtnNetworkForm(page, sim, {
    name,
    clientId: account.client.id,
    clientSecret: account.client.secret,
  });
  await page.getByRole('button', { name: 'Sign Into Your Things Account' }).click();
  await page.waitForURL(`${sim.accountUrl}/users/authorize?**`);
  await ttnLogIn(page, account.user);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.waitForURL('**/networks');
  return account;
}

/**
 * A linked TTN network made without a browser: a fresh TTN account whose client may use the
 * password grant, and the tokens it grants given to the server (`PUT /api/networks/{id}/tokens`).
 * For tests and benchmarks of what comes after the sign-in, which the browser tests walk.
 */
export async function linkTtnNetworkWithTokens(
  sim: SimulatorHandle,
  server: ServerHandle,
  api: ApiSession,
  name: string,
): Promise<{ networkId: string; account: TtnAccount; accessToken: string }> {
  const account = await registerTtnAccount(sim, server, {
    client: { grants: ['password', 'refresh_token'] },
  });
  const { client, user } = account;
  const tokens = await passwordGrant(sim.accountUrl, client, user);
  const created = await api.request<{ id: string }>('POST', '/api/networks', {
    name,
    protocolId: 'ttn-v2',
    settings: {
      clientId: client.id,
      clientSecret: client.secret,
      accountServerUrl: sim.accountUrl,
      handlerUrl: sim.handlerUrl,
      mqttUrl: sim.mqttUrl,
    },
  });
  if (created.status !== 201) throw new Error(`create network: ${created.status}`);
  const linked = await api.request('PUT', `/api/networks/${created.body.id}/tokens`, {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_in: tokens.expires_in,
  });
  if (linked.status !== 200) throw new Error(`store tokens: ${linked.status}`);
  return { networkId: created.body.id, account, accessToken: tokens.access_token };
}
