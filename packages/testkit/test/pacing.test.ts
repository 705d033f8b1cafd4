import { expect, test } from 'vitest';
import { slotLateness } from '../src/index.js';

test('slotLateness: 0 for posts a slot apart, a post late into its slot counts its lateness, two in one slot a whole slot', () => {
  expect(slotLateness([0, 1000, 2000, 3000], 1000)).toBe(0);
  // The second is 300 ms late into its slot, the third on time: the gap 1–2 shrinks to 700 ms.
  expect(slotLateness([0, 1300, 2000], 1000)).toBe(300);
  // In any order, as the services record them.
  expect(slotLateness([2000, 0, 1300], 1000)).toBe(300);
  // Two posts 10 ms apart took one slot: lateness of about a whole slot.
  expect(slotLateness([0, 1000, 1010, 3000], 1000)).toBe(990);
  // Not paced at all: it grows with every post.
  expect(slotLateness([0, 1, 2, 3, 4], 1000)).toBe(3996);
});
