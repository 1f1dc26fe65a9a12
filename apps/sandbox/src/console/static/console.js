// The sandbox console: renders GET /sandbox/snapshot (pushed by GET /sandbox/events) and calls the sandbox's
// control API. Every value comes from the network and may come from a merchant (replies, notify URLs, bodies):
// the page only ever sets text nodes and attributes through h(); it never parses a string as HTML.
/* global document, window, Node, EventSource */
'use strict';

/** @type {any} */
let snapshot = null;
/** Open <details>, by data-key, kept across re-renders. */
const openDetails = new Set();

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);
const yuan = (fen) => (typeof fen === 'number' ? `¥${(fen / 100).toFixed(2)} (${fen} fen)` : '');
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');

function say(text, ok = true) {
  const el = $('message');
  el.textContent = text;
  el.dataset.ok = String(ok);
}

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const message = parsed && typeof parsed === 'object' ? `${parsed.error}: ${parsed.message}` : text;
    say(`${method} ${path} → ${res.status} ${message}`, false);
    throw new Error(message);
  }
  return parsed;
}

/** Runs a control call from a button, reporting the outcome; the snapshot stream shows its effect. */
function action(label, fn) {
  return async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await fn();
      say(`${label}: done`);
    } catch {
      // call() already said what went wrong
    } finally {
      button.disabled = false;
    }
  };
}

// ---- faults ---------------------------------------------------------------------------------------------

function currentFaults(target) {
  const all = snapshot ? snapshot.faults : { merchants: {}, orders: {} };
  return ('mch_id' in target ? all.merchants[target.mch_id] : all.orders[target.out_trade_no]) || {};
}

/** POST /sandbox/faults replaces a target's settings: merge, so one button does not undo another. */
function setFault(target, patch) {
  return call('POST', '/sandbox/faults', { ...target, faults: { ...currentFaults(target), ...patch } });
}

const FAULT_BUTTONS = {
  'drop-next': () => ({ dropNotifications: 1 }),
  'drop-all': () => ({ dropNotifications: true }),
  duplicate: () => ({ duplicateNotifications: 2 }),
  concurrent: () => ({ concurrentNotifications: 2 }),
  delay: () => ({ notifyDelayMs: 5000 }),
  forge: () => ({ forgeNotification: $('forge-kind').value }),
  'refund-outcome': () => ({ refundOutcome: $('refund-outcome').value }),
};

function formTarget() {
  const value = $('fault-target').value.trim();
  if (!value) {
    say('name a merchant (mch_id) or an order (out_trade_no) first', false);
    return undefined;
  }
  return { [$('fault-target-kind').value]: value };
}

function wireFaultForm() {
  for (const button of document.querySelectorAll('[data-fault]')) {
    const name = button.dataset.fault;
    button.addEventListener(
      'click',
      action(`fault ${name}`, async () => {
        if (name === 'clear-all') return call('DELETE', '/sandbox/faults');
        const target = formTarget();
        if (!target) throw new Error('no target');
        if (name === 'clear') {
          const [key, value] = Object.entries(target)[0];
          return call('DELETE', `/sandbox/faults?${key}=${encodeURIComponent(value)}`);
        }
        return setFault(target, FAULT_BUTTONS[name]());
      }),
    );
  }
  $('fault-form').addEventListener('submit', (event) => event.preventDefault());
  for (const button of document.querySelectorAll('[data-advance]')) {
    button.addEventListener(
      'click',
      action('clock', () => call('POST', '/sandbox/clock', { advance_ms: Number(button.dataset.advance) })),
    );
  }
}

// ---- rendering ------------------------------------------------------------------------------------------

function details(key, summary, ...content) {
  const el = h(
    'details',
    { 'data-key': key, open: openDetails.has(key) },
    h('summary', {}, summary),
    ...content,
  );
  el.addEventListener('toggle', () => (el.open ? openDetails.add(key) : openDetails.delete(key)));
  return el;
}

function headersText(headers) {
  return Object.entries(headers || {})
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}

