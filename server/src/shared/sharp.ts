/**
 * sharp (libvips), loaded on first use. Loading it costs ~20 MB of resident memory, and a server
 * that only scans and streams never needs it; cover art and thumbnails load it when first asked.
 * Tuned for small machines: one libvips thread per image (requests already run in parallel) and a
 * small operation cache instead of libvips' default 50 MB.
 */
import type { default as Sharp } from 'sharp';

export type SharpModule = typeof Sharp;

let loading: Promise<SharpModule> | undefined;

export function loadSharp(): Promise<SharpModule> {
  loading ??= import('sharp').then((mod) => {
    const sharp = mod.default;
    sharp.concurrency(1);
    sharp.cache({ memory: 16, files: 0, items: 50 });
    return sharp;
  });
  return loading;
}

let warned = false;

/**
 * sharp, or null where it cannot load (Termux on Android: sharp has no Android build). Callers
 * then serve images as they are instead of resizing them: covers keep working, only bigger.
 */
export async function loadSharpOrNull(onMissing?: (err: Error) => void): Promise<SharpModule | null> {
  try {
    return await loadSharp();
  } catch (err) {
    if (!warned) {
      warned = true;
      onMissing?.(err as Error);
    }
    return null;
  }
}
