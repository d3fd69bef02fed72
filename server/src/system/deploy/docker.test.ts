/**
 * The container image, as far as it can be checked without a container engine (docs/deploy.md):
 * the Dockerfile's instructions, the build context it copies, the entrypoint run under bash, the
 * libraries the image deletes, and the image workflow.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTINGS } from '../../config/schema.js';
import { AUDIO_EXTENSIONS } from '../../library/tags.js';
import { buildYtDlpArgs } from '../../sources/ytdlp/runner.js';
import { ffmpegArgs, PROFILES, TRANSCODE_FORMATS } from '../../streaming/transcode-profiles.js';
import { COVER_KINDS, REALISTIC_KINDS, realisticFile } from '../../test/realistic.js';
import { decodeErrors } from '../../test/streaming.js';
import { REPO_ROOT } from '../../test/deploy.js';

interface Instruction {
  op: string;
  args: string;
}

/** Instructions per stage, continuation lines joined and comments dropped. */
function parseDockerfile(text: string): { name: string; from: string; steps: Instruction[] }[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      logical.push(current + line);
      current = '';
    }
  }
  const stages: { name: string; from: string; steps: Instruction[] }[] = [];
  for (const l of logical.filter((x) => x.trim() !== '')) {
    const [op, ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.replace(/--platform=\S+\s+/, ''));
      stages.push({ from: m![1], name: m![2] ?? '', steps: [] });
    } else if (stages.length > 0) stages.at(-1)!.steps.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const runtime = stages.at(-1)!;
const all = (op: string) => runtime.steps.filter((s) => s.op === op);

describe('Dockerfile', () => {
  it('is multi-stage: node 20 bookworm-slim build and deps, Debian bookworm slim runtime with node 20', () => {
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=20$/m);
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'node', 'ffmpeg', 'runtime']);
    for (const s of stages.slice(0, 3)) expect(s.from).toBe('node:${NODE_VERSION}-bookworm-slim');
    expect(runtime.from).toBe('debian:bookworm-slim');
    expect(all('COPY').some((c) => c.args === '--from=node /usr/local/bin/node /usr/local/bin/node')).toBe(true);
    // Native modules are installed for the target platform; only the JS build runs on the build platform.
    expect(dockerfile).toMatch(/FROM --platform=\$BUILDPLATFORM node:\$\{NODE_VERSION\}-bookworm-slim AS build/);
    expect(stages[1].steps.some((s) => s.op === 'RUN' && s.args.includes('npm ci --omit=dev --workspace server'))).toBe(
      true,
    );
  });

  it('installs yt-dlp from Debian and the audio-only ffmpeg from its own stage, with an optional current yt-dlp', () => {
    const install = all('RUN').find((r) => r.args.includes('apt-get install'))!;
    expect(install.args).toMatch(/--no-install-recommends yt-dlp /);
    // Debian's ffmpeg package (and the ~290 MiB of libraries it links) is not in the image.
    expect(install.args).not.toMatch(/\sffmpeg\s/);
    expect(all('COPY').map((c) => c.args)).toContain(
      '--from=ffmpeg /opt/ffmpeg/bin/ffmpeg /opt/ffmpeg/bin/ffprobe /usr/local/bin/',
    );
    expect(all('ARG').map((a) => a.args)).toContain('YTDLP_VERSION=');
    expect(all('RUN').some((r) => r.args.includes('releases/download/$YTDLP_VERSION/yt-dlp'))).toBe(true);
  });

  it('runs non-root through the entrypoint, with PUID/PGID/UMASK, a /data volume and a /readyz healthcheck', () => {
    const env = all('ENV')
      .map((e) => e.args)
      .join(' ');
    for (const kv of ['EARSHOT_HOST=0.0.0.0', 'EARSHOT_DATA_DIR=/data', 'PUID=1000', 'PGID=1000', 'UMASK=022'])
      expect(env).toContain(kv);
    expect(all('VOLUME').map((v) => v.args)).toEqual(['/data']);
    expect(all('EXPOSE').map((v) => v.args)).toEqual(['8000']);
    expect(all('HEALTHCHECK')[0].args).toMatch(/\/readyz/);
    expect(JSON.parse(all('ENTRYPOINT')[0].args)).toEqual(['/usr/bin/tini', '--', '/usr/local/bin/earshot-entrypoint']);
    expect(JSON.parse(all('CMD')[0].args)).toEqual(['sh', '/app/scripts/earshot-serve.sh']);
    expect(all('USER').filter((u) => u.args === 'root' || u.args === '0')).toEqual([]);
    // 0.0.0.0 only inside the image: outside, the default stays loopback.
    expect(SETTINGS.find((s) => s.key === 'host')?.default).toBe('127.0.0.1');
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const must of ['.git', '**/node_modules', '**/dist', 'data', '.env']) expect(ignore).toContain(must);
    const ignored = (path: string) =>
      ignore.some((p) => {
        const re = new RegExp(
          `^${p
            .replace(/\./g, '\\.')
            .replace(/\*\*\//g, '(.*/)?')
            .replace(/\*/g, '[^/]*')}(/|$)`,
        );
        return re.test(path);
      });
    const sources = stages
      .flatMap((s) => s.steps)
      .filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(8);
    for (const src of sources) {
      expect(existsSync(join(REPO_ROOT, src)), src).toBe(true);
      expect(ignored(src), `${src} is excluded by .dockerignore`).toBe(false);
    }
  });
});

