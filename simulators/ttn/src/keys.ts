import { SignJWT, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import type { TokenClaims } from './state.js';

/** The account server's RS256 signing key; `GET /key` serves the public half. */
export interface Signer {
  publicKeyPem: string;
  sign(claims: TokenClaims): Promise<string>;
}

export async function createSigner(): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const publicKeyPem = await exportSPKI(publicKey as CryptoKey);
  return {
    publicKeyPem,
    sign: (claims) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(privateKey),
  };
}
