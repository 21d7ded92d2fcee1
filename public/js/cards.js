// cards.js — one card per item: picture, live stock, sold against stock,
// the Buy form and what came of the last purchase.

import { newKey, purchase } from './api.js';

const template = document.getElementById('card-template');

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// What a purchase's answer means to the person who pressed Buy.
function outcome(res, itemName) {
  if (res.status === 201) {
    const o = res.order;
    return {
      ok: true,
      text: `You got it — order #${o.id}: ${o.quantity} × ${itemName} (${o.strategy})` +
        (res.replayed ? ', confirmed after a retry' : ''),
    };
  }
  const code = res.problem && res.problem.code;
  const detail = res.problem && res.problem.detail ? ` (${res.problem.detail})` : '';
  switch (code) {
    case 'sold_out':
      return { ok: false, text: 'Sold out — someone was faster' + detail };
    case 'contention':
      return { ok: false, text: 'Too many buyers at once: the optimistic strategy gave up. Try again.' };
    case 'forbidden':
      return { ok: false, text: 'This shop refuses that strategy' + detail };
    case 'unavailable':
    case 'network':
      return { ok: false, text: 'The shop is not answering right now. Nothing was bought; try again.' };
    default:
      return { ok: false, text: 'Not bought' + detail };
  }
}

export class Cards {
  // list: the <ul>; shop: the Shop; opts.buyer() and opts.strategy() give the
  // current buyer name and strategy; opts.maxQuantity() the pool's limit.
  constructor(list, shop, opts) {
    this.list = list;
    this.shop = shop;
    this.opts = opts;
    this.cards = new Map();   // item id -> { li, parts…, busy }
  }

  // Makes sure every item has its card, in the catalog's order, and draws all.
  sync() {
    for (const it of this.shop.items.values()) {
      if (!this.cards.has(it.id)) this.cards.set(it.id, this.build(it));
      this.draw(it.id);
    }
  }

  build(it) {
    const li = template.content.firstElementChild.cloneNode(true);
    const q = (sel) => li.querySelector(sel);
    const card = {
      li, busy: false,
      img: q('img'), name: q('.name'), desc: q('.desc'), qty: q('.qty'),
      badge: q('.soldout-badge'), soldLabel: q('.sold-label'), meter: q('.sold-meter'),
      oversold: q('.oversold'), form: q('.buy'), input: q('.qty-input'),
      button: q('.buy-button'), message: q('.message'),
    };
    li.dataset.item = it.id;
    const headingId = 'item-' + it.id;
    card.name.id = headingId;
    li.querySelector('article').setAttribute('aria-labelledby', headingId);
    card.input.id = 'qty-' + it.id;
    card.button.setAttribute('aria-describedby', headingId);
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
    const qtyText = `${it.quantity} left`;
    if (card.qty.textContent !== qtyText) {
      card.qty.textContent = qtyText;
      if (before !== undefined) {
        card.qty.classList.remove('bump');
        void card.qty.offsetWidth;   // restart the animation
        card.qty.classList.add('bump');
      }
    }
    card.li.dataset.quantity = String(it.quantity);
    card.li.dataset.version = String(it.version);
    const soldOut = it.quantity <= 0;
    card.li.classList.toggle('is-sold-out', soldOut);
    card.li.dataset.soldOut = String(soldOut);
    card.badge.hidden = !soldOut;

    const sold = this.shop.sold(id);
    const oversold = sold > it.initial;
    card.li.dataset.sold = String(sold);
    setText(card.soldLabel, `Sold ${sold} of ${it.initial}`);
    card.meter.max = Math.max(it.initial, 1);
    card.meter.value = Math.min(sold, it.initial);
    card.li.classList.toggle('is-oversold', oversold);
    card.oversold.hidden = !oversold;
    setText(card.oversold, oversold
      ? `OVERSOLD: ${sold} sold, only ${it.initial} existed. ${sold - it.initial} buyer${sold - it.initial === 1 ? '' : 's'} paid for nothing.`
      : '');

    card.input.max = String(this.opts.maxQuantity());
    if (!card.busy) {
      card.button.disabled = soldOut;
      setText(card.button, soldOut ? 'Sold out' : 'Buy');
    }
  }

  // One purchase intent: one key, reused on every retry; the button stays
  // disabled until the answer is in, so a double click cannot buy twice.
  async buy(id) {
    const card = this.cards.get(id);
    const it = this.shop.items.get(id);
    if (!card || !it || card.busy) return;
    const quantity = Number(card.input.value);
    if (!card.input.checkValidity() || !Number.isInteger(quantity)) {
      card.input.reportValidity();
      return;
    }
    card.busy = true;
    card.button.disabled = true;
    card.button.textContent = 'Buying…';
    card.li.setAttribute('aria-busy', 'true');
    card.message.className = 'message pending';
    card.message.textContent = `Buying ${quantity} × ${it.name}…`;
    const intent = {
      item: id, quantity, buyer: this.opts.buyer(), strategy: this.opts.strategy(), key: newKey(),
    };
    const res = await purchase(intent, (attempt) => {
      card.message.textContent = `No answer yet; trying again (attempt ${attempt + 1}), with the same key…`;
    });
    if (res.item) this.shop.applyItem(res.item);
    const out = outcome(res, it.name);
    card.message.className = 'message ' + (out.ok ? 'won' : 'lost');
    card.message.textContent = out.text;
    card.li.dataset.outcome = out.ok ? 'won' : (res.problem && res.problem.code) || 'error';
    card.busy = false;
    card.li.removeAttribute('aria-busy');
    this.draw(id);
  }
}
