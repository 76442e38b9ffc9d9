// A deletion the network refuses, seen where it can be: the application is gone here, so the
// network's page shows the deletion still to be done there, and retries it on request.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
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

test('a refused deletion shows on the network page and goes once retried', async () => {
  const app = await admin.request<{ id: string }>('POST', '/api/applications', {
    name: 'Retired fleet',
  });
  const linked = await admin.request<{ remoteId: string }>(
    'POST',
    `/api/applications/${app.body.id}/links`,
    { networkId },
  );
  const remoteId = linked.body.remoteId;
  // Pushed there first: the deletion is of something that exists.
  await expect
    .poll(
      async () =>
        (
          await admin.request<{ items: { state: string }[] }>(
            'GET',
            `/api/applications/${app.body.id}/links`,
          )
        ).body.items[0]?.state,
      { timeout: 20_000 },
    )
    .toBe('synced');
  await stack.sim.addFault({
    server: 'handler',
    method: 'DELETE',
    path: `/applications/${remoteId}`,
    status: 400,
  });
  expect((await admin.request('DELETE', `/api/applications/${app.body.id}`)).status).toBe(204);

  await page.goto(`/networks/${networkId}`);
  const card = page.getByLabel('Deletions on the network');
  const row = card.getByRole('row').filter({ hasText: remoteId });
  await row.getByText('Error', { exact: true }).waitFor({ timeout: 20_000 });
  expect(await row.textContent()).toContain('Application');
  expect(await row.getByRole('cell').nth(2).textContent()).toContain('400');
  await screenshot(page, 'network-deletions');

  await stack.sim.clearFaults();
  await card.getByRole('button', { name: 'Retry deletions' }).click();
  await card.waitFor({ state: 'detached', timeout: 20_000 });
});
