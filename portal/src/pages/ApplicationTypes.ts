// Types of the applications pages, taken from the generated `paths` so they follow the server.
import type { paths } from '../api/schema';

type JsonBody<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Answer<Op, S extends number> = Op extends { responses: infer R }
  ? R extends Record<S, infer A>
    ? JsonBody<A>
    : never
  : never;

export type Application = Answer<paths['/api/applications/{id}']['get'], 200>;
export type Device = Answer<paths['/api/applications/{id}/devices']['get'], 200>['items'][number];
export type DeviceDetail = Answer<paths['/api/applications/{id}/devices/{deviceId}']['get'], 200>;
export type DeviceKeys = Answer<
  paths['/api/applications/{id}/devices/{deviceId}/keys']['get'],
  200
>;
export type ApplicationLink = Answer<
  paths['/api/applications/{id}/links']['get'],
  200
>['items'][number];
export type ImportResult = Answer<paths['/api/applications/{id}/devices/import']['post'], 200>;
export type Job = Answer<paths['/api/jobs/{id}']['get'], 200>;
export type LinkState = ApplicationLink['state'];
