/** Every Subsonic method by name (the route table). */
import type { Method } from '../context.js';
import { annotationMethods } from './annotation.js';
import { browsingMethods } from './browsing.js';
import { listMethods } from './lists.js';
import { mediaMethods } from './media.js';
import { playlistMethods } from './playlists.js';
import { queueMethods } from './queue.js';
import { searchMethods } from './search.js';
import { shareMethods } from './shares.js';
import { systemMethods } from './system.js';
import { unsupportedMethods } from './unsupported.js';
import { userMethods } from './users.js';

export const METHODS: Record<string, Method> = {
  ...systemMethods,
  ...browsingMethods,
  ...listMethods,
  ...searchMethods,
  ...mediaMethods,
  ...annotationMethods,
  ...playlistMethods,
  ...queueMethods,
  ...shareMethods,
  ...userMethods,
  ...unsupportedMethods,
};

/** Methods answered without authentication (OpenSubsonic requires it for the extension list). */
export const PUBLIC_METHODS = new Set(['getOpenSubsonicExtensions']);
