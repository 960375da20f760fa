// The operator console's page: a hash router over the JSON routes under /console/api.
// Every value from the server is inserted as text (never as HTML), so stored data cannot run here.

const main = document.getElementById("main");
const api = "/console/api";

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const badge = (text) => h("span", { class: `badge ${text}` }, text);
const json = (value) => h("pre", {}, JSON.stringify(value, null, 2));
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const show = (...nodes) =>
  main.replaceChildren(...nodes.flat().filter((node) => node !== null && node !== undefined));

class Unauthenticated extends Error {}

/** Calls a console route; state-changing calls carry the header a cross-site form cannot send. */
async function call(method, path, body) {
  const headers = method === "GET" ? {} : { "x-bridge-console": "1" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${api}${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) throw new Unauthenticated();
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

function loginView(message) {
  document.getElementById("nav").hidden = true;
  const key = h("input", { type: "password", name: "apiKey", autocomplete: "off", required: true });
  const error = h("p", { class: "error-text", role: "alert" }, message ?? "");
  const form = h(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await call("POST", "/session", { apiKey: key.value });
          key.value = "";
          location.hash = "#/orders";
          await route();
        } catch (err) {
          error.textContent = err instanceof Unauthenticated ? "That key is not valid." : err.message;
        }
      },
    },
    h("label", {}, "Operator API key (ops scope)", key),
    h("button", { type: "submit" }, "Log in"),
    error,
  );
  show(h("div", { class: "login" }, h("h1", {}, "Operator console"), form));
}

async function ordersView(params) {
  const query = new URLSearchParams();
  for (const name of ["status", "type", "source"]) if (params.get(name)) query.set(name, params.get(name));
  const { orders } = await call("GET", `/orders?${query}`);
  const select = (name, options) =>
    h(
      "select",
      { name },
      h("option", { value: "" }, "any"),
      options.map((o) => h("option", { value: o, selected: params.get(name) === o }, o)),
    );
  const source = h("input", { name: "source", value: params.get("source") ?? "", placeholder: "shop" });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const [name, value] of new FormData(event.target)) if (value) next.set(name, String(value));
        location.hash = `#/orders?${next}`;
      },
    },
    h("label", {}, "Status", select("status", ["queued", "processing", "applied", "failed", "skipped"])),
    h(
      "label",
      {},
      "Type",
      select("type", ["new", "cancel_subscription", "change_address", "change_payment", "change_offer"]),
    ),
    h("label", {}, "Source", source),
    h("button", { type: "submit" }, "Filter"),
  );
  const rows = orders.map((o) =>
    h(
      "tr",
      { class: "link", "data-order": o.id, onclick: () => (location.hash = `#/orders/${o.id}`) },
      h("td", {}, when(o.createdAt)),
      h("td", {}, o.reference),
      h("td", {}, o.type),
      h("td", {}, o.source),
      h("td", {}, badge(o.status)),
      h("td", {}, o.error ? `${o.error.code}: ${o.error.message}` : ""),
    ),
  );
  show(
    h("h1", {}, "Orders"),
    form,
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Received", "Reference", "Type", "Source", "Status", "Error"].map((t) => h("th", {}, t)),
        ),
      ),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6 }, "No orders match."))),
    ),
  );
}

async function orderView(id) {
  const { order, timeline } = await call("GET", `/orders/${encodeURIComponent(id)}`);
  const facts = [
    ["Status", badge(order.status)],
    ["Type", order.type],
    ["Source", order.source],
    ["Reference", order.reference],
    ["Limio subscription", h("a", { href: `#/subscriptions/${order.subscriptionId}` }, order.subscriptionId)],
    ["Stripe ids", Object.entries(order.stripe).map(([k, v]) => h("div", {}, `${k}: ${v}`))],
    [
      "Error",
      order.error ? h("span", { class: "error-text" }, `${order.error.code}: ${order.error.message}`) : "—",
    ],
  ];
  show(
    h("h1", {}, `Order ${order.id}`),
    h(
      "table",
      {},
      h(
        "tbody",
        {},
        facts.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))),
      ),
    ),
    h("h2", {}, "Timeline: request → Stripe → Limio"),
    h(
      "ol",
      { class: "timeline" },
      timeline.map((entry) =>
        h(
          "li",
          { class: entry.stage },
          h("div", {}, h("strong", {}, entry.title), " · ", when(entry.at)),
          h("details", {}, h("summary", {}, "details"), json(entry.detail)),
        ),
      ),
    ),
  );
}

