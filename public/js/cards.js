// cards.js — one card per item: picture, live stock, units held, the limit
// per buyer, sold against stock, the Buy and Hold buttons, this tab's own
// hold with its countdown (then Confirm or Release), and what came of the
// last action.

import { endHold, hold, holdStatus, newKey, purchase } from './api.js';
import { count, plural, spokenTime, timeLeft } from './format.js';

const template = document.getElementById('card-template');
const HOLDS_KEY = 'lastitem.holds';   // this tab's active holds, for a reload
const TICK_MS = 250;
const EXPIRY_GRACE_MS = 1500;         // the shop ends a hold within 1 s of expires_at

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// What a refused request means to the person who pressed the button.
function refusal(res, item, fallback) {
  const code = res.problem && res.problem.code;
  const detail = res.problem && res.problem.detail ? ` (${res.problem.detail})` : '';
  switch (code) {
    case 'sold_out':
      return 'Sold out — someone was faster' + detail;
    case 'limit_reached':
      return item.limit
        ? `Limit reached: at most ${plural(item.limit, 'unit')} per buyer, holds included`
        : 'Limit reached' + detail;
    case 'contention':
      return 'Too many buyers at once: the optimistic strategy gave up. Try again.';
    case 'hold_expired':
      return 'Too late: your hold expired and the units went back on sale.';
    case 'forbidden':
      return 'The shop refuses that' + detail;
    case 'unavailable':
    case 'network':
      return 'The shop is not answering right now. Nothing changed; try again.';
    default:
      return fallback + detail;
  }
}

function ordered(order, itemName, replayed) {
  return `You got it — order #${order.id}: ${count(order.quantity)} × ${itemName} (${order.strategy})` +
    (replayed ? ', confirmed after a retry' : '');
}

export class Cards {
  // list: the <ul>; shop: the Shop; opts.buyer() and opts.strategy() give the
  // current buyer name and strategy; opts.maxQuantity() the pool's limit;
  // opts.holdSeconds() how long a hold lasts; opts.status(text) announces.
  constructor(list, shop, opts) {
    this.list = list;
    this.shop = shop;
    this.opts = opts;
    this.cards = new Map();   // item id -> { li, parts…, busy, hold }
    this.ticker = 0;
    this.restored = false;
  }

  // Makes sure every item has its card, in the catalog's order, and draws all.
  sync() {
    for (const it of this.shop.items.values()) {
      if (!this.cards.has(it.id)) this.cards.set(it.id, this.build(it));
      this.draw(it.id);
    }
    if (!this.restored && this.shop.items.size) {
      this.restored = true;
      this.restoreHolds();
    }
  }

