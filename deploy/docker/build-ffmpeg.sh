#!/bin/sh
# Builds Earshot's audio-only ffmpeg and ffprobe from an unpacked FFmpeg source tree (Debian's
# source package, `apt-get source ffmpeg`, with Debian's patches) into PREFIX/bin.
#
#   deploy/docker/build-ffmpeg.sh SRC_DIR PREFIX
#
# Used by the Dockerfile's `ffmpeg` stage and, outside a container, to verify the very same
# configure line (docs/deploy.md "Audio-only ffmpeg"). Debian's ffmpeg links ~290 MiB of video,
# speech and GPU libraries; this one links only libmp3lame, libopus, GnuTLS and zlib (GnuTLS and
# zlib are already in debian:bookworm-slim because apt needs them).
#
# Every component is named: `--disable-everything` first, then the lists below.
# server/src/system/deploy/docker.test.ts derives what Earshot needs from the code (the scanner's
# extensions, the transcode profiles) and fails when a list misses something.
set -eu

SRC=${1:?usage: build-ffmpeg.sh SRC_DIR PREFIX}
PREFIX=${2:?usage: build-ffmpeg.sh SRC_DIR PREFIX}
JOBS=${JOBS:-$(nproc)}

# Containers of every extension the scanner reads (server/src/library/tags.ts AUDIO_EXTENSIONS),
# plus what yt-dlp hands over for remote tracks (WebM/Matroska, MP4, HLS with MPEG-TS segments).
DEMUXERS="mp3 flac mov aac ogg wav w64 aiff asf ape wv mpc mpc8 matroska mpegts hls"

# The audio codecs those containers carry. Images: embedded cover art is probed (never decoded
# for output: transcodes map only the first audio stream) and a decoder keeps the probe quiet.
DECODERS="mp1 mp1float mp2 mp2float mp3 mp3float aac aac_fixed aac_latm alac ac3 eac3 flac
  vorbis opus speex ape wavpack mpc7 mpc8 wmav1 wmav2 wmapro wmalossless wmavoice
  pcm_s8 pcm_u8 pcm_s16le pcm_s16be pcm_s24le pcm_s24be pcm_s32le pcm_s32be pcm_f32le pcm_f32be
  pcm_f64le pcm_f64be pcm_alaw pcm_mulaw adpcm_ms adpcm_ima_wav adpcm_ima_qt mjpeg png"

PARSERS="mpegaudio aac aac_latm ac3 flac opus vorbis mjpeg png"

# The transcode profiles (server/src/streaming/transcode-profiles.ts): encoders and muxers; and
# MPEG-TS, which yt-dlp asks for when it has ffmpeg copy an HLS stream to stdout.
ENCODERS="libopus libmp3lame aac"
MUXERS="ogg mp3 adts mpegts"

# What ffmpeg's command line inserts by itself: sample-format/rate conversion for the encoders
# (libopus wants 48 kHz) and the trim after an input seek.
FILTERS="aformat aresample anull atrim"

# Local files and pipes; http(s)/hls only for yt-dlp, which hands some (live) HLS streams to
# ffmpeg through Earshot's egress proxy: https through a proxy needs httpproxy (CONNECT).
PROTOCOLS="file pipe http https httpproxy tcp tls hls crypto"

list() { echo "$1" | tr -s ' \n' ',' | sed 's/^,//; s/,$//'; }

cd "$SRC"
./configure \
  --prefix="$PREFIX" \
  --extra-version=earshot-audio \
  --disable-autodetect \
  --disable-everything \
  --disable-shared --enable-static \
  --disable-doc --disable-debug --disable-ffplay \
  --disable-avdevice --disable-swscale --disable-postproc \
  --enable-ffmpeg --enable-ffprobe \
  --enable-swresample --enable-avfilter \
  --enable-libmp3lame --enable-libopus --enable-gnutls --enable-zlib \
  --enable-demuxer="$(list "$DEMUXERS")" \
  --enable-decoder="$(list "$DECODERS")" \
  --enable-parser="$(list "$PARSERS")" \
  --enable-encoder="$(list "$ENCODERS")" \
  --enable-muxer="$(list "$MUXERS")" \
  --enable-filter="$(list "$FILTERS")" \
  --enable-protocol="$(list "$PROTOCOLS")"
make -j"$JOBS"
make install
strip "$PREFIX/bin/ffmpeg" "$PREFIX/bin/ffprobe"
"$PREFIX/bin/ffmpeg" -hide_banner -version | head -1