/** Audit events: when, the subscription (when the list spans several), type, source, changes. */
function eventTable(events) {
  const subscription = (e) =>
    e.subscriptionId ? h("a", { href: `#/subscriptions/${e.subscriptionId}` }, e.subscriptionId) : null;
  return h(
    "table",
    {},
    h(
      "tbody",
      {},
      events.map((e) =>
        h(
          "tr",
          {},
          h("td", {}, when(e.at)),
          "subscriptionId" in e ? h("td", {}, subscription(e)) : null,
          h("td", {}, e.type),
          h("td", {}, e.source),
          h("td", {}, json(e.changes)),
        ),
      ),
    ),
  );
}

async function subscriptionView(id, flash) {
  const view = await call("GET", `/subscriptions/${encodeURIComponent(id)}`);
  const resync = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        resync.disabled = true;
        const { messageId } = await call("POST", `/subscriptions/${encodeURIComponent(id)}/resync`);
        await subscriptionView(
          id,
          `Resync requested (message ${messageId}); it is applied once the sync-consumer reads it.`,
        );
      },
    },
    "Resync from Stripe",
  );
  const limio = view.limio;
  const comparison = h(
    "table",
    { id: "comparison" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Field", "Limio", "Stripe (last synced)", ""].map((t) => h("th", {}, t)),
      ),
    ),
    h(
      "tbody",
      {},
      view.comparison.map((row) =>
        h(
          "tr",
          { class: row.agrees ? "" : "mismatch" },
          h("td", {}, row.field),
          h("td", {}, JSON.stringify(row.limio)),
          h("td", {}, JSON.stringify(row.stripe)),
          h("td", {}, row.agrees ? badge("ok") : badge("differs")),
        ),
      ),
    ),
  );
  show(
    h("h1", {}, `Subscription ${limio.reference} (${limio.id})`),
    flash ? h("p", { class: "flash", role: "status" }, flash) : null,
    h("div", { class: "actions" }, resync),
    h(
      "div",
      { class: "side-by-side" },
      h(
        "section",
        { class: "panel", id: "limio" },
        h("h2", {}, "Limio"),
        h("p", {}, "Status ", badge(limio.status)),
        json(limio),
      ),
      h(
        "section",
        { class: "panel", id: "stripe" },
        h("h2", {}, `Stripe (last synced ${when(view.stripe.lastSyncedAt)})`),
        h("p", {}, "Status ", badge(view.stripe.raw?.status ?? "never synced")),
        json(view.stripe.raw),
      ),
    ),
    h("h2", {}, "Limio compared with Stripe"),
    comparison,
    h("h2", {}, "Event log"),
    eventTable(view.events),
  );
}

async function dlqView(flash) {
  const { topics } = await call("GET", "/dlq");
  const section = (t) => {
    const rows = t.messages.map((m) => {
      const status = m.applied ? "applied" : m.redriven.length ? "re-driven" : "waiting";
      const redrive = h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: async () => {
            redrive.disabled = true;
            await call("POST", `/dlq/${encodeURIComponent(t.topic)}/redrive`, { ids: [m.id] });
            await dlqView(`Re-drove ${m.id} of ${t.dlqTopic} to ${t.topic}.`);
          },
        },
        "Re-drive",
      );
      return h(
        "tr",
        { "data-dlq": `${t.dlqTopic}/${m.id}`, "data-message": m.messageId, "data-status": status },
        h("td", {}, m.id),
        h("td", {}, m.messageType ?? "?", h("div", {}, m.key ?? "")),
        h("td", {}, badge(m.errorClass ?? "?"), h("div", { class: "error-text" }, m.errorMessage ?? "")),
        h("td", {}, when(m.failedAt)),
        h(
          "td",
          {},
          badge(status),
          m.redriven.map((r) => h("div", {}, `re-driven by ${r.operator} ${when(r.at)}`)),
        ),
        h("td", {}, h("details", {}, h("summary", {}, "headers & message"), json(m.headers), json(m.value))),
        h("td", {}, redrive),
      );
    });
    return h(
      "section",
      {},
      h("h2", {}, `${t.topic} → ${t.dlqTopic}: ${t.messages.length} message(s)`),
      t.error ? h("p", { class: "error-text" }, t.error) : null,
      rows.length
        ? h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Entry", "Message", "Error", "Failed at", "Status", "", ""].map((x) => h("th", {}, x)),
              ),
            ),
            h("tbody", {}, rows),
          )
        : h("p", { class: "note" }, "Empty."),
    );
  };
  show(
    h("h1", {}, "Dead-lettered messages"),
    flash ? h("p", { class: "flash", role: "status" }, flash) : null,
    h(
      "p",
      { class: "note" },
      "A DLQ is a log: entries stay after a re-drive. “applied” means the message was handled since: the sync-consumer recorded it in its inbox, or the writer finished the order.",
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => dlqView() }, "Refresh"),
    ),
    topics.map(section),
  );
}

