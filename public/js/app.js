// app.js — the page: loads the catalog, opens the live stream, and wires
// the cards, the race panel, the feed and the admin panel to one Shop.

import { Admin } from './admin.js';
import { allOrders, getJSON } from './api.js';
import { Cards } from './cards.js';
import { Feed } from './feed.js';
import { Race } from './race.js';
import { Shop } from './state.js';
import { connect } from './stream.js';

const $ = (id) => document.getElementById(id);
const BUYER_KEY = 'lastitem.buyer';

// ------------------------------------------------------------ the buyer
// A name per tab (sessionStorage), so two windows are two buyers.
const ADJECTIVES = ['swift', 'eager', 'lucky', 'quiet', 'brave', 'clever', 'sleepy', 'jolly'];
const ANIMALS = ['otter', 'falcon', 'badger', 'lynx', 'heron', 'panda', 'gecko', 'moose'];

function pick(list) {
  return list[crypto.getRandomValues(new Uint32Array(1))[0] % list.length];
}

function validBuyer(name) {
  // 1 to 64 characters, no control characters: what the API accepts.
  return name.length >= 1 && Array.from(name).length <= 64 && !/[\u0000-\u001f\u007f]/.test(name);
}

const buyerInput = $('buyer');
let buyer = sessionStorage.getItem(BUYER_KEY);
if (!buyer || !validBuyer(buyer)) {
  buyer = `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${10 + (crypto.getRandomValues(new Uint8Array(1))[0] % 90)}`;
  sessionStorage.setItem(BUYER_KEY, buyer);
}
buyerInput.value = buyer;
buyerInput.addEventListener('change', () => {
  const name = buyerInput.value.trim();
  if (validBuyer(name)) {
    buyer = name;
    sessionStorage.setItem(BUYER_KEY, buyer);
    buyerInput.setCustomValidity('');
  } else {
    buyerInput.setCustomValidity('1 to 64 characters, no control characters');
    buyerInput.reportValidity();
  }
});

// ------------------------------------------------------------ status
const statusRegion = $('status');
function announce(text) {
  statusRegion.textContent = text;
}

// ------------------------------------------------------------ the parts
const shop = new Shop();
let config = { strategies: ['pessimistic'], default_strategy: 'pessimistic', max_quantity: 100 };
const race = new Race(shop, { buyer: () => buyer, status: announce });
const holdSeconds = $('hold-seconds');
const cards = new Cards($('items'), shop, {
  buyer: () => buyer,
  strategy: () => race.strategy(),
  maxQuantity: () => config.max_quantity || 100,
  holdSeconds: () => Number(holdSeconds.value) || 120,
  status: announce,
});
const feed = new Feed($('feed'), $('feed-empty'), shop);
const admin = new Admin(shop, { config: () => config, status: announce });

shop.onChange = (id) => {
  if (id === null) {
    cards.sync();
    race.syncItems();
    admin.syncItems();
    feed.redraw();
  } else {
    cards.draw(id);
  }
};
shop.onOrder = (order) => feed.add(order);
shop.onHold = (hold) => cards.holdEvent(hold);
shop.onReset = () => cards.resetHolds();

// An item the page does not know (just added), or one whose stock grew (a
// restock: its initial_quantity too): fetched again, once per burst.
const stale = new Set();
let staleTimer = 0;
shop.onStale = (id) => {
  stale.add(id);
  if (staleTimer) return;
  staleTimer = setTimeout(async () => {
    staleTimer = 0;
    const ids = Array.from(stale);
    stale.clear();
    try {
      if (ids.some((one) => !shop.items.has(one))) {
        await loadCatalog();
      } else {
        shop.setCatalog(await Promise.all(ids.map((one) => getJSON('/api/items/' + encodeURIComponent(one)))));
      }
    } catch (e) {
      // the next snapshot or event brings it
    }
  }, 100);
};

async function loadConfig() {
  try {
    config = await getJSON('/api/config');
    race.setConfig(config);
  } catch (e) {
    announce('Could not read the shop\'s configuration: ' + e.message);
  }
}

async function loadCatalog() {
  const { items } = await getJSON('/api/items');
  shop.setCatalog(items);
}

async function loadOrders() {
  try {
    await shop.loadOrders(allOrders);
  } catch (e) {
    announce('Could not read the orders: ' + e.message);
  }
}

// ------------------------------------------------------------ connection
const conn = $('conn');
const connText = $('conn-text');
let everLive = false;
let wasLive = false;

function connState(state, pause) {
  conn.dataset.state = state;
  document.body.dataset.conn = state;
  let text;
  if (state === 'live') text = 'live';
  else if (state === 'reconnecting') text = everLive ? 'reconnecting…' : 'connecting…';
  else text = pause ? `offline — retrying in ${Math.round(pause / 1000)} s` : 'offline';
  connText.textContent = text;
  conn.title = state === 'live'
    ? 'Stock changes arrive as they happen.'
    : 'Not receiving live changes: the stock shown may be out of date.';
  if (state === 'live' && everLive && !wasLive) announce('Live again.');
  if (state !== 'live' && wasLive) announce('Lost the live connection; reconnecting.');
  wasLive = state === 'live';
  if (state === 'live') everLive = true;
}

// ------------------------------------------------------------ boot
async function boot() {
  await loadConfig();
  for (let attempt = 0; ; attempt++) {
    try {
      await loadCatalog();
      break;
    } catch (e) {
      $('items-loading').textContent = 'The shop is not answering; trying again…';
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 10000)));
    }
  }
  $('items-loading').hidden = true;
  let snapshots = 0;
  connect({
    state: connState,
    // A snapshot may follow missed events: trust it, and fetch the orders
    // again (the sold counts and the feed) rather than guess.
    snapshot: (data) => {
      const unknown = shop.applySnapshot(data.items || []);
      if (unknown) loadCatalog().catch(() => {});
      if (snapshots++ > 0) loadConfig();
      loadOrders();
    },
    item: (data) => shop.applyItem(data),
    // The newest orders by name, the rest counted (stream.js).
    orders: (data) => feed.addUnlisted(shop.addSummary(data)),
    hold: (data) => shop.applyHold(data),
    // Stock numbers follow as item events; initial stocks may have changed.
    reset: () => {
      shop.reset();
      loadCatalog().catch(() => {});
    },
  });
  // No stream yet (the daemon may be down): the orders from the API anyway.
  setTimeout(() => {
    if (snapshots === 0) loadOrders();
  }, 3000);
}

boot();
