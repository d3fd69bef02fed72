/**
 * scripts/earshot-serve.sh preloads jemalloc for the server (README "Memory") and names the library
 * it preloaded in EARSHOT_PRELOADED. The library is loaded by then; removing the variables keeps it
 * out of the programs the server starts (ffmpeg, yt-dlp), which get their usual allocator. A
 * preload the user set themselves (no marker, or a different library) is left alone.
 */
export function scopeLauncherPreload(env: NodeJS.ProcessEnv): void {
  const preloaded = env.EARSHOT_PRELOADED;
  if (!preloaded) return;
  if (env.LD_PRELOAD === preloaded) delete env.LD_PRELOAD;
  delete env.EARSHOT_PRELOADED;
}
