/**
 * The one configuration schema. Every setting has:
 *  - a key (camelCase, used in code),
 *  - an environment variable `EARSHOT_*` (also read from `.env`),
 *  - a CLI flag `--kebab-case`,
 *  - a default (or none, when the setting is optional),
 *  - a plain-words description (shown by `earshot config` and in the README table).
 *
 * Values arrive as strings from env/.env/flags and are coerced by TypeBox before validation,
 * so the same schema validates all three sources.
 */
import { type Static, Type } from '@sinclair/typebox';
import { IDENTITY_SETTINGS, IdentityConfig } from './identity.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const REGISTRATION_MODES = ['closed', 'invite', 'open'] as const;

const Port = Type.Integer({ minimum: 0, maximum: 65535 }); // 0 = any free port (tests)
const NonEmpty = Type.String({ minLength: 1 });
const Bool = Type.Boolean();
const PositiveInt = Type.Integer({ minimum: 1 });

export const ConfigSchema = Type.Object({
  host: NonEmpty,
  port: Port,
  dataDir: NonEmpty,
  musicDir: NonEmpty,
  cacheDir: NonEmpty,
  dbDir: NonEmpty,
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/[^\\s]*)?$' })),
  logLevel: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l))),
  logFormat: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')]),
  trustedProxies: Type.Array(NonEmpty),
  allowedHosts: Type.Array(NonEmpty),
  registration: Type.Union(REGISTRATION_MODES.map((m) => Type.Literal(m))),
  secretKey: Type.Optional(Type.String({ minLength: 32 })),
  secretKeyFile: Type.Optional(NonEmpty),
  shutdownTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
  metricsEnabled: Bool,
  ffmpegPath: NonEmpty,
  ffprobePath: NonEmpty,
  ytDlpPath: NonEmpty,
  // Library (scanner and watcher).
  scanOnStart: Bool,
  watch: Bool,
  watchPolling: Bool,
  fullScanIntervalMinutes: Type.Integer({ minimum: 0 }),
  scanWorkers: Type.Integer({ minimum: 0, maximum: 32 }),
  artistSeparators: Type.Array(Type.String({ minLength: 1 })),
  // Streaming.
  transcodeMaxConcurrent: PositiveInt,
  transcodeMaxPerUser: PositiveInt,
  transcodeCacheMb: Type.Integer({ minimum: 0 }),
  artworkCacheMb: Type.Integer({ minimum: 0 }),
  streamIdleTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
  // Remote sources.
  sourcesYoutube: Bool,
  sourcesSoundcloud: Bool,
  sourcesUrl: Bool,
  providerTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000 }),
  cacheJobsConcurrency: PositiveInt,
  // Identity: sessions, SSO, Cloudflare Access, trusted forward-auth headers (config/identity.ts).
  ...IdentityConfig,
  // Subsonic API.
  subsonicRemoteSearch: Bool,
  // Operations: metrics access and scheduled backups.
  metricsToken: Type.Optional(Type.String({ minLength: 16 })),
  metricsAddr: Type.Optional(Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]*):[0-9]{1,5}$' })),
  backupIntervalHours: Type.Integer({ minimum: 0, maximum: 8760 }),
  backupKeep: Type.Integer({ minimum: 1, maximum: 1000 }),
});

export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

export interface SettingSpec {
  key: ConfigKey;
  env: string;
  flag: string;
  /** Default as a string, exactly as a user would write it; a function derives it from other settings. */
  default?: string | ((partial: Record<string, unknown>) => string);
  secret?: boolean;
  /** Comma-separated list in env/flags. */
  list?: boolean;
  description: string;
}

const path = (...parts: string[]) => parts.join('/');

