import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.js';

export const NetworkStatusSchema = Type.Union([
  Type.Literal('pending_authorization'),
  Type.Literal('authorized'),
  Type.Literal('reauthorization_required'),
  Type.Literal('error'),
  Type.Literal('disabled'),
]);

/** What answers show for a secret setting: whether it is set, never its value. */
export const SecretSetSchema = Type.Object(
  { set: Type.Boolean() },
  { additionalProperties: false, $id: 'SecretSet' },
);

export const SettingsInput = Type.Record(Type.String(), Type.String({ maxLength: 2048 }), {
  description: 'Field name → value, see GET /api/network-protocols/{id}/fields',
});

export const NetworkSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    protocolId: Type.String(),
    organizationId: Type.String(),
    settings: Type.Record(Type.String(), Type.Union([Type.String(), SecretSetSchema]), {
      description: 'Non-secret settings as strings; secret settings as {"set": true|false}',
    }),
    status: NetworkStatusSchema,
    statusMessage: Type.Union([Type.String(), Type.Null()]),
    linkedAccount: Type.Union([
      Type.Object({ username: Type.String(), email: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    tokenExpiresAt: NullableTimestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Network' },
);

export type NetworkView = Static<typeof NetworkSchema>;
