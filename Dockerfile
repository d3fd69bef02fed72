# syntax=docker/dockerfile:1.7
# Earshot container image (docs/deploy.md "Container image").
#
#   docker build -t earshot .
#   docker run -d --name earshot -p 8000:8000 -v earshot-data:/data -v /path/to/music:/data/library:ro \
#     -e PUID=$(id -u) -e PGID=$(id -g) earshot
#
# Stages: `build` compiles the server and the web app once on the build machine's own platform
# (plain JavaScript, the same for every architecture); `deps` installs the production npm
# dependencies on the target platform (better-sqlite3, argon2 and sharp are native); `runtime` is
# `ffmpeg` builds an audio-only ffmpeg/ffprobe from Debian's ffmpeg source package (Debian's
# binary package links ~290 MiB of video, speech and GPU libraries Earshot never uses); `runtime` is
# Debian bookworm slim with Node 20's binary, that ffmpeg, yt-dlp from Debian, and nothing else.
# A newer yt-dlp than Debian's: build with --build-arg YTDLP_VERSION=2025.09.26 (or "latest"), or
# mount one and set EARSHOT_YTDLP (docs/deploy.md).

ARG NODE_VERSION=20

# ── build: TypeScript → server/dist, Svelte → web/dist ───────────────────────────────────────────
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY server/package.json server/
COPY web/package.json web/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY server server
COPY web web
RUN npm run build -w server && npm run build -w web

# ── deps: production node_modules for the target platform ─────────────────────────────────────
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
# Compilers only for a platform without prebuilt binaries; they stay in this stage.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY server/package.json server/
COPY web/package.json web/
COPY e2e/package.json e2e/
COPY bench/package.json bench/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --workspace server --no-audit --no-fund \
  # better-sqlite3's SQLite sources and object files are not needed once the addon is built.
  && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
     node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
     node_modules/better-sqlite3/build/Release/.deps \
  # Never loaded by Node: youtubei.js's browser/worker bundles, source maps, type declarations and
  # markdown (≈ 26 MiB of the ≈ 102 MiB; docs/deploy.md "Size of the runtime stage").
  && rm -rf node_modules/youtubei.js/bundle \
  && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
       -o -name '*.md' \) -delete

# ── node: the Node 20 binary of the official image, without npm/yarn/corepack ─────────────────
FROM node:${NODE_VERSION}-bookworm-slim AS node

# ── ffmpeg: audio-only ffmpeg and ffprobe from Debian's source package ──────────────────────────
# The same Debian release and security patches as Debian's own ffmpeg package (rebuild the image
# to pick up a security update), configured by deploy/docker/build-ffmpeg.sh with only the
# demuxers/decoders of the formats Earshot reads and the encoders/muxers its transcode profiles
# use. Linked against libmp3lame, libopus, GnuTLS and zlib; everything else is static.
FROM debian:bookworm-slim AS ffmpeg
RUN sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      > /etc/apt/sources.list.d/debian-src.sources \
  && apt-get update \
  && apt-get install -y --no-install-recommends build-essential dpkg-dev nasm pkg-config \
     libmp3lame-dev libopus-dev libgnutls28-dev zlib1g-dev
WORKDIR /build
COPY deploy/docker/build-ffmpeg.sh ./
RUN apt-get source ffmpeg \
  && ./build-ffmpeg.sh "$(find /build -maxdepth 1 -type d -name 'ffmpeg-*')" /opt/ffmpeg

# ── runtime ──────────────────────────────────────────────────────────────────────────────────────
FROM debian:bookworm-slim AS runtime
ARG YTDLP_VERSION=
RUN apt-get update \
  # The ffmpeg stage's shared libraries (GnuTLS and zlib are in the base already: apt needs them).
  && apt-get install -y --no-install-recommends yt-dlp ca-certificates tini libjemalloc2 \
     libmp3lame0 libopus0 libgnutls30 zlib1g \
  && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/* /usr/share/doc/* /usr/share/man/*
COPY --from=ffmpeg /opt/ffmpeg/bin/ffmpeg /opt/ffmpeg/bin/ffprobe /usr/local/bin/
RUN ffmpeg -hide_banner -version | head -1 && ffprobe -hide_banner -version | head -1
# Optional current yt-dlp (sites change faster than Debian stable): the official zipapp, run by
# Debian's python3, replaces /usr/bin/yt-dlp.
RUN if [ -n "$YTDLP_VERSION" ]; then \
      url="https://github.com/yt-dlp/yt-dlp/releases/latest/download/yt-dlp"; \
      [ "$YTDLP_VERSION" = latest ] || url="https://github.com/yt-dlp/yt-dlp/releases/download/$YTDLP_VERSION/yt-dlp"; \
      python3 -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], '/usr/local/bin/yt-dlp')" "$url" \
      && chmod 755 /usr/local/bin/yt-dlp && ln -sf /usr/local/bin/yt-dlp /usr/bin/yt-dlp && yt-dlp --version; \
    fi
COPY --from=node /usr/local/bin/node /usr/local/bin/node

WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/server/dist server/dist
COPY --from=build /src/web/dist web/dist
COPY package.json ./
COPY server/package.json server/
COPY server/bin server/bin
COPY scripts/earshot-serve.sh scripts/
COPY deploy/docker/entrypoint.sh /usr/local/bin/earshot-entrypoint

# EARSHOT_HOST=0.0.0.0 only here: inside the container the port mapping is the door. Outside a
# container Earshot keeps listening on 127.0.0.1 unless told otherwise.
ENV NODE_ENV=production \
    EARSHOT_HOST=0.0.0.0 \
    EARSHOT_PORT=8000 \
    EARSHOT_DATA_DIR=/data \
    EARSHOT_LOG_FORMAT=json \
    EARSHOT_YTDLP=/usr/bin/yt-dlp \
    PUID=1000 \
    PGID=1000 \
    UMASK=022

VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EARSHOT_PORT||8000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# tini reaps ffmpeg/yt-dlp children and forwards SIGTERM for a graceful stop; the entrypoint
# drops root for PUID:PGID; the launcher sets the memory settings and execs the server.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/earshot-entrypoint"]
CMD ["sh", "/app/scripts/earshot-serve.sh"]
