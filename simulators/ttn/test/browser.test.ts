import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, control, basic, json, startSim, type Sim } from './helpers.js';

let sim: Sim;
let browser: Browser;
let callbackServer: Server;
let callback: string;

beforeAll(async () => {
  sim = await startSim();
  // Stands in for the portal: the page the account server redirects to.
  callbackServer = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Callback reached</h1>');
  });
  await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  callback = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/oauth/callback`;
  await control(sim, '/users', {
    username: 'carol',
    password: 'carol-password',
    email: 'carol@example.com',
  });
  await control(sim, '/users', {
    username: 'dave',
    password: 'dave-password',
    email: 'dave@example.com',
  });
  await control(sim, '/clients', {
    id: 'browser-client',
    secret: 'browser-secret',
    name: 'LPWAN Server',
    redirectUris: [callback],
    grants: ['authorization_code', 'refresh_token'],
    scope: ['profile', 'apps'],
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => callbackServer?.close(resolve));
  await sim?.close();
});

const authorizeUrl = (state: string, redirectUri = callback) =>
  `${sim.accountUrl}/users/authorize?${new URLSearchParams({
    client_id: 'browser-client',
    redirect_uri: redirectUri,
    response_type: 'code',
    state,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString()}`;

describe('login and consent pages in a browser', () => {
  it('logs in (after a wrong password), consents, and lands on the callback with a working code', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl('state-1'));
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Invalid username or password');

    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    expect(await page.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
    expect(await page.textContent('body')).toContain('LPWAN Server');

    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(callback)),
      page.getByRole('button', { name: 'Allow' }).click(),
    ]);
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('state-1');
    const code = landed.searchParams.get('code') ?? '';
    expect(await page.textContent('h1')).toBe('Callback reached');

    const response = await call(
      'POST',
      `${sim.accountUrl}/users/token`,
      { grant_type: 'authorization_code', code, redirect_uri: callback },
      basic('browser-client', 'browser-secret'),
    );
    expect(response.status).toBe(200);
    expect((await json(response)).token_type).toBe('bearer');

    // Second time: the session and the consent are remembered; straight back to the callback.
    await page.goto(authorizeUrl('state-2'));
    await page.waitForURL((url) => url.href.startsWith(callback));
    expect(new URL(page.url()).searchParams.get('state')).toBe('state-2');
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    await context.close();
  });

  it('redirects with access_denied when the user presses Deny', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizeUrl('state-deny'));
    await page.getByLabel('Username').fill('dave');
    await page.getByLabel('Password').fill('dave-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await Promise.all([
      page.waitForURL((url) => url.href.startsWith(callback)),
      page.getByRole('button', { name: 'Deny' }).click(),
    ]);
    const landed = new URL(page.url());
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('state')).toBe('state-deny');
    expect(landed.searchParams.has('code')).toBe(false);
    await context.close();
  });

  it('shows an error page and stays put for an unregistered redirect URI', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(authorizeUrl('state-x', 'http://127.0.0.1:1/evil'));
    expect(response?.status()).toBe(400);
    expect(page.url().startsWith(sim.accountUrl)).toBe(true);
    expect(await page.getByRole('alert').textContent()).toContain('not registered');
    await context.close();
  });
});
