// stream.js — the live stream (/api/events) and the connection indicator.
//
// EventSource reconnects by itself after a dropped stream, sending
// Last-Event-ID, and the daemon replays exactly what was missed. It gives up
// for good only when an answer is not a stream (nginx's 503 while the daemon
// is down): then, and only then, a new EventSource is opened after a pause.
// A new one has no Last-Event-ID, so the daemon starts it with a snapshot,
// which the page trusts.
//
// The page asks for ?orders=summary: one `orders` event per tick (how many
// orders, the units per item, the newest few) instead of every order, so a
// sale before thousands of pages costs each of them a few events a second,
// not one per order.

const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 15000;

// connect(handlers): handlers.snapshot/item/orders/hold/reset get the parsed data;
// handlers.state gets 'live', 'reconnecting' or 'offline'.
export function connect(handlers) {
  let source = null;
  let pause = FIRST_PAUSE_MS;
  let timer = 0;

  const setState = (state, detail) => handlers.state(state, detail);

  function listen(name, fn) {
    source.addEventListener(name, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;   // not ours to guess at
      }
      fn(data, event.lastEventId);
    });
  }

  function open() {
    clearTimeout(timer);
    timer = 0;
    if (source) source.close();
    source = new EventSource('/api/events?orders=summary');
    setState('reconnecting');
    source.onopen = () => {
      pause = FIRST_PAUSE_MS;
      setState('live');
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CONNECTING) {
        setState('reconnecting');   // the browser retries, with Last-Event-ID
        return;
      }
      // CLOSED: the browser gave up. Try again later, from a snapshot.
      source.close();
      setState('offline', pause);
      timer = setTimeout(open, pause);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    };
    listen('snapshot', handlers.snapshot);
    listen('item', handlers.item);
    listen('orders', handlers.orders);
    listen('hold', handlers.hold);
    listen('reset', handlers.reset);
  }

  // Back on the network: no need to sit out the pause.
  window.addEventListener('online', () => {
    if (timer) open();
  });
  window.addEventListener('offline', () => setState('offline'));

  open();
}
