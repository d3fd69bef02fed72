import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Opaque random id (22 base62 chars ≈ 131 bits), e.g. for tracks, playlists, users. Never a path. */
export function newId(length = 22): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    // Rejection sampling keeps the distribution uniform (248 = 4 × 62).
    if (bytes[i] < 248) out += ALPHABET[bytes[i] % 62];
  }
  return out.length === length ? out : out + newId(length - out.length);
}

/** URL-safe random secret for tokens (setup links, sessions, shares). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Ids in URLs are opaque keys; anything else (paths, traversal, NUL) is rejected before touching the DB. */
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
