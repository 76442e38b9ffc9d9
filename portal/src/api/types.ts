// Domain types for the pages, taken from the generated `paths` (not written by hand), so a
// change in the server's answers shows up here as a type error.
import type { paths } from './schema';

type JsonBody<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Ok<Op> = Op extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonBody<A>
    : R extends { 201: infer B }
      ? JsonBody<B>
      : never
  : never;

export type User = Ok<paths['/api/users/me']['get']>;
export type Protocol = Ok<paths['/api/network-protocols/{id}']['get']>;
export type ProtocolField = Ok<
  paths['/api/network-protocols/{id}/fields']['get']
>['fields'][number];
export type Network = Ok<paths['/api/networks/{id}']['get']>;
export type NetworkStatus = Network['status'];
export type NetworkPage = Ok<paths['/api/networks']['get']>;
export type RemoteApplication = Ok<
  paths['/api/networks/{id}/remote-applications']['get']
>['items'][number];