/**
 * What ffmpeg must be able to read, per extension the scanner accepts (AUDIO_EXTENSIONS) and per
 * container the remote cache stores (sniffAudioExt): demuxers and the decoders of the codecs
 * those containers carry in real collections. A new extension without an entry fails the test.
 */
const READS: Record<string, { demuxers: string[]; decoders: string[] }> = {
  mp3: { demuxers: ['mp3'], decoders: ['mp3float', 'mp3', 'mp2float', 'mp1float'] },
  flac: { demuxers: ['flac'], decoders: ['flac'] },
  m4a: { demuxers: ['mov'], decoders: ['aac', 'alac', 'mp3float', 'ac3', 'eac3'] },
  m4b: { demuxers: ['mov'], decoders: ['aac', 'alac', 'mp3float'] },
  mp4: { demuxers: ['mov'], decoders: ['aac', 'alac', 'mp3float', 'ac3', 'eac3'] },
  alac: { demuxers: ['mov'], decoders: ['alac'] },
  aac: { demuxers: ['aac'], decoders: ['aac'] },
  ogg: { demuxers: ['ogg'], decoders: ['vorbis', 'opus', 'flac', 'speex'] },
  oga: { demuxers: ['ogg'], decoders: ['vorbis', 'opus', 'flac', 'speex'] },
  opus: { demuxers: ['ogg'], decoders: ['opus'] },
  wav: {
    demuxers: ['wav', 'w64'],
    decoders: ['pcm_u8', 'pcm_s16le', 'pcm_s24le', 'pcm_s32le', 'pcm_f32le', 'pcm_f64le', 'pcm_alaw', 'pcm_mulaw'],
  },
  wma: { demuxers: ['asf'], decoders: ['wmav1', 'wmav2', 'wmapro', 'wmalossless', 'wmavoice'] },
  aif: { demuxers: ['aiff'], decoders: ['pcm_s8', 'pcm_s16be', 'pcm_s24be', 'pcm_s32be', 'pcm_f32be', 'pcm_s16le'] },
  aiff: { demuxers: ['aiff'], decoders: ['pcm_s8', 'pcm_s16be', 'pcm_s24be', 'pcm_s32be', 'pcm_f32be', 'pcm_s16le'] },
  ape: { demuxers: ['ape'], decoders: ['ape'] },
  wv: { demuxers: ['wv'], decoders: ['wavpack'] },
  mpc: { demuxers: ['mpc', 'mpc8'], decoders: ['mpc7', 'mpc8'] },
  webm: { demuxers: ['matroska'], decoders: ['opus', 'vorbis'] },
};

/** Debian's runtime package for each external library the build enables. */
const RUNTIME_LIB: Record<string, string> = {
  libmp3lame: 'libmp3lame0',
  libopus: 'libopus0',
  gnutls: 'libgnutls30',
  zlib: 'zlib1g',
};

