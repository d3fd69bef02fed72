/** Global keyboard shortcuts (ignored while typing in a field). */
import { player } from './player/player.svelte.js';
import { navigate } from './router.svelte.js';
import { ui } from './ui.svelte.js';

export const SHORTCUTS: { keys: string[]; description: string }[] = [
  { keys: ['Space', 'k'], description: 'Play / pause' },
  { keys: ['n', 'Shift+→'], description: 'Next track' },
  { keys: ['p', 'Shift+←'], description: 'Previous track' },
  { keys: ['→'], description: 'Seek forward 10 s' },
  { keys: ['←'], description: 'Seek back 10 s' },
  { keys: ['↑', '↓'], description: 'Volume up / down' },
  { keys: ['m'], description: 'Mute / unmute' },
  { keys: ['s'], description: 'Shuffle on / off' },
  { keys: ['r'], description: 'Repeat: off → all → one' },
  { keys: ['l'], description: 'Like the playing track' },
  { keys: ['q'], description: 'Show / hide the queue' },
  { keys: ['/'], description: 'Search' },
  { keys: ['?'], description: 'This help' },
];

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

export function installShortcuts() {
  addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (document.querySelector('dialog[open]') && e.key !== 'Escape') return;
    const handled = () => e.preventDefault();
    switch (e.key) {
      case ' ':
        if ((e.target as HTMLElement)?.tagName === 'BUTTON' || (e.target as HTMLElement)?.tagName === 'A') return;
        handled();
        player.toggle();
        break;
      case 'k':
        handled();
        player.toggle();
        break;
      case 'n':
      case 'N':
        handled();
        player.next();
        break;
      case 'p':
      case 'P':
        handled();
        player.previous();
        break;
      case 'ArrowRight':
        handled();
        if (e.shiftKey) player.next();
        else player.seek(player.currentTime + 10);
        break;
      case 'ArrowLeft':
        handled();
        if (e.shiftKey) player.previous();
        else player.seek(player.currentTime - 10);
        break;
      case 'ArrowUp':
        handled();
        player.setVolume(player.volume + 0.05);
        break;
      case 'ArrowDown':
        handled();
        player.setVolume(player.volume - 0.05);
        break;
      case 'm':
        handled();
        player.toggleMute();
        break;
      case 's':
        handled();
        player.toggleShuffle();
        break;
      case 'r':
        handled();
        player.cycleRepeat();
        break;
      case 'l':
        if (player.current) {
          handled();
          void ui.setLiked('track', player.current, !player.current.liked);
        }
        break;
      case 'q':
        handled();
        ui.queueOpen = !ui.queueOpen;
        break;
      case '/':
        handled();
        navigate('/search');
        requestAnimationFrame(() => document.getElementById('search-input')?.focus());
        break;
      case '?':
        handled();
        ui.shortcutsOpen = true;
        break;
    }
  });
}
