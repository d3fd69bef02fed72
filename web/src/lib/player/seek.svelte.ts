/**
 * The position a seek bar shows: the player's, or while the user drags the slider the dragged one
 * (the player seeks once, on release). One per seek bar (player bar, Now Playing).
 */
import { player } from './player.svelte.js';

export class SeekState {
  /** The position under the user's finger while dragging, else null. */
  dragging = $state<number | null>(null);
  shown = $derived(this.dragging ?? player.currentTime);
  duration = $derived(player.duration || player.current?.duration || 0);
  pct = $derived(this.duration > 0 ? Math.min(100, (this.shown / this.duration) * 100) : 0);
}
