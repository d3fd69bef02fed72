/**
 * Features Earshot does not have (yet): internet radio, podcasts, videos, chat, jukebox, HLS.
 * Reads answer empty lists (Amperfy and DSub query podcasts and radio on start); writes and the
 * jukebox answer error 0 with a plain reason, as the OpenSubsonic docs allow.
 */
import type { Method } from '../context.js';
import { ErrorCode, SubsonicError } from '../errors.js';

const unsupported =
  (what: string): Method =>
  async () => {
    throw new SubsonicError(ErrorCode.Generic, `${what} is not supported by this server.`);
  };
const notFound =
  (what: string): Method =>
  async (ctx) => {
    throw new SubsonicError(ErrorCode.NotFound, `${what} not found: ${ctx.params.str('id') ?? ''}`);
  };

export const unsupportedMethods: Record<string, Method> = {
  getInternetRadioStations: async () => ({ internetRadioStations: {} }),
  createInternetRadioStation: unsupported('Internet radio'),
  updateInternetRadioStation: unsupported('Internet radio'),
  deleteInternetRadioStation: unsupported('Internet radio'),
  getPodcasts: async () => ({ podcasts: {} }),
  getNewestPodcasts: async () => ({ newestPodcasts: {} }),
  refreshPodcasts: unsupported('Podcasts'),
  createPodcastChannel: unsupported('Podcasts'),
  deletePodcastChannel: unsupported('Podcasts'),
  deletePodcastEpisode: unsupported('Podcasts'),
  downloadPodcastEpisode: unsupported('Podcasts'),
  getVideos: async () => ({ videos: {} }),
  getVideoInfo: notFound('Video'),
  getCaptions: notFound('Video'),
  hls: unsupported('HLS streaming'),
  getChatMessages: async () => ({ chatMessages: {} }),
  addChatMessage: unsupported('Chat'),
  jukeboxControl: unsupported('Jukebox'),
};
