#!/data/data/com.termux/files/usr/bin/sh
# Starts Earshot and cloudflared when the phone boots (Termux:Boot add-on), restarts either when
# it exits, restarts a hung Earshot (watchdog.sh probes /healthz), and holds a wake lock so
# Android does not put the CPU to sleep while streaming with the screen off.
#
# Install: sh deploy/termux/install.sh   (copies this file to ~/.termux/boot/)
# Settings: ~/.config/earshot.env (EARSHOT_* lines, and CLOUDFLARE_TUNNEL_TOKEN for the tunnel).
# Logs: ~/earshot-data/earshot.log and ~/earshot-data/cloudflared.log
#
# Android may kill background apps with SIGKILL: Earshot's database and caches are crash-safe, and
# an interrupted scan or cache download resumes at the next start.
termux-wake-lock
EARSHOT_HOME="${EARSHOT_HOME:-$HOME/earshot}"
cd "$EARSHOT_HOME" || exit 1
[ -f "$HOME/.config/earshot.env" ] && . "$HOME/.config/earshot.env"
export EARSHOT_DATA_DIR="${EARSHOT_DATA_DIR:-$HOME/earshot-data}"
export EARSHOT_MUSIC_DIR="${EARSHOT_MUSIC_DIR:-$HOME/storage/music}"
export EARSHOT_WATCH_POLLING="${EARSHOT_WATCH_POLLING:-true}"   # inotify is unreliable on Android shared storage
export EARSHOT_YTDLP="${EARSHOT_YTDLP:-$(command -v yt-dlp)}"
export EARSHOT_TRUSTED_PROXIES="${EARSHOT_TRUSTED_PROXIES:-127.0.0.1}"
port="${EARSHOT_PORT:-8000}"
mkdir -p "$EARSHOT_DATA_DIR"

# Earshot: restart after an exit or a watchdog kill, 5 s apart.
(
  while true; do
    sh scripts/earshot-serve.sh >> "$EARSHOT_DATA_DIR/earshot.log" 2>&1 &
    server=$!
    sh deploy/termux/watchdog.sh "$server" "http://127.0.0.1:$port/healthz" >> "$EARSHOT_DATA_DIR/earshot.log" 2>&1 &
    watchdog=$!
    wait "$server"
    kill "$watchdog" 2>/dev/null
    echo "earshot-boot: server exited; restarting in 5 s" >> "$EARSHOT_DATA_DIR/earshot.log"
    sleep 5
  done
) &

# cloudflared (when a tunnel token is set): restart after an exit, 10 s apart.
if [ -n "${CLOUDFLARE_TUNNEL_TOKEN:-}" ] && command -v cloudflared >/dev/null 2>&1; then
  (
    while true; do
      TUNNEL_TOKEN="$CLOUDFLARE_TUNNEL_TOKEN" cloudflared tunnel --no-autoupdate run >> "$EARSHOT_DATA_DIR/cloudflared.log" 2>&1
      echo "earshot-boot: cloudflared exited; restarting in 10 s" >> "$EARSHOT_DATA_DIR/cloudflared.log"
      sleep 10
    done
  ) &
fi
wait
