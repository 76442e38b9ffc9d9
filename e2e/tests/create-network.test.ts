// The flow the product was designed from (issue 4), walked as a user would against the TTN
// simulator: Create Network → The Things Network → fields → "Sign Into Your Things Account"
// → TTN login and consent → back in the portal → "Connected as <username>" → Done. Then the
// ways it can go wrong, each ending with the message a user needs.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiSignIn,
  fillTtnNetworkForm,
  registerTtnAccount,
  screenshot,
  signInAsAdmin,
  startStack,
  ttnLogIn,
  type ApiSession,
  type Stack,
  type TtnAccount,
} from '../harness/index.js';

let stack: Stack;
let admin: ApiSession;

beforeAll(async () => {
  stack = await startStack();
  admin = await apiSignIn(stack.server);
});
afterAll(async () => {
  await stack?.stop();
});

/** Signs in to the portal, fills Create Network for TTN and presses the sign-in button. */
async function startCreateNetwork(
  page: Page,
  account: TtnAccount,
  values: { name: string; clientSecret?: string },
) {
  await signInAsAdmin(page, stack.server);
  await page.getByRole('link', { name: 'Create Network' }).click();
  await page.waitForURL('**/networks/new');
  await fillTtnNetworkForm(page, stack.sim, {
    name: values.name,
    clientId: account.client.id,
    clientSecret: values.clientSecret ?? account.client.secret,
  });
  await page.getByRole('button', { name: 'Sign Into Your Things Account' }).click();
  await page.waitForURL(`${stack.sim.accountUrl}/users/authorize?**`);
}

/** Logs in at the simulator's TTN page and answers the consent page. */
async function signInAtTtn(page: Page, account: TtnAccount, decision: 'Allow' | 'Deny') {
  await ttnLogIn(page, account.user);
  await page.getByRole('button', { name: decision }).click();
}

async function alertText(page: Page): Promise<string> {
  const alert = page.getByRole('alert').first();
  await alert.waitFor();
  return (await alert.textContent()) ?? '';
}

async function networkNamed(name: string) {
  const list = await admin.request<{ items: { id: string; name: string; status: string }[] }>(
    'GET',
    '/api/networks?limit=100',
  );
  const network = list.body.items.find((n) => n.name === name);
  if (!network) throw new Error(`no network named ${name}`);
  return network;
}

