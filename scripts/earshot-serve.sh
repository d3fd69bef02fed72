#!/bin/sh
# Starts the Earshot server with its memory settings. `npm start`, the systemd unit and the
# Termux:Boot script all start the server through this file, and the scan bench reads the same
# settings from it (`--env`), so what is measured is what runs.
#
#   sh scripts/earshot-serve.sh [earshot serve flags]   start the server (replaces this shell)
#   sh scripts/earshot-serve.sh --env                   print the settings it would use, and exit
#
# The settings (README "Memory"); a value you set yourself always wins:
#   MALLOC_ARENA_MAX=2           glibc keeps two malloc arenas instead of one per thread.
#   --max-semi-space-size=4      V8's young generation stays ≤ 8 MB instead of growing to 32 MB
#                                under load and keeping it (added to NODE_OPTIONS).
#   --v8-pool-size=N             on a machine with fewer than 4 CPUs, V8's helper threads (garbage
#                                collection, compiling) are as many as the CPUs instead of Node's 4:
#                                ~1.4 MB less idle memory on 2 cores, and helpers that do not
#                                compete with the main thread for the same cores (added to NODE_OPTIONS).
#   jemalloc (LD_PRELOAD)        when libjemalloc2 is installed: it returns freed memory to the
#                                system within a second, where glibc keeps a scan's freed memory
#                                for good (~25 MB after a 50,000-file scan). EARSHOT_ALLOCATOR=system
#                                keeps glibc's allocator. Only the server gets it: it drops the
#                                preload from its environment, so ffmpeg and yt-dlp do not.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_ARENA_MAX

case " ${NODE_OPTIONS:-} " in
  *max-semi-space-size*) ;;
  *) NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--max-semi-space-size=4" ;;
esac
case " $NODE_OPTIONS " in
  *v8-pool-size*) ;;
  *)
    cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 4)
    if [ "$cpus" -ge 1 ] 2>/dev/null && [ "$cpus" -lt 4 ]; then
      NODE_OPTIONS="$NODE_OPTIONS --v8-pool-size=$cpus"
    fi
    ;;
esac
export NODE_OPTIONS

if [ -z "${LD_PRELOAD:-}" ] && [ "${EARSHOT_ALLOCATOR:-jemalloc}" != system ]; then
  for lib in /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -r "$lib" ]; then
      LD_PRELOAD="$lib"
      # Background purging: freed pages go back to the system after ~1 s of not being reused.
      MALLOC_CONF="${MALLOC_CONF:-background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0}"
      # Tells the server the preload is the launcher's: it keeps it from ffmpeg and yt-dlp.
      EARSHOT_PRELOADED="$lib"
      export LD_PRELOAD MALLOC_CONF EARSHOT_PRELOADED
      break
    fi
  done
fi

if [ "${1:-}" = "--env" ]; then
  for name in MALLOC_ARENA_MAX NODE_OPTIONS LD_PRELOAD MALLOC_CONF EARSHOT_PRELOADED; do
    eval "value=\${$name:-}"
    [ -n "$value" ] && printf '%s=%s\n' "$name" "$value"
  done
  exit 0
fi

exec node "$here/../server/bin/earshot.js" serve "$@"
