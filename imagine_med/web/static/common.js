"use strict";
// Shared by the pages: CSRF-carrying requests and small DOM helpers (no framework).
const IM = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function post(url, data) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(data || {}),
    });
    const type = r.headers.get("Content-Type") || "";
    if (!type.includes("json")) throw new Error(await r.text());
    return r.json();
  }
  async function get(url) {
    const r = await fetch(url, {credentials: "same-origin"});
    if (!r.ok) throw new Error(await r.text());
    return r.json();
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "html") e.innerHTML = v;  // only server-escaped HTML (render.py)
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }
  return {post, get, el};
})();