  build(it) {
    const li = template.content.firstElementChild.cloneNode(true);
    const q = (sel) => li.querySelector(sel);
    const card = {
      li, busy: false, hold: null,
      img: q('img'), name: q('.name'), desc: q('.desc'), qty: q('.qty'), heldCount: q('.held-count'),
      badge: q('.soldout-badge'), limit: q('.limit'), soldLabel: q('.sold-label'), meter: q('.sold-meter'),
      oversold: q('.oversold'), form: q('.buy'), input: q('.qty-input'),
      button: q('.buy-button'), holdButton: q('.hold-button'), message: q('.message'),
      myHold: q('.my-hold'), holdWhat: q('.hold-what'), countdown: q('.countdown'),
      confirm: q('.confirm-button'), release: q('.release-button'),
    };
    li.dataset.item = it.id;
    const headingId = 'item-' + it.id;
    card.name.id = headingId;
    li.querySelector('article').setAttribute('aria-labelledby', headingId);
    card.input.id = 'qty-' + it.id;
    for (const b of [card.button, card.holdButton, card.confirm, card.release]) {
      b.setAttribute('aria-describedby', headingId);
    }
    // Only pictures of this origin: nothing the page shows leaves the machine.
    if (typeof it.image_url === 'string' && it.image_url.startsWith('/') && !it.image_url.startsWith('//')) {
      card.img.src = it.image_url;
    } else {
      card.img.hidden = true;
    }
    card.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.buy(it.id);
    });
    card.holdButton.addEventListener('click', () => this.hold(it.id));
    card.confirm.addEventListener('click', () => this.endHold(it.id, 'confirm'));
    card.release.addEventListener('click', () => this.endHold(it.id, 'release'));
    card.qty.addEventListener('animationend', () => card.qty.classList.remove('bump'));
    this.list.append(li);
    return card;
  }

  draw(id) {
    const it = this.shop.items.get(id);
    const card = this.cards.get(id);
    if (!it || !card) return;
    setText(card.name, it.name);
    setText(card.desc, it.description);
    const before = card.li.dataset.quantity;
    const qtyText = `${count(it.quantity)} left`;
    if (card.qty.textContent !== qtyText) {
      card.qty.textContent = qtyText;
      if (before !== undefined) {
        card.qty.classList.remove('bump');
        void card.qty.offsetWidth;   // restart the animation
        card.qty.classList.add('bump');
      }
    }
    card.li.dataset.quantity = String(it.quantity);
    card.li.dataset.held = String(it.held);
    card.li.dataset.version = String(it.version);
    const soldOut = it.quantity <= 0;
    const allHeld = soldOut && it.held > 0;
    card.li.classList.toggle('is-sold-out', soldOut);
    card.li.classList.toggle('is-all-held', allHeld);
    card.li.dataset.soldOut = String(soldOut);
    card.badge.hidden = !soldOut;
    setText(card.badge, allHeld ? 'All held' : 'Sold out');

    // Units in holds are taken for now: someone may still let them go.
    const mine = card.hold ? card.hold.quantity : 0;
    card.heldCount.hidden = it.held <= 0;
    setText(card.heldCount, `${count(it.held)} held` +
      (mine > 0 && mine < it.held ? ` (${count(mine)} by you)` : mine > 0 ? ' by you' : ''));
    card.limit.hidden = it.limit === null || it.limit === undefined;
    setText(card.limit, card.limit.hidden ? '' : `Limit: ${plural(it.limit, 'unit')} per buyer`);
    card.li.dataset.limit = card.limit.hidden ? '' : String(it.limit);

    const sold = this.shop.sold(id);
    const oversold = sold > it.initial;
    card.li.dataset.sold = String(sold);
    setText(card.soldLabel, `Sold ${count(sold)} of ${count(it.initial)}`);
    card.meter.max = Math.max(it.initial, 1);
    card.meter.value = Math.min(sold, it.initial);
    card.li.classList.toggle('is-oversold', oversold);
    card.oversold.hidden = !oversold;
    setText(card.oversold, oversold
      ? `OVERSOLD: ${count(sold)} sold, only ${count(it.initial)} existed. ${plural(sold - it.initial, 'buyer')} paid for nothing.`
      : '');

    card.input.max = String(Math.min(this.opts.maxQuantity(), it.limit || Infinity));
    if (!card.busy) {
      card.button.disabled = soldOut;
      setText(card.button, soldOut ? (allHeld ? 'All held' : 'Sold out') : 'Buy');
      card.holdButton.disabled = soldOut || card.hold !== null;
      setText(card.holdButton, card.hold ? 'Held' : 'Hold');
    }
    card.li.dataset.hold = card.hold ? card.hold.state : '';
    card.myHold.hidden = card.hold === null;
    if (card.hold) setText(card.holdWhat, `${count(card.hold.quantity)} × ${it.name}`);
  }

  // The quantity asked for, or null (and the browser says why).
  wanted(card) {
    const quantity = Number(card.input.value);
    if (!card.input.checkValidity() || !Number.isInteger(quantity)) {
      card.input.reportValidity();
      return null;
    }
    return quantity;
  }

  begin(card, button, label, message) {
    card.busy = true;
    for (const b of [card.button, card.holdButton, card.confirm, card.release]) b.disabled = true;
    button.textContent = label;
    card.li.setAttribute('aria-busy', 'true');
    card.message.className = 'message pending';
    card.message.textContent = message;
  }

  finish(id, ok, text, outcome) {
    const card = this.cards.get(id);
    card.message.className = 'message ' + (ok ? 'won' : 'lost');
    card.message.textContent = text;
    card.li.dataset.outcome = outcome;
    card.busy = false;
    card.li.removeAttribute('aria-busy');
    card.confirm.disabled = false;
    card.release.disabled = false;
    setText(card.confirm, 'Confirm');
    setText(card.release, 'Release');
    this.draw(id);
  }

  // One purchase intent: one key, reused on every retry; the button stays
  // disabled until the answer is in, so a double click cannot buy twice.
  async buy(id) {
    const card = this.cards.get(id);
    const it = this.shop.items.get(id);
    if (!card || !it || card.busy) return;
    const quantity = this.wanted(card);
    if (quantity === null) return;
    this.begin(card, card.button, 'Buying…', `Buying ${count(quantity)} × ${it.name}…`);
    const intent = {
      item: id, quantity, buyer: this.opts.buyer(), strategy: this.opts.strategy(), key: newKey(),
    };
    const res = await purchase(intent, (attempt) => {
      card.message.textContent = `No answer yet; trying again (attempt ${attempt + 1}), with the same key…`;
    });
    if (res.item) this.shop.applyItem(res.item);
    if (res.status === 201) this.finish(id, true, ordered(res.order, it.name, res.replayed), 'won');
    else this.finish(id, false, refusal(res, it, 'Not bought'), (res.problem && res.problem.code) || 'error');
  }

  // Puts units aside for this tab's buyer, for the chosen time; the
  // countdown runs from when the request went out, so it never shows more
  // time than the shop gives.
  async hold(id) {
    const card = this.cards.get(id);
    const it = this.shop.items.get(id);
    if (!card || !it || card.busy || card.hold) return;
    const quantity = this.wanted(card);
    if (quantity === null) return;
    const ttl = this.opts.holdSeconds();
    this.begin(card, card.holdButton, 'Holding…', `Holding ${count(quantity)} × ${it.name}…`);
    const sent = Date.now();
    const res = await hold({ item: id, quantity, buyer: this.opts.buyer(), ttl, key: newKey() }, (attempt) => {
      card.message.textContent = `No answer yet; trying again (attempt ${attempt + 1}), with the same key…`;
    });
    if (res.item) this.shop.applyItem(res.item);
    if (res.status !== 201) {
      this.finish(id, false, refusal(res, it, 'Not held'), (res.problem && res.problem.code) || 'error');
      return;
    }
    const expires = Date.parse(res.hold.expires_at);
    // The shop's clock may differ from this one: trust it only to shorten.
    const deadline = Math.min(sent + ttl * 1000, Number.isNaN(expires) ? Infinity : expires);
    card.hold = { id: res.hold.id, quantity: res.hold.quantity, deadline, state: 'active', checking: false };
    this.saveHolds();
    card.li.dataset.holdId = String(res.hold.id);
    this.finish(id, true, `Held ${count(res.hold.quantity)} × ${it.name} for you for ` +
      `${spokenTime(ttl * 1000)}: confirm to buy, or release.`, 'held');
    this.tick();
    this.startTicker();
  }

  async endHold(id, how) {
    const card = this.cards.get(id);
    const it = this.shop.items.get(id);
    if (!card || !it || !card.hold || card.busy) return;
    const h = card.hold;
    this.begin(card, how === 'confirm' ? card.confirm : card.release,
      how === 'confirm' ? 'Confirming…' : 'Releasing…',
      how === 'confirm' ? 'Confirming your hold…' : 'Releasing your hold…');
    const res = await endHold(h.id, this.opts.buyer(), how);
    if (res.item) this.shop.applyItem(res.item);
    if (res.status === 201 || res.status === 200) {
      this.dropHold(card);
      if (how === 'release') this.finish(id, true, `Released: ${count(h.quantity)} × ${it.name} back on sale.`, 'released');
      else if (res.order) this.finish(id, true, ordered(res.order, it.name, false), 'won');
      else this.finish(id, true, `You got it: your hold on ${it.name} is confirmed.`, 'won');
      return;
    }
    const code = res.problem && res.problem.code;
    const gone = code === 'hold_expired' || code === 'not_found' || code === 'forbidden' ||
      (res.settled && res.settled !== 'active');
    if (gone) this.dropHold(card);
    this.finish(id, false, refusal(res, it, how === 'confirm' ? 'Not bought' : 'Not released'),
      code || 'error');
  }

  dropHold(card) {
    card.hold = null;
    delete card.li.dataset.holdId;
    this.saveHolds();
  }

  // A hold event: one of this tab's holds may have ended elsewhere (it
  // expired, or another tab of this buyer confirmed or released it).
  holdEvent(event) {
    for (const [id, card] of this.cards) {
      if (!card.hold || String(card.hold.id) !== String(event.id) || event.status === 'active') continue;
      if (card.busy) return;   // this tab is ending it: its answer says how
      this.ended(id, event.status);
      return;
    }
  }

  ended(id, status) {
    const card = this.cards.get(id);
    const it = this.shop.items.get(id);
    this.dropHold(card);
    if (status === 'expired') setText(card.countdown, timeLeft(0));
    const text = {
      expired: `Your hold on ${it.name} expired: the units went back on sale.`,
      confirmed: `Your hold on ${it.name} was confirmed (in another tab).`,
      released: `Your hold on ${it.name} was released.`,
      gone: `Your hold on ${it.name} is gone: the shop was reset.`,
    }[status] || `Your hold on ${it.name} ended (${status}).`;
    this.finish(id, status === 'confirmed', text, 'hold-' + status);
    this.opts.status(text);
  }

  // A reset deleted every hold.
  resetHolds() {
    for (const [id, card] of this.cards) if (card.hold && !card.busy) this.ended(id, 'gone');
  }

  startTicker() {
    if (!this.ticker) this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  // The countdowns. Past its deadline a hold is asked after, in case its
  // event was missed (the stream down): the shop says when it has ended.
  tick() {
    let active = 0;
    const now = Date.now();
    for (const [id, card] of this.cards) {
      const h = card.hold;
      if (!h) continue;
      active++;
      const left = h.deadline - now;
      setText(card.countdown, timeLeft(left));
      card.countdown.setAttribute('aria-label', spokenTime(left));
      card.li.classList.toggle('hold-ending', left < 10000);
      if (left <= -EXPIRY_GRACE_MS && !h.checking && !card.busy) {
        h.checking = true;
        h.state = 'expiring';
        card.li.dataset.hold = 'expiring';
        holdStatus(h.id).then((status) => {
          h.checking = false;
          if (card.hold === h && status && status !== 'active' && !card.busy) this.ended(id, status);
          else if (card.hold === h) h.deadline = Date.now();   // ask again in a moment
        });
      }
    }
    if (!active && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = 0;
    }
  }

  // This tab's holds survive a reload (sessionStorage, like the buyer name).
  saveHolds() {
    const list = [];
    for (const [item, card] of this.cards) {
      if (card.hold) list.push({ item, id: card.hold.id, quantity: card.hold.quantity, deadline: card.hold.deadline });
    }
    if (list.length) sessionStorage.setItem(HOLDS_KEY, JSON.stringify(list));
    else sessionStorage.removeItem(HOLDS_KEY);
  }

  async restoreHolds() {
    let list;
    try {
      list = JSON.parse(sessionStorage.getItem(HOLDS_KEY) || '[]');
    } catch (e) {
      list = [];
    }
    for (const h of Array.isArray(list) ? list : []) {
      const card = this.cards.get(h.item);
      if (!card || card.hold || (await holdStatus(h.id)) !== 'active') continue;
      card.hold = { id: h.id, quantity: h.quantity, deadline: h.deadline, state: 'active', checking: false };
      card.li.dataset.holdId = String(h.id);
      this.draw(h.item);
    }
    this.saveHolds();
    this.tick();
    this.startTicker();
  }
}
