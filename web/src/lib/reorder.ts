/**
 * `use:reorder` — reorder the rows of a list by dragging a handle, with mouse, pen or touch alike
 * (pointer events with pointer capture), or from the keyboard (Alt+↑ / Alt+↓ on a focused handle).
 *
 * The rows are the list's element children; each has a handle matching `options.handle`. While a
 * row is dragged it follows the pointer and the rows it passes slide out of the way — transforms
 * only, so nothing else on the page moves — and a long list scrolls when the pointer nears the
 * edge of its scroller. Escape cancels. On release (or a key press) the action calls
 * `onmove(from, to)`; it never reorders anything itself: the caller moves its data and the list
 * re-renders. While dragging, the list carries `data-dragging` and the row `data-lifted` (styled
 * in app.css); handles need `touch-action: none` so that a touch drag moves the row instead of
 * scrolling.
 */
import type { ActionReturn } from 'svelte/action';

export interface ReorderOptions {
  /** Whether rows may be moved now (e.g. the caller owns the list and no move is on its way). */
  enabled: boolean;
  /** Selector of a row's drag handle. */
  handle?: string;
  /** A row moved from index `from` to index `to` (an index in the list as it will be). */
  onmove: (from: number, to: number) => void;
}

interface Drag {
  from: number;
  /** Where the row would land: its index in the list without it. */
  to: number;
  pointerId: number;
  startY: number;
  height: number;
  rows: HTMLElement[];
  /** Resting row middles relative to the list (the list never moves, only its rows do). */
  mids: number[];
  scroller: HTMLElement;
  startScroll: number;
  lastY: number;
  raf: number;
}

const EDGE_ZONE = 56;
const MAX_SCROLL_STEP = 16;

function scrollParent(el: HTMLElement): HTMLElement {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const o = getComputedStyle(p).overflowY;
    if ((o === 'auto' || o === 'scroll') && p.scrollHeight > p.clientHeight) return p;
  }
  return document.scrollingElement as HTMLElement;
}

/** Vertical offset of row `j`: the dragged row follows the pointer, the others make room. */
export function offsetOf(j: number, d: { from: number; to: number; height: number }, dy: number): number {
  if (j === d.from) return dy;
  if (d.from < j && j <= d.to) return -d.height;
  if (d.to <= j && j < d.from) return d.height;
  return 0;
}

export function reorder(list: HTMLElement, initial: ReorderOptions): ActionReturn<ReorderOptions> {
  let options = initial;
  let drag: Drag | null = null;
  const handleSelector = () => options.handle ?? '[data-grip]';

  /** The row (direct child of the list) and its index for an event inside a handle, if any. */
  function rowOf(target: EventTarget | null): { handle: HTMLElement; row: HTMLElement; index: number } | null {
    const handle = (target as Element | null)?.closest?.<HTMLElement>(handleSelector());
    if (!handle || !list.contains(handle)) return null;
    let row: HTMLElement | null = handle;
    while (row && row.parentElement !== list) row = row.parentElement;
    if (!row) return null;
    return { handle, row, index: [...list.children].indexOf(row) };
  }

  function place() {
    if (!drag) return;
    const dy = drag.lastY - drag.startY + (drag.scroller.scrollTop - drag.startScroll);
    // Insertion index = how many other rows have their resting middle above the pointer.
    const listTop = list.getBoundingClientRect().top;
    let to = 0;
    drag.mids.forEach((mid, j) => {
      if (j !== drag!.from && listTop + mid < drag!.lastY) to += 1;
    });
    drag.to = to;
    drag.rows.forEach((row, j) => {
      row.style.transform = `translateY(${offsetOf(j, drag!, dy)}px)`;
    });
  }

  function autoScroll() {
    if (!drag) return;
    const { scroller, lastY } = drag;
    const box =
      scroller === document.scrollingElement ? { top: 0, bottom: innerHeight } : scroller.getBoundingClientRect();
    const speed =
      lastY < box.top + EDGE_ZONE
        ? -(box.top + EDGE_ZONE - lastY)
        : lastY > box.bottom - EDGE_ZONE
          ? lastY - (box.bottom - EDGE_ZONE)
          : 0;
    if (speed !== 0) {
      scroller.scrollTop += Math.max(-MAX_SCROLL_STEP, Math.min(MAX_SCROLL_STEP, speed / 3));
      place();
    }
    drag.raf = requestAnimationFrame(autoScroll);
  }

  /** Ends a drag; the rows go back to rest (the caller's re-render puts them in their new order). */
  function finish(): { from: number; to: number } | null {
    if (!drag) return null;
    const { from, to, rows, raf } = drag;
    cancelAnimationFrame(raf);
    for (const row of rows) {
      row.style.transform = '';
      delete row.dataset.lifted;
    }
    delete list.dataset.dragging;
    drag = null;
    return { from, to };
  }

  function onPointerDown(e: PointerEvent) {
    if (!options.enabled || drag || (e.pointerType === 'mouse' && e.button !== 0)) return;
    const hit = rowOf(e.target);
    if (!hit) return;
    e.preventDefault();
    hit.handle.setPointerCapture(e.pointerId);
    hit.handle.focus({ preventScroll: true });
    const rows = [...list.children] as HTMLElement[];
    const listTop = list.getBoundingClientRect().top;
    const mids = rows.map((r) => {
      const b = r.getBoundingClientRect();
      return b.top - listTop + b.height / 2;
    });
    const scroller = scrollParent(hit.row);
    drag = {
      from: hit.index,
      to: hit.index,
      pointerId: e.pointerId,
      startY: e.clientY,
      height: hit.row.getBoundingClientRect().height,
      rows,
      mids,
      scroller,
      startScroll: scroller.scrollTop,
      lastY: e.clientY,
      raf: requestAnimationFrame(autoScroll),
    };
    list.dataset.dragging = '';
    hit.row.dataset.lifted = '';
    place();
  }

  function onPointerMove(e: PointerEvent) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    e.preventDefault();
    drag.lastY = e.clientY;
    place();
  }

  function onPointerEnd(e: PointerEvent) {
    if (!drag || e.pointerId !== drag.pointerId) return;
    const done = finish();
    if (e.type === 'pointerup' && done && done.from !== done.to) options.onmove(done.from, done.to);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'Escape' && drag) {
      e.preventDefault();
      finish();
      return;
    }
    if (!options.enabled || !e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    const hit = rowOf(e.target);
    if (!hit) return;
    e.preventDefault();
    const to = hit.index + (e.key === 'ArrowUp' ? -1 : 1);
    if (to >= 0 && to < list.children.length) options.onmove(hit.index, to);
  }

  const listeners: [string, (e: never) => void][] = [
    ['pointerdown', onPointerDown],
    ['pointermove', onPointerMove],
    ['pointerup', onPointerEnd],
    ['pointercancel', onPointerEnd],
    ['lostpointercapture', onPointerEnd],
    ['keydown', onKeyDown],
  ];
  for (const [type, fn] of listeners) list.addEventListener(type, fn as EventListener);

  return {
    update(next) {
      options = next;
    },
    destroy() {
      finish();
      for (const [type, fn] of listeners) list.removeEventListener(type, fn as EventListener);
    },
  };
}
