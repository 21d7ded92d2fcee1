// feed.js — the live list of orders: who bought what, how, and when.
//
// In a stampede the stream names only the newest few orders of each tick
// (?orders=summary): the list shows those, newest on top, at most
// MAX_SHOWN, and a line above it counts the orders heard but not named, so
// it stays readable however fast the sale goes.

const MAX_SHOWN = 50;

function clock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export class Feed {
  constructor(list, empty, shop) {
    this.list = list;
    this.empty = empty;
    this.shop = shop;
    this.unlisted = 0;
    this.more = document.createElement('p');
    this.more.id = 'feed-more';
    this.more.className = 'feed-more muted';
    this.more.setAttribute('aria-live', 'off');
    this.more.hidden = true;
    this.more.dataset.count = '0';
    list.before(this.more);
  }

  // Orders the stream counted but did not name.
  addUnlisted(n) {
    if (!(n > 0)) return;
    this.unlisted += n;
    this.showMore();
    this.empty.hidden = true;
  }

  showMore() {
    this.more.dataset.count = String(this.unlisted);
    this.more.hidden = this.unlisted === 0;
    this.more.textContent = this.unlisted === 0 ? '' :
      `+ ${this.unlisted.toLocaleString('en')} more order${this.unlisted === 1 ? '' : 's'} ` +
      'in the rush, not listed one by one';
  }

  entry(order) {
    const li = document.createElement('li');
    li.dataset.order = String(order.id);
    li.dataset.item = order.item_id;
    const item = this.shop.items.get(order.item_id);
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = order.buyer;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = `${order.quantity} × ${item ? item.name : order.item_id}`;
    const how = document.createElement('span');
    how.className = 'strategy strategy-' + order.strategy;
    how.textContent = order.strategy;
    const when = document.createElement('time');
    when.dateTime = order.created_at;
    when.textContent = clock(order.created_at);
    const id = document.createElement('span');
    id.className = 'order-id';
    id.textContent = '#' + order.id;
    const line = document.createElement('span');
    line.className = 'line';
    line.append(who, ' got ', what);
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.append(how, ' ', when, ' ', id);
    li.append(line, ' ', meta);
    return li;
  }

  // A new order, as it streams in: on top.
  add(order) {
    this.list.prepend(this.entry(order));
    while (this.list.children.length > MAX_SHOWN) this.list.lastElementChild.remove();
    this.empty.hidden = true;
  }

  // Everything again, from what the shop knows (after a load or a reset).
  redraw() {
    const orders = this.shop.newest(MAX_SHOWN);
    this.unlisted = 0;      // the shop's list is whole again
    this.showMore();
    this.list.replaceChildren(...orders.map((o) => {
      const li = this.entry(o);
      li.classList.add('known');   // not news: no highlight
      return li;
    }));
    this.empty.hidden = orders.length > 0;
  }
}
