// race.js — the race panel: which strategy, the page's own stampede, and
// Reset (with the admin token when the pool asks for one).

import { ApiError, endHold, hold, newKey, purchase, reset } from './api.js';
import { askToken, forgetToken, getToken, saveToken } from './token.js';

const STRATEGY_KEY = 'lastitem.strategy';
const HOLD_SECONDS = 120;
const $ = (id) => document.getElementById(id);

// One simulated buyer who holds a unit and then confirms it: answers like
// purchase() (201 with the order, or the problem of whichever step failed).
async function holdThenConfirm(intent) {
  const held = await hold({ ...intent, ttl: HOLD_SECONDS });
  if (held.status !== 201) return held;
  const res = await endHold(held.hold.id, intent.buyer, 'confirm');
  return { ...res, item: res.item || held.item };
}

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
    this.mode = $('stampede-mode');
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
    const holding = this.mode.value === 'hold';
    const how = holding ? 'hold, then confirm' : strategy;
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
        ? `${n} buyers on ${name} (${how}): ${done} answered…`
        : `${n} buyers on ${name} (${how}): ${counts.won} got it.`;
    };
    show(0);
    this.opts.status(`Stampede: ${n} buyers on ${name}, ${holding ? 'each holding, then confirming' : 'strategy ' + strategy}.`);
    const base = this.opts.buyer();
    let done = 0;
    started = performance.now();
    await Promise.all(Array.from({ length: n }, async (_, i) => {
      const suffix = ` #${i + 1}`;
      const intent = {
        item, quantity: 1, strategy, key: newKey(),
        buyer: base.slice(0, 64 - suffix.length) + suffix,
      };
      const res = holding ? await holdThenConfirm(intent) : await purchase(intent);
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
      state: 'done', mode: holding ? 'hold' : 'buy', won: counts.won, soldOut: counts.soldOut,
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

  async reset() {
    this.resetButton.disabled = true;
    try {
      let token = getToken();
      if (!token && this.config && this.config.reset_requires_token) {
        token = await askToken('This shop protects Reset with an admin token.', 'Reset');
        if (token === null) return;
      }
      for (;;) {
        try {
          const answer = await reset(token);
          saveToken(token);
          this.shop.setCatalog(answer.items);
          this.opts.status('The shop is reset: every item back to its stock, no orders.');
          return;
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 401) {
            this.opts.status('Reset failed: ' + e.message);
            return;
          }
          forgetToken();
          token = await askToken(token
            ? 'That token was refused. Try again.'
            : 'This shop protects Reset with an admin token.', 'Reset');
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
