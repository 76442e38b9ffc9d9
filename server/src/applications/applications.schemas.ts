import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const LinkStateSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('synced'),
  Type.Literal('error'),
]);

export const ApplicationSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    reportingUrl: Nullable(Type.String()),
    deviceCount: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Application' },
);
export type ApplicationView = Static<typeof ApplicationSchema>;

export const ApplicationInput = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  reportingUrl: Type.Union([
    Type.String({ maxLength: 2000, description: 'http(s) URL where the uplinks are delivered' }),
    Type.Null(),
  ]),
};

/** A device as lists and answers show it: never its keys. */
export const DeviceSchema = Type.Object(
  {
    id: Type.String(),
    applicationId: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    devEui: Type.String({ description: '16 hex digits, upper case' }),
    activation: Type.Union([Type.Literal('otaa'), Type.Literal('abp')]),
    joinEui: Nullable(Type.String({ description: 'JoinEUI / AppEUI' })),
    devAddr: Nullable(Type.String()),
    lastSeenAt: NullableTimestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Device' },
);
export type DeviceView = Static<typeof DeviceSchema>;

export const DeviceLinkSchema = Type.Object(
  {
    applicationLinkId: Type.String(),
    networkId: Type.String(),
    remoteApplicationId: Type.String(),
    remoteId: Type.String(),
    state: LinkStateSchema,
    lastError: Nullable(Type.String()),
    lastAttemptAt: NullableTimestamp,
    syncedAt: NullableTimestamp,
  },
  { $id: 'DeviceLink' },
);

export const DeviceDetailSchema = Type.Object(
  {
    ...DeviceSchema.properties,
    links: Type.Array(DeviceLinkSchema),
  },
  { $id: 'DeviceDetail' },
);
export type DeviceDetailView = Static<typeof DeviceDetailSchema>;

export const DeviceKeysSchema = Type.Object(
  {
    appKey: Nullable(Type.String()),
    nwkSKey: Nullable(Type.String()),
    appSKey: Nullable(Type.String()),
  },
  { $id: 'DeviceKeys' },
);
export type DeviceKeysView = Static<typeof DeviceKeysSchema>;

const Hex = (description: string) =>
  Type.Union([Type.String({ maxLength: 64, description }), Type.Null()]);

/** Checked by the service (hex, lengths, what each activation needs), so CSV rows get the same messages. */
export const DeviceFieldsBody = {
  name: Type.String({ maxLength: 200 }),
  description: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
  devEui: Type.String({ maxLength: 64, description: '16 hex digits' }),
  activation: Type.Union([Type.Literal('otaa'), Type.Literal('abp')]),
  joinEui: Hex('JoinEUI / AppEUI, 16 hex digits (OTAA)'),
  appKey: Hex('32 hex digits (OTAA)'),
  devAddr: Hex('8 hex digits (ABP)'),
  nwkSKey: Hex('32 hex digits (ABP)'),
  appSKey: Hex('32 hex digits (ABP)'),
};

export const ApplicationLinkSchema = Type.Object(
  {
    id: Type.String(),
    applicationId: Type.String(),
    networkId: Type.String(),
    remoteId: Type.String({ description: "The application's id on the network" }),
    state: LinkStateSchema,
    lastError: Nullable(Type.String()),
    lastAttemptAt: NullableTimestamp,
    syncedAt: NullableTimestamp,
    nextAttemptAt: Type.Union([Timestamp, Type.Null()], {
      description: 'When queued changes are tried next (null: nothing waiting)',
    }),
    uplinkKey: Type.Object({ set: Type.Boolean() }),
    devices: Type.Object({
      synced: Type.Integer(),
      pending: Type.Integer(),
      error: Type.Integer(),
    }),
    createdAt: Timestamp,
  },
  { $id: 'ApplicationLink' },
);
export type ApplicationLinkView = Static<typeof ApplicationLinkSchema>;

/** An application linked to a network, as the network's page lists them. */
export const NetworkLinkSchema = Type.Object(
  {
    id: Type.String({ description: 'The link' }),
    applicationId: Type.String(),
    applicationName: Type.String(),
    remoteId: Type.String({ description: "The application's id on the network" }),
    state: LinkStateSchema,
  },
  { $id: 'NetworkLink' },
);
export type NetworkLinkView = Static<typeof NetworkLinkSchema>;

export const NetworkDeletionSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('application'), Type.Literal('device')]),
    remoteApplicationId: Type.String({ description: "The application's id on the network" }),
    remoteDeviceId: Nullable(
      Type.String({ description: "The device's id there (device deletions)" }),
    ),
    state: Type.Union([Type.Literal('pending'), Type.Literal('error')], {
      description:
        '`pending`: tried at `nextAttemptAt` (again, after `lastError`); `error`: refused by the network, waits for a retry',
    }),
    attempts: Type.Integer(),
    lastError: Nullable(Type.String()),
    nextAttemptAt: NullableTimestamp,
    createdAt: Timestamp,
  },
  { $id: 'NetworkDeletion' },
);
export type NetworkDeletionView = Static<typeof NetworkDeletionSchema>;

export const ImportResultSchema = Type.Object(
  {
    total: Type.Integer({ description: 'Data rows read' }),
    created: Type.Integer(),
    failed: Type.Integer(),
    ignoredColumns: Type.Array(Type.String(), {
      description: 'Columns of the header that are not device fields, as written: not read',
    }),
    errors: Type.Array(
      Type.Object({
        line: Type.Integer({ description: 'Line number in the file (the header is line 1)' }),
        field: Type.Union([Type.String(), Type.Null()]),
        message: Type.String(),
      }),
    ),
  },
  { $id: 'DeviceImportResult' },
);
export type ImportResultView = Static<typeof ImportResultSchema>;
