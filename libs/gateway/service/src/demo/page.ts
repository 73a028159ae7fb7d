/**
 * The demo page (GET /demo): a sample shop with the widget on the left, an agent console on the
 * right. The shop uses only what a business pastes (the widget SDK with a widget key); the console
 * is a separate client with its own key and its own graphql-ws connection, so everything it shows
 * arrives through the gateway's subscriptions. Plain HTML and a module script, no framework.
 */
export const demoPage = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Session & visitor variables: demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #eef1f5; }
  body { margin: 0; }
  header { padding: 10px 20px; background: #1d2330; color: #fff; display: flex; justify-content: space-between; align-items: baseline; }
  header small { color: #b9c2d0; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; padding: 16px; }
  section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.12); min-width: 0; }
  h2 { margin: 0 0 8px; font-size: 18px; }
  h3 { margin: 16px 0 6px; font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: #5a6576; }
  .products { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }
  .product { border: 1px solid #d9dee7; border-radius: 6px; padding: 8px; text-align: center; }
  .product b { display: block; margin-bottom: 4px; }
  button { cursor: pointer; border: 0; border-radius: 4px; padding: 6px 10px; background: #2f6fed; color: #fff; }
  button.secondary { background: #5a6576; }
  button.danger { background: #c23b3b; }
  button:disabled { opacity: .5; cursor: default; }
  input { padding: 5px; border: 1px solid #c3cad6; border-radius: 4px; min-width: 0; }
  .row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
  .status { font-family: ui-monospace, monospace; font-size: 13px; background: #f4f6f9; padding: 6px 8px; border-radius: 4px; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
  td.value { font-family: ui-monospace, monospace; word-break: break-all; }
  .scope-session { color: #2f6fed; } .scope-visitor { color: #8a4bd6; } .scope-metadata { color: #1f8a5b; }
  .pill { display: inline-block; padding: 1px 6px; border-radius: 8px; background: #e6e9ef; font-size: 12px; }
  td.verified { color: #1f8a5b; font-weight: 600; } td.unverified { color: #8a93a3; }
  .live { color: #1f8a5b; } .offline { color: #c23b3b; }
  ul.deliveries { list-style: none; padding: 0; margin: 0; font-size: 13px; max-height: 220px; overflow: auto; }
  ul.deliveries li { border-bottom: 1px solid #e6e9ef; padding: 4px 0; font-family: ui-monospace, monospace; }
  .error { color: #c23b3b; font-size: 13px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; font-size: 13px; }
  dt { color: #5a6576; } dd { margin: 0; font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<header><strong>Session & visitor variables platform: demo</strong><small>embedded mode · the shop uses only the widget SDK and a widget key · the console its own key and live subscriptions</small></header>
<main>
  <section id="shop">
    <h2>Acme Shop <small class="pill">the business's page</small></h2>
    <div class="status" id="widget-status">Starting the widget…</div>
    <h3>Products</h3>
    <div class="products">
      <div class="product"><b>Coffee beans</b>12.50 <button class="add-to-cart" data-item="beans" data-price="12.5">Add to cart</button></div>
      <div class="product"><b>Grinder</b>89.00 <button class="add-to-cart" data-item="grinder" data-price="89">Add to cart</button></div>
      <div class="product"><b>Mug</b>7.25 <button class="add-to-cart" data-item="mug" data-price="7.25">Add to cart</button></div>
    </div>
    <div class="row">Cart: <span id="cart-items">0</span> item(s), total <span id="cart-total">0</span></div>
    <h3>Session variable <small>triggerEvent('setVariable', …)</small></h3>
    <div class="row"><input id="var-name" placeholder="name" value="plan"><input id="var-value" placeholder="value" value="gold"><button id="set-var">Set</button></div>
    <h3>Visitor variable <small>visitor.submit(data, 'plain', false)</small></h3>
    <div class="row"><input id="username" placeholder="your name" value="Jane"><button id="submit-name">Tell the agent my name</button></div>
    <h3>Sign in <small>messaging JWT → authenticate</small></h3>
    <div class="row"><input id="signin-id" placeholder="customer id" value="cust-42"><input id="signin-name" placeholder="name" value="Jane Doe"><input id="signin-email" placeholder="email" value="jane@example.com"><button id="signin">Sign in</button></div>
    <div class="row" id="signin-result"></div>
    <h3>Leave</h3>
    <div class="row"><button id="logout" class="danger">Log out (ends the session)</button><button id="new-chat" class="secondary" hidden>Start a new chat</button></div>
    <div class="error" id="shop-error"></div>
  </section>
  <section id="console">
    <h2>Agent console <small class="pill">another client: its own key</small> <span id="console-live" class="offline">connecting…</span></h2>
    <dl>
      <dt>session</dt><dd id="console-session">–</dd>
      <dt>status</dt><dd id="console-status">–</dd>
      <dt>previous status</dt><dd id="console-old-status">–</dd>
      <dt>reply status</dt><dd id="console-reply-status">–</dd>
      <dt>assignee</dt><dd id="console-assignee">–</dd>
      <dt>messages</dt><dd id="console-messages">–</dd>
      <dt>visitor</dt><dd id="console-display-name">–</dd>
      <dt>authenticated</dt><dd id="console-authenticated">–</dd>
    </dl>
    <div class="row" style="margin-top:8px">
      <button id="agent-route" class="secondary">Route</button>
      <button id="agent-assign" class="secondary">Assign to agent-1</button>
      <button id="agent-reply" class="secondary">Reply as agent-1</button>
      <button id="agent-hold" class="secondary">Hold</button>
    </div>
    <h3>Variables <small>verified: from a checked signature or claim</small></h3>
    <table><thead><tr><th>name</th><th>value</th><th>scope</th><th>source</th><th>verified</th><th>v</th></tr></thead><tbody id="console-variables"></tbody></table>
    <h3>Webhook deliveries <small>IM_Session_Status, signature checked by the receiver</small></h3>
    <ul class="deliveries" id="console-deliveries"></ul>
    <div class="error" id="console-error"></div>
  </section>
</main>
<script type="module" src="/demo/app.js"></script>
</body>
</html>
`;

export const demoScript = /* js */ `
import { init, connect } from '/sdk/widget.js';

const $ = (id) => document.getElementById(id);
const apiUrl = location.origin;
const state = { widget: undefined, cart: { items: 0, total: 0 }, console: undefined };
window.demo = state;

const config = await (await fetch('/demo/config')).json();
if (config.error) {
  $('widget-status').textContent = config.error.message;
  throw new Error(config.error.message);
}

function showError(where, error) {
  $(where).textContent = error ? (error.code ? error.code + ': ' : '') + error.message : '';
}

// ── The shop: what a business pastes (see README) ──────────────────────────────────────────────
async function startWidget() {
  showError('shop-error');
  const widget = await init({
    apiUrl,
    widgetKey: config.widgetKey,
    channelId: config.channelId,
    sessionVariableValues: [{ name: 'page', value: location.pathname }],
  });
  state.widget = widget;
  // A resumed session keeps its cart: the page reads it back from the session's variables.
  const variables = await widget.getVariables();
  const cart = (name) => variables.find((v) => v.scope === 'session' && v.name === name)?.value;
  state.cart = { items: Number(cart('cartItems') ?? 0), total: Number(cart('cartValue') ?? 0) };
  $('cart-items').textContent = String(state.cart.items);
  $('cart-total').textContent = String(state.cart.total);
  $('widget-status').textContent = 'Chat session ' + widget.sessionId + ' · visitor ' + widget.visitorId;
  $('widget-status').dataset.sessionId = widget.sessionId;
  $('widget-status').dataset.visitorId = widget.visitorId;
  $('logout').hidden = false;
  $('new-chat').hidden = true;
  widget.on('statusChanged', (event) => {
    if (event.sessionStatus === 'ENDED' || event.sessionStatus === 'BLOCKED') $('widget-status').textContent += ' · ' + event.sessionStatus;
  });
  widget.on('error', (error) => showError('shop-error', error));
  watchInConsole(widget.sessionId);
  return widget;
}

async function guarded(action) {
  try {
    showError('shop-error');
    await action();
  } catch (error) {
    showError('shop-error', error);
  }
}

for (const button of document.querySelectorAll('.add-to-cart'))
  button.addEventListener('click', () =>
    guarded(async () => {
      state.cart.items += 1;
      state.cart.total = Math.round((state.cart.total + Number(button.dataset.price)) * 100) / 100;
      $('cart-items').textContent = String(state.cart.items);
      $('cart-total').textContent = String(state.cart.total);
      await state.widget.triggerEvent('setVariable', {
        sessionVariableValues: [
          { name: 'cartItems', value: state.cart.items },
          { name: 'cartValue', value: state.cart.total },
          { name: 'lastItem', value: button.dataset.item },
        ],
      });
    }),
  );

$('set-var').addEventListener('click', () =>
  guarded(() => state.widget.triggerEvent('setVariable', { sessionVariableValues: [{ name: $('var-name').value, value: $('var-value').value }] })),
);

$('submit-name').addEventListener('click', () => guarded(() => state.widget.visitor.submit({ username: $('username').value }, 'plain', false)));

$('signin').addEventListener('click', () =>
  guarded(async () => {
    // The business's back-end signs a messaging JWT for its signed-in user (here: /demo/sign).
    const signed = await (
      await fetch('/demo/sign', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ externalId: $('signin-id').value, name: $('signin-name').value, email: $('signin-email').value, claims: { plan: 'gold' } }),
      })
    ).json();
    if (signed.error) throw signed.error;
    const result = await state.widget.authenticate(signed.token);
    $('signin-result').textContent = result.authenticated ? 'Signed in as ' + result.externalId : 'Not signed in: ' + result.reason;
  }),
);

$('logout').addEventListener('click', () =>
  guarded(async () => {
    await state.widget.logout();
    state.cart = { items: 0, total: 0 };
    $('cart-items').textContent = '0';
    $('cart-total').textContent = '0';
    $('widget-status').textContent = 'Signed out: the session ended and its variables were discarded';
    $('logout').hidden = true;
    $('new-chat').hidden = false;
  }),
);

$('new-chat').addEventListener('click', () => guarded(startWidget));

// ── The agent console: another client, with its own key and live subscriptions ─────────────────
const SESSION_FIELDS = 'sessionId sessionStatus sessionOldStatus replyStatus currentAssigneeId assigneeType messagesCount';
const VARIABLE_FIELDS = 'name value scope source verified version updatedAt';
const agent = connect({ apiUrl, token: config.consoleKey });
let watching;

function renderStatus(s) {
  $('console-session').textContent = s.sessionId;
  $('console-status').textContent = s.sessionStatus;
  $('console-old-status').textContent = s.sessionOldStatus ?? '–';
  $('console-reply-status').textContent = s.replyStatus;
  $('console-assignee').textContent = s.currentAssigneeId ? s.currentAssigneeId + ' (' + s.assigneeType + ')' : '–';
  $('console-messages').textContent = String(s.messagesCount);
}

function renderVariables(variables) {
  const body = $('console-variables');
  body.replaceChildren(
    ...variables.map((v) => {
      const row = document.createElement('tr');
      row.dataset.name = v.name;
      row.dataset.scope = v.scope;
      row.dataset.verified = String(v.verified);
      for (const [text, cls] of [[v.name], [JSON.stringify(v.value), 'value'], [v.scope, 'scope-' + v.scope], [v.source], [v.verified ? '✔ verified' : 'not verified', v.verified ? 'verified' : 'unverified'], [String(v.version)]]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (cls) cell.className = cls;
        row.append(cell);
      }
      return row;
    }),
  );
  const status = variables.find((v) => v.scope === 'metadata' && v.name === 'authenticatedStatus');
  $('console-authenticated').textContent = String(status ? status.value : false);
}

async function renderVisitor(sessionId) {
  const data = await agent.request('query($id: ID!) { session(id: $id) { visitor { displayName } } }', { id: sessionId });
  if (data.session) $('console-display-name').textContent = data.session.visitor.displayName;
}

async function renderDeliveries(sessionId) {
  const { deliveries } = await (await fetch('/demo/deliveries?sessionId=' + encodeURIComponent(sessionId))).json();
  $('console-deliveries').replaceChildren(
    ...deliveries.map((d) => {
      const item = document.createElement('li');
      item.dataset.status = d.body?.sessionStatus ?? '';
      item.dataset.signatureValid = String(d.signatureValid);
      item.textContent = d.receivedAt.slice(11, 19) + ' ' + (d.body?.sessionOldStatus ?? '∅') + ' → ' + d.body?.sessionStatus + ' · ' + d.body?.replyStatus + (d.signatureValid ? ' · signature ✓' : ' · BAD SIGNATURE');
      return item;
    }),
  );
}

function watchInConsole(sessionId) {
  watching?.stop();
  const subscriptions = [];
  let first = { status: false, variables: false };
  const markLive = () => {
    if (first.status && first.variables) {
      $('console-live').textContent = 'live';
      $('console-live').className = 'live';
    }
  };
  $('console-live').textContent = 'connecting…';
  $('console-live').className = 'offline';
  // includeCurrent: the current state first, then every change, with no gap in between.
  subscriptions.push(
    agent.subscribe('subscription($id: ID!) { sessionStatusChanged(sessionId: $id, includeCurrent: true) { eventId ' + SESSION_FIELDS + ' } }', { id: sessionId }, {
      next: (data) => {
        renderStatus(data.sessionStatusChanged);
        first.status = true;
        markLive();
        void renderDeliveries(sessionId);
      },
      error: (error) => showError('console-error', error),
    }),
  );
  subscriptions.push(
    agent.subscribe('subscription($id: ID!) { variablesChanged(sessionId: $id, includeCurrent: true) { eventId kind displayName variables { ' + VARIABLE_FIELDS + ' } } }', { id: sessionId }, {
      next: (data) => {
        const event = data.variablesChanged;
        renderVariables(event.variables);
        if (event.kind === 'CURRENT' || event.displayName) void renderVisitor(sessionId);
        first.variables = true;
        markLive();
      },
      error: (error) => showError('console-error', error),
    }),
  );
  // Deliveries arrive at the demo's webhook receiver: the console polls what it got.
  const timer = setInterval(() => void renderDeliveries(sessionId).catch(() => undefined), 1000);
  watching = { sessionId, stop: () => { clearInterval(timer); for (const off of subscriptions) off(); } };
  state.console = watching;
}

async function agentEvent(type, extra) {
  try {
    showError('console-error');
    await agent.request(
      'mutation($id: ID!, $type: SessionEventType!, $assigneeId: ID, $assigneeType: AssigneeType, $from: MessageFrom, $actorId: ID) { recordSessionEvent(sessionId: $id, type: $type, assigneeId: $assigneeId, assigneeType: $assigneeType, from: $from, actorId: $actorId) { sessionStatus } }',
      { id: watching.sessionId, type, ...extra },
    );
  } catch (error) {
    showError('console-error', error);
  }
}
$('agent-route').addEventListener('click', () => agentEvent('ROUTED'));
$('agent-assign').addEventListener('click', () => agentEvent('ASSIGNED', { assigneeId: 'agent-1', assigneeType: 'AGENT' }));
$('agent-reply').addEventListener('click', () => agentEvent('MESSAGE', { from: 'AGENT', actorId: 'agent-1' }));
$('agent-hold').addEventListener('click', () => agentEvent('HOLD'));

await guarded(startWidget);
`;
