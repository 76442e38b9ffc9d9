import type { Page } from 'playwright-core';
import type { ServerHandle } from './server.js';

/** Signs in through the portal's sign-in page and waits for the networks page. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/networks');
}

/** Signs in as the server's system administrator. */
export function signInAsAdmin(page: Page, server: ServerHandle): Promise<void> {
  return signIn(page, server.adminUsername, server.adminPassword);
}

/** A tiny API client for test set-up (Bearer session token), so tests need not click through. */
export interface ApiSession {
  token: string;
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
}

export async function apiSignIn(
  server: ServerHandle,
  username = server.adminUsername,
  password = server.adminPassword,
): Promise<ApiSession> {
  const res = await fetch(`${server.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201)
    throw new Error(`sign-in as ${username} failed: ${res.status} ${await res.text()}`);
  const { token } = (await res.json()) as { token: string };
  return {
    token,
    async request(method, path, body) {
      const r = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: r.status, body: parsed as never };
    },
  };
}
