// The portal's own pages against the real server: sign-in and sign-out, the networks list,
// and the Create Network form as the server describes the ttn-v2 protocol.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiSignIn,
  screenshot,
  signIn,
  signInAsAdmin,
  startStack,
  type ApiSession,
  type Stack,
} from '../harness/index.js';

interface Field {
  name: string;
  label: string;
  type: string;
  required: boolean;
  secret: boolean;
  placeholder?: string;
  help?: string;
  default?: string;
}

let stack: Stack;
let admin: ApiSession;

beforeAll(async () => {
  stack = await startStack();
  admin = await apiSignIn(stack.server);
});
afterAll(async () => {
  await stack?.stop();
});

describe('sign-in', () => {
  test('a wrong password is refused in plain words; the right one opens the networks page', async () => {
    const page = await stack.newPage();
    await page.goto('/networks');
    await page.waitForURL('**/login?next=%2Fnetworks');
    await screenshot(page, 'login');

    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('The username or password is not correct.');
    await screenshot(page, 'login-error');

    await page.getByLabel('Password').fill(stack.server.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/networks');
    await page.getByRole('heading', { name: 'Networks' }).waitFor();
  });

  test('signing out ends the session: the portal goes back to sign-in and stays there', async () => {
    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/login');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // The cookie no longer opens anything, in the portal or the API.
    await page.goto('/networks');
    await page.waitForURL('**/login?next=%2Fnetworks');
    const me = await page.request.get('/api/users/me');
    expect(me.status()).toBe(401);
  });
});

describe('applications', () => {
  test('with no network yet, importing says to create one first and links there', async () => {
    const { body } = await admin.request<{ total: number }>('GET', '/api/networks');
    expect(body.total).toBe(0); // runs before the tests below create networks
    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.goto('/applications');
    const card = page.getByLabel('Import from a network');
    await card.getByRole('link', { name: 'Create a network first' }).click();
    await page.waitForURL('**/networks/new');
  });
});

describe('networks', () => {
  test('the list shows each network with its protocol, status badge and linked account', async () => {
    const created = await admin.request<{ id: string }>('POST', '/api/networks', {
      name: 'Farm sensors',
      protocolId: 'ttn-v2',
      settings: { clientId: 'farm-client', clientSecret: 'farm-secret' },
    });
    expect(created.status).toBe(201);

    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    const row = page.getByRole('row').filter({ hasText: 'Farm sensors' });
    await row.waitFor();
    expect(await row.getByRole('cell').allTextContents()).toEqual([
      'Farm sensors',
      'The Things Network',
      'Pending authorization',
      '—',
      expect.any(String),
    ]);
    await page.getByRole('link', { name: 'Create Network' }).waitFor();
    await screenshot(page, 'networks');

    await row.getByRole('link', { name: 'Farm sensors' }).click();
    await page.waitForURL(`**/networks/${created.body.id}`);
    await page.getByRole('heading', { name: 'Farm sensors' }).waitFor();
    // Never authorized: the button finishes creating it, it does not "re-authorize".
    await page.getByRole('button', { name: 'Sign in to The Things Network' }).waitFor();
    expect(await page.getByRole('button', { name: 'Re-authorize' }).count()).toBe(0);
    // The secret is never shown; only that it is set.
    expect(await page.content()).not.toContain('farm-secret');
    await screenshot(page, 'network-pending');
  });
});

describe('members', () => {
  test('a member reads the networks but is offered none of the admin-only controls', async () => {
    const created = await admin.request<{ id: string }>('POST', '/api/networks', {
      name: 'Members view network',
      protocolId: 'ttn-v2',
      settings: { clientId: 'members-client', clientSecret: 'members-secret' },
    });
    expect(created.status).toBe(201);
    const member = { username: 'member-mia', password: 'member-password-1' };
    const user = await admin.request('POST', '/api/users', { ...member, role: 'member' });
    expect(user.status).toBe(201);

    const page = await stack.newPage();
    await signIn(page, member.username, member.password);
    await page.getByRole('link', { name: 'Members view network' }).waitFor();
    expect(await page.getByRole('link', { name: 'Create Network' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Members view network' }).click();
    await page.getByRole('heading', { name: 'Members view network' }).waitFor();
    // The settings are shown with their labels once the protocol's fields have loaded.
    await page.locator('dt', { hasText: 'TTN Client ID' }).waitFor();
    await page.getByText('An organization admin signs in to finish creating it.').waitFor();
    for (const name of [
      'Sign in to The Things Network',
      'Re-authorize',
      'Edit settings',
      'Delete network',
    ]) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    await screenshot(page, 'network-member');

    // Typing the address of the form does not offer it either.
    await page.goto('/networks/new');
    await page.getByText('Only an organization admin can create networks.').waitFor();
    expect(
      await page
        .getByRole('button')
        .filter({ hasText: /Sign In/i })
        .count(),
    ).toBe(0);
  });
});

describe('narrow windows', () => {
  test('at 390 px no page is wider than the screen', async () => {
    const created = await admin.request<{ id: string }>('POST', '/api/networks', {
      name: 'Pocket network',
      protocolId: 'ttn-v2',
      settings: {
        clientId: 'a-rather-long-client-id-for-a-pocket-sized-window',
        clientSecret: 'pocket-secret',
        handlerUrl: 'http://handler.with-a-very-long-host-name.example.org:8084',
      },
    });
    expect(created.status).toBe(201);

    const page = await stack.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await signInAsAdmin(page, stack.server);
    // Each page with the text that says it has loaded.
    const pages: [path: string, loaded: string, shot: string][] = [
      ['/networks', 'Pocket network', 'networks-narrow'],
      [`/networks/${created.body.id}`, 'TTN Handler URL', 'network-narrow'],
      ['/networks/new', 'Protocol', 'create-network-narrow'],
      ['/applications', 'No applications yet.', 'applications-narrow'],
    ];
    for (const [path, loaded, shot] of pages) {
      await page.goto(path);
      await page.getByText(loaded, { exact: true }).first().waitFor();
      await screenshot(page, shot);
      const width = await page.locator('html').evaluate((html) => html.scrollWidth);
      expect(width, path).toBeLessThanOrEqual(390);
    }
  });
});

describe('delete', () => {
  test('a network is deleted after a confirmation and leaves the list', async () => {
    const created = await admin.request<{ id: string }>('POST', '/api/networks', {
      name: 'Short-lived network',
      protocolId: 'ttn-v2',
      settings: { clientId: 'short-client', clientSecret: 'short-secret' },
    });
    expect(created.status).toBe(201);

    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.goto(`/networks/${created.body.id}`);
    await page.getByRole('button', { name: 'Delete network' }).click();
    await page.getByText('No application is linked to this network.').waitFor();
    await page.getByRole('button', { name: 'Yes, delete Short-lived network' }).click();
    await page.waitForURL('**/networks');
    await page.locator('table, .empty').first().waitFor(); // the list has loaded
    expect(await page.getByRole('link', { name: 'Short-lived network' }).count()).toBe(0);

    const gone = await admin.request('GET', `/api/networks/${created.body.id}`);
    expect(gone.status).toBe(404);
  });
});

describe('create network', () => {
  test('the form renders the ttn-v2 fields exactly as the server describes them', async () => {
    const { body } = await admin.request<{ fields: Field[] }>(
      'GET',
      '/api/network-protocols/ttn-v2/fields',
    );
    const labels = body.fields.map((f) => f.label);
    expect(labels).toEqual(expect.arrayContaining(['TTN Client ID', 'TTN Client Secret']));

    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.getByRole('link', { name: 'Create Network' }).click();
    await page.waitForURL('**/networks/new');
    await page.getByLabel('Protocol').selectOption({ label: 'The Things Network' });
    await page.getByLabel('Name', { exact: true }).waitFor();

    for (const field of body.fields) {
      const input = page.getByLabel(field.label);
      await input.waitFor();
      expect(await input.getAttribute('name')).toBe(field.name);
      expect(await input.getAttribute('type')).toBe(
        field.secret || field.type === 'password'
          ? 'password'
          : field.type === 'url'
            ? 'url'
            : 'text',
      );
      expect(await input.inputValue()).toBe(field.default ?? '');
      if (field.placeholder)
        expect(await input.getAttribute('placeholder')).toBe(field.placeholder);
      if (field.help) await page.getByText(field.help, { exact: true }).waitFor();
    }
    // The callback URL the owner registers at TTN comes from the server's PUBLIC_URL.
    expect(await page.getByTestId('callback-url').textContent()).toBe(stack.server.callbackUrl);
    await page.getByRole('button', { name: 'Sign Into Your Things Account' }).waitFor();
    await screenshot(page, 'create-network');
  });

  test("the server's validation messages appear next to their fields and nothing is saved", async () => {
    const page = await stack.newPage();
    await signInAsAdmin(page, stack.server);
    await page.goto('/networks/new');
    await page.getByLabel('Protocol').selectOption({ label: 'The Things Network' });
    await page.getByLabel('Name', { exact: true }).fill('Missing client');
    // TTN Client ID and Secret left empty.
    const before = await admin.request<{ total: number }>('GET', '/api/networks');

    await page.getByRole('button', { name: 'Sign Into Your Things Account' }).click();
    await page.getByRole('alert').filter({ hasText: 'Some fields need attention.' }).waitFor();

    // Whatever the server said about clientId is shown under that field.
    const api = await admin.request<{ errors?: { field: string; message: string }[] }>(
      'POST',
      '/api/networks',
      { name: 'Missing client', protocolId: 'ttn-v2', settings: {} },
    );
    expect(api.status).toBe(400);
    const message = api.body.errors?.find((e) => /clientId$/.test(e.field))?.message;
    expect(message).toBeTruthy();
    const shown = page.locator('#setting-clientId-error');
    expect(await shown.textContent()).toContain(message);
    expect(await page.getByLabel('TTN Client ID').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'create-network-invalid');

    const after = await admin.request<{ total: number }>('GET', '/api/networks');
    expect(after.body.total).toBe(before.body.total);
    expect(page.url()).toMatch(/\/networks\/new$/);
  });
});
