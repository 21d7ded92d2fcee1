// api.js — the HTTP side of the page: JSON reads, a purchase and a hold
// that are safe to retry, the end of a hold, and the admin changes.
//
// A purchase or hold intent gets one Idempotency-Key. When the network fails (or
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

// One request, once: { status, json, problem, headers } with status 0 when
// the network never answered. Every change carries Content-Type:
// application/json, body or not: the API refuses a change without it,
// which is what keeps a form on another site from making one.
async function once(method, path, { body, key, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  if (token) headers.Authorization = 'Bearer ' + token;
  let response;
  try {
    response = await fetch(path, {
      method, headers, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { status: 0, problem: { code: 'network', detail: 'no answer from the shop' } };
  }
  if (response.ok) {
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      // an empty or broken body: the status says enough
    }
    return { status: response.status, json, headers: response.headers };
  }
  return { status: response.status, problem: await problemOf(response), headers: response.headers };
}

// again(send, onRetry): calls send() until its answer is not "try again"
// (no answer, or 503), at most ATTEMPTS times. Only for requests that are
// safe to repeat: one Idempotency-Key for all of them, or a read.
async function again(send, onRetry) {
  let wait = 500;
  for (let attempt = 1; ; attempt++) {
    const res = await send();
    res.attempts = attempt;
    if ((res.status !== 0 && res.status !== 503) || attempt >= ATTEMPTS) return res;
    let delay = wait;
    const after = res.headers && Number(res.headers.get('Retry-After'));
    if (after > 0) delay = Math.min(after * 1000, 10000);
    if (onRetry) onRetry(attempt, delay);
    await sleep(delay);
    wait = Math.min(wait * 2, 8000);
  }
}

const itemPath = (id) => '/api/items/' + encodeURIComponent(id);
const holdPath = (id) => '/api/holds/' + encodeURIComponent(id);

// purchase({item, quantity, buyer, strategy, key}): sends the intent until
// it gets an answer that is not "try again". Resolves to
//   { status, order, item, replayed, problem, attempts }
// with status 0 when the network never answered.
export async function purchase(intent, onRetry) {
  const body = { quantity: intent.quantity, buyer: intent.buyer, strategy: intent.strategy };
  const res = await again(() => once('POST', itemPath(intent.item) + '/purchase',
    { body, key: intent.key }), onRetry);
  if (res.status !== 201) return { status: res.status, problem: res.problem, attempts: res.attempts };
  return {
    status: 201, order: res.json.order, item: res.json.item, attempts: res.attempts,
    replayed: res.headers.get('Idempotent-Replayed') === 'true',
  };
}

// hold({item, quantity, buyer, ttl, key}): puts units aside for a while,
// retried with one key like a purchase. Resolves to
//   { status, hold, item, problem }
export async function hold(intent, onRetry) {
  const body = { quantity: intent.quantity, buyer: intent.buyer, ttl_seconds: intent.ttl };
  const res = await again(() => once('POST', itemPath(intent.item) + '/holds',
    { body, key: intent.key }), onRetry);
  if (res.status !== 201) return { status: res.status, problem: res.problem };
  return { status: 201, hold: res.json.hold, item: res.json.item };
}

// holdStatus(id): the hold's status now ('active', 'confirmed', 'released',
// 'expired'), 'gone' when there is no such hold (a reset deletes them), or
// null when the shop does not say.
export async function holdStatus(id) {
  const res = await again(() => once('GET', holdPath(id)));
  if (res.status === 404) return 'gone';
  return res.status === 200 && res.json ? (res.json.hold || res.json).status || null : null;
}

// endHold(id, buyer, how): how 'confirm' (201 with the order) or 'release'
// (200). Neither carries a key, so neither is blindly sent twice: when no
// answer came back, the hold's own status says whether it happened, and
// the request goes again only while the hold is still active. Resolves to
//   { status, order, item, problem, settled }
// settled is the status read back when the answer itself was lost.
export async function endHold(id, buyer, how) {
  const method = how === 'confirm' ? 'POST' : 'DELETE';
  const path = holdPath(id) + (how === 'confirm' ? '/confirm' : '');
  const done = how === 'confirm' ? 'confirmed' : 'released';
  for (let attempt = 1; ; attempt++) {
    const res = await once(method, path, { body: { buyer } });
    if (res.status !== 0 && res.status !== 503) {
      const json = res.json || {};
      return { status: res.status, order: json.order, item: json.item, hold: json.hold, problem: res.problem };
    }
    const now = await holdStatus(id);
    if (now === done) return { status: how === 'confirm' ? 201 : 200, settled: now };
    if (now !== 'active' || attempt >= ATTEMPTS) {
      return { status: res.status, settled: now, problem: res.problem };
    }
    await sleep(500 * attempt);
  }
}

// admin(method, path, body, token): an admin change (POST /api/items,
// PATCH /api/items/{id}); the body of a 2xx, or throws ApiError.
export async function admin(method, path, body, token) {
  const res = await once(method, path, { body, token });
  if (res.status >= 200 && res.status < 300) return res.json;
  throw new ApiError(res.status, res.problem);
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
