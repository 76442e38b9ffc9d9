// Applications and devices in the portal (issue 5), against the TTN simulator: create an
// application and a device, link the application to a TTN network and see it synced; import
// a CSV file with one bad row and see that row's line and reason; unlink it from the network.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import {
  apiSignIn,
  linkTtnNetworkInPortal,
  screenshot,
  startStack,
  type Stack,
} from '../harness/index.js';

let stack: Stack;
let page: Page;

beforeAll(async () => {
  stack = await startStack();
  page = await stack.newPage();
  // A linked TTN network, made the way an owner makes it.
  await linkTtnNetworkInPortal(page, stack.sim, stack.server, 'TTN Europe');
});
afterAll(async () => {
  await stack?.stop();
});

describe('applications and devices', () => {
  test('create an application and a device, link it to TTN, see it synced', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Applications' })
      .click();
    await page.waitForURL('**/applications');
    await page.getByLabel('Name', { exact: true }).fill('Weather stations');
    await page.getByRole('button', { name: 'Create Application' }).click();
    await page.getByRole('heading', { name: 'Weather stations' }).waitFor();

    await page.getByRole('link', { name: 'Add Device' }).click();
    await page.waitForURL('**/devices/new');
    await page.getByLabel('Name', { exact: true }).fill('Roof sensor');
    await page.getByLabel('DevEUI').fill('70B3D57ED00012');
    await page.getByLabel('JoinEUI / AppEUI').fill('70B3D57ED0000000');
    await page.getByLabel('AppKey').fill('00112233445566778899AABBCCDDEEFF');
    await page.getByRole('button', { name: 'Add Device' }).click();
    // A malformed DevEUI is refused with the field's message; corrected, the device is added.
    await page.getByText('DevEUI must be 16 hexadecimal digits').waitFor();
    await screenshot(page, 'device-invalid');
    await page.getByLabel('DevEUI').fill('70B3D57ED0001234');
    await page.getByRole('button', { name: 'Add Device' }).click();
    await page.getByRole('heading', { name: 'Weather stations' }).waitFor();
    await page.getByRole('link', { name: 'Roof sensor' }).waitFor();

    await page.getByLabel('Link to').selectOption({ label: 'TTN Europe' });
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    const row = page
      .getByRole('table', { name: 'Links' })
      .getByRole('row')
      .filter({ hasText: 'TTN Europe' });
    await row.getByText('Synced', { exact: true }).waitFor({ timeout: 30_000 });
    await row.getByText('1 synced', { exact: true }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'application-synced');

    // It is on TTN: the application was created on the account server, the device on the handler.
    const created = await stack.sim.requests({ server: 'account', path: '/api/v2/applications' });
    expect(created.some((r) => r.method === 'POST' && r.status === 201)).toBe(true);
    const devices = await stack.sim.requests({ server: 'handler' });
    expect(
      devices.some((r) => r.method === 'POST' && /\/devices$/.test(r.path) && r.status === 200),
    ).toBe(true);

    // The device page shows its state on the network.
    await page.getByRole('link', { name: 'Roof sensor' }).click();
    await page.getByLabel('Networks').getByText('Synced', { exact: true }).waitFor();
  });

  test('import a CSV file with one bad row and see that row’s error', async () => {
    await page.goto('/applications');
    await page.getByRole('link', { name: 'Weather stations' }).click();
    const csv = [
      'name,DevEUI,AppEUI,AppKey,Location',
      'garden,70B3D57ED0002001,70B3D57ED0000000,00112233445566778899AABBCCDDEE01,shed',
      'broken,70B3D57ED00020,70B3D57ED0000000,00112233445566778899AABBCCDDEE02,',
      'garage,70B3D57ED0002003,70B3D57ED0000000,00112233445566778899AABBCCDDEE03,',
      '',
    ].join('\n');
    await page.getByLabel('CSV file').setInputFiles({
      name: 'devices.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await page.getByText('2 of 3 devices imported; 1 row could not be imported:').waitFor();
    const rows = page.getByRole('list', { name: 'Rows not imported' });
    expect(await rows.textContent()).toBe('Line 3: DevEUI must be 16 hexadecimal digits');
    await page.getByText('Columns not read (not device fields): Location.').waitFor();
    await screenshot(page, 'csv-import');
    // The good rows are in the table (and on their way to TTN).
    await page.getByRole('link', { name: 'garden' }).waitFor();
    await page.getByRole('link', { name: 'garage' }).waitFor();
    await page.getByLabel('Search devices').fill('garde');
    await page.getByRole('link', { name: 'garage' }).waitFor({ state: 'detached' });
  });

  test('the devices table pages through a large application', async () => {
    const api = await apiSignIn(stack.server);
    const created = await api.request('POST', '/api/applications', { name: 'Parking sensors' });
    expect(created.status).toBe(201);
    const app = created.body as { id: string };
    const csv = ['name,DevEUI,AppEUI,AppKey'];
    for (let i = 0; i < 55; i++) {
      const n = String(i).padStart(2, '0');
      csv.push(`spot-${n},70B3D57ED00030${n},70B3D57ED0000000,00112233445566778899AABBCCDD00${n}`);
    }
    const imported = await fetch(`${stack.server.url}/api/applications/${app.id}/devices/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'text/csv' },
      body: csv.join('\n'),
    });
    expect(imported.status).toBe(200);

    await page.goto(`/applications/${app.id}`);
    const pages = page.getByRole('navigation', { name: 'Device pages' });
    await pages.getByText('1–50 of 55').waitFor();
    await page.getByRole('link', { name: 'spot-49' }).waitFor();
    await pages.getByRole('button', { name: 'Next' }).click();
    await pages.getByText('51–55 of 55').waitFor();
    await page.getByRole('link', { name: 'spot-54' }).waitFor();
    expect(await pages.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await pages.getByRole('button', { name: 'Previous' }).click();
    await page.getByRole('link', { name: 'spot-00' }).waitFor();
  });

  test('import from the network: progress, then what was found', async () => {
    await page.goto('/applications');
    await page.getByLabel('Network', { exact: true }).selectOption({ label: 'TTN Europe' });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // The application pushed earlier is found again by its id on TTN, not duplicated.
    await page
      .getByText(/^Import finished: 1 of 1 applications; devices 0 new, \d+ already here\.$/)
      .waitFor();
    expect(await page.getByRole('progressbar', { name: 'Import progress' }).count()).toBe(1);
    await screenshot(page, 'pull-finished');
    const rows = page.getByRole('table', { name: 'Applications' }).getByRole('row');
    expect(await rows.filter({ hasText: 'Weather stations' }).count()).toBe(1);

    // The network's page says which of its applications are managed here, and links to them.
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Networks' })
      .click();
    await page.getByRole('link', { name: 'TTN Europe' }).click();
    // Deleting the network would unlink the application: the confirmation names it.
    await page.getByRole('button', { name: 'Delete network' }).click();
    const unlinked = page.getByLabel('Applications to unlink');
    await unlinked.getByRole('link', { name: 'Weather stations' }).waitFor();
    await screenshot(page, 'network-delete-confirm');
    await page.getByRole('button', { name: 'Cancel' }).click();
    const remote = page.getByRole('row').filter({ hasText: /weather-stations-/ });
    await remote.getByRole('link', { name: 'Weather stations' }).click();
    await page.getByRole('heading', { name: 'Weather stations' }).waitFor();
  });

  test('a failed read of the import job is tried again; after three, Import is offered again', async () => {
    const unavailable = {
      status: 503,
      contentType: 'application/problem+json',
      body: JSON.stringify({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'down for a moment',
        code: 'unavailable',
        instance: 'urn:test',
      }),
    };
    await page.goto('/applications');
    await page.getByLabel('Network', { exact: true }).selectOption({ label: 'TTN Europe' });
    const importButton = page.getByRole('button', { name: 'Import', exact: true });

    // One read fails: the page reads it again and follows the import to its end.
    let failures = 1;
    await page.route('**/api/jobs/*', (route) =>
      failures-- > 0 ? route.fulfill(unavailable) : route.continue(),
    );
    await importButton.click();
    await page.getByText(/^Import finished: 1 of 1 applications/).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.unroute('**/api/jobs/*');

    // Every read fails: after three the page says so, and Import can be pressed again.
    await page.route('**/api/jobs/*', (route) => route.fulfill(unavailable));
    await importButton.click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'Could not follow the import: The server ran into a problem.' })
      .waitFor();
    expect(await importButton.isEnabled()).toBe(true);
    await page.unroute('**/api/jobs/*');
  });

  test('unlink from TTN: keep the application there, or delete it there too', async () => {
    await page.goto('/applications');
    await page.getByRole('link', { name: 'Weather stations' }).click();
    const row = page
      .getByRole('table', { name: 'Links' })
      .getByRole('row')
      .filter({ hasText: 'TTN Europe' });
    const deletesOnTtn = async () =>
      (await stack.sim.requests({ server: 'account' })).filter(
        (r) => r.method === 'DELETE' && r.path.startsWith('/api/v2/applications/'),
      );

    const remoteId = (await row.locator('code').textContent())!;

    // Unlinked, the application stays on TTN as it is. The card's next read fails: it keeps
    // what it showed, says so, and reads again until it succeeds.
    await row.getByRole('button', { name: 'Unlink' }).click();
    const confirm = page.getByRole('group', { name: 'Unlink from TTN Europe' });
    await screenshot(page, 'unlink-confirm');
    const linksList = '**/api/applications/*/links';
    await page.route(linksList, (route) =>
      route.request().method() === 'GET'
        ? route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{}' })
        : route.continue(),
    );
    await confirm.getByRole('button', { name: 'Confirm Unlink' }).click();
    await page.getByRole('status').filter({ hasText: 'Could not refresh the links' }).waitFor();
    expect(await row.count()).toBe(1);
    await page.unroute(linksList);
    await page.getByText('Not linked to any network yet.').waitFor();
    expect(await page.getByText('Could not refresh the links').count()).toBe(0);
    expect(await deletesOnTtn()).toEqual([]);

    // Linked again by its id there, it is taken over and synced; unlinked with the box ticked,
    // it is deleted on TTN. A malformed id is refused under its field.
    await page.getByLabel('Link to').selectOption({ label: 'TTN Europe' });
    await page.getByLabel('with the id').fill('Not An Id!');
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await page.getByText('Id must be 2-36 lower-case letters or digits').waitFor();
    await screenshot(page, 'link-id-invalid');
    await page.getByLabel('with the id').fill(remoteId);
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await row.getByText('Synced', { exact: true }).waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: 'Unlink' }).click();
    await confirm.getByLabel('Also delete it and its devices on TTN Europe').check();
    await confirm.getByRole('button', { name: 'Confirm Unlink' }).click();
    await page.getByText('Not linked to any network yet.').waitFor();
    for (let i = 0; (await deletesOnTtn()).length === 0; i++) {
      if (i > 300) throw new Error('the application was not deleted on TTN');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await deletesOnTtn()).map((r) => r.status)).toEqual([204]);
  });
});
