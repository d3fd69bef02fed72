/**
 * Detects the external programs Earshot uses (ffmpeg, ffprobe, yt-dlp): present or not, and their
 * versions. Used by `earshot doctor`, the admin "server info" and features that degrade without them.
 */
import { spawnSync } from 'node:child_process';

export interface ToolStatus {
  name: 'ffmpeg' | 'ffprobe' | 'yt-dlp';
  path: string;
  available: boolean;
  version?: string;
  /** Exact command to install it on Debian/Ubuntu (and Termux). */
  install: string;
  /** What stops working without it. */
  needed: string;
}

const INSTALL = {
  ffmpeg: 'sudo apt-get install -y ffmpeg   (Termux: pkg install ffmpeg)',
  ffprobe: 'sudo apt-get install -y ffmpeg   (ffprobe ships with ffmpeg)',
  'yt-dlp': 'sudo apt-get install -y yt-dlp   (newest: pipx install yt-dlp; Termux: pip install yt-dlp)',
} as const;

const NEEDED = {
  ffmpeg: 'transcoding for mobile data and browsers that cannot play the original format',
  ffprobe: 'reading the real duration of cached remote tracks',
  'yt-dlp': 'YouTube / SoundCloud / URL playback and search',
} as const;

export function probeTool(name: ToolStatus['name'], path: string): ToolStatus {
  const args = name === 'yt-dlp' ? ['--version'] : ['-hide_banner', '-version'];
  const base = { name, path, install: INSTALL[name], needed: NEEDED[name] };
  try {
    const r = spawnSync(path, args, { encoding: 'utf8', timeout: 15_000, env: process.env });
    if (r.error || r.status !== 0) return { ...base, available: false };
    const first = (r.stdout || '').split('\n')[0].trim();
    const version = name === 'yt-dlp' ? first : (/version\s+(\S+)/.exec(first)?.[1] ?? first);
    return { ...base, available: true, version };
  } catch {
    return { ...base, available: false };
  }
}

export function probeTools(paths: { ffmpegPath: string; ffprobePath: string; ytDlpPath: string }): ToolStatus[] {
  return [
    probeTool('ffmpeg', paths.ffmpegPath),
    probeTool('ffprobe', paths.ffprobePath),
    probeTool('yt-dlp', paths.ytDlpPath),
  ];
}

/** yt-dlp versions are dates (2023.03.04); services change often, so anything older than ~6 months is stale. */
export function ytDlpAgeDays(version: string | undefined, now = Date.now()): number | null {
  const m = /^(\d{4})\.(\d{2})\.(\d{2})/.exec(version ?? '');
  if (!m) return null;
  const released = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Math.floor((now - released) / 86_400_000);
}

/** Older than this, yt-dlp is reported as out of date (sites change their pages every few weeks). */
export const YTDLP_STALE_DAYS = 180;

/**
 * Why a tool that runs is still a problem, for people to read (admin page, doctor); null when
 * it is fine. Today: a yt-dlp release older than {@link YTDLP_STALE_DAYS}.
 */
export function toolWarning(tool: Pick<ToolStatus, 'name' | 'available' | 'version'>, now = Date.now()): string | null {
  if (!tool.available || tool.name !== 'yt-dlp') return null;
  const age = ytDlpAgeDays(tool.version, now);
  if (age === null || age <= YTDLP_STALE_DAYS) return null;
  const months = Math.round(age / 30.44);
  const span = months >= 24 ? `${Math.floor(months / 12)} years` : `${months} months`;
  return `yt-dlp ${tool.version} is ${span} old; YouTube and SoundCloud change often and old versions break. Update it.`;
}
