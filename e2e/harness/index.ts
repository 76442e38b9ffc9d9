// The browser-test harness. Typical use in a test file:
//
//   let stack: Stack;
//   beforeAll(async () => { stack = await startStack(); });
//   afterAll(() => stack?.stop());
//   test('…', async () => { const page = await stack.newPage(); await signInAsAdmin(page, stack.server); … });
export { launchBrowser, newPage, screenshot, CHROMIUM_PATH } from './browser.js';
export { freePort } from '../../server/test/harness/ports.js';
export { apiSignIn, signIn, signInAsAdmin, type ApiSession } from './portal.js';
export { startServer, REPO_ROOT, type ServerHandle, type ServerOptions } from './server.js';
export {
  startTtnSimulator,
  type SimulatorHandle,
  type SimUser,
  type SimClient,
  type SimApplication,
  type SimRequest,
} from './simulator.js';
export { startStack, type Stack, type StackOptions } from './stack.js';
export {
  fillTtnNetworkForm,
  linkTtnNetworkInPortal,
  linkTtnNetworkWithTokens,
  registerTtnAccount,
  ttnLogIn,
  type TtnAccount,
} from './ttn.js';
