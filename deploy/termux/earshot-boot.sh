#!/data/data/com.termux/files/usr/bin/sh
# Starts Earshot when the phone boots (Termux:Boot add-on).
#
#   pkg install nodejs-lts git ffmpeg python && pip install yt-dlp
#   git clone <this repository> ~/earshot && cd ~/earshot && node scripts/bootstrap.mjs setup
#   mkdir -p ~/.termux/boot && cp deploy/termux/earshot-boot.sh ~/.termux/boot/ && chmod +x ~/.termux/boot/earshot-boot.sh
#
# Android may kill background apps with SIGKILL: Earshot's database and caches are crash-safe, and
# an interrupted scan or cache download resumes at the next start. termux-wake-lock keeps the CPU
# awake while streaming with the screen off.
termux-wake-lock
cd "$HOME/earshot" || exit 1
export EARSHOT_DATA_DIR="$HOME/earshot-data"
export EARSHOT_MUSIC_DIR="${EARSHOT_MUSIC_DIR:-$HOME/storage/music}"
export EARSHOT_WATCH_POLLING=true   # inotify is unreliable on Android shared storage
export EARSHOT_YTDLP="$(command -v yt-dlp)"
mkdir -p "$EARSHOT_DATA_DIR"
# Restart after a crash; logs go to a file you can read with `tail -f`.
while true; do
  sh scripts/earshot-serve.sh >> "$EARSHOT_DATA_DIR/earshot.log" 2>&1
  sleep 5
done