function attemptView(key, attempt) {
  const request = attempt.request;
  const status =
    attempt.outcome === 'dropped' ? 'dropped (never sent)' : (attempt.httpStatus ?? attempt.error ?? '');
  return h(
    'li',
    {
      class: 'attempt',
      'data-outcome': attempt.outcome,
      'data-attempt': attempt.attempt,
      'data-kind': attempt.kind,
    },
    h(
      'div',
      { class: 'attempt-line' },
      h('span', { class: 'badge', 'data-outcome': attempt.outcome }, attempt.outcome),
      ` #${attempt.attempt} ${attempt.kind}${attempt.copy ? ` copy ${attempt.copy}` : ''} · ${time(attempt.at)} · `,
      h('span', { class: 'http' }, `HTTP ${status}`),
      attempt.durationMs !== undefined ? ` · ${attempt.durationMs} ms` : '',
      attempt.serial ? ` · serial ${attempt.serial}` : '',
    ),
    request || attempt.replyBody !== undefined || attempt.error
      ? details(
          key,
          'request, signed string, reply',
          request
            ? [
                h('h4', {}, `POST ${request.url}`),
                h('pre', { class: 'headers' }, headersText(request.headers)),
                h('pre', { class: 'body' }, request.body),
              ]
            : null,
          h('h4', {}, 'signed string'),
          h(
            'pre',
            { class: 'signed' },
            attempt.signed ??
              '(nothing signed: v2 refund notifications are encrypted, not signed; SIGNTEST probes carry no real signature)',
          ),
          h('h4', {}, `merchant reply: ${attempt.httpStatus ?? 'none'}`),
          h('pre', { class: 'reply' }, attempt.replyBody ?? attempt.reply ?? attempt.error ?? ''),
        )
      : null,
  );
}

function attemptsView(key, list, next) {
  return h(
    'div',
    { class: 'notifications' },
    h('h3', {}, `Notifications (${list.length})`, next ? ` · next attempt ${time(next)}` : ''),
    list.length === 0
      ? h('p', { class: 'empty' }, 'none yet')
      : h(
          'ol',
          { class: 'attempts' },
          list.map((attempt, i) => attemptView(`${key}:n${i}`, attempt)),
        ),
  );
}

function orderTarget(order) {
  return { mch_id: order.mch_id, out_trade_no: order.out_trade_no };
}

function orderActions(order) {
  const buttons = [];
  const sub = Boolean(order.combine_out_trade_no);
  // A combine's notification faults are set on its combine_out_trade_no, not on a sub-order's.
  const faultTarget = { out_trade_no: order.combine_out_trade_no || order.out_trade_no };
  if (order.state === 'NOTPAY' && !sub) {
    buttons.push(
      h(
        'button',
        {
          type: 'button',
          class: 'pay',
          onclick: action('pay', () =>
            call('POST', '/sandbox/buyer/pay', { ...orderTarget(order), outcome: 'success' }),
          ),
        },
        'pay (success)',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'payerror',
          onclick: action('payment failure', () =>
            call('POST', '/sandbox/buyer/pay', { ...orderTarget(order), outcome: 'payerror' }),
          ),
        },
        'pay (bank failure)',
      ),
    );
  }
  buttons.push(
    h(
      'button',
      {
        type: 'button',
        class: 'drop-next',
        onclick: action('drop next notification', () => setFault(faultTarget, { dropNotifications: 1 })),
      },
      'drop next notification',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'duplicate',
        onclick: action('duplicate', () => setFault(faultTarget, { duplicateNotifications: 2 })),
      },
      'duplicate ×2',
    ),
  );
  if (order.state === 'SUCCESS' || order.state === 'REFUND') {
    if (!sub) {
      buttons.push(
        h(
          'button',
          {
            type: 'button',
            class: 'resend',
            onclick: action('resend notification', () =>
              call('POST', '/sandbox/notifications/resend', orderTarget(order)),
            ),
          },
          'resend notification',
        ),
      );
    }
    const left = order.total_fee - order.refunded_fee;
    if (left > 0) {
      for (const outcome of ['success', 'abnormal', 'closed']) {
        buttons.push(
          h(
            'button',
            {
              type: 'button',
              class: `refund-${outcome}`,
              onclick: action(`refund ${outcome}`, async () => {
                await setFault({ out_trade_no: order.out_trade_no }, { refundOutcome: outcome });
                await call('POST', '/sandbox/console/refunds', { ...orderTarget(order), refund_fee: left });
              }),
            },
            `refund → ${outcome}`,
          ),
        );
      }
    }
  }
  return h('div', { class: 'buttons' }, buttons);
}

