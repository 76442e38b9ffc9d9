import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newPage } from './browser.js';
import { startServer, type ServerHandle, type ServerOptions } from './server.js';
import { startTtnSimulator, type SimulatorHandle } from './simulator.js';

export interface StackOptions {
  /** The simulator's settings (e.g. `{ codeLifetimeSeconds: 1 }`). */
  simulator?: Parameters<typeof startTtnSimulator>[0];
  /** Extra server environment; may depend on the simulator (e.g. a deployment-wide TTN client). */
  serverEnv?: (sim: SimulatorHandle) => Record<string, string>;
  server?: Omit<ServerOptions, 'env'>;
}

export interface Stack {
  sim: SimulatorHandle;
  server: ServerHandle;
  browser: Browser;
  /** A page in a fresh browser context (no cookies), with baseURL = the server. */
  newPage(): Promise<Page>;
  /** Closes every context and the browser, stops the server and the simulator. */
  stop(): Promise<void>;
}

/**
 * Everything a browser test needs: the TTN simulator (in process), the real server (child
 * process, fresh SQLite) and headless Chromium — all on loopback, on free ports. Call it in
 * `beforeAll` and `stop()` in `afterAll`; on failure it cleans up what it had started.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const part of started.reverse()) {
      try {
        await part.stop();
      } catch (e) {
        errors.push(e);
      }
    }
    started.length = 0;
    if (errors.length) throw errors[0];
  };
  try {
    const sim = await startTtnSimulator(options.simulator);
    started.push(sim);
    const server = await startServer({ ...options.server, env: options.serverEnv?.(sim) ?? {} });
    started.push(server);
    const browser = await launchBrowser();
    started.push({ stop: () => browser.close() });
    const contexts: BrowserContext[] = [];
    return {
      sim,
      server,
      browser,
      async newPage() {
        const { context, page } = await newPage(browser, server.url);
        contexts.push(context);
        return page;
      },
      async stop() {
        await Promise.allSettled(contexts.map((c) => c.close()));
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
}
