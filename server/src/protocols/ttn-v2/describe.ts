/**
 * The Things Network v2: who it is and which settings a network needs.
 * The account server speaks OAuth 2.0 at /users/authorize and /users/token; the handler (REST)
 * and the MQTT broker are separate addresses, overridable so that the TTN simulator on
 * localhost can stand in (docs/architecture.md).
 */
import type { ProtocolDescriptor } from '../protocol.js';

export const TTN_V2_ID = 'ttn-v2';

export const ttnV2Descriptor: ProtocolDescriptor = {
  id: TTN_V2_ID,
  name: 'The Things Network',
  version: 'v2',
  networkType: 'lorawan',
  authorization: {
    kind: 'oauth2',
    authorizeEndpoint: { baseField: 'accountServerUrl', path: '/users/authorize' },
    tokenEndpoint: { baseField: 'accountServerUrl', path: '/users/token' },
    scopes: ['profile', 'apps', 'components', 'gateways'],
    clientFields: { id: 'clientId', secret: 'clientSecret' },
  },
  fields: [
    {
      name: 'clientId',
      label: 'TTN Client ID',
      type: 'string',
      required: true,
      secret: false,
      placeholder: 'lpwan-server',
      help: 'The id of the OAuth client you registered for LPWAN Server at The Things Network (ttnctl clients request).',
    },
    {
      name: 'clientSecret',
      label: 'TTN Client Secret',
      type: 'password',
      required: true,
      secret: true,
      help: 'The secret The Things Network returned for that client. It is stored encrypted and never shown again.',
    },
    {
      name: 'accountServerUrl',
      label: 'TTN Account Server URL',
      type: 'url',
      required: false,
      secret: false,
      default: 'https://account.thethingsnetwork.org',
      help: 'Where you sign in to The Things Network. Change it only for a private deployment or the simulator.',
      schemes: ['http', 'https'],
    },
    {
      name: 'handlerUrl',
      label: 'TTN Handler URL',
      type: 'url',
      required: false,
      secret: false,
      default: 'http://eu.thethings.network:8084',
      help: 'The handler of your TTN region (its REST API manages applications and devices).',
      schemes: ['http', 'https'],
    },
    {
      name: 'mqttUrl',
      label: 'TTN MQTT URL',
      type: 'url',
      required: false,
      secret: false,
      default: 'mqtt://eu.thethings.network:1883',
      help: 'The MQTT broker of your TTN region, where device uplinks arrive.',
      schemes: ['mqtt', 'mqtts'],
    },
  ],
};
