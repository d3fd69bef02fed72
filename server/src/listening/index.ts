/** Registers the listening area (playlists, likes, plays, history, discovery); shares register separately. */
import type { FastifyPluginAsync } from 'fastify';
import type { Db } from '../db/database.js';
import type { EventBus } from '../shared/events.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { ActivityRepository } from './activity.repository.js';
import { activityRoutes } from './activity.routes.js';
import { ActivityService } from './activity.service.js';
import { playlistRoutes } from './playlists.routes.js';
import { PlaylistsService } from './playlists.service.js';
import { PlaylistsRepository } from './playlists.repository.js';
import { LikedFlagsRepository } from './liked-flags.repository.js';

export interface ListeningOptions {
  db: Db;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  musicDir: string;
  publicUrl?: string;
}

export const listeningRoutes: FastifyPluginAsync<ListeningOptions> = async (app, options) => {
  const liked = new LikedFlagsRepository(options.db);
  await app.register(playlistRoutes, {
    playlists: new PlaylistsService({ ...options, repo: new PlaylistsRepository(options.db), liked }),
  });
  // Likes and counters of tracks the library removes are dropped by the domain event wiring
  // (domain-events.ts), which `earshot scan` shares.
  const activity = new ActivityService(new ActivityRepository(options.db), liked, options.clock);
  await app.register(activityRoutes, { activity });
};
