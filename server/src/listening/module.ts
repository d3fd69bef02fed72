/**
 * Builds the listening area: likes, plays, history and Discovery (activity), playlists, the play
 * queue and share links, with their routes. main.ts calls {@link createListening} once.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { LikedFlags } from '../catalog/liked.js';
import type { Db } from '../db/database.js';
import { accessScope } from '../http/access.js';
import type { EventBus } from '../shared/events.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { ArtworkService } from '../streaming/artwork.service.js';
import type { StreamResponderDeps } from '../streaming/stream-responder.js';
import { ActivityRepository } from './activity.repository.js';
import { activityRoutes } from './activity.routes.js';
import { ActivityService } from './activity.service.js';
import { LikedFlagsRepository } from './liked-flags.repository.js';
import { PlaylistsRepository } from './playlists.repository.js';
import { playlistRoutes } from './playlists.routes.js';
import { PlaylistsService } from './playlists.service.js';
import { QueueRepository } from './queue.repository.js';
import { QueueService } from './queue.service.js';
import { SharesRepository } from './shares.repository.js';
import { shareRoutes } from './shares.routes.js';
import { SharesService } from './shares.service.js';

export interface ListeningDeps {
  db: Db;
  clock: Clock;
  events: EventBus;
  logger: Logger;
  musicDir: string;
  publicUrl?: string;
  /** Signs share tokens. */
  serverKey: Buffer;
  /** What a share page needs from the streaming area: covers and the stream responder. */
  media: { artwork: ArtworkService; stream: StreamResponderDeps };
}

export interface Listening {
  /** The `liked` flags port other areas' responses use (catalog, sources). */
  liked: LikedFlags;
  activity: ActivityService;
  playlists: PlaylistsService;
  queue: QueueService;
  shares: SharesService;
  /** Playlists, likes, plays, history and shares (signed-in users); share pages (public). */
  routes: FastifyPluginAsync;
}

/**
 * The activity service alone, for processes without the HTTP face: the domain event reactions
 * (domain-events.ts) that `earshot scan` shares with the server.
 */
export function createActivityService(db: Db, clock: Clock): ActivityService {
  return new ActivityService(new ActivityRepository(db), new LikedFlagsRepository(db), clock);
}

export function createListening(deps: ListeningDeps): Listening {
  const { db, clock, events, logger, musicDir, publicUrl } = deps;
  const liked = new LikedFlagsRepository(db);
  const activity = new ActivityService(new ActivityRepository(db), liked, clock);
  const playlists = new PlaylistsService({
    repo: new PlaylistsRepository(db),
    liked,
    clock,
    events,
    logger,
    musicDir,
    publicUrl,
  });
  const queue = new QueueService(new QueueRepository(db), clock);
  const shares = new SharesService(new SharesRepository(db), clock, deps.serverKey, publicUrl);
  return {
    liked,
    activity,
    playlists,
    queue,
    shares,
    routes: async (app) => {
      await app.register(accessScope('user', playlistRoutes), { playlists });
      // Likes and counters of tracks the library removes are dropped by the domain event wiring
      // (domain-events.ts), which `earshot scan` shares.
      await app.register(accessScope('user', activityRoutes), { activity });
      // Creating and listing shares needs a user; the share pages themselves are public per route.
      await app.register(accessScope('user', shareRoutes), {
        shares,
        artwork: deps.media.artwork,
        stream: deps.media.stream,
        publicUrl,
      });
    },
  };
}
