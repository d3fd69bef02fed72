import { afterEach, describe, expect, it } from 'vitest';
import { offsetOf, type ReorderOptions, reorder } from './reorder.js';

// Pointer drags need layout (row positions), which only a real browser has: e2e/manage.test.ts drags
// playlist rows with a mouse and with touch. Here: the keyboard path and the row offsets.

function list(rows: number) {
  const ol = document.createElement('ol');
  for (let i = 0; i < rows; i++) {
    const li = document.createElement('li');
    for (const [cls, text] of [
      ['grip', '≡'],
      ['play', `Song ${i}`],
    ]) {
      const b = document.createElement('button');
      b.className = cls!;
      b.textContent = text!;
      li.append(b);
    }
    ol.append(li);
  }
  document.body.append(ol);
  return ol;
}

const key = (target: Element, k: string, alt = true) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, altKey: alt, bubbles: true, cancelable: true }));

afterEach(() => {
  document.body.replaceChildren();
});

describe('use:reorder', () => {
  it('moves a row one place with Alt+↑ / Alt+↓ on its handle, within the list', () => {
    const ol = list(3);
    const moves: [number, number][] = [];
    const opts: ReorderOptions = { enabled: true, handle: '.grip', onmove: (f, t) => moves.push([f, t]) };
    const action = reorder(ol, opts);
    const grips = ol.querySelectorAll('.grip');
    key(grips[1]!, 'ArrowUp');
    key(grips[1]!, 'ArrowDown');
    key(grips[0]!, 'ArrowUp'); // already first
    key(grips[2]!, 'ArrowDown'); // already last
    key(grips[1]!, 'ArrowDown', false); // no Alt: the page's own keys
    key(ol.querySelectorAll('.play')[1]!, 'ArrowDown'); // not a handle
    expect(moves).toEqual([
      [1, 0],
      [1, 2],
    ]);
    action.update?.({ ...opts, enabled: false }); // e.g. a move is on its way
    key(grips[1]!, 'ArrowUp');
    expect(moves).toHaveLength(2);
    action.destroy?.();
    action.update?.(opts);
    key(grips[1]!, 'ArrowUp');
    expect(moves).toHaveLength(2);
  });

  it('slides the rows between the drag origin and the drop point by one row height', () => {
    const d = { from: 1, to: 3, height: 50 };
    expect([0, 1, 2, 3, 4].map((j) => offsetOf(j, d, 120))).toEqual([0, 120, -50, -50, 0]);
    const up = { from: 3, to: 1, height: 50 };
    expect([0, 1, 2, 3, 4].map((j) => offsetOf(j, up, -90))).toEqual([0, 50, 50, -90, 0]);
  });
});