describe('Create Network by signing into a Things account', () => {
  test('the designed flow: sign in at TTN, allow, come back connected, Done, authorized', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    await stack.sim.createApplication({
      owner: account.user.username,
      id: 'greenhouse-app',
      name: 'Greenhouse',
    });
    const page = await stack.newPage();

    await startCreateNetwork(page, account, { name: 'Greenhouse network' });
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await screenshot(page, 'ttn-login');
    await ttnLogIn(page, account.user);
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await screenshot(page, 'ttn-consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL('**/oauth/callback**');
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect(await page.locator('main').textContent()).toContain('Greenhouse network');
    // code and state are gone from the address bar once used
    expect(page.url()).not.toContain('code=');
    await screenshot(page, 'oauth-connected');

    await page.getByRole('button', { name: 'Done' }).click();
    await page.waitForURL('**/networks');
    const row = page.getByRole('row').filter({ hasText: 'Greenhouse network' });
    await row.getByText('Authorized', { exact: true }).waitFor();
    await row.getByText(account.user.username, { exact: true }).waitFor();
    await screenshot(page, 'networks-authorized');

    // The link works: the network page lists the account's applications, live from TTN.
    await row.getByRole('link', { name: 'Greenhouse network' }).click();
    await page.getByRole('cell', { name: 'greenhouse-app' }).waitFor();
    await page.getByRole('cell', { name: 'Greenhouse', exact: true }).waitFor();
    expect(await page.content()).not.toContain(account.client.secret);
    await screenshot(page, 'network-authorized');

    // The code was exchanged by the server with the client's credentials, exactly once.
    const tokenCalls = await stack.sim.requests({ server: 'account', path: '/users/token' });
    expect(
      tokenCalls.filter(
        (r) => r.clientId === account.client.id && r.grantType === 'authorization_code',
      ),
    ).toHaveLength(1);
  });

  test('denying access at TTN says so, and the network can be tried again', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();

    await startCreateNetwork(page, account, { name: 'Denied network' });
    await signInAtTtn(page, account, 'Deny');

    await page.waitForURL('**/oauth/callback**');
    expect(await alertText(page)).toContain('You denied access at The Things Network');
    await screenshot(page, 'oauth-denied');
    expect((await networkNamed('Denied network')).status).not.toBe('authorized');

    // Trying again goes back to TTN (already logged in there), and this time the user allows.
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL(`${stack.sim.accountUrl}/users/authorize?**`);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect((await networkNamed('Denied network')).status).toBe('authorized');
  });

  test('a wrong client secret is named as the problem; fixing it and re-authorizing works', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();

    await startCreateNetwork(page, account, {
      name: 'Wrong secret network',
      clientSecret: 'not-the-secret',
    });
    await signInAtTtn(page, account, 'Allow');

    await page.waitForURL('**/oauth/callback**');
    expect(await alertText(page)).toContain('The client ID or client secret was rejected by TTN');
    await screenshot(page, 'oauth-invalid-client');
    const network = await networkNamed('Wrong secret network');
    expect(network.status).not.toBe('authorized');

    // The owner corrects the secret on the network page and signs in again.
    await page.goto(`/networks/${network.id}`);
    await page.getByRole('button', { name: 'Edit settings' }).click();
    await page.getByLabel('TTN Client Secret').fill(account.client.secret);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('button', { name: 'Edit settings' }).waitFor();
    await page.getByRole('button', { name: 'Re-authorize' }).click();
    await page.waitForURL('**/oauth/callback**');
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect((await networkNamed('Wrong secret network')).status).toBe('authorized');
  });

  test('a code that expired before it was exchanged asks the user to start again', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();
    await stack.sim.setSettings({ codeLifetimeSeconds: 1 });
    try {
      // Hold TTN's redirect back to the portal (the answer to "Allow") until the code expired.
      // Redirects are not routed on their own, so the consent answer itself is held.
      await page.route(
        (url) => url.pathname === '/users/authorize' && url.origin === stack.sim.accountUrl,
        async (route) => {
          if (route.request().method() !== 'POST') return route.fallback();
          const response = await route.fetch({ maxRedirects: 0 });
          await new Promise((r) => setTimeout(r, 2500));
          await route.fulfill({ response });
        },
      );
      await startCreateNetwork(page, account, { name: 'Slow network' });
      await signInAtTtn(page, account, 'Allow');
      await page.waitForURL('**/oauth/callback**');
      expect(await alertText(page)).toContain('it expired or was already used. Start again.');
      await screenshot(page, 'oauth-code-expired');
      expect((await networkNamed('Slow network')).status).not.toBe('authorized');
    } finally {
      await stack.sim.setSettings({ codeLifetimeSeconds: 300 });
    }
  });

  test('TTN failing during the exchange is reported as such, and trying again later works', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();
    await stack.sim.addFault({
      server: 'account',
      method: 'POST',
      path: '/users/token',
      status: 503,
    });
    try {
      await startCreateNetwork(page, account, { name: 'Outage network' });
      await signInAtTtn(page, account, 'Allow');
      await page.waitForURL('**/oauth/callback**');
      expect(await alertText(page)).toContain(
        'The Things Network account server could not be reached or had a problem.',
      );
      await screenshot(page, 'oauth-network-unreachable');
      expect((await networkNamed('Outage network')).status).not.toBe('authorized');
    } finally {
      await stack.sim.clearFaults();
    }
    // TTN is back: Try again goes through TTN (which remembers the consent) and connects.
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect((await networkNamed('Outage network')).status).toBe('authorized');
  });

  test('a replayed or forged state is refused: the sign-in link cannot be used twice', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();
    const callback = page.waitForRequest((r) => r.url().includes('/oauth/callback?'));

    await startCreateNetwork(page, account, { name: 'Replayed network' });
    await signInAtTtn(page, account, 'Allow');
    const callbackUrl = (await callback).url();
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();

    // The same redirect again (back button, a shared link, an attacker): refused.
    await page.goto(callbackUrl);
    expect(await alertText(page)).toContain(
      'The sign-in link expired or was already used — start again.',
    );
    await screenshot(page, 'oauth-state-replayed');

    // A state the server never issued: refused the same way.
    await page.goto('/oauth/callback?code=made-up-code&state=forged-state-value');
    expect(await alertText(page)).toContain(
      'The sign-in link expired or was already used — start again.',
    );
    // Neither touched the network that was connected.
    expect((await networkNamed('Replayed network')).status).toBe('authorized');
  });

  test('when TTN stops accepting the tokens, the network asks to be re-authorized, and that restores it', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    await stack.sim.createApplication({
      owner: account.user.username,
      id: 'orchard-app',
      name: 'Orchard',
    });
    const page = await stack.newPage();
    await startCreateNetwork(page, account, { name: 'Revoked network' });
    await signInAtTtn(page, account, 'Allow');
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();

    // At TTN the owner revokes LPWAN Server's access (access and refresh tokens).
    await stack.sim.revokeTokens(account.user.username);

    // The network page reads the applications through the token vault; the refresh is
    // refused, and the page shows why and offers to sign in again.
    await page.getByRole('link', { name: 'View network' }).click();
    await page.getByRole('heading', { name: 'Revoked network' }).waitFor();
    await page.locator('.page-head').getByText('Reauthorization required').waitFor();
    const reauthorize = page.getByRole('button', { name: 'Re-authorize' });
    await reauthorize.waitFor();
    // The refused token's expiry is not shown as if it still held.
    const expires = page
      .locator('dt', { hasText: 'Access token expires' })
      .locator('xpath=following-sibling::dd[1]');
    expect(await expires.textContent()).toBe('—');
    await screenshot(page, 'network-reauthorization-required');
    expect((await networkNamed('Revoked network')).status).toBe('reauthorization_required');

    // TTN still knows the browser and the consent, so it sends the user straight back.
    await reauthorize.click();
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect((await networkNamed('Revoked network')).status).toBe('authorized');
    await page.getByRole('link', { name: 'View network' }).click();
    await page.getByRole('cell', { name: 'orchard-app' }).waitFor();
  });

  test('if the portal session ended while the user was at TTN, signing in again finishes the link', async () => {
    const account = await registerTtnAccount(stack.sim, stack.server);
    const page = await stack.newPage();
    await startCreateNetwork(page, account, { name: 'Long lunch network' });

    // The portal's session cookie disappears (expired, or signed out in another tab).
    await page.context().clearCookies({ name: 'lpwan_session' });
    await signInAtTtn(page, account, 'Allow');

    // Back at the portal: sign in first, then the callback is finished, not lost.
    await page.waitForURL('**/login?next=*');
    await page.getByLabel('Username').fill(stack.server.adminUsername);
    await page.getByLabel('Password').fill(stack.server.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Connected as ${account.user.username}` }).waitFor();
    expect((await networkNamed('Long lunch network')).status).toBe('authorized');
  });
});
