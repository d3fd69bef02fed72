#!/data/data/com.termux/files/usr/bin/sh
# Installs Earshot on an Android phone in Termux (from F-Droid or GitHub, not Google Play).
#
#   pkg install git && git clone <this repository> ~/earshot && sh ~/earshot/deploy/termux/install.sh
#
# Then install the Termux:Boot app and open it once; Earshot starts at every boot. Start it now
# with: sh ~/.termux/boot/earshot-boot.sh &
set -eu
cd "$(dirname "$0")/../.."

# Node 20 LTS, build tools for the SQLite driver (better-sqlite3 has no Android prebuilt binary
# and compiles with clang), ffmpeg, python for yt-dlp, curl for the watchdog, cloudflared for
# the tunnel, termux-api for the wake lock.
pkg update -y
pkg install -y nodejs-lts python make clang binutils pkg-config ffmpeg curl cloudflared termux-api
pip install --upgrade yt-dlp

# sharp (cover resizing) has no Android build: install without install scripts, then build the
# native modules that do work here. Without sharp, covers are served as their original images.
npm ci --ignore-scripts --no-audit --no-fund
npm rebuild better-sqlite3
npm run build -w server
npm run build -w web
# The compilers (TypeScript, Vite) are not needed at run time.
npm prune --omit=dev --workspace server

mkdir -p "$HOME/.termux/boot" "$HOME/.config"
cp deploy/termux/earshot-boot.sh "$HOME/.termux/boot/earshot-boot.sh"
chmod +x "$HOME/.termux/boot/earshot-boot.sh"
[ -f "$HOME/.config/earshot.env" ] || cat > "$HOME/.config/earshot.env" <<'ENV'
# Earshot settings (README "Configuration reference"). Uncomment and edit.
# EARSHOT_MUSIC_DIR=$HOME/storage/music
# EARSHOT_PUBLIC_URL=https://music.example.com
# CLOUDFLARE_TUNNEL_TOKEN=
ENV
termux-setup-storage || true   # lets Earshot read ~/storage/music (Android asks once)
echo "Installed. Open Termux:Boot once, then reboot or run: sh ~/.termux/boot/earshot-boot.sh &"
