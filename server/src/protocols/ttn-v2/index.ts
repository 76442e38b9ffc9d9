import type { NetworkProtocol } from '../protocol.js';
import { listApplications } from './account-server.js';
import { AppTokenCache, appFetch } from './app-tokens.js';
import { ttnV2Descriptor } from './describe.js';
import { listDevices } from './handler.js';
import { ttnV2OAuth } from './oauth.js';

/** App-scoped tokens of this process, per network and application. */
const appTokens = new AppTokenCache();

/** The Things Network v2: account linking through OAuth, applications, devices on the handler. */
export const ttnV2Protocol: NetworkProtocol = {
  describe: () => ttnV2Descriptor,
  oauth: ttnV2OAuth(),
  listApplications: (ctx) => listApplications(ctx.fetch, ctx.settings),
  listDevices: (ctx, appId, page) =>
    listDevices(
      appFetch(appTokens, ctx.networkId, appId, ctx.fetch, ctx.settings),
      ctx.settings,
      appId,
      page,
    ),
};
