// The page is a dynkv client: it keeps the cart it last saw (state) and
// that read's causal context, and sends both with every change.
(function () {
  "use strict";
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const cart = initial.cart;
  let view = initial.view || null;
  const $ = (id) => document.getElementById(id);
  document.body.dataset.renders = "0";

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function render() {
    const items = $("cart-items");
    items.replaceChildren();
    const inCart = new Set();
    for (const p of (view ? view.items : [])) {
      inCart.add(p.id);
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = p.color;
      items.append(el("li", { class: "cart-item", id: "cart-" + p.id, "data-product": p.id },
        swatch, el("span", { class: "name", text: p.name }), el("span", { class: "price", text: money(p.price) }),
        el("button", { type: "button", class: "remove", id: "remove-" + p.id, "data-action": "remove", "data-product": p.id, text: "Remove" })));
    }
    $("empty").hidden = inCart.size > 0;
    $("cart-total").textContent = view ? view.total : "$0.00";
    for (const b of document.querySelectorAll('button[data-action="add"]')) {
      const has = inCart.has(b.dataset.product);
      b.disabled = has;
      b.textContent = has ? "In cart" : "Add to cart";
    }
    renderNotice();
    renderServed();
    $("error").hidden = true;
    if (view && view.warning) showError(view.warning);
    document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
  }

  function renderNotice() {
    const n = $("notice");
    n.replaceChildren();
    const m = view && view.merge;
    n.hidden = !m;
    if (!m) return;
    n.append(el("strong", { text: "This read returned " + m.siblings.length + " siblings" }),
      " — versions of this cart written concurrently by sessions that had not seen each other's change:");
    const list = el("ol");
    for (const s of m.siblings) list.append(el("li", { text: s.length ? s.join(", ") : "(empty cart)" }));
    n.append(list, "They were merged as an observed-remove set (every addition kept unless a removal had seen it) into: ",
      el("strong", { id: "merge-result", text: m.result.length ? m.result.join(", ") : "an empty cart" }),
      ". The merged cart was written back.");
  }

  function renderServed() {
    const s = $("served");
    s.replaceChildren();
    if (!view || !view.steps) return;
    s.append("Served by: ");
    view.steps.forEach((st, i) => {
      if (i > 0) s.append(" → ");
      s.append(st.op + " on ", el("code", { class: "node", text: st.node || "?" }));
    });
  }

  function money(cents) {
    return "$" + Math.floor(cents / 100) + "." + String(cents % 100).padStart(2, "0");
  }

  function showError(msg) {
    $("error").textContent = msg;
    $("error").hidden = false;
  }

  async function call(method, url, body) {
    document.body.dataset.busy = "1";
    try {
      const resp = await fetch(url, {
        method,
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = await resp.json();
      if (!resp.ok) throw new Error(json.error || resp.statusText);
      view = json;
      render();
    } catch (err) {
      showError(err.message);
      document.body.dataset.renders = String(Number(document.body.dataset.renders) + 1);
    } finally {
      delete document.body.dataset.busy;
    }
  }

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b || document.body.dataset.busy) return;
    const action = b.dataset.action;
    if (action === "refresh") {
      call("GET", "/api/cart?cart=" + encodeURIComponent(cart));
      return;
    }
    call("POST", "/api/cart/" + action, {
      cart,
      product: b.dataset.product,
      context: view ? view.context : "",
      state: view ? view.state : null,
    });
  });

  render();
  if (initial.error) showError(initial.error);
})();