const buildScript = readFileSync(join(REPO_ROOT, 'deploy/docker/build-ffmpeg.sh'), 'utf8');
/** The component lists of build-ffmpeg.sh (`NAME="a b c"`, possibly over several lines). */
function components(name: string): string[] {
  const m = new RegExp(`^${name}="([^"]*)"`, 'm').exec(buildScript);
  if (!m) throw new Error(`build-ffmpeg.sh has no ${name}= list`);
  return m[1].split(/\s+/).filter(Boolean);
}
const enabledLibs = [...buildScript.matchAll(/^\s*.*--enable-(lib\w+|gnutls|zlib)\b/gm)].flatMap((m) =>
  [...m[0].matchAll(/--enable-(lib\w+|gnutls|zlib)\b/g)].map((x) => x[1]),
);

/** The containers the remote cache names its files after (the string literals sniffAudioExt returns). */
function cachedContainers(): string[] {
  const src = readFileSync(join(REPO_ROOT, 'server/src/sources/cache/cache-paths.ts'), 'utf8');
  const body = src.slice(src.indexOf('export function sniffAudioExt'));
  const fn = body.slice(0, body.indexOf('\n}\n'));
  return [...fn.matchAll(/return '(\w+)'/g)].map((m) => m[1]).filter((e) => e !== 'bin');
}

describe('audio-only ffmpeg (Dockerfile stage `ffmpeg`, deploy/docker/build-ffmpeg.sh)', () => {
  const ffmpegStage = stages.find((s) => s.name === 'ffmpeg')!;

  it("is built from Debian's source package with only the named components", () => {
    expect(ffmpegStage.from).toBe('debian:bookworm-slim');
    const runs = ffmpegStage.steps.filter((s) => s.op === 'RUN').map((r) => r.args);
    expect(runs.join('\n')).toMatch(/Types: deb-src/);
    expect(runs.some((r) => /apt-get source ffmpeg\b/.test(r) && r.includes('./build-ffmpeg.sh'))).toBe(true);
    expect(ffmpegStage.steps.some((s) => s.op === 'COPY' && s.args === 'deploy/docker/build-ffmpeg.sh ./')).toBe(true);
    // Nothing slips in by autodetection or default: every component is listed.
    expect(spawnSync('sh', ['-n', join(REPO_ROOT, 'deploy/docker/build-ffmpeg.sh')]).status).toBe(0);
    for (const flag of ['--disable-autodetect', '--disable-everything', '--disable-shared', '--enable-ffprobe'])
      expect(buildScript).toContain(flag);
    for (const [flag, list] of [
      ['demuxer', 'DEMUXERS'],
      ['decoder', 'DECODERS'],
      ['parser', 'PARSERS'],
      ['encoder', 'ENCODERS'],
      ['muxer', 'MUXERS'],
      ['filter', 'FILTERS'],
      ['protocol', 'PROTOCOLS'],
    ])
      expect(buildScript).toContain(`--enable-${flag}="$(list "$${list}")"`);
  });

  it('reads every extension the scanner accepts and every container the remote cache stores', () => {
    const demuxers = new Set(components('DEMUXERS'));
    const decoders = new Set(components('DECODERS'));
    const exts = [...[...AUDIO_EXTENSIONS].map((e) => e.slice(1)), ...cachedContainers()];
    expect(exts).toEqual(expect.arrayContaining(['mp3', 'flac', 'wma', 'webm']));
    for (const ext of exts) {
      const needs = READS[ext];
      expect(needs, `.${ext}: add what ffmpeg needs to read it to READS and build-ffmpeg.sh`).toBeDefined();
      for (const d of needs.demuxers) expect(demuxers.has(d), `.${ext} needs the ${d} demuxer`).toBe(true);
      for (const d of needs.decoders) expect(decoders.has(d), `.${ext} needs the ${d} decoder`).toBe(true);
    }
  });

  it('encodes and muxes every transcode profile, and the runtime installs the libraries it links', () => {
    const encoders = components('ENCODERS');
    const muxers = components('MUXERS');
    for (const [format, p] of Object.entries(PROFILES)) {
      const encoder = p.codec[p.codec.indexOf('-c:a') + 1];
      const muxer = p.muxer[p.muxer.indexOf('-f') + 1];
      expect(encoders, `${format} profile`).toContain(encoder);
      expect(muxers, `${format} profile`).toContain(muxer);
      if (encoder.startsWith('lib')) expect(enabledLibs, `${format} profile`).toContain(encoder);
    }
    // Sample-format/rate conversion for the encoders and the trim after an input seek.
    expect(components('FILTERS')).toEqual(expect.arrayContaining(['aformat', 'aresample', 'atrim']));
    const buildInstall = ffmpegStage.steps.find((s) => s.op === 'RUN' && s.args.includes('apt-get install'))!.args;
    const runtimeInstall = all('RUN')
      .find((r) => r.args.includes('apt-get install'))!
      .args.split(/\s+/);
    expect(enabledLibs.length).toBeGreaterThan(2);
    for (const lib of enabledLibs) {
      expect(RUNTIME_LIB[lib], `${lib}: name its Debian runtime package`).toBeDefined();
      expect(runtimeInstall, lib).toContain(RUNTIME_LIB[lib]);
      expect(buildInstall).toContain(`${lib === 'gnutls' ? 'libgnutls28' : lib === 'zlib' ? 'zlib1g' : lib}-dev`);
    }
  });
  it("serves yt-dlp's ffmpeg downloads: HLS through Earshot's proxy, copied to stdout as MPEG-TS", () => {
    const args = buildYtDlpArgs('audio', 'https://example.org/track', 'http://127.0.0.1:1');
    // yt-dlp copies HLS to stdout with `-f mpegts` and passes the proxy in http_proxy: https
    // through a proxy is ffmpeg's httpproxy (CONNECT) under tls.
    expect(args[args.indexOf('-o') + 1]).toBe('-');
    expect(args).toContain('--proxy');
    expect(components('MUXERS')).toContain('mpegts');
    expect(components('PROTOCOLS')).toEqual(
      expect.arrayContaining(['hls', 'http', 'https', 'httpproxy', 'tls', 'tcp']),
    );
    expect(components('DEMUXERS')).toEqual(expect.arrayContaining(['hls', 'mpegts', 'mov', 'aac', 'mp3']));
  });
});