function refundView(key, refund) {
  return h(
    'div',
    { class: 'refund', 'data-out-refund-no': refund.out_refund_no, 'data-status': refund.status },
    h(
      'div',
      {},
      h('strong', {}, `Refund ${refund.out_refund_no}`),
      ' ',
      h(
        'span',
        { class: 'badge state', 'data-state': refund.status },
        `${refund.status} / ${refund.v3_status}`,
      ),
      ` ${yuan(refund.refund_fee)} · ${refund.api} · ${refund.request_source} · due ${time(refund.due_at)}`,
    ),
    attemptsView(key, refund.notifications, refund.next_notification_at),
  );
}

function orderView(order) {
  const key = `o:${order.mch_id}:${order.out_trade_no}`;
  const faults = snapshot.faults.orders[order.out_trade_no];
  return h(
    'article',
    {
      class: 'order',
      'data-out-trade-no': order.out_trade_no,
      'data-mch-id': order.mch_id,
      'data-state': order.state,
    },
    h(
      'header',
      {},
      h('strong', { class: 'out-trade-no' }, order.out_trade_no),
      ' ',
      h('span', { class: 'badge state', 'data-state': order.state }, order.state),
      ` ${order.api} ${order.trade_type} · ${yuan(order.total_fee)} · merchant ${order.mch_id} · ${time(order.created_at)}`,
      order.combine_out_trade_no ? ` · sub-order of combine ${order.combine_out_trade_no}` : '',
    ),
    h(
      'p',
      { class: 'meta' },
      `body ${order.body} · notify_url ${order.notify_url} · sign ${order.sign_type}`,
      order.transaction_id ? ` · transaction_id ${order.transaction_id}` : '',
      order.refunded_fee ? ` · refunded ${yuan(order.refunded_fee)}` : '',
      faults ? ` · faults ${JSON.stringify(faults)}` : '',
    ),
    orderActions(order),
    order.payments.length
      ? h(
          'p',
          { class: 'payments' },
          'payments: ',
          order.payments
            .map((p) => `${time(p.at)} ${p.outcome}${p.errMsg ? ` (${p.errMsg})` : ''}`)
            .join(' · '),
        )
      : null,
    attemptsView(key, order.notifications, order.next_notification_at),
    order.refunds.map((refund) => refundView(`${key}:r:${refund.out_refund_no}`, refund)),
  );
}

function combineView(combine) {
  const key = `c:${combine.combine_mch_id}:${combine.combine_out_trade_no}`;
  return h(
    'article',
    { class: 'combine', 'data-combine-out-trade-no': combine.combine_out_trade_no },
    h(
      'header',
      {},
      h('strong', {}, combine.combine_out_trade_no),
      ` ${combine.kind} · combine merchant ${combine.combine_mch_id} · ${time(combine.created_at)}`,
    ),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'sub-order'),
          h('th', {}, 'merchant'),
          h('th', {}, 'state'),
          h('th', {}, 'amount'),
        ),
      ),
      h(
        'tbody',
        {},
        combine.sub_orders.map((sub) =>
          h(
            'tr',
            {},
            h('td', {}, sub.out_trade_no),
            h('td', {}, sub.mch_id),
            h('td', {}, h('span', { class: 'badge state', 'data-state': sub.state }, sub.state)),
            h('td', {}, yuan(sub.total_fee)),
          ),
        ),
      ),
    ),
    attemptsView(key, combine.notifications, combine.next_notification_at),
  );
}

/**
 * The data a part was last built from, by key: a part whose data did not change keeps its DOM nodes, so a
 * button under the pointer, an open <details> or a text selection survive a snapshot that changed elsewhere.
 */
const built = new Map();
function part(key, data, build) {
  const json = JSON.stringify(data);
  const known = built.get(key);
  if (known && known.json === json) return known.el;
  const el = build();
  built.set(key, { json, el });
  return el;
}

