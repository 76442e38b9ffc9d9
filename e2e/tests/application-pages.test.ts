// The application and device pages against the real server and the TTN simulator, for what a
// browser audit found: refused application forms said nothing, the links card hid its errors
// and buttons, saved keys stayed on screen and in the inputs, the device's networks card never
// updated, long names widened pages, the devices table forgot its page, and times had no
// seconds; and the network page, where a deletion the network refused had no trace.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import {
  apiSignIn,
  linkTtnNetworkWithTokens,
  screenshot,
  signInAsAdmin,
  startStack,
  type ApiSession,
  type Stack,
} from '../harness/index.js';

let stack: Stack;
let admin: ApiSession;
let networkId: string;
let page: Page;

/** A time with seconds (hh:mm:ss), in whatever locale the browser formats it. */
const WITH_SECONDS = /\d{1,2}:\d{2}:\d{2}/;

beforeAll(async () => {
  stack = await startStack();
  admin = await apiSignIn(stack.server);
  ({ networkId } = await linkTtnNetworkWithTokens(stack.sim, stack.server, admin, 'TTN Europe'));
  page = await stack.newPage();
  await signInAsAdmin(page, stack.server);
});
afterAll(async () => {
  await stack?.stop();
});

async function createApplication(name: string): Promise<string> {
  const created = await admin.request<{ id: string }>('POST', '/api/applications', { name });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function createDevice(applicationId: string, name: string, devEui: string) {
  const created = await admin.request<{ id: string }>(
    'POST',
    `/api/applications/${applicationId}/devices`,
    {
      name,
      devEui,
      activation: 'otaa',
      joinEui: '70B3D57ED0000000',
      appKey: '00112233445566778899AABBCCDDEEFF',
    },
  );
  expect(created.status).toBe(201);
  return created.body.id;
}

async function link(applicationId: string): Promise<void> {
  const linked = await admin.request('POST', `/api/applications/${applicationId}/links`, {
    networkId,
  });
  expect(linked.status).toBe(202);
}

/** Links the application, waits until it is synced there, and answers its id there. */
async function linkedUntilSynced(applicationId: string): Promise<string> {
  await link(applicationId);
  const first = async () =>
    (
      await admin.request<{ items: { state: string; remoteId: string }[] }>(
        'GET',
        `/api/applications/${applicationId}/links`,
      )
    ).body.items[0];
  await expect.poll(async () => (await first())?.state, { timeout: 20_000 }).toBe('synced');
  return (await first())!.remoteId;
}

/** How far the page scrolls sideways: its content's width. */
function pageWidth(p: Page): Promise<number> {
  return p.locator('html').evaluate((html) => html.scrollWidth);
}

/** Whether `inner` lies within what `outer` shows (no sideways scrolling needed to see it). */
async function isWithin(inner: Locator, outer: Locator): Promise<boolean> {
  const [a, b] = await Promise.all([inner.boundingBox(), outer.boundingBox()]);
  return a !== null && b !== null && a.x >= b.x && a.x + a.width <= b.x + b.width + 0.5;
}

describe('application forms', () => {
  const tooLong = 'd'.repeat(2001);
  /** What the server says about such a description, as the form should show it. */
  let refusal: string;

  beforeAll(async () => {
    const refused = await admin.request<{ errors: { field: string; message: string }[] }>(
      'POST',
      '/api/applications',
      { name: 'Refused', description: tooLong },
    );
    expect(refused.status).toBe(400);
    const message = refused.body.errors.find((e) => /description$/.test(e.field))?.message;
    expect(message).toBeTruthy();
    refusal = `Description ${message}`;
  });

  test('a refused description is said under its field, in the new application card', async () => {
    await page.goto('/applications');
    const form = page.getByRole('form', { name: 'New application' });
    await form.getByLabel('Name', { exact: true }).fill('Described');
    await form.getByLabel('Description').fill(tooLong);
    await form.getByRole('button', { name: 'Create Application' }).click();
    await form.getByText(refusal).waitFor();
    await form.getByRole('alert').filter({ hasText: 'Some fields need attention.' }).waitFor();
    expect(await form.getByLabel('Description').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'new-application-invalid');
  });

  test('and in the settings card; a message for no field shown is an alert', async () => {
    const id = await createApplication('Settled');
    await page.goto(`/applications/${id}`);
    const form = page.getByRole('form', { name: 'Application settings' });
    await form.getByLabel('Description').fill(tooLong);
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText(refusal).waitFor();
    await form.getByRole('alert').filter({ hasText: 'Some fields need attention.' }).waitFor();

    // A refusal about a field the form does not show, or about none, is still said.
    const refused = (errors: { field: string; message: string }[]) => ({
      status: 400,
      contentType: 'application/problem+json',
      body: JSON.stringify({
        title: 'Bad Request',
        status: 400,
        code: 'validation_failed',
        detail: 'The application is not valid.',
        errors,
      }),
    });
    const settings = `**/api/applications/${id}`;
    await page.route(settings, (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill(refused([{ field: 'organizationId', message: 'is not yours' }]))
        : route.continue(),
    );
    await form.getByLabel('Description').fill('short');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByRole('alert').filter({ hasText: 'organizationId is not yours.' }).waitFor();
    expect(await form.getByText('Some fields need attention.').count()).toBe(0);
    await page.unroute(settings);
    await page.route(settings, (route) =>
      route.request().method() === 'PATCH' ? route.fulfill(refused([])) : route.continue(),
    );
    await form.getByRole('button', { name: 'Save' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: 'Saving failed: The application is not valid.' })
      .waitFor();
    await page.unroute(settings);
  });
});

describe('the application page', () => {
  test('the links card shows a link error in full, with Retry and Unlink in view', async () => {
    const id = await createApplication('Failing link');
    await stack.sim.addFault({
      server: 'account',
      method: 'POST',
      path: '/api/v2/applications',
      status: 503,
    });
    try {
      await link(id);
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.goto(`/applications/${id}`);
      const card = page.getByLabel('Networks');
      const row = card.getByRole('row').filter({ hasText: 'TTN Europe' });
      await row.getByText('Next attempt').waitFor({ timeout: 30_000 });
      const lastError = row.getByRole('cell').nth(3);
      // The attempts are seconds apart: their times say the seconds.
      expect(await lastError.textContent()).toMatch(WITH_SECONDS);
      expect((await lastError.textContent())?.split('Next attempt')[1]).toMatch(WITH_SECONDS);

      const scroller = card.locator('.table-scroll');
      for (const width of [1280, 1920]) {
        await page.setViewportSize({ width, height: 860 });
        await screenshot(page, `links-error-${width}`);
        expect(await scroller.evaluate((e) => e.scrollWidth - e.clientWidth), `${width}`).toBe(0);
        expect((await lastError.boundingBox())!.width, `${width}`).toBeGreaterThan(200);
        for (const name of ['Retry', 'Unlink']) {
          expect(await isWithin(row.getByRole('button', { name }), scroller), name).toBe(true);
        }
      }

      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, 'links-error-narrow');
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    } finally {
      await stack.sim.clearFaults();
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  test('a long unbroken name wraps: no page is wider than the screen', async () => {
    const name = `Long${'x'.repeat(196)}`;
    const id = await createApplication(name);
    await createDevice(id, `Device${'y'.repeat(194)}`, '70B3D57ED0009001');

    await page.goto(`/applications/${id}`);
    await page.getByRole('heading', { name }).waitFor();
    await screenshot(page, 'long-name-application');
    expect(await pageWidth(page)).toBeLessThanOrEqual(1280);
    const addDevice = page.getByRole('link', { name: 'Add Device' });
    const box = (await addDevice.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    const devices = page.getByRole('table', { name: 'Device list' });
    const scroller = page.getByLabel('Devices').locator('.table-scroll');
    await devices.getByRole('link', { name: /^Devicey+$/ }).waitFor();
    expect(await scroller.evaluate((e) => e.scrollWidth - e.clientWidth)).toBe(0);

    await page.goto('/applications');
    const cell = page.getByRole('row').filter({ hasText: name }).getByRole('cell').first();
    await cell.waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(1280);
    expect((await cell.boundingBox())!.width).toBeLessThan(700);

    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`/applications/${id}`);
      await page.getByRole('heading', { name }).waitFor();
      expect(await pageWidth(page)).toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  test('the devices table keeps its page and search in the address', async () => {
    const id = await createApplication('Parking lot');
    const csv = ['name,DevEUI,AppEUI,AppKey'];
    for (let i = 0; i < 55; i++) {
      const n = String(i).padStart(2, '0');
      csv.push(`bay-${n},70B3D57ED00040${n},70B3D57ED0000000,00112233445566778899AABBCCDD00${n}`);
    }
    const imported = await fetch(`${stack.server.url}/api/applications/${id}/devices/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'text/csv' },
      body: csv.join('\n'),
    });
    expect(imported.status).toBe(200);

    await page.goto(`/applications/${id}`);
    const pages = page.getByRole('navigation', { name: 'Device pages' });
    await pages.getByText('1–50 of 55').waitFor();
    await pages.getByRole('button', { name: 'Next' }).click();
    await pages.getByText('51–55 of 55').waitFor();
    expect(new URL(page.url()).searchParams.get('offset')).toBe('50');

    // To a device and Back: the same page. Reloaded: the same page.
    await page.getByRole('link', { name: 'bay-52' }).click();
    await page.getByRole('heading', { name: 'bay-52' }).waitFor();
    await page.goBack();
    await pages.getByText('51–55 of 55').waitFor();
    await page.reload();
    await pages.getByText('51–55 of 55').waitFor();

    // The search too, from the first page of what it finds.
    await page.getByLabel('Search devices').fill('bay-5');
    await page.getByRole('link', { name: 'bay-49' }).waitFor({ state: 'detached' });
    await page.waitForURL((url) => url.searchParams.get('search') === 'bay-5');
    expect(new URL(page.url()).searchParams.get('offset')).toBeNull();
    await page.reload();
    expect(await page.getByLabel('Search devices').inputValue()).toBe('bay-5');
    await page.getByRole('link', { name: 'bay-54' }).waitFor();
    expect(await page.getByRole('link', { name: /^bay-/ }).count()).toBe(5);

    // A page past the end says so, and leads back to the first one.
    await page.goto(`/applications/${id}?offset=500`);
    await page.getByText('This page is past the end of the list (55 in all).').waitFor();
    await page.getByRole('button', { name: 'Go to the first page' }).click();
    await pages.getByText('1–50 of 55').waitFor();
  });

  test('a device a network refused is found from the links card in a long list', async () => {
    const id = await createApplication('Refusals');
    const devices = [];
    for (let i = 0; i < 3; i++) {
      devices.push(
        await createDevice(id, `meter-${i}`, `70B3D57ED00050${String(i).padStart(2, '0')}`),
      );
    }
    await link(id);
    const synced = async () =>
      (
        await admin.request<{ items: { devices: { synced: number } }[] }>(
          'GET',
          `/api/applications/${id}/links`,
        )
      ).body.items[0]?.devices.synced;
    await expect.poll(synced, { timeout: 20_000 }).toBe(3);
    // The network refuses the next change of meter-1 as invalid: parked until a retry.
    await stack.sim.addFault({
      server: 'handler',
      method: 'PUT',
      path: '/applications/*/devices/70b3d57ed0005001',
      status: 400,
    });
    try {
      const edited = await admin.request('PATCH', `/api/applications/${id}/devices/${devices[1]}`, {
        description: 'moved',
      });
      expect(edited.status).toBe(200);
      await page.goto(`/applications/${id}`);
      const failed = page.getByLabel('Networks').getByRole('link', { name: '1 failed' });
      await failed.click({ timeout: 20_000 });
      await page.waitForURL((url) => url.searchParams.get('syncState') === 'error');
      const table = page.getByRole('table', { name: 'Device list' });
      await table.getByRole('link', { name: 'meter-0' }).waitFor({ state: 'detached' });
      expect(await table.getByRole('link', { name: /^meter-/ }).allTextContents()).toEqual([
        'meter-1',
      ]);
      expect(await page.getByLabel('Devices to show').inputValue()).toBe('error');
      await page.getByLabel('Devices to show').selectOption('');
      await table.getByRole('link', { name: 'meter-2' }).waitFor();
    } finally {
      await stack.sim.clearFaults();
    }
  });

  test('an applications page past the end says so, with the way back', async () => {
    await page.goto('/applications?offset=100000');
    await page.getByText(/^This page is past the end of the list \(\d+ in all\)\./).waitFor();
    expect(await page.getByText('No applications yet.').count()).toBe(0);
    await page.getByRole('button', { name: 'Go to the first page' }).click();
    await page.getByRole('link', { name: 'Parking lot' }).waitFor();
    expect(new URL(page.url()).searchParams.get('offset')).toBeNull();
    // Creation times say the seconds as well.
    const created = page.getByRole('row').filter({ hasText: 'Parking lot' }).getByRole('cell');
    expect(await created.last().textContent()).toMatch(WITH_SECONDS);
  });
});

describe('the device page', () => {
  let applicationId: string;
  let deviceId: string;

  beforeAll(async () => {
    applicationId = await createApplication('Greenhouse');
    deviceId = await createDevice(applicationId, 'Tomato sensor', '70B3D57ED0009101');
    await link(applicationId);
  });

  test('its networks card follows the push after a save', async () => {
    await page.goto(`/applications/${applicationId}/devices/${deviceId}`);
    const networks = page.getByLabel('Networks');
    await networks.getByText('Synced', { exact: true }).waitFor({ timeout: 30_000 });

    // TTN's handler answers slowly: the change is Pending for a while, then Synced, unreloaded.
    // Meanwhile reads of the device fail: the card keeps what it showed and says so, and
    // reads again until one succeeds.
    await stack.sim.addFault({
      server: 'handler',
      method: 'PUT',
      path: '/applications/*/devices/*',
      latencyMs: 4000,
    });
    const device = `**/api/applications/${applicationId}/devices/${deviceId}`;
    try {
      await page.getByLabel('Description').fill('In the east corner');
      await page.getByRole('button', { name: 'Save' }).click();
      await networks.getByText('Pending', { exact: true }).waitFor();
      await page.route(device, (route) =>
        route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{}' }),
      );
      await networks
        .getByRole('status')
        .filter({ hasText: 'Could not refresh the networks' })
        .waitFor();
      expect(await networks.getByText('Pending', { exact: true }).count()).toBe(1);
      await page.unroute(device);
      await networks.getByText('Synced', { exact: true }).waitFor({ timeout: 30_000 });
      expect(await networks.getByText('Could not refresh the networks').count()).toBe(0);
    } finally {
      await page.unroute(device);
      await stack.sim.clearFaults();
    }
  });

  test('a saved key is shown as saved, and its input is "unchanged" again', async () => {
    await page.goto(`/applications/${applicationId}/devices/${deviceId}`);
    const keys = page.getByLabel('Keys');
    await keys.getByRole('button', { name: 'Show keys' }).click();
    await keys.getByText('00112233445566778899AABBCCDDEEFF').waitFor();

    const appKey = page.getByLabel('AppKey');
    await appKey.fill('FFEEDDCCBBAA99887766554433221100');
    await page.getByRole('button', { name: 'Save' }).click();
    await keys.getByText('FFEEDDCCBBAA99887766554433221100').waitFor();
    expect(await keys.getByText('00112233445566778899AABBCCDDEEFF').count()).toBe(0);
    expect(await appKey.inputValue()).toBe('');
    expect(await appKey.getAttribute('placeholder')).toBe('unchanged');
  });
});

describe('the network page', () => {
  /**
   * An application pushed to TTN (so that its deletion is of something that exists), then
   * deleted here with the network refusing that deletion (400), and the network page open on
   * its row once it shows the refusal. The fault stays until the caller clears it.
   */
  async function refusedDeletion(name: string) {
    const id = await createApplication(name);
    const remoteId = await linkedUntilSynced(id);
    await stack.sim.addFault({
      server: 'handler',
      method: 'DELETE',
      path: `/applications/${remoteId}`,
      status: 400,
    });
    expect((await admin.request('DELETE', `/api/applications/${id}`)).status).toBe(204);
    await page.goto(`/networks/${networkId}`);
    const card = page.getByLabel('Deletions on the network');
    const row = card.getByRole('row').filter({ hasText: remoteId });
    await row.getByText('Error', { exact: true }).waitFor({ timeout: 20_000 });
    return { card, row };
  }

  test('a refused deletion shows there, the application being gone, and goes once retried', async () => {
    try {
      const { card, row } = await refusedDeletion('Retired fleet');
      expect(await row.textContent()).toContain('Application');
      expect(await row.getByRole('cell').nth(2).textContent()).toContain('400');
      await screenshot(page, 'network-deletions');

      await stack.sim.clearFaults();
      await card.getByRole('button', { name: 'Retry deletions' }).click();
      await card.waitFor({ state: 'detached', timeout: 20_000 });
    } finally {
      await stack.sim.clearFaults();
    }
  });

  test('a refused deletion can be cancelled there', async () => {
    try {
      const { card, row } = await refusedDeletion('Kept fleet');
      await row.getByRole('button', { name: 'Cancel' }).click();
      await card.waitFor({ state: 'detached', timeout: 20_000 });
      const left = await admin.request<{ total: number }>(
        'GET',
        `/api/networks/${networkId}/deletions`,
      );
      expect(left.body.total).toBe(0);
    } finally {
      await stack.sim.clearFaults();
    }
  });
});
