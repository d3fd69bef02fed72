/** System methods: ping, getLicense, getOpenSubsonicExtensions (public), tokenInfo. */
import type { Node } from '../envelope.js';
import type { Ctx, Method } from '../context.js';

/** Extensions this server really implements (each is exercised by subsonic tests). */
export const EXTENSIONS: { name: string; versions: number[] }[] = [
  { name: 'apiKeyAuthentication', versions: [1] },
  { name: 'formPost', versions: [1] },
  { name: 'songLyrics', versions: [1] },
  { name: 'transcodeOffset', versions: [1] },
  { name: 'indexBasedQueue', versions: [1] },
  { name: 'topSongsByArtistId', versions: [1] },
];

export function extensionsPayload(): Node {
  return { openSubsonicExtensions: EXTENSIONS.map((e) => ({ name: e.name, versions: e.versions })) };
}

export const systemMethods: Record<string, Method> = {
  ping: async () => ({}),
  getLicense: async () => ({ license: { valid: true } }),
  getOpenSubsonicExtensions: async () => extensionsPayload(),
  tokenInfo: async (ctx: Ctx) => ({ tokenInfo: { username: ctx.user.username } }),
};
