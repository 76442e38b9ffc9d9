/**
 * Tokens of TTN's password grant from the simulator's account server, as a TTN tool of the
 * user's own would get them: for tests and benchmarks that need a user's tokens without the
 * browser sign-in. No imports, so that the browser tests' harness can use it too.
 */
export async function passwordGrant(
  accountUrl: string,
  client: { id: string; secret: string },
  user: { username: string; password: string },
): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const res = await fetch(`${accountUrl}/users/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
    },
    body: JSON.stringify({
      grant_type: 'password',
      username: user.username,
      password: user.password,
    }),
  });
  if (!res.ok) throw new Error(`password grant: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
}