/** Ordered: derived defaults (musicDir from dataDir) come after what they derive from. */
export const SETTINGS: SettingSpec[] = [
  {
    key: 'host',
    env: 'EARSHOT_HOST',
    flag: '--host',
    default: '127.0.0.1',
    description: 'Address to listen on. Use 0.0.0.0 to accept LAN connections (an explicit choice).',
  },
  { key: 'port', env: 'EARSHOT_PORT', flag: '--port', default: '8000', description: 'TCP port to listen on.' },
  {
    key: 'dataDir',
    env: 'EARSHOT_DATA_DIR',
    flag: '--data-dir',
    default: './data',
    description: 'Root of everything Earshot stores; holds library/, cache/ and db/ unless those are set.',
  },
  {
    key: 'musicDir',
    env: 'EARSHOT_MUSIC_DIR',
    flag: '--music-dir',
    default: (c) => path(String(c.dataDir), 'library'),
    description: 'Your music folder (scanned and watched).',
  },
  {
    key: 'cacheDir',
    env: 'EARSHOT_CACHE_DIR',
    flag: '--cache-dir',
    default: (c) => path(String(c.dataDir), 'cache'),
    description: 'Permanent cache of remote tracks, artwork and transcodes.',
  },
  {
    key: 'dbDir',
    env: 'EARSHOT_DB_DIR',
    flag: '--db-dir',
    default: (c) => path(String(c.dataDir), 'db'),
    description: 'Folder of the SQLite database (earshot.db) and the server key.',
  },
  {
    key: 'databaseUrl',
    env: 'EARSHOT_DATABASE_URL',
    flag: '--database-url',
    secret: true,
    description:
      'PostgreSQL instead of SQLite: postgres://user:password@host:5432/db (the password is never logged). Unset: SQLite in the db folder.',
  },
  {
    key: 'publicUrl',
    env: 'EARSHOT_PUBLIC_URL',
    flag: '--public-url',
    description:
      'The URL people use to reach Earshot (e.g. https://music.example.com). Used for links and Secure cookies; never taken from request headers.',
  },
  {
    key: 'logLevel',
    env: 'EARSHOT_LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    description: `Log verbosity: ${LOG_LEVELS.join(', ')}.`,
  },
  {
    key: 'logFormat',
    env: 'EARSHOT_LOG_FORMAT',
    flag: '--log-format',
    default: 'auto',
    description: 'auto (pretty on a terminal, JSON otherwise), json or pretty.',
  },
  {
    key: 'trustedProxies',
    env: 'EARSHOT_TRUSTED_PROXIES',
    flag: '--trusted-proxies',
    default: '',
    list: true,
    description:
      'Comma-separated IPs/CIDRs of reverse proxies whose forwarding and identity headers are believed (e.g. 127.0.0.1 for cloudflared on the same host). Empty: none.',
  },
  {
    key: 'allowedHosts',
    env: 'EARSHOT_ALLOWED_HOSTS',
    flag: '--allowed-hosts',
    default: '',
    list: true,
    description:
      'Comma-separated extra host names the server answers to (`.example.com` = any subdomain). IP literals, localhost and the public URL host always work; other Host headers get 421 (DNS rebinding defence).',
  },
  {
    key: 'registration',
    env: 'EARSHOT_REGISTRATION',
    flag: '--registration',
    default: 'closed',
    description: 'Who may create accounts: closed (admin only), invite (admin-issued links) or open.',
  },
  {
    key: 'secretKey',
    env: 'EARSHOT_SECRET_KEY',
    flag: '--secret-key',
    secret: true,
    description:
      'Server key (≥ 32 chars, e.g. `openssl rand -base64 48`) for signing tokens and encrypting app passwords; every replica needs the same one. Default: generated once and stored in the db folder.',
  },
  {
    key: 'secretKeyFile',
    env: 'EARSHOT_SECRET_KEY_FILE',
    flag: '--secret-key-file',
    description:
      'File holding the server key (a mounted Kubernetes/Docker secret); one trailing newline is ignored. Use this or EARSHOT_SECRET_KEY, not both.',
  },
  {
    key: 'shutdownTimeoutMs',
    env: 'EARSHOT_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms',
    default: '10000',
    description: 'How long a graceful shutdown may take before open streams are cut.',
  },
  {
    key: 'metricsEnabled',
    env: 'EARSHOT_METRICS',
    flag: '--metrics',
    default: 'true',
    description:
      'Collect Prometheus metrics, served at /metrics only with EARSHOT_METRICS_TOKEN or on EARSHOT_METRICS_ADDR (with neither, nothing could read them: nothing is collected).',
  },
  {
    key: 'ffmpegPath',
    env: 'EARSHOT_FFMPEG',
    flag: '--ffmpeg',
    default: 'ffmpeg',
    description: 'ffmpeg binary (transcoding).',
  },
  { key: 'ffprobePath', env: 'EARSHOT_FFPROBE', flag: '--ffprobe', default: 'ffprobe', description: 'ffprobe binary.' },
  {
    key: 'ytDlpPath',
    env: 'EARSHOT_YTDLP',
    flag: '--ytdlp',
    default: '/usr/bin/yt-dlp',
    description: 'yt-dlp binary (remote sources).',
  },
  {
    key: 'scanOnStart',
    env: 'EARSHOT_SCAN_ON_START',
    flag: '--scan-on-start',
    default: 'true',
    description: 'Run an incremental library scan when the server starts.',
  },
  {
    key: 'watch',
    env: 'EARSHOT_WATCH',
    flag: '--watch',
    default: 'true',
    description: 'Watch the music folder and rescan changed files.',
  },
  {
    key: 'watchPolling',
    env: 'EARSHOT_WATCH_POLLING',
    flag: '--watch-polling',
    default: 'false',
    description: 'Poll for changes instead of inotify (network shares, some Android storage).',
  },
  {
    key: 'fullScanIntervalMinutes',
    env: 'EARSHOT_FULL_SCAN_INTERVAL_MINUTES',
    flag: '--full-scan-interval-minutes',
    default: '1440',
    description: 'Periodic full scan interval in minutes; 0 disables it.',
  },
  {
    key: 'scanWorkers',
    env: 'EARSHOT_SCAN_WORKERS',
    flag: '--scan-workers',
    default: '0',
    description: 'Tag-reading worker threads; 0 = CPU cores minus one (the writer), 1 to 4.',
  },
  {
    key: 'artistSeparators',
    env: 'EARSHOT_ARTIST_SEPARATORS',
    flag: '--artist-separators',
    default: ';, / ',
    list: true,
    description:
      'Separators splitting a single artist/genre tag into several (comma-separated list; names like AC/DC are kept whole).',
  },
  {
    key: 'transcodeMaxConcurrent',
    env: 'EARSHOT_TRANSCODE_MAX',
    flag: '--transcode-max',
    default: '4',
    description: 'Transcodes running at once, server-wide.',
  },
  {
    key: 'transcodeMaxPerUser',
    env: 'EARSHOT_TRANSCODE_MAX_PER_USER',
    flag: '--transcode-max-per-user',
    default: '2',
    description: 'Transcodes running at once for one user.',
  },
  {
    key: 'transcodeCacheMb',
    env: 'EARSHOT_TRANSCODE_CACHE_MB',
    flag: '--transcode-cache-mb',
    default: '1024',
    description: 'Size cap of the transcode cache (least recently used is evicted); 0 disables it.',
  },
  {
    key: 'artworkCacheMb',
    env: 'EARSHOT_ARTWORK_CACHE_MB',
    flag: '--artwork-cache-mb',
    default: '256',
    description: 'Size cap of the resized-artwork cache.',
  },
  {
    key: 'streamIdleTimeoutMs',
    env: 'EARSHOT_STREAM_IDLE_TIMEOUT_MS',
    flag: '--stream-idle-timeout-ms',
    default: '60000',
    description:
      'A streaming client that reads nothing for this long is disconnected (long streams are fine while data moves).',
  },
  {
    key: 'sourcesYoutube',
    env: 'EARSHOT_SOURCES_YOUTUBE',
    flag: '--sources-youtube',
    default: 'true',
    description: 'Search and play YouTube / YouTube Music.',
  },
  {
    key: 'sourcesSoundcloud',
    env: 'EARSHOT_SOURCES_SOUNDCLOUD',
    flag: '--sources-soundcloud',
    default: 'true',
    description: 'Search and play SoundCloud.',
  },
  {
    key: 'sourcesUrl',
    env: 'EARSHOT_SOURCES_URL',
    flag: '--sources-url',
    default: 'true',
    description: 'Let admins (and permitted users) play any http(s) URL yt-dlp understands.',
  },
  {
    key: 'providerTimeoutMs',
    env: 'EARSHOT_PROVIDER_TIMEOUT_MS',
    flag: '--provider-timeout-ms',
    default: '3000',
    description: 'Per-provider timeout of federated search.',
  },
  {
    key: 'cacheJobsConcurrency',
    env: 'EARSHOT_CACHE_JOBS',
    flag: '--cache-jobs',
    default: '2',
    description: 'Remote tracks downloaded at once for offline playlists.',
  },
  ...IDENTITY_SETTINGS,
  {
    key: 'subsonicRemoteSearch',
    env: 'EARSHOT_SUBSONIC_REMOTE_SEARCH',
    flag: '--subsonic-remote-search',
    default: 'true',
    description: 'Subsonic search3 also returns remote provider results as songs (after the local ones).',
  },
  {
    key: 'metricsToken',
    env: 'EARSHOT_METRICS_TOKEN',
    flag: '--metrics-token',
    secret: true,
    description:
      'Bearer token (≥ 16 chars) that unlocks /metrics on the main port. Without it (or EARSHOT_METRICS_ADDR) /metrics answers 404.',
  },
  {
    key: 'metricsAddr',
    env: 'EARSHOT_METRICS_ADDR',
    flag: '--metrics-addr',
    description:
      'Separate listener for /metrics only, e.g. 127.0.0.1:9464 (wants the token too when one is set). Default: none.',
  },
  {
    key: 'backupIntervalHours',
    env: 'EARSHOT_BACKUP_INTERVAL_HOURS',
    flag: '--backup-interval-hours',
    default: '24',
    description:
      'Back the database up every N hours into <data dir>/backups (daily by default); 0 turns scheduled backups off.',
  },
  {
    key: 'backupKeep',
    env: 'EARSHOT_BACKUP_KEEP',
    flag: '--backup-keep',
    default: '7',
    description: 'Scheduled backups kept (older ones are deleted after each new verified backup).',
  },
];
