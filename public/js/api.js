// api.js — the HTTP side of the page: JSON reads, and a purchase that is
// safe to retry.
//
// A purchase intent gets one Idempotency-Key. When the network fails (or
// nginx says 503, the database is away) the same request is sent again
// with the same key, so however many times it goes out, it buys at most
// once: the pool answers a repeat with the original order.

const TIMEOUT_MS = 40000;   // nginx gives up on the pool after 30 s
const ATTEMPTS = 6;

// A random key. crypto.randomUUID exists only on secure origins; the page
// may be opened over plain http on a LAN address, so build one by hand.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// The problem+json body of an error answer, or a stand-in when there is none.
async function problemOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body === 'object') return body;
  } catch (e) {
    // not JSON: fall through
  }
  return { status: response.status, code: 'http_' + response.status, title: response.statusText };
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || 'HTTP ' + status);
    this.status = status;
    this.problem = problem;
  }
}

// getJSON(path): the body of a 200, or throws ApiError / a network TypeError.
export async function getJSON(path) {
  const response = await fetch(path, {
    headers: { Accept: 'application/json' },
    cache: 'no-store',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  showHost(response);
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.json();
}

// Which host answered, when several do (make run-cluster): a line in the
// footer, from the header each host's nginx adds.
function showHost(response) {
  const host = response.headers.get('X-Lastitem-Host');
  const footer = document.querySelector('footer');
  if (!host || !footer) return;
  let line = document.getElementById('answered-by');
  if (!line) {
    line = footer.appendChild(document.createElement('p'));
    line.id = 'answered-by';
  }
  line.textContent = 'Answered by ' + host + '.';
}

// Every order, newest first, paged back with ?before= (500 a page), at
// most maxPages pages.
export async function allOrders(maxPages = 20) {
  const orders = [];
  let before = 0;
  for (let page = 0; page < maxPages; page++) {
    const query = '/api/orders?limit=500' + (before ? '&before=' + before : '');
    const batch = (await getJSON(query)).orders;
    orders.push(...batch);
    if (batch.length < 500) break;
    before = batch[batch.length - 1].id;
  }
  return orders;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// purchase({item, quantity, buyer, strategy, key}): sends the intent until
// it gets an answer that is not "try again". Resolves to
//   { status, order, item, replayed, problem, attempts }
// with status 0 when the network never answered.
export async function purchase(intent, onRetry) {
  const body = JSON.stringify({
    quantity: intent.quantity, buyer: intent.buyer, strategy: intent.strategy,
  });
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    let response = null;
    try {
      response = await fetch('/api/items/' + encodeURIComponent(intent.item) + '/purchase', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'Idempotency-Key': intent.key,
        },
        body,
        cache: 'no-store',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      response = null;   // network error or timeout: the same key again
    }
    if (response && response.status !== 503) {
      if (response.status === 201) {
        const json = await response.json();
        return {
          status: 201, order: json.order, item: json.item, attempts: attempt,
          replayed: response.headers.get('Idempotent-Replayed') === 'true',
        };
      }
      return { status: response.status, problem: await problemOf(response), attempts: attempt };
    }
    if (attempt >= ATTEMPTS) {
      return response
        ? { status: 503, problem: await problemOf(response), attempts: attempt }
        : { status: 0, problem: { code: 'network', detail: 'no answer from the shop' }, attempts: attempt };
    }
    let delay = wait;
    const after = response && Number(response.headers.get('Retry-After'));
    if (after > 0) delay = Math.min(after * 1000, 10000);
    if (onRetry) onRetry(attempt, delay);
    await sleep(delay);
    wait = Math.min(wait * 2, 8000);
  }
}

// reset(token): POST /api/reset, with the admin token when there is one.
export async function reset(token) {
  // application/json even with no body: the API refuses a change without
  // it, which is what keeps a form on another site from resetting the shop.
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch('/api/reset', {
    method: 'POST', headers, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.json();
}
