"use strict";
// The case viewer: answer-key outlines with names on hover; for CT a slice stack scrolled by
// wheel and keys, windowed on the raw HU (presets and drag), distance and ROI-mean tools.
(() => {
  const {post, get, el} = IM;
  const root = document.getElementById("viewer");
  const job = root.dataset.job, n = root.dataset.n;
  const img = document.getElementById("image");
  const overlay = document.getElementById("overlay");
  const hover = document.getElementById("hover");
  const keyBtn = document.getElementById("key-toggle");
  const keyBox = document.getElementById("key");
  let key = null, labels = null, lw = 0, lh = 0;

  function colour(id) {  // a stable, distinct hue per label id
    const h = (id * 137.508) % 360;
    return `hsl(${h}, 90%, 55%)`;
  }

  function hslRgb(h, s, l) {
    const k = (m) => (m + h / 30) % 12, a = s * Math.min(l, 1 - l);
    const f = (m) => l - a * Math.max(-1, Math.min(k(m) - 3, 9 - k(m), 1));
    return [f(0), f(8), f(4)].map((v) => Math.round(v * 255));
  }

  async function loadKey() {
    key = await get(`/api/case/${job}/${n}/key`);
    const im = new Image();
    im.src = key.labels_url;
    await im.decode();
    lw = im.naturalWidth; lh = im.naturalHeight;
    const c = el("canvas", {width: lw, height: lh});
    const ctx = c.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(im, 0, 0);
    const rgba = ctx.getImageData(0, 0, lw, lh).data;
    labels = new Uint8Array(lw * lh);
    for (let i = 0; i < labels.length; i++) labels[i] = rgba[4 * i];
    const body = document.getElementById("key-body");
    body.replaceChildren(el("p", {text: key.answer_key}));
    const list = el("ul");
    for (const f of key.findings) {
      const where = [f.laterality, f.location].filter(Boolean).join(", ");
      const sw = f.label_id ? el("span", {class: "swatch", style: null}) : null;
      if (sw) sw.dataset.colour = colour(f.label_id);
      list.append(el("li", {}, sw, (f.description || f.name.replaceAll("_", " ")) + (where && !f.description ? ` (${where})` : "")));
    }
    body.append(list);
    for (const sw of body.querySelectorAll(".swatch")) sw.style.background = sw.dataset.colour;
  }

  function drawOutlines() {
    overlay.width = lw; overlay.height = lh;
    const ctx = overlay.getContext("2d");
    const out = ctx.createImageData(lw, lh);
    const show = new Set(key.finding_labels.length ? key.finding_labels : Object.keys(key.labels).map(Number));
    const rgb = {};
    for (const id of show) rgb[id] = hslRgb((id * 137.508) % 360, 0.9, 0.55);
    let drawn = 0;
    for (let y = 1; y < lh - 1; y++) {
      for (let x = 1; x < lw - 1; x++) {
        const i = y * lw + x, v = labels[i];
        if (!show.has(v)) continue;
        if (labels[i - 1] !== v || labels[i + 1] !== v || labels[i - lw] !== v || labels[i + lw] !== v) {
          const [r, g, b] = rgb[v];
          out.data.set([r, g, b, 255], 4 * i);
          drawn++;
        }
      }
    }
    ctx.putImageData(out, 0, 0);
    overlay.dataset.outlinePixels = String(drawn);
  }

  keyBtn.addEventListener("click", async () => {
    const on = keyBtn.getAttribute("aria-pressed") !== "true";
    if (on && !key) await loadKey();
    keyBtn.setAttribute("aria-pressed", String(on));
    keyBox.hidden = !on;
    overlay.hidden = !on;
    if (on) drawOutlines();
  });

  function labelAt(ev, target) {
    if (!labels) return null;
    const r = target.getBoundingClientRect();
    const x = Math.floor((ev.clientX - r.left) / r.width * lw);
    const y = Math.floor((ev.clientY - r.top) / r.height * lh);
    if (x < 0 || y < 0 || x >= lw || y >= lh) return null;
    const id = labels[y * lw + x];
    return id ? (key.labels[String(id)] || `label ${id}`) : null;
  }
  document.getElementById("stage").addEventListener("mousemove", (ev) => {
    if (overlay.hidden) { hover.textContent = ""; return; }
    const name = labelAt(ev, img);
    hover.textContent = name ? name.replaceAll("_", " ") : "";
  });

  // ---- CT stack ----------------------------------------------------------------------
  if (root.dataset.ct !== "yes") return;
  const windows = JSON.parse(root.dataset.windows);
  const canvas = document.getElementById("slice");
  const range = document.getElementById("slice-range");
  const status = document.getElementById("stack-status");
  const mOut = document.getElementById("m-out");
  const spacing = parseFloat(root.dataset.spacing) || 1;
  const st = {meta: null, hu: null, index: 0, wc: 40, ww: 400, tool: null, marks: []};
  const start = windows[root.dataset.window] || windows.lung || [-600, 1500];
  [st.wc, st.ww] = start;

  function draw() {
    const {width: W, height: H} = st.meta;
    const ctx = canvas.getContext("2d");
    const im = ctx.createImageData(W, H);
    const base = st.index * W * H, lo = st.wc - st.ww / 2, scale = 255 / st.ww;
    for (let i = 0; i < W * H; i++) {
      let v = (st.hu[base + i] - lo) * scale;
      v = v < 0 ? 0 : v > 255 ? 255 : v;
      im.data[4 * i] = im.data[4 * i + 1] = im.data[4 * i + 2] = v;
      im.data[4 * i + 3] = 255;
    }
    ctx.putImageData(im, 0, 0);
    ctx.lineWidth = 2;
    for (const m of st.marks) {
      ctx.strokeStyle = "#ffd400";
      if (m.kind === "distance") { ctx.beginPath(); ctx.moveTo(m.x0, m.y0); ctx.lineTo(m.x1, m.y1); ctx.stroke(); }
      else ctx.strokeRect(m.x0, m.y0, m.x1 - m.x0, m.y1 - m.y0);
    }
    const off = st.index - st.meta.centre;
    const level = st.meta.level_mm[st.index];
    document.getElementById("slice-pos").textContent =
      `slice ${st.index + 1}/${st.meta.count} (${off >= 0 ? "+" : ""}${(off * st.meta.step_mm).toFixed(1)} mm, z ${level.toFixed(1)} mm)`;
    document.getElementById("wl").textContent = `W ${Math.round(st.ww)} / L ${Math.round(st.wc)}`;
    Object.assign(canvas.dataset, {index: st.index, levelMm: level, wc: Math.round(st.wc), ww: Math.round(st.ww)});
    range.value = st.index;
  }

  function go(delta) {
    if (!st.meta) return;
    st.index = Math.max(0, Math.min(st.meta.count - 1, st.index + delta));
    st.marks = [];
    draw();
  }

  function at(ev) {
    const r = canvas.getBoundingClientRect();
    return [Math.floor((ev.clientX - r.left) / r.width * st.meta.width),
            Math.floor((ev.clientY - r.top) / r.height * st.meta.height)];
  }

  async function loadStack() {
    const btn = document.getElementById("stack-load");
    btn.disabled = true;
    document.getElementById("ct").hidden = false;
    status.textContent = "Rendering slices…";
    const made = await post(`/api/case/${job}/${n}/stack`, {});
    if (made.error) { status.textContent = made.error; btn.disabled = false; return; }
    let meta;
    for (;;) {
      meta = await get(`/api/stack/${made.job}`);
      if (meta.state === "done") break;
      if (meta.state === "failed" || meta.state === "cancelled") { status.textContent = meta.error || meta.state; return; }
      status.textContent = `Rendering slices… ${Math.round((meta.fraction || 0) * 100)}%`;
      await new Promise((r) => setTimeout(r, 250));
    }
    const buf = await (await fetch(`/api/stack/${made.job}/hu.bin`, {credentials: "same-origin"})).arrayBuffer();
    st.hu = meta.dtype === "<u2" ? new Uint16Array(buf) : new Int16Array(buf);
    st.meta = meta;
    st.index = meta.centre;
    [st.wc, st.ww] = [meta.window_center, meta.window_width];  // as the variant was shown
    canvas.width = meta.width; canvas.height = meta.height;
    range.max = meta.count - 1;
    status.textContent = `${meta.count} slices, ${meta.step_mm} mm apart. Wheel or arrow keys: slice; drag: window; Home/End: first/last.`;
    canvas.dataset.ready = "yes";
    draw();
    canvas.focus();
  }
  document.getElementById("stack-load").addEventListener("click", loadStack);

  canvas.addEventListener("wheel", (ev) => { ev.preventDefault(); go(ev.deltaY > 0 ? 1 : -1); }, {passive: false});
  canvas.addEventListener("keydown", (ev) => {
    const steps = {ArrowDown: 1, ArrowRight: 1, PageDown: 5, ArrowUp: -1, ArrowLeft: -1, PageUp: -5};
    if (ev.key in steps) { ev.preventDefault(); go(steps[ev.key]); }
    else if (ev.key === "Home") { ev.preventDefault(); go(-1e6); }
    else if (ev.key === "End") { ev.preventDefault(); go(1e6); }
  });
  range.addEventListener("input", () => { st.index = Number(range.value); st.marks = []; draw(); });
  for (const b of document.querySelectorAll(".preset")) {
    b.addEventListener("click", () => { [st.wc, st.ww] = windows[b.dataset.window]; if (st.meta) draw(); });
  }

  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    if (!st.meta) return;
    canvas.setPointerCapture(ev.pointerId);
    const [x, y] = at(ev);
    drag = {sx: ev.clientX, sy: ev.clientY, wc: st.wc, ww: st.ww, x, y};
    if (st.tool) st.marks = [{kind: st.tool, x0: x, y0: y, x1: x, y1: y}];
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!st.meta) return;
    const [x, y] = at(ev);
    if (x >= 0 && y >= 0 && x < st.meta.width && y < st.meta.height) {
      const v = st.hu[st.index * st.meta.width * st.meta.height + y * st.meta.width + x];
      document.getElementById("probe").textContent = `${v} ${st.meta.unit === "HU" ? "HU" : "(MR signal)"}`;
    }
    if (!drag) return;
    if (st.tool) { Object.assign(st.marks[0], {x1: x, y1: y}); draw(); return; }
    // drag right widens the window, drag down raises the level (as on a PACS workstation)
    st.ww = Math.max(1, drag.ww + (ev.clientX - drag.sx) * 4);
    st.wc = drag.wc + (ev.clientY - drag.sy) * 2;
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    if (drag && st.tool && st.marks.length) measure(st.marks[0]);
    drag = null;
  });

  function measure(m) {
    const W = st.meta.width, H = st.meta.height;
    if (m.kind === "distance") {
      const mm = Math.hypot((m.x1 - m.x0) * spacing, (m.y1 - m.y0) * spacing);
      mOut.textContent = `Distance ${mm.toFixed(1)} mm`;
      mOut.dataset.mm = mm.toFixed(2);
      return;
    }
    const x0 = Math.max(0, Math.min(m.x0, m.x1)), x1 = Math.min(W - 1, Math.max(m.x0, m.x1));
    const y0 = Math.max(0, Math.min(m.y0, m.y1)), y1 = Math.min(H - 1, Math.max(m.y0, m.y1));
    let s = 0, s2 = 0, k = 0;
    const base = st.index * W * H;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) { const v = st.hu[base + y * W + x]; s += v; s2 += v * v; k++; }
    const mean = s / k, sd = Math.sqrt(Math.max(0, s2 / k - mean * mean));
    const area = k * spacing * spacing;
    const unit = st.meta.unit === "HU" ? " HU" : "";
    mOut.textContent = `ROI mean ${mean.toFixed(1)}${unit}, SD ${sd.toFixed(1)}, area ${area.toFixed(0)} mm² (${k} px)`;
    mOut.dataset.mean = mean.toFixed(2);
  }
  for (const [id, tool] of [["m-distance", "distance"], ["m-roi", "roi"]]) {
    const b = document.getElementById(id);
    b.addEventListener("click", () => {
      st.tool = st.tool === tool ? null : tool;
      for (const o of document.querySelectorAll(".measure button[aria-pressed]")) o.setAttribute("aria-pressed", "false");
      b.setAttribute("aria-pressed", String(st.tool === tool));
    });
  }
  document.getElementById("m-clear").addEventListener("click", () => { st.marks = []; mOut.textContent = ""; if (st.meta) draw(); });
})();
