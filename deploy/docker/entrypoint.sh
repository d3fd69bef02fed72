#!/bin/sh
# Container entrypoint: runs Earshot as PUID:PGID (not root) with UMASK, the way LinuxServer-style
# images do, so files Earshot writes into a shared music or data folder belong to you.
#
#   PUID   user id Earshot runs as          (default 1000)
#   PGID   group id Earshot runs as         (default 1000)
#   UMASK  file creation mask               (default 022; 002 lets your group write new files)
#
# Started as root (the default): makes the data folders (db, cache, backups) belong to PUID:PGID,
# then drops to PUID:PGID with setpriv (util-linux, already in Debian) and execs the command.
# Started with --user (or runAsUser in Kubernetes): already not root, nothing to change: it only
# applies UMASK and execs. The music folder is never chowned (it is yours; Earshot only needs to
# read it).
set -eu

PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
UMASK="${UMASK:-022}"
DATA="${EARSHOT_DATA_DIR:-/data}"

fail() {
  echo "earshot-entrypoint: $*" >&2
  exit 64
}

case "$PUID" in '' | *[!0-9]*) fail "PUID must be a number, not '$PUID'." ;; esac
case "$PGID" in '' | *[!0-9]*) fail "PGID must be a number, not '$PGID'." ;; esac
case "$UMASK" in [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;; *) fail "UMASK must be octal like 022 or 0002, not '$UMASK'." ;; esac
[ "$#" -gt 0 ] || fail "no command to run."

umask "$UMASK"

if [ "$(id -u)" = 0 ]; then
  [ "$PUID" != 0 ] || fail "PUID=0 would run Earshot as root; choose your user's id (id -u)."
  mkdir -p "$DATA"
  # The data folder itself (not what is in it: /data/library may be your music), then what
  # Earshot writes, recursively; only files not already owned, so restarts stay fast.
  chown "$PUID:$PGID" "$DATA"
  for dir in "${EARSHOT_DB_DIR:-$DATA/db}" "${EARSHOT_CACHE_DIR:-$DATA/cache}" "$DATA/backups"; do
    mkdir -p "$dir"
    find "$dir" -xdev \( ! -user "$PUID" -o ! -group "$PGID" \) -exec chown "$PUID:$PGID" {} +
  done
  music="${EARSHOT_MUSIC_DIR:-$DATA/library}"
  if [ ! -d "$music" ]; then
    mkdir -p "$music" && chown "$PUID:$PGID" "$music"
  fi
  export HOME="$DATA"
  exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups -- "$@"
fi

exec "$@"
