/**
 * The container image, as far as it can be checked without a container engine (docs/deploy.md):
 * the Dockerfile's instructions, the build context it copies, the entrypoint run under bash, the
 * libraries the image deletes, and the image workflow.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTINGS } from '../../config/schema.js';
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
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'node', 'runtime']);
    for (const s of stages.slice(0, 3)) expect(s.from).toBe('node:${NODE_VERSION}-bookworm-slim');
    expect(runtime.from).toBe('debian:bookworm-slim');
    expect(all('COPY').some((c) => c.args === '--from=node /usr/local/bin/node /usr/local/bin/node')).toBe(true);
    // Native modules are installed for the target platform; only the JS build runs on the build platform.
    expect(dockerfile).toMatch(/FROM --platform=\$BUILDPLATFORM node:\$\{NODE_VERSION\}-bookworm-slim AS build/);
    expect(stages[1].steps.some((s) => s.op === 'RUN' && s.args.includes('npm ci --omit=dev --workspace server'))).toBe(
      true,
    );
  });

  it('installs ffmpeg and yt-dlp from Debian, with an optional current yt-dlp', () => {
    const install = all('RUN').find((r) => r.args.includes('apt-get install'))!;
    expect(install.args).toMatch(/--no-install-recommends ffmpeg yt-dlp/);
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

  it('deletes only Mesa/LLVM packages that ffmpeg and ffprobe do not link (checked on this Debian host)', (ctx) => {
    const purge = all('RUN')
      .map((r) => /dpkg --purge --force-depends ([^&]+)/.exec(r.args)?.[1])
      .find(Boolean)!
      .trim()
      .split(/\s+/);
    expect(purge).toEqual(['libgl1-mesa-dri', 'libllvm15', 'libz3-4']);
    if (!existsSync('/usr/bin/ffmpeg') || spawnSync('dpkg', ['--version']).status !== 0) {
      console.warn('SKIPPED: no Debian ffmpeg here to check the linked libraries against.');
      return ctx.skip();
    }
    const libs = new Set<string>();
    for (const bin of ['/usr/bin/ffmpeg', '/usr/bin/ffprobe']) {
      for (const m of execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/=> (\/\S+)/g)) libs.add(m[1]);
    }
    // Which package owns each library: dpkg's file lists, read once (`dpkg -S` per file is slow).
    const ownerOf = new Map<string, string>();
    const info = '/var/lib/dpkg/info';
    for (const f of readdirSync(info).filter((n) => n.endsWith('.list'))) {
      const pkg = f.slice(0, -'.list'.length).split(':')[0];
      for (const path of readFileSync(join(info, f), 'utf8').split('\n')) ownerOf.set(path, pkg);
    }
    const owners = new Set<string>();
    for (const lib of libs) {
      const real = realpathSync(lib);
      // usrmerge: /lib is /usr/lib, and dpkg may list either spelling.
      for (const p of [lib, real].flatMap((x) => [x, x.replace(/^\/usr\//, '/'), `/usr${x}`])) {
        const pkg = ownerOf.get(p);
        if (pkg) owners.add(pkg);
      }
    }
    expect(owners.size).toBeGreaterThan(50);
    expect(purge.filter((p) => owners.has(p))).toEqual([]);
  });
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
  });
});
