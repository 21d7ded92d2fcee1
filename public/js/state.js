// state.js — what the page knows about the shop, and the rules for
// changing it, apart from any drawing.
//
// Quantities: every source (GET /api/items, a purchase's answer, the
// stream's snapshot and item events) carries the item's version; the
// highest version wins, so an answer that arrives late never puts a stale
// quantity back on screen.
//
// Held: units in someone's active hold; neither for sale nor sold. Every
// item event carries it with the quantity. initial = quantity + held + sold.
//
// Sold: from the stock (initial - quantity - held), unless the orders add up
// to more, because the naive strategy loses updates: ten buyers may all write
// "0 left" and all get an order. Orders are keyed by id, so one seen twice
// (from the stream and from a reload of the list) counts once. The stream
// names only the newest few orders of each tick; the units of the others
// come with it per item (`orders` events) and are added up apart.

export class Shop {
  constructor() {
    this.items = new Map();     // id -> { id, name, description, image_url, quantity, held, limit, initial, version }
    this.orders = new Map();    // order id -> order
    this.unlisted = new Map();  // item id -> units of orders heard, not named
    this.loading = null;        // orders heard while the list is being fetched
    this.generation = 0;        // bumps on every reset: older fetches are void
    this.onChange = () => {};   // (itemId) => void; null itemId: everything
    this.onOrder = () => {};    // (order) => void, for a new order only
    this.onReset = () => {};
    this.onHold = () => {};     // (hold event) => void
    this.onStale = () => {};    // (itemId) => void: fetch this item again
  }

  // setCatalog(items): from GET /api/items or a reset's answer.
  setCatalog(list) {
    for (const it of list) {
      const known = this.items.get(it.id);
      if (!known) {
        this.items.set(it.id, {
          id: it.id, name: it.name, description: it.description, image_url: it.image_url,
          quantity: it.quantity, held: it.held || 0, limit: it.max_per_buyer ?? null,
          initial: it.initial_quantity, version: it.version,
        });
      } else {
        if (it.name !== undefined) Object.assign(known, {
          name: it.name, description: it.description, image_url: it.image_url,
        });
        if (it.max_per_buyer !== undefined) known.limit = it.max_per_buyer;
        this.applyItem(it);
      }
    }
    this.onChange(null);
  }

  // applyItem({id, quantity, version[, held, initial_quantity,
  // max_per_buyer]}): true when it changed what the page shows. An item
  // the page has never heard of (just added) is the catalog's to bring.
  applyItem(it) {
    const known = this.items.get(it.id);
    if (!known) {
      if (typeof it.id === 'string') this.onStale(it.id);
      return false;
    }
    if (typeof it.version !== 'number' || it.version < known.version) return false;
    const held = typeof it.held === 'number' ? it.held : known.held;
    const limit = it.max_per_buyer !== undefined ? it.max_per_buyer : known.limit;
    const changed = it.version > known.version || it.quantity !== known.quantity ||
      held !== known.held || limit !== known.limit ||
      (it.initial_quantity !== undefined && it.initial_quantity !== known.initial);
    // Stock that grew (a restock) grew initial_quantity too, which an item
    // event does not carry: ask for the item rather than guess.
    if (it.initial_quantity === undefined && it.quantity + held > known.quantity + known.held) {
      this.onStale(it.id);
    }
    known.version = it.version;
    known.quantity = it.quantity;
    known.held = held;
    known.limit = limit;
    if (it.initial_quantity !== undefined) known.initial = it.initial_quantity;
    if (changed) this.onChange(it.id);
    return changed;
  }

  // A hold began or ended somewhere (a hold event).
  applyHold(hold) {
    if (hold && typeof hold.id !== 'undefined') this.onHold(hold);
  }

  // A snapshot from the stream: each item as the database has it now.
  applySnapshot(list) {
    let unknown = false;
    for (const it of list) {
      if (!this.items.has(it.id)) unknown = true;
      else this.applyItem(it);
    }
    return unknown;
  }

  addOrder(order) {
    if (this.loading) this.loading.set(order.id, order);
    if (this.orders.has(order.id)) return;
    this.orders.set(order.id, order);
    this.onChange(order.item_id);
    this.onOrder(order);
  }

  // addSummary({count, units, orders}): a tick's orders from the stream:
  // the newest few by name, the units of all of them per item. Returns how
  // many orders it did not name.
  addSummary(summary) {
    const named = new Map();
    const orders = Array.isArray(summary.orders) ? summary.orders : [];
    for (const o of orders) named.set(o.item_id, (named.get(o.item_id) || 0) + o.quantity);
    for (const [id, units] of Object.entries(summary.units || {})) {
      const rest = units - (named.get(id) || 0);
      if (rest > 0 && !this.loading) {
        this.unlisted.set(id, (this.unlisted.get(id) || 0) + rest);
        if (this.items.has(id)) this.onChange(id);
      }
    }
    for (const o of orders) this.addOrder(o);
    return Math.max(0, (summary.count || 0) - orders.length);
  }

  // A reset committed: every order is gone, and nothing fetched before it
  // may bring one back.
  reset() {
    this.generation++;
    this.orders.clear();
    this.unlisted.clear();
    if (this.loading) this.loading.clear();
    this.onReset();
    this.onChange(null);
  }

  // loadOrders(fetcher): replaces the orders with the list the fetcher
  // returns, plus those the stream delivered meanwhile. A reset during the
  // fetch voids it.
  async loadOrders(fetcher) {
    const generation = this.generation;
    const heard = new Map();
    this.loading = heard;
    try {
      const list = await fetcher();
      // A reset since, or a newer load begun since: this list is old news.
      if (generation !== this.generation || this.loading !== heard) return false;
      this.orders = new Map(list.map((o) => [o.id, o]));
      for (const [id, o] of heard) this.orders.set(id, o);
      // The list has every order; units heard while it was read are left
      // out (they may be in it): a count too low for a moment, never too
      // high, and the stock's count covers it.
      this.unlisted.clear();
      this.onChange(null);
      return true;
    } finally {
      if (this.loading === heard) this.loading = null;
    }
  }

  // sold(itemId): units sold. Under a safe strategy this is initial -
  // quantity - held; more only when the orders add up to more (naive
  // oversold).
  sold(itemId) {
    const it = this.items.get(itemId);
    let sum = this.unlisted.get(itemId) || 0;
    for (const o of this.orders.values()) if (o.item_id === itemId) sum += o.quantity;
    return it ? Math.max(sum, it.initial - it.quantity - it.held) : sum;
  }

  // The newest orders first, at most n.
  newest(n) {
    return Array.from(this.orders.values()).sort((a, b) => b.id - a.id).slice(0, n);
  }
}
