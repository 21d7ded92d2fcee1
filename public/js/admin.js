// admin.js — the admin panel: add an item (POST /api/items), restock one
// or change its limit per buyer (PATCH /api/items/{id}), with the admin
// token when the shop has one. The new stock reaches every open page by
// the stream, this one included; the answer only fills in what the stream
// does not carry (a new item's name, a limit).

import { admin, ApiError } from './api.js';
import { count, plural } from './format.js';
import { askToken, forgetToken, getToken, saveToken } from './token.js';

const $ = (id) => document.getElementById(id);

// An optional whole number field: null when empty.
function optional(input) {
  return input.value.trim() === '' ? null : Number(input.value);
}

export class Admin {
  // shop: the Shop; opts.config() the pool's /api/config; opts.status(text)
  // announces in the page's live region.
  constructor(shop, opts) {
    this.shop = shop;
    this.opts = opts;
    this.toggle = $('admin-toggle');
    this.body = $('admin-body');
    this.message = $('admin-message');
    this.itemSelect = $('change-item');
    this.busy = false;
    this.toggle.addEventListener('click', () => (this.body.hidden ? this.open() : this.close()));
    $('add-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.add();
    });
    $('change-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.change();
    });
    this.itemSelect.addEventListener('change', () => this.showLimit());
  }

  needsToken() {
    const config = this.opts.config();
    return Boolean(config && config.reset_requires_token);
  }

  // Opens the panel; asks for the token first when the shop has one and
  // this tab does not know it yet.
  async open() {
    if (this.needsToken() && !getToken()) {
      const token = await askToken('The admin panel needs the admin token.', 'Open');
      if (token === null) return;
      this.pending = token;   // kept once the shop accepts it
    }
    this.body.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    this.toggle.textContent = 'Close the admin panel';
    this.syncItems();
    $('add-id').focus();
  }

  close() {
    this.body.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    this.toggle.textContent = 'Open the admin panel';
  }

  // The items it can change, kept in step with the catalog.
  syncItems() {
    const current = this.itemSelect.value;
    this.itemSelect.replaceChildren(...Array.from(this.shop.items.values(), (it) => {
      const opt = document.createElement('option');
      opt.value = it.id;
      opt.textContent = it.name;
      return opt;
    }));
    if (current && this.shop.items.has(current)) this.itemSelect.value = current;
    this.showLimit();
  }

  showLimit() {
    const it = this.shop.items.get(this.itemSelect.value);
    if (it && document.activeElement !== $('change-limit')) {
      $('change-limit').value = it.limit === null || it.limit === undefined ? '' : String(it.limit);
    }
  }

  say(ok, text) {
    this.message.className = 'message ' + (ok ? 'won' : 'lost');
    this.message.textContent = text;
  }

  // send(method, path, body): the answer's item, asking for the token
  // again when the shop refuses the one given; null when it failed.
  async send(method, path, body) {
    let token = this.pending || getToken();
    for (;;) {
      try {
        const answer = await admin(method, path, body, token);
        saveToken(token);
        this.pending = '';
        return (answer && answer.item) || answer;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 401) {
          const code = e.problem && e.problem.code;
          this.say(false, code === 'conflict' ? `There is already an item ${body.id}.`
            : e instanceof ApiError ? e.message : 'The shop is not answering: ' + e.message);
          return null;
        }
        forgetToken();
        this.pending = '';
        token = await askToken(token ? 'That token was refused. Try again.'
          : 'The admin panel needs the admin token.', 'Send');
        if (token === null) {
          this.say(false, 'Cancelled: no admin token.');
          return null;
        }
      }
    }
  }

  async run(button, fn) {
    if (this.busy) return;
    this.busy = true;
    button.disabled = true;
    this.message.className = 'message pending';
    this.message.textContent = 'Sending…';
    try {
      await fn();
    } finally {
      this.busy = false;
      button.disabled = false;
    }
  }

  add() {
    const form = $('add-form');
    if (!form.reportValidity()) return;
    const body = {
      id: $('add-id').value.trim(),
      name: $('add-name').value.trim(),
      description: $('add-description').value.trim(),
      image_url: $('add-image').value,
      quantity: Number($('add-quantity').value),
      max_per_buyer: optional($('add-limit')),
    };
    return this.run($('add-submit'), async () => {
      const item = await this.send('POST', '/api/items', body);
      if (!item) return;
      this.shop.setCatalog([item]);
      const text = `Added ${item.name}: ${count(item.quantity)} in stock` +
        (item.max_per_buyer ? `, at most ${plural(item.max_per_buyer, 'unit')} per buyer.` : '.');
      this.say(true, text);
      this.opts.status(text);
      form.reset();
    });
  }

  change() {
    const form = $('change-form');
    if (!form.reportValidity()) return;
    const id = this.itemSelect.value;
    const restock = optional($('change-restock'));
    const body = { max_per_buyer: optional($('change-limit')) };
    if (restock !== null) body.restock = restock;
    return this.run($('change-submit'), async () => {
      const item = await this.send('PATCH', '/api/items/' + encodeURIComponent(id), body);
      if (!item) return;
      this.shop.setCatalog([item]);
      const text = `${item.name}: ${restock ? `${plural(restock, 'unit')} added, ` : ''}` +
        `${count(item.quantity)} left, ` +
        (item.max_per_buyer ? `at most ${plural(item.max_per_buyer, 'unit')} per buyer.` : 'no limit per buyer.');
      this.say(true, text);
      this.opts.status(text);
      $('change-restock').value = '';
    });
  }
}