/** Puts exactly `nodes` in `parent`, in order, moving or replacing only what is not already in place. */
function place(parent, nodes) {
  nodes.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

/** Forgets parts that are no longer on the page. */
function prune(prefix, keep) {
  for (const key of built.keys()) if (key.startsWith(prefix) && !keep.has(key)) built.delete(key);
}

/** The sandbox clock is its wall clock plus an offset: the page keeps it running from the last reading. */
let clockSkewMs = 0;
function showClock() {
  if (snapshot) $('clock').textContent = new Date(Date.now() + clockSkewMs).toLocaleString();
}
function readClock(clock) {
  clockSkewMs = Date.parse(clock.now) - Date.now();
  showClock();
}

/** A snapshot as compared: without the clock's reading, which differs every time. */
let renderedKey = '';
const withoutReading = (next) => JSON.stringify({ ...next, clock: { offset_ms: next.clock.offset_ms } });

function render(next) {
  readClock(next.clock);
  const key = withoutReading(next);
  // Nothing changed (a poll, a reconnect's first event): the page stays exactly as it is.
  if (key === renderedKey) return;
  renderedKey = key;
  snapshot = next;
  $('clock-offset').textContent = next.clock.offset_ms
    ? `(+${Math.round(next.clock.offset_ms / 1000)} s)`
    : '';
  const faults = next.faults;
  const merchantRows = next.merchants.map((m) =>
    part(`m:${m.mch_id}`, [m, faults.merchants[m.mch_id]], () =>
      h(
        'tr',
        { 'data-mch-id': m.mch_id },
        h('td', {}, m.mch_id),
        h('td', {}, m.role),
        h('td', {}, m.appids.join(', ')),
        h('td', {}, m.key_mode),
        h('td', {}, faults.merchants[m.mch_id] ? JSON.stringify(faults.merchants[m.mch_id]) : '–'),
      ),
    ),
  );
  place($('merchants').tBodies[0], merchantRows);
  prune('m:', new Set(next.merchants.map((m) => `m:${m.mch_id}`)));
  // Replacing the datalist closes its suggestions under the typing user: only when the targets changed.
  const targets = [...next.merchants.map((m) => m.mch_id), ...next.orders.map((o) => o.out_trade_no)];
  const targetsJson = JSON.stringify(targets);
  if ($('fault-targets').dataset.targets !== targetsJson) {
    $('fault-targets').dataset.targets = targetsJson;
    $('fault-targets').replaceChildren(...targets.map((value) => h('option', { value })));
  }
  const faultsText = JSON.stringify(faults, null, 2);
  if ($('faults-set').textContent !== faultsText) $('faults-set').textContent = faultsText;
  const orderKey = (o) => `o:${o.mch_id}:${o.out_trade_no}`;
  place(
    $('orders'),
    next.orders.map((o) => part(orderKey(o), [o, faults.orders[o.out_trade_no]], () => orderView(o))),
  );
  prune('o:', new Set(next.orders.map(orderKey)));
  $('orders-empty').hidden = next.orders.length > 0;
  const combineKey = (c) => `c:${c.combine_mch_id}:${c.combine_out_trade_no}`;
  place(
    $('combines'),
    next.combines.map((c) => part(combineKey(c), c, () => combineView(c))),
  );
  prune('c:', new Set(next.combines.map(combineKey)));
  $('combines-empty').hidden = next.combines.length > 0;
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
}

// ---- live updates ---------------------------------------------------------------------------------------

function setMode(mode, text) {
  $('live-status').dataset.mode = mode;
  $('live-status').textContent = text;
}

let pollTimer = null;
function poll() {
  if (pollTimer) return;
  setMode('polling', 'polling every second');
  const tick = async () => {
    try {
      render(await call('GET', '/sandbox/snapshot'));
    } catch {
      setMode('offline', 'sandbox unreachable, retrying');
    }
  };
  void tick();
  pollTimer = setInterval(tick, 1000);
}

function live() {
  if (!('EventSource' in window)) return poll();
  const source = new EventSource('/sandbox/events');
  source.addEventListener('open', () => setMode('live', 'live'));
  source.addEventListener('snapshot', (event) => {
    setMode('live', 'live');
    render(JSON.parse(event.data));
  });
  // The heartbeat of an idle sandbox carries its clock, to keep the page's in step.
  source.addEventListener('clock', (event) => readClock(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    // EventSource reconnects by itself; once it gives up (CLOSED), fall back to polling.
    if (source.readyState === EventSource.CLOSED) poll();
    else setMode('connecting', 'reconnecting…');
  });
}

document.addEventListener('DOMContentLoaded', () => {
  wireFaultForm();
  live();
  setInterval(showClock, 1000);
});