async function lagView() {
  const { groups } = await call("GET", "/lag");
  const topicRow = (g, topic) => {
    const parts = g.partitions.filter((p) => p.topic === topic).sort((x, y) => x.partition - y.partition);
    return h(
      "tr",
      {},
      h("td", {}, topic),
      h(
        "td",
        {},
        parts.reduce((sum, p) => sum + p.lag, 0),
      ),
      h("td", {}, parts.map((p) => `${p.partition}: ${p.committed} / ${p.end}`).join(", ")),
    );
  };
  show(
    h("h1", {}, "Consumer lag"),
    groups.map((g) =>
      h(
        "section",
        {},
        h("h2", {}, `${g.group}: ${g.totalLag} message(s) behind`),
        g.error ? h("p", { class: "error-text" }, g.error) : null,
        h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Topic", "Behind", "Partition: committed / end"].map((t) => h("th", {}, t)),
            ),
          ),
          h(
            "tbody",
            {},
            [...new Set(g.partitions.map((p) => p.topic))].map((topic) => topicRow(g, topic)),
          ),
        ),
      ),
    ),
  );
}

async function driftView() {
  const drift = await call("GET", "/drift");
  show(
    h("h1", {}, "Drift"),
    h(
      "p",
      { class: "note" },
      "Reconcile runs are not recorded: `bridge reconcile` prints the drift it finds and writes nothing. " +
        "Shown here is what the store records: the latest differences syncs repaired, and Stripe " +
        "subscriptions seen in events that have no Limio subscription.",
    ),
    h("h2", {}, `Unmatched Stripe subscriptions: ${drift.unmatchedCount}`),
    h(
      "table",
      {},
      h(
        "tbody",
        {},
        drift.unmatched.map((u) =>
          h(
            "tr",
            {},
            h("td", {}, u.stripeSubscriptionId),
            h("td", {}, u.lastEventType ?? ""),
            h("td", {}, when(u.lastSeenAt)),
          ),
        ),
      ),
    ),
    h("h2", {}, "Latest changes applied by syncs"),
    eventTable(drift.repaired),
  );
}

async function route() {
  const [path, queryString] = location.hash.replace(/^#/, "").split("?");
  const parts = (path || "/orders").split("/").filter(Boolean);
  const params = new URLSearchParams(queryString ?? "");
  try {
    const { operator } = await call("GET", "/session");
    document.getElementById("nav").hidden = false;
    document.getElementById("operator").textContent = `operator: ${operator}`;
    for (const link of document.querySelectorAll("nav a"))
      link.classList.toggle("active", link.getAttribute("href") === `#/${parts[0]}`);
    if (parts[0] === "orders" && parts[1]) return await orderView(parts[1]);
    if (parts[0] === "subscriptions" && parts[1]) return await subscriptionView(parts[1]);
    if (parts[0] === "dlq") return await dlqView();
    if (parts[0] === "lag") return await lagView();
    if (parts[0] === "drift") return await driftView();
    return await ordersView(params);
  } catch (error) {
    if (error instanceof Unauthenticated) return loginView();
    show(h("p", { class: "error-text", role: "alert" }, error.message));
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  await call("DELETE", "/session");
  loginView("Logged out.");
});
window.addEventListener("hashchange", route);
route();
