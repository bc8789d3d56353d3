"use strict";
// The sketch page: paint with exact palette colours (square brush on whole pixels, so no
// anti-aliased in-between colours), or load a PNG; send it as a PNG to /api/sketch.
(() => {
  const {el} = IM;
  const {outcome, note} = IMJobs;
  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const form = document.getElementById("sketch");
  const brush = document.getElementById("brush");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let colour = null;

  function clear() { ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
  clear();
  for (const chip of document.querySelectorAll(".chip")) chip.style.background = chip.dataset.colour;
  const swatches = [...document.querySelectorAll(".swatch-btn")];
  function pick(b) {
    for (const o of swatches) o.setAttribute("aria-checked", String(o === b));
    colour = b.dataset.colour;
  }
  swatches.forEach((b) => b.addEventListener("click", () => pick(b)));
  pick(swatches[0]);

  function dab(x, y) {
    const r = Number(brush.value);
    ctx.fillStyle = colour;
    ctx.fillRect(Math.round(x - r / 2), Math.round(y - r / 2), r, r);
  }
  function at(ev) {
    const b = canvas.getBoundingClientRect();
    return [(ev.clientX - b.left) / b.width * canvas.width, (ev.clientY - b.top) / b.height * canvas.height];
  }
  let last = null;
  canvas.addEventListener("pointerdown", (ev) => { canvas.setPointerCapture(ev.pointerId); last = at(ev); dab(...last); });
  canvas.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const [x, y] = at(ev);
    const steps = Math.max(1, Math.ceil(Math.hypot(x - last[0], y - last[1]) / 2));
    for (let i = 1; i <= steps; i++) dab(last[0] + (x - last[0]) * i / steps, last[1] + (y - last[1]) * i / steps);
    last = [x, y];
  });
  canvas.addEventListener("pointerup", () => { last = null; });
  document.getElementById("clear").addEventListener("click", clear);

  let uploaded = null;  // an uploaded PNG goes to the server as it is (its errors are its own)
  document.getElementById("upload").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    uploaded = file;
    const bmp = await createImageBitmap(file).catch(() => null);
    clear();
    if (bmp) ctx.drawImage(bmp, 0, 0, canvas.width, canvas.height);
  });
  canvas.addEventListener("pointerdown", () => { uploaded = null; });
  document.getElementById("clear").addEventListener("click", () => { uploaded = null; });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btn = document.getElementById("render");
    btn.disabled = true;
    try {
      const png = uploaded || await new Promise((res) => canvas.toBlob(res, "image/png"));
      const data = new FormData();
      data.append("sketch", png, "sketch.png");
      for (const k of ["modality", "window", "sequence", "size", "seed", "prompt"]) data.append(k, form.elements[k].value);
      const r = await fetch("/api/sketch", {method: "POST", body: data, credentials: "same-origin",
                                            headers: {"X-CSRF-Token": csrf}});
      outcome(await r.json());
    } catch (e) {
      note({html: "", attachments: []}).textContent = String(e);
    } finally {
      btn.disabled = false;
    }
  });
  void el;
})();
