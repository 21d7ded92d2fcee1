// race.js — the race panel: which strategy, the page's own stampede, and
// Reset (with the admin token when the pool asks for one).

import { ApiError, newKey, purchase, reset } from './api.js';

const TOKEN_KEY = 'lastitem.adminToken';
const STRATEGY_KEY = 'lastitem.strategy';
const $ = (id) => document.getElementById(id);

export class Race {
  // shop: the Shop; opts.buyer() the tab's buyer name; opts.status(text)
  // announces in the page's live region.
  constructor(shop, opts) {
    this.shop = shop;
    this.opts = opts;
    this.config = null;
    this.select = $('strategy');
    this.itemSelect = $('stampede-item');
    this.count = $('stampede-count');
    this.button = $('stampede');
    this.resetButton = $('reset');
    this.running = false;
    $('race-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.stampede();
    });
    this.resetButton.addEventListener('click', () => this.reset());
    this.select.addEventListener('change', () => {
      sessionStorage.setItem(STRATEGY_KEY, this.select.value);
      this.select.classList.toggle('unsafe', this.select.value === 'naive');
    });
  }

  strategy() {
    return this.select.value || (this.config && this.config.default_strategy) || 'pessimistic';
  }

  // setConfig(GET /api/config): the strategies this pool accepts; naive only
  // when it allows it, and marked for what it is.
  setConfig(config) {
    const same = this.config &&
      this.config.strategies.join() === config.strategies.join();
    this.config = config;
    if (same) return;
    const wanted = this.select.value || sessionStorage.getItem(STRATEGY_KEY) || config.default_strategy;
    const options = config.strategies.map((s) => {
      const opt = document.createElement('option');
      opt.value = s;
      opt.textContent = s === 'naive' ? 'naive — UNSAFE, can oversell'
        : s === config.default_strategy ? s : s;
      if (s === 'naive') opt.className = 'unsafe';
      return opt;
    });
    this.select.replaceChildren(...options);
    this.select.value = config.strategies.includes(wanted) ? wanted : config.default_strategy;
    this.select.classList.toggle('unsafe', this.select.value === 'naive');
    $('strategy-note').textContent = config.unsafe_allowed
      ? 'also used by the Buy buttons; naive is the bug, on purpose'
      : 'also used by the Buy buttons (naive is not offered: this pool refuses it)';
  }

  // The items the stampede can aim at; the last item first by default.
  syncItems() {
    const current = this.itemSelect.value;
    const options = Array.from(this.shop.items.values(), (it) => {
      const opt = document.createElement('option');
      opt.value = it.id;
      opt.textContent = it.name;
      return opt;
    });
    this.itemSelect.replaceChildren(...options);
    if (current && this.shop.items.has(current)) this.itemSelect.value = current;
  }

  // N buyers at once, each with its own name and Idempotency-Key, from this
  // page. The browser sends at most 6 at a time to one server; the elapsed
  // time is what it took, queueing included.
  async stampede() {
    if (this.running) return;
    const n = Number(this.count.value);
    if (!this.count.checkValidity() || !Number.isInteger(n)) {
      this.count.reportValidity();
      return;
    }
    const item = this.itemSelect.value;
    const strategy = this.strategy();
    const name = this.shop.items.get(item) ? this.shop.items.get(item).name : item;
    this.running = true;
    this.button.disabled = true;
    this.button.textContent = 'Running…';
    const counts = { won: 0, soldOut: 0, contention: 0, other: 0 };
    const result = $('stampede-result');
    result.hidden = false;
    result.dataset.state = 'running';
    const summary = $('stampede-summary');
    let started = 0;
    // Answers per second so far: every buyer's purchase, won or not.
    const rate = (done) => {
      const s = (performance.now() - started) / 1000;
      return done > 0 && s > 0 ? Math.round(done / s) : 0;
    };
    const show = (done) => {
      $('count-won').textContent = counts.won;
      $('count-rate').textContent = done > 0 ? rate(done) : '–';
      $('count-sold-out').textContent = counts.soldOut;
      $('count-contention').textContent = counts.contention;
      $('count-other').textContent = counts.other;
      summary.textContent = done < n
        ? `${n} buyers on ${name} (${strategy}): ${done} answered…`
        : `${n} buyers on ${name} (${strategy}): ${counts.won} got it.`;
    };
    show(0);
    this.opts.status(`Stampede: ${n} buyers on ${name}, strategy ${strategy}.`);
    const base = this.opts.buyer();
    let done = 0;
    started = performance.now();
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const suffix = ` #${i + 1}`;
      const res = await purchase({
        item, quantity: 1, strategy, key: newKey(),
        buyer: base.slice(0, 64 - suffix.length) + suffix,
      });
      if (res.item) this.shop.applyItem(res.item);
      const code = res.problem && res.problem.code;
      if (res.status === 201) counts.won++;
      else if (code === 'sold_out') counts.soldOut++;
      else if (code === 'contention') counts.contention++;
      else counts.other++;
      done++;
      show(done);
    }));
    const elapsed = performance.now() - started;
    const perSecond = Math.round(n / (elapsed / 1000));
    show(n);
    $('count-rate').textContent = String(perSecond);
    this.recordRate(strategy, perSecond, counts.won, n);
    $('stampede-elapsed').textContent = `${(elapsed / 1000).toFixed(2)} s` +
      ` (${perSecond} purchases/s)`;
    Object.assign(result.dataset, {
      state: 'done', won: counts.won, soldOut: counts.soldOut,
      contention: counts.contention, other: counts.other, elapsedMs: Math.round(elapsed),
      rate: perSecond,
    });
    this.opts.status(`Stampede done: ${counts.won} got it, ${counts.soldOut} sold out, ` +
      `${counts.contention} gave up, ${counts.other} other, in ${(elapsed / 1000).toFixed(2)} s.`);
    this.running = false;
    this.button.disabled = false;
    this.button.textContent = 'Stampede';
  }

  // Keeps the last rate of each strategy in a table beside the counts, so
  // races of different strategies can be compared on this page.
  recordRate(strategy, perSecond, won, buyers) {
    if (!this.rates) this.rates = new Map();
    this.rates.set(strategy, { perSecond, won, buyers });
    const rows = Array.from(this.rates, ([s, r]) => {
      const tr = document.createElement('tr');
      tr.dataset.strategy = s;
      for (const v of [s, r.perSecond, r.won, r.buyers]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      return tr;
    });
    $('race-rates-body').replaceChildren(...rows);
    $('race-rates').hidden = false;
  }

  // Asks for the admin token in a dialog; null when cancelled.
  askToken(why) {
    const dialog = $('token-dialog');
    const input = $('token-input');
    $('token-why').textContent = why;
    input.value = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        const token = input.value.trim();
        input.value = '';   // kept in sessionStorage once it works, nowhere else
        resolve(dialog.returnValue === 'ok' && token ? token : null);
      }, { once: true });
      dialog.returnValue = '';
      dialog.showModal();
      input.focus();
    });
  }

  async reset() {
    this.resetButton.disabled = true;
    try {
      let token = sessionStorage.getItem(TOKEN_KEY) || '';
      if (!token && this.config && this.config.reset_requires_token) {
        token = await this.askToken('This shop protects Reset with an admin token.');
        if (token === null) return;
      }
      for (;;) {
        try {
          const answer = await reset(token);
          if (token) sessionStorage.setItem(TOKEN_KEY, token);
          this.shop.setCatalog(answer.items);
          this.opts.status('The shop is reset: every item back to its stock, no orders.');
          return;
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 401) {
            this.opts.status('Reset failed: ' + e.message);
            return;
          }
          sessionStorage.removeItem(TOKEN_KEY);
          token = await this.askToken(token
            ? 'That token was refused. Try again.'
            : 'This shop protects Reset with an admin token.');
          if (token === null) {
            this.opts.status('Reset cancelled.');
            return;
          }
        }
      }
    } finally {
      this.resetButton.disabled = false;
    }
  }
}