/**
 * A built audio-only ffmpeg, checked for real when EARSHOT_TEST_FFMPEG names one (docs/deploy.md
 * "Audio-only ffmpeg": build-ffmpeg.sh into /tmp, then run this file and the streaming tests).
 */
const built = process.env.EARSHOT_TEST_FFMPEG;
function skipUnlessBuilt(ctx: { skip: () => void }): string {
  const version = built ? spawnSync(built, ['-hide_banner', '-version'], { encoding: 'utf8' }).stdout : '';
  if (!built || !version?.includes('earshot-audio')) {
    console.warn('SKIPPED: set EARSHOT_TEST_FFMPEG to an ffmpeg built by deploy/docker/build-ffmpeg.sh.');
    ctx.skip();
  }
  return built!;
}
/** Names in `ffmpeg -demuxers/-decoders/...` output ("mov,mp4,m4a" is three names). */
function listed(bin: string, what: string): Set<string> {
  const out = execFileSync(bin, ['-hide_banner', `-${what}`], { encoding: 'utf8' });
  const body = out.slice(out.search(/^ -+\s*$/m) + 1);
  const names = [...body.matchAll(/^\s+[\w.]+\s+([\w,-]+)/gm)].flatMap((m) => m[1].split(','));
  return new Set(names);
}

