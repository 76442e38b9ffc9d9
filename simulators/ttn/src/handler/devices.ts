import type { FastifyInstance } from 'fastify';
import type { Sim } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { euiKey, type Device, type HandlerApplication } from '../state.js';
import { authorizeHandler, registeredApp, type RateLimiter } from './access.js';
import { parseDevice } from './validate.js';

type AppParams = { app_id: string };
type DevParams = AppParams & { dev_id: string };

function pagingNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`${name} must be a non-negative integer`);
  return n;
}

/** Devices on the handler: list (`limit`/`offset`), get, create, update, delete. */
export function handlerDevices(app: FastifyInstance, sim: Sim, limiter: RateLimiter): void {
  const { state } = sim;

  const save = (happ: HandlerApplication, device: Device) => {
    const owner = state.euiIndex.get(euiKey(device));
    if (owner !== undefined && owner !== `${device.app_id}/${device.dev_id}`) {
      throw conflict(
        `a device with AppEUI ${device.lorawan_device.app_eui} and DevEUI ${device.lorawan_device.dev_eui} already exists`,
      );
    }
    const kind = state.putDevice(happ, device);
    state.events.emit('device', { kind, device });
  };

  app.get<{ Params: AppParams; Querystring: { limit?: string; offset?: string } }>(
    '/applications/:app_id/devices',
    async (request) => {
      const appId = request.params.app_id;
      authorizeHandler(sim, limiter, request, appId, 'devices');
      const happ = registeredApp(sim, appId);
      const limit = pagingNumber(request.query.limit, 'limit');
      const offset = pagingNumber(request.query.offset, 'offset') ?? 0;
      const all = state.sortedDevices(happ);
      const devices = limit ? all.slice(offset, offset + limit) : all.slice(offset);
      return { devices };
    },
  );

  app.get<{ Params: DevParams }>('/applications/:app_id/devices/:dev_id', async (request) => {
    const { app_id: appId, dev_id: devId } = request.params;
    authorizeHandler(sim, limiter, request, appId, 'devices');
    const device = registeredApp(sim, appId).devices.get(devId);
    if (!device) throw notFound(`device "${devId}" not found`);
    return device;
  });

  app.post<{ Params: AppParams }>('/applications/:app_id/devices', async (request) => {
    const appId = request.params.app_id;
    authorizeHandler(sim, limiter, request, appId, 'devices');
    const happ = registeredApp(sim, appId);
    const device = parseDevice(request.body, appId);
    if (happ.devices.has(device.dev_id)) throw conflict(`device "${device.dev_id}" already exists`);
    save(happ, device);
    return {};
  });

  // TTN's SetDevice created the device when it did not exist yet.
  app.put<{ Params: DevParams }>('/applications/:app_id/devices/:dev_id', async (request) => {
    const { app_id: appId, dev_id: devId } = request.params;
    authorizeHandler(sim, limiter, request, appId, 'devices');
    const happ = registeredApp(sim, appId);
    save(happ, parseDevice(request.body, appId, devId));
    return {};
  });

  app.delete<{ Params: DevParams }>('/applications/:app_id/devices/:dev_id', async (request) => {
    const { app_id: appId, dev_id: devId } = request.params;
    authorizeHandler(sim, limiter, request, appId, 'devices');
    const device = state.deleteDevice(registeredApp(sim, appId), devId);
    if (!device) throw notFound(`device "${devId}" not found`);
    state.events.emit('device', { kind: 'delete', device });
    return {};
  });
}
