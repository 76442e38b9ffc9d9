import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.js';
import { UplinkDocumentSchema } from './document.js';

export const DeliveryStateSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('dead'),
]);

export const UplinkEntrySchema = Type.Object({
  id: Type.String(),
  ingestedAt: Timestamp,
  document: UplinkDocumentSchema,
  delivery: Type.Union(
    [
      Type.Object({
        status: DeliveryStateSchema,
        attempts: Type.Integer(),
        lastError: Type.Union([Type.String(), Type.Null()]),
        deliveredAt: NullableTimestamp,
      }),
      Type.Null(),
    ],
    { description: 'null when the application had no reporting URL when the uplink arrived' },
  ),
});
export type UplinkEntry = Static<typeof UplinkEntrySchema>;

export const SubscriptionSchema = Type.Object({
  networkId: Type.String(),
  state: Type.Union([
    Type.Literal('connecting'),
    Type.Literal('subscribed'),
    Type.Literal('reconnecting'),
    Type.Literal('refused'),
  ]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  since: Timestamp,
  leaseExpiresAt: Timestamp,
});

export const DeliveryStatusSchema = Type.Object({
  applicationId: Type.String(),
  reportingUrl: Type.Union([Type.String(), Type.Null()]),
  secretSet: Type.Boolean({ description: 'Whether deliveries carry X-LPWAN-Signature.' }),
  endpoint: Type.Object({
    state: Type.Union([Type.Literal('ok'), Type.Literal('failing'), Type.Literal('unknown')]),
    lastSuccessAt: NullableTimestamp,
    lastError: Type.Union([Type.String(), Type.Null()]),
    lastErrorAt: NullableTimestamp,
    consecutiveFailures: Type.Integer(),
    retryAt: Type.Union([Timestamp, Type.Null()], {
      description: 'Next attempt while the endpoint is backed off.',
    }),
  }),
  backlog: Type.Integer({ description: 'Deliveries still to be made (including retries).' }),
  deadLetters: Type.Integer(),
  delivered: Type.Integer({ description: 'Delivered uplinks still kept (see retention).' }),
  subscriptions: Type.Array(SubscriptionSchema),
});
export type DeliveryStatusView = Static<typeof DeliveryStatusSchema>;

export const TestSendSchema = Type.Object({
  messageId: Type.String(),
  delivered: Type.Boolean(),
  status: Type.Union([Type.Integer(), Type.Null()], {
    description: 'HTTP status; null without an answer.',
  }),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Number(),
});
export type TestSendView = Static<typeof TestSendSchema>;

export const ReportingSecretSchema = Type.Object({
  secret: Type.String({
    description: 'Shown once: store it now. Deliveries are signed with it from now on.',
  }),
});

export const DownlinkBody = Type.Object(
  {
    fPort: Type.Integer({ minimum: 1, maximum: 223 }),
    payload: Type.String({
      minLength: 1,
      maxLength: 344,
      pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      description: 'Base64, at most 256 bytes',
    }),
    confirmed: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

export const DownlinkSchema = Type.Object({
  deviceId: Type.String(),
  networkId: Type.String(),
  fPort: Type.Integer(),
  confirmed: Type.Boolean(),
  queuedAt: Timestamp,
});
export type DownlinkView = Static<typeof DownlinkSchema>;