describe('the built audio-only ffmpeg (EARSHOT_TEST_FFMPEG)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  it('has every component build-ffmpeg.sh lists and links only libc and the runtime packages', (ctx) => {
    const bin = skipUnlessBuilt(ctx);
    const checks: [string, string][] = [
      ['demuxers', 'DEMUXERS'],
      ['decoders', 'DECODERS'],
      ['encoders', 'ENCODERS'],
      ['muxers', 'MUXERS'],
    ];
    for (const [what, list] of checks) {
      const have = listed(bin, what);
      for (const name of components(list)) expect(have.has(name), `${what}: ${name}`).toBe(true);
    }
    const filters = execFileSync(bin, ['-hide_banner', '-filters'], { encoding: 'utf8' });
    for (const f of components('FILTERS')) expect(filters).toMatch(new RegExp(`^ \\S+ ${f} `, 'm'));
    // Video encoders are not built: the image cannot be used to transcode anything else.
    expect(listed(bin, 'encoders').has('libx264')).toBe(false);

    const ownerOf = new Map<string, string>();
    const info = '/var/lib/dpkg/info';
    for (const f of readdirSync(info).filter((n) => n.endsWith('.list'))) {
      for (const path of readFileSync(join(info, f), 'utf8').split('\n')) ownerOf.set(path, f.split(/[:.]/)[0]);
    }
    const allowed = new Set(['libc6', ...enabledLibs.map((l) => RUNTIME_LIB[l])]);
    for (const exe of [bin, join(bin, '..', 'ffprobe')]) {
      const needed = [...execFileSync('readelf', ['-d', exe], { encoding: 'utf8' }).matchAll(/\(NEEDED\).*\[(.+)\]/g)];
      const paths = new Map(
        [...execFileSync('ldd', [exe], { encoding: 'utf8' }).matchAll(/(\S+) => (\/\S+)/g)].map((m) => [m[1], m[2]]),
      );
      expect(needed.length).toBeGreaterThan(2);
      for (const [, soname] of needed) {
        const real = realpathSync(paths.get(soname)!);
        const owner = [real, real.replace(/^\/usr\//, '/'), paths.get(soname)!]
          .map((p) => ownerOf.get(p))
          .find(Boolean);
        expect(allowed.has(owner ?? '?'), `${exe} links ${soname} from ${owner}`).toBe(true);
      }
    }
  });

  it('copies an HLS stream from an HTTP server to stdout as MPEG-TS, as yt-dlp has it do', async (ctx) => {
    const bin = skipUnlessBuilt(ctx);
    const dir = mkdtempSync(join(tmpdir(), 'es-ffhls-'));
    dirs.push(dir);
    const hls = ['-c:a', 'aac', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod'];
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=440:d=6', ...hls, join(dir, 'index.m3u8')]);
    const server = createServer((req, res) => {
      const file = join(dir, basename(req.url ?? ''));
      if (!existsSync(file)) res.writeHead(404).end();
      else res.end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.m3u8`;
    const out = join(dir, 'out.ts');
    const child = spawn(bin, ['-hide_banner', '-v', 'error', '-i', url, '-c', 'copy', '-f', 'mpegts', 'pipe:1']);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    server.close();
    expect(`${code} ${stderr}`).toBe('0 ');
    writeFileSync(out, Buffer.concat(chunks));
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', out], {
        encoding: 'utf8',
      }),
    );
    expect(probe.format.format_name).toBe('mpegts');
    expect(probe.streams[0].codec_name).toBe('aac');
    expect(Number(probe.format.duration)).toBeGreaterThan(5);
  });

  it('transcodes every fixture kind (covers included) to every profile, from the start and after a seek', async (ctx) => {
    const bin = skipUnlessBuilt(ctx);
    // One at a time: fixtures with the same tags share a temporary metadata file.
    const sources: string[] = [];
    for (const kind of REALISTIC_KINDS) {
      const cover = COVER_KINDS.includes(kind) ? 'small' : undefined;
      sources.push(await realisticFile(kind, { seconds: 4, cover, tags: { title: kind } }));
    }
    // Containers the realistic fixtures do not cover: WavPack, ADTS AAC, WebM Opus (yt-dlp's).
    const extra = mkdtempSync(join(tmpdir(), 'es-ffaudio-'));
    dirs.push(extra);
    for (const [name, args] of [
      ['a.wv', ['-c:a', 'wavpack']],
      ['a.aac', ['-c:a', 'aac', '-f', 'adts']],
      ['a.webm', ['-c:a', 'libopus']],
    ] as const) {
      const out = join(extra, name);
      execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=440:d=4', ...args, out]);
      sources.push(out);
    }
    for (const src of sources) {
      for (const format of TRANSCODE_FORMATS) {
        for (const offset of [0, 1.5]) {
          const out = join(extra, `out.${PROFILES[format].extension}`);
          const args = ffmpegArgs(src, { format, kbps: PROFILES[format].defaultKbps, offset });
          const r = spawnSync(bin, [...args.slice(0, -1), '-y', out], { encoding: 'utf8' });
          expect(`${r.status} ${r.stderr}`, `${src} → ${format} @${offset}`).toBe('0 ');
          const probe = JSON.parse(
            execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', out], {
              encoding: 'utf8',
            }),
          );
          expect(probe.streams[0].codec_name, src).toBe(format === 'mp3' ? 'mp3' : format);
          expect(Number(probe.format.duration), `${src} → ${format} @${offset}`).toBeGreaterThan(4 - offset - 0.5);
          expect(await decodeErrors(out), `${src} → ${format}`).toBe('');
        }
      }
    }
  }, 600_000);
});

describe('entrypoint (deploy/docker/entrypoint.sh) under bash', () => {
  const ENTRYPOINT = join(REPO_ROOT, 'deploy/docker/entrypoint.sh');
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const run = (env: Record<string, string>, script: string) =>
    spawnSync('bash', [ENTRYPOINT, 'sh', '-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    });

  it('refuses bad PUID/PGID/UMASK values and PUID=0 with exit 64', () => {
    const bad: Record<string, string>[] = [{ PUID: 'abc' }, { PGID: '-1' }, { UMASK: '999' }, { UMASK: 'u=rwx' }];
    for (const env of bad) {
      const r = run(env, 'echo ran');
      expect(r.status, JSON.stringify(env)).toBe(64);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/earshot-entrypoint: /);
    }
    if (process.getuid?.() === 0) {
      const r = run({ PUID: '0', EARSHOT_DATA_DIR: mkdtempSync(join(tmpdir(), 'es-ep-')) }, 'echo ran');
      expect(r.status).toBe(64);
      expect(r.stderr).toMatch(/PUID=0 would run Earshot as root/);
    }
  });

  it('applies UMASK and runs the command (exit code passed through)', () => {
    const data = mkdtempSync(join(tmpdir(), 'es-ep-'));
    dirs.push(data);
    const r = run({ UMASK: '0027', PUID: '4242', PGID: '4242', EARSHOT_DATA_DIR: data }, 'umask; exit 7');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0027');
    expect(r.status).toBe(7);
  });

  it('as root: drops to PUID:PGID, owns the data folders, never chowns the music', (ctx) => {
    if (process.getuid?.() !== 0) {
      console.warn('SKIPPED: dropping privileges needs root (the container starts as root).');
      return ctx.skip();
    }
    const data = mkdtempSync(join(tmpdir(), 'es-ep-'));
    dirs.push(data);
    mkdirSync(join(data, 'db'));
    writeFileSync(join(data, 'db', 'earshot.db'), 'x');
    const music = join(data, 'music');
    mkdirSync(music);
    writeFileSync(join(music, 'song.flac'), 'x');
    const r = run(
      { PUID: '4242', PGID: '4343', UMASK: '0002', EARSHOT_DATA_DIR: data, EARSHOT_MUSIC_DIR: music },
      'id -u; id -g; id -G; echo "$HOME"; touch "$EARSHOT_DATA_DIR/cache/new"; stat -c %u:%g:%a "$EARSHOT_DATA_DIR/cache/new"',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['4242', '4343', '4343', data, '4242:4343:664']);
    for (const p of [data, join(data, 'db'), join(data, 'db', 'earshot.db'), join(data, 'backups')]) {
      const s = statSync(p);
      expect(`${s.uid}:${s.gid}`, p).toBe('4242:4343');
    }
    expect(statSync(join(music, 'song.flac')).uid).toBe(0);
  });
});

describe('image workflow (.github/workflows/image.yml)', () => {
  it('builds linux/amd64 and linux/arm64 with buildx and QEMU, pushing only outside pull requests', () => {
    const wf = parse(readFileSync(join(REPO_ROOT, '.github/workflows/image.yml'), 'utf8'));
    const steps: { uses?: string; with?: Record<string, unknown> }[] = wf.jobs.image.steps;
    const uses = steps.map((s) => s.uses?.split('@')[0]).filter(Boolean);
    expect(uses).toEqual(
      expect.arrayContaining([
        'actions/checkout',
        'docker/setup-qemu-action',
        'docker/setup-buildx-action',
        'docker/build-push-action',
      ]),
    );
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action'))!;
    expect(build.with?.platforms).toBe('linux/amd64,linux/arm64');
    expect(build.with?.push).toBe("${{ github.event_name != 'pull_request' }}");
    // The size target is measured on the real image, and the audio-only ffmpeg is run in it.
    const smoke = (steps as { name?: string; run?: string }[]).find((s) => s.name?.startsWith('Smoke test'))!.run!;
    expect(smoke).toMatch(/test "\$size" -le 350000000/);
    expect(smoke).toMatch(/docker exec smoke sh -c 'ffmpeg -hide_banner -encoders \| grep -q libopus/);
  });
});
