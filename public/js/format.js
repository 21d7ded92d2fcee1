// format.js — numbers and times as people read them. Stock can run to a
// billion: "99,999,996 left" is read at a glance, "99999996 left" is not.
// Fixed to English grouping, like the rest of the page's text.

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

// count(n): 99999996 -> "99,999,996".
export function count(n) {
  return typeof n === 'number' && Number.isFinite(n) ? GROUPED.format(n) : String(n);
}

// plural(n, word): "1 unit", "2,000 units".
export function plural(n, word, words = word + 's') {
  return `${count(n)} ${n === 1 ? word : words}`;
}

// timeLeft(ms): what a countdown shows, "1:05" or "0:09"; never negative.
export function timeLeft(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// spokenTime(ms): the same for a screen reader, "1 minute 5 seconds".
export function spokenTime(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  const parts = [];
  if (m) parts.push(plural(m, 'minute'));
  if (s % 60 || !m) parts.push(plural(s % 60, 'second'));
  return parts.join(' ');
}
