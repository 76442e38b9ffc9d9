/**
 * The normalized uplink document, version 1: what every application receives, whatever the
 * network. Its JSON Schema is `UplinkDocumentSchema` (published in docs/uplinks.md); a change
 * that is not backwards compatible is a new version.
 */
import { hash } from 'node:crypto';
import { Type, type Static, type TSchema } from 'typebox';
import type { NetworkUplink } from '../protocols/protocol.js';

export const DOCUMENT_VERSION = 1;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const GatewaySchema = Type.Object(
  {
    id: Type.String({ description: "The gateway's id on the network." }),
    time: Nullable(Type.String({ format: 'date-time' })),
    rssi: Nullable(Type.Number({ description: 'dBm' })),
    snr: Nullable(Type.Number({ description: 'dB' })),
    channel: Nullable(Type.Integer()),
    latitude: Nullable(Type.Number()),
    longitude: Nullable(Type.Number()),
    altitude: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);

export const UplinkDocumentSchema = Type.Object(
  {
    version: Type.Literal(DOCUMENT_VERSION),
    id: Type.String({
      format: 'uuid',
      description:
        'Message id, also sent as Idempotency-Key: the same for every delivery of this uplink.',
    }),
    receivedAt: Type.String({
      format: 'date-time',
      description: 'When the network received the uplink.',
    }),
    test: Type.Optional(Type.Literal(true, { description: 'Present on test sends only.' })),
    network: Type.Object(
      {
        id: Type.String({ description: 'The network in LPWAN Server.' }),
        protocol: Type.String({ description: 'e.g. ttn-v2' }),
      },
      { additionalProperties: false },
    ),
    application: Type.Object(
      {
        id: Type.String(),
        remoteId: Type.String({ description: "The application's id on the network." }),
      },
      { additionalProperties: false },
    ),
    device: Type.Object(
      {
        id: Nullable(
          Type.String({ description: 'null when the device is not (yet) known to LPWAN Server.' }),
        ),
        devEui: Nullable(Type.String({ pattern: '^[0-9A-F]{16}$' })),
        remoteId: Type.String({ description: "The device's id on the network." }),
      },
      { additionalProperties: false },
    ),
    fPort: Nullable(Type.Integer({ minimum: 0, maximum: 255 })),
    fCnt: Nullable(Type.Integer({ minimum: 0 })),
    confirmed: Type.Boolean(),
    retry: Type.Boolean({ description: 'The device sent this frame again.' }),
    payload: Nullable(
      Type.String({ contentEncoding: 'base64', description: 'The application payload, base64.' }),
    ),
    decoded: Nullable(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "Fields decoded by the network's payload decoder, when it ran one.",
      }),
    ),
    radio: Type.Object(
      {
        frequency: Nullable(Type.Number({ description: 'MHz' })),
        modulation: Nullable(Type.String()),
        dataRate: Nullable(Type.String({ description: 'e.g. SF7BW125' })),
        codingRate: Nullable(Type.String()),
        airtimeMs: Nullable(Type.Number()),
        gateways: Type.Array(GatewaySchema),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'UplinkDocument', additionalProperties: false },
);

export type UplinkDocument = Static<typeof UplinkDocumentSchema>;

/** The JSON Schema as a plain object (what docs/uplinks.md shows and clients validate with). */
export function uplinkJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...(JSON.parse(JSON.stringify(UplinkDocumentSchema)) as Record<string, unknown>),
  };
}

/**
 * The message id: a UUID derived (SHA-256, RFC 9562 version 8 layout) from the network, the
 * application on it and the protocol's message key, so a message received twice gets one id.
 * When the message carries its time, the first 48 bits are that time in milliseconds (as in a
 * version 7 UUID): ids then grow with time, and the database appends uplinks and deliveries to
 * its indexes instead of writing pages all over them (a fifth more uplinks per second on SQLite).
 */
export function messageId(
  networkId: string,
  remoteAppId: string,
  messageKey: string,
  messageTime: number | null,
): string {
  const bytes = hash('sha256', `${networkId}\n${remoteAppId}\n${messageKey}`, 'buffer');
  if (messageTime !== null && messageTime >= 0 && messageTime < 2 ** 48)
    bytes.writeUIntBE(messageTime, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Where a subscription's uplinks come from: the same for all of them (made once, shared). */
export interface DocumentContext {
  network: { id: string; protocol: string };
  application: { id: string; remoteId: string };
}

export function toDocument(
  ctx: DocumentContext,
  deviceId: string | null,
  uplink: NetworkUplink,
): UplinkDocument {
  return {
    version: DOCUMENT_VERSION,
    id: messageId(ctx.network.id, ctx.application.remoteId, uplink.messageKey, uplink.messageTime),
    receivedAt: uplink.receivedAt,
    network: ctx.network,
    application: ctx.application,
    device: { id: deviceId, devEui: uplink.devEui, remoteId: uplink.remoteDeviceId },
    fPort: uplink.fPort,
    fCnt: uplink.fCnt,
    confirmed: uplink.confirmed,
    retry: uplink.retry,
    payload: uplink.payload,
    decoded: uplink.decoded,
    radio: uplink.radio,
  };
}
