import { Forbidden, NotFound, Unavailable } from '../errors.js';
import type { DeviceSpec, NetworkProtocol, ProtocolContext } from '../protocol.js';
import { listApplications } from './account-server.js';
import {
  createApplication,
  deleteAccountApplication,
  ensureAccessKey,
  getApplication,
  renameApplication,
} from './applications.js';
import { AppTokenCache, appFetch } from './app-tokens.js';
import { ttnV2Descriptor } from './describe.js';
import { createDevice, deleteDevice, getDevice, updateDevice } from './devices.js';
import {
  exportDevices,
  listDevices,
  registerApplication,
  unregisterApplication,
} from './handler.js';
import { sendDownlink, subscribeUplinks } from './mqtt.js';
import { ttnV2OAuth } from './oauth.js';

/** App-scoped tokens of this process, per network and application. */
const appTokens = new AppTokenCache();

/** A fetch for handler calls of one application (app-scoped token). */
const handlerFetch = (ctx: ProtocolContext, appId: string) =>
  appFetch(appTokens, ctx.networkId, appId, ctx.fetch, ctx.settings);

/**
 * TTN's handler wants an AppEUI on every device; an ABP device may come without one, and then
 * gets the application's own first EUI (TTN allocates one to every application).
 */
async function appEuiFor(ctx: ProtocolContext, appId: string, device: DeviceSpec): Promise<string> {
  if (device.joinEui !== null) return device.joinEui;
  const [eui] = (await getApplication(ctx.fetch, ctx.settings, appId)).euis;
  if (eui === undefined) throw new Unavailable(`TTN application ${appId} has no EUI`);
  return eui.toUpperCase();
}

/** The Things Network v2: account linking through OAuth, applications, devices on the handler. */
export const ttnV2Protocol: NetworkProtocol = {
  describe: () => ttnV2Descriptor,
  oauth: ttnV2OAuth(),
  listApplications: (ctx) => listApplications(ctx.fetch, ctx.settings),
  listDevices: (ctx, appId, page) =>
    listDevices(handlerFetch(ctx, appId), ctx.settings, appId, page),
  exportDevices: (ctx, appId, page) =>
    exportDevices(handlerFetch(ctx, appId), ctx.settings, appId, page),

  createApplication: (ctx, app) => createApplication(ctx.fetch, ctx.settings, app),
  getApplication: (ctx, appId) => getApplication(ctx.fetch, ctx.settings, appId),
  renameApplication: (ctx, appId, name) => renameApplication(ctx.fetch, ctx.settings, appId, name),
  prepareApplication: (ctx, appId) =>
    registerApplication(handlerFetch(ctx, appId), ctx.settings, appId),
  ensureUplinkKey: (ctx, appId, name) => ensureAccessKey(ctx.fetch, ctx.settings, appId, name),
  async deleteApplication(ctx, appId) {
    // The handler first (TTN kept the two apart), then the account. When the account no longer
    // knows the application, no app-scoped token can be had (403/404): the account decides.
    try {
      await unregisterApplication(handlerFetch(ctx, appId), ctx.settings, appId);
    } catch (error) {
      if (!(error instanceof Forbidden || error instanceof NotFound)) throw error;
    }
    await deleteAccountApplication(ctx.fetch, ctx.settings, appId);
    appTokens.forget(ctx.networkId, appId);
  },

  async createDevice(ctx, appId, device) {
    const appEui = await appEuiFor(ctx, appId, device);
    await createDevice(handlerFetch(ctx, appId), ctx.settings, appId, device, appEui);
  },
  getDevice: (ctx, appId, devId) => getDevice(handlerFetch(ctx, appId), ctx.settings, appId, devId),
  async updateDevice(ctx, appId, device) {
    const appEui = await appEuiFor(ctx, appId, device);
    await updateDevice(handlerFetch(ctx, appId), ctx.settings, appId, device, appEui);
  },
  deleteDevice: (ctx, appId, devId) =>
    deleteDevice(handlerFetch(ctx, appId), ctx.settings, appId, devId),

  subscribeUplinks,
  sendDownlink,
};
