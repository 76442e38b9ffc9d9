import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../accounts/auth.js';
import { AUTHENTICATED, PageQuery, pageOf, pageParams, problemResponses } from '../http/schemas.js';
import {
  DeviceDetailSchema,
  DeviceFieldsBody,
  DeviceKeysSchema,
  DeviceSchema,
  ImportResultSchema,
} from './applications.schemas.js';
import { DevicePageCache } from './device-page-cache.js';
import type { DevicesVersionWatch } from './devices-version-watch.js';
import { IMPORT_BODY_LIMIT, importDevices } from './devices.import.js';
import {
  createDevice,
  deleteDevice,
  getDevice,
  getDeviceKeys,
  listDevicesJson,
  updateDevice,
} from './devices.service.js';

const AppParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const DeviceParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    deviceId: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
const f = DeviceFieldsBody;

/** Bytes of device list answers kept per process: about 500 pages of 100 devices. */
const DEVICE_PAGE_CACHE_SIZE = 16 * 1024 * 1024;

/** Devices of an application: members read, organization admins change and see keys. */
export const devicesRoutes: FastifyPluginAsyncTypebox<{
  /** PostgreSQL: the devices versions this process knows (devices-version-watch.ts). */
  versions: DevicesVersionWatch | undefined;
}> = async (app, { versions }) => {
  const readers = [app.authenticate];
  const writers = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['devices'], security: AUTHENTICATED };
  const deps = { db: app.db, secretBox: app.secretBox, versions };
  const listDeps = { ...deps, pageCache: new DevicePageCache(DEVICE_PAGE_CACHE_SIZE) };

  // CSV imports arrive as text; the parser is scoped to this plugin.
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/api/applications/:id/devices',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Add a device (organization admin)',
        description:
          'OTAA needs devEui, joinEui and appKey; ABP needs devEui, devAddr, nwkSKey and appSKey. Hex is ' +
          'accepted in either case, with or without separators. Keys are stored encrypted.',
        params: AppParams,
        body: Type.Object(
          {
            name: f.name,
            description: Type.Optional(f.description),
            devEui: f.devEui,
            activation: Type.Optional(f.activation),
            joinEui: Type.Optional(f.joinEui),
            appKey: Type.Optional(f.appKey),
            devAddr: Type.Optional(f.devAddr),
            nwkSKey: Type.Optional(f.nwkSKey),
            appSKey: Type.Optional(f.appSKey),
          },
          { additionalProperties: false },
        ),
        response: { 201: DeviceSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createDevice(deps, principalOf(request), request.params.id, request.body)),
  );

  app.get(
    '/api/applications/:id/devices',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: "List an application's devices",
        description:
          '`search` matches a part of the name or the DevEUI, in any case. `syncState` keeps the devices ' +
          'that are in that state on at least one network: `error` finds those a network refused.',
        params: AppParams,
        querystring: Type.Object(
          {
            ...PageQuery.properties,
            search: Type.Optional(Type.String({ maxLength: 200 })),
            syncState: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('error')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(DeviceSchema), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const json = await listDevicesJson(
        listDeps,
        principalOf(request),
        request.params.id,
        pageParams(request.query),
        { search: request.query.search, syncState: request.query.syncState },
        // The route's own serializer (of the 200 schema) makes the text.
        (answer) => reply.serialize(answer) as string,
      );
      // Already the UTF-8 JSON of the 200 schema; Fastify sends a Buffer as it is.
      return reply.type('application/json; charset=utf-8').send(json as never);
    },
  );

  app.post(
    '/api/applications/:id/devices/import',
    {
      onRequest: writers,
      // 10,000 rows of ABP keys are ~1.2 MB: past the 1 MiB that JSON bodies get.
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        ...common,
        summary: 'Import devices from CSV (organization admin)',
        description:
          'Body: text/csv with a header row. Columns: name, DevEUI, JoinEUI or AppEUI, AppKey; for ABP ' +
          'DevAddr, NwkSKey, AppSKey; optional description, activation. Good rows are stored; bad rows are ' +
          'answered with their line number and reason. `lineOffset` shifts line numbers for files sent in parts.',
        params: AppParams,
        querystring: Type.Object(
          { lineOffset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) },
          { additionalProperties: false },
        ),
        consumes: ['text/csv'],
        body: Type.String({ maxLength: IMPORT_BODY_LIMIT }),
        response: { 200: ImportResultSchema, ...problemResponses(400, 401, 403, 404, 409, 413) },
      },
    },
    async (request) =>
      importDevices(
        deps,
        principalOf(request),
        request.params.id,
        request.body,
        request.query.lineOffset,
      ),
  );

  app.get(
    '/api/applications/:id/devices/:deviceId',
    {
      onRequest: readers,
      schema: {
        ...common,
        summary: 'Get a device with its state on each linked network',
        params: DeviceParams,
        response: { 200: DeviceDetailSchema, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      getDevice(deps, principalOf(request), request.params.id, request.params.deviceId),
  );

  app.get(
    '/api/applications/:id/devices/:deviceId/keys',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: "A device's keys (organization admin)",
        description: 'The only answer that carries keys; asked for explicitly.',
        params: DeviceParams,
        response: { 200: DeviceKeysSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return getDeviceKeys(deps, principalOf(request), request.params.id, request.params.deviceId);
    },
  );

  app.patch(
    '/api/applications/:id/devices/:deviceId',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Change a device (organization admin)',
        description:
          'Fields left out keep their values; the change is pushed to every linked network.',
        params: DeviceParams,
        body: Type.Object(
          {
            name: Type.Optional(f.name),
            description: Type.Optional(f.description),
            devEui: Type.Optional(f.devEui),
            activation: Type.Optional(f.activation),
            joinEui: Type.Optional(f.joinEui),
            appKey: Type.Optional(f.appKey),
            devAddr: Type.Optional(f.devAddr),
            nwkSKey: Type.Optional(f.nwkSKey),
            appSKey: Type.Optional(f.appSKey),
          },
          { additionalProperties: false },
        ),
        response: { 200: DeviceDetailSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      updateDevice(
        deps,
        principalOf(request),
        request.params.id,
        request.params.deviceId,
        request.body,
      ),
  );

  app.delete(
    '/api/applications/:id/devices/:deviceId',
    {
      onRequest: writers,
      schema: {
        ...common,
        summary: 'Delete a device (organization admin)',
        description:
          'The device is deleted on every linked network too (queued, retried until done).',
        params: DeviceParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteDevice(deps, principalOf(request), request.params.id, request.params.deviceId);
      return reply.code(204).send(null);
    },
  );
};
