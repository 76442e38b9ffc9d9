import type { FastifyInstance } from 'fastify';
import type { Sim } from '../context.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { emptyPayloadSettings, type PayloadSettings } from '../state.js';
import { authorizeHandler, registeredApp, type RateLimiter } from './access.js';

type AppParams = { app_id: string };
const SETTING_FIELDS: (keyof PayloadSettings)[] = [
  'payload_format',
  'decoder',
  'converter',
  'validator',
  'encoder',
];

/** Registering an application on the handler and its payload settings. */
export function handlerApplications(app: FastifyInstance, sim: Sim, limiter: RateLimiter): void {
  const { state } = sim;

  app.post('/applications', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const appId = body.app_id;
    if (typeof appId !== 'string' || appId === '') throw badRequest('app_id is missing');
    authorizeHandler(sim, limiter, request, appId, 'settings');
    if (!state.applications.has(appId)) throw notFound(`application "${appId}" not found`);
    if (state.handlerApps.has(appId)) {
      throw conflict(`application "${appId}" is already registered on this handler`);
    }
    state.handlerApps.set(appId, {
      appId,
      settings: emptyPayloadSettings(),
      devices: new Map(),
      sorted: null,
    });
    return {};
  });

  app.get<{ Params: AppParams }>('/applications/:app_id', async (request) => {
    const appId = request.params.app_id;
    authorizeHandler(sim, limiter, request, appId, 'settings');
    const happ = registeredApp(sim, appId);
    return { app_id: appId, ...happ.settings };
  });

  app.put<{ Params: AppParams }>('/applications/:app_id', async (request) => {
    const appId = request.params.app_id;
    authorizeHandler(sim, limiter, request, appId, 'settings');
    const happ = registeredApp(sim, appId);
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (body.app_id !== undefined && body.app_id !== appId) {
      throw badRequest('app_id in the body does not match the path');
    }
    const next = emptyPayloadSettings();
    for (const field of SETTING_FIELDS) {
      const value = body[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
      next[field] = value;
    }
    // TTN replaced every field: send them all, as its docs said.
    happ.settings = next;
    return {};
  });

  app.delete<{ Params: AppParams }>('/applications/:app_id', async (request) => {
    const appId = request.params.app_id;
    authorizeHandler(sim, limiter, request, appId, 'settings');
    registeredApp(sim, appId);
    state.unregisterHandlerApp(appId);
    return {};
  });
}
