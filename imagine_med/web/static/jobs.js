"use strict";
// Job cards shared by the playground and the sketch page: an Outcome's replies, a job's
// progress by server-sent events, the grid with its buttons (the chat buttons' custom ids),
// the Refine form, the answer key, the DICOM export and appeals.
const IMJobs = (() => {
  const {post, get, el} = IM;
  const jobsBox = document.getElementById("jobs");
  const messages = document.getElementById("messages");

  function note(reply, where) {
    const box = el("div", {class: "reply" + (reply.ephemeral ? " private" : ""), role: "status",
                           html: reply.html});
    for (const a of reply.attachments || []) {
      if (/\.png$/i.test(a.name)) box.append(el("img", {src: a.url, alt: a.alt || a.name, class: "attachment"}));
      else box.append(el("p", {}, el("a", {href: a.url, class: "button", download: a.name, text: "Download " + a.name})));
    }
    (where || messages).prepend(box);
    return box;
  }

  function showForm(f, card) {
    const box = el("form", {class: "card refine", "aria-label": f.title});
    box.append(el("h3", {text: f.title}));
    for (const x of f.fields) {
      const id = "fld-" + x.key + "-" + Math.random().toString(36).slice(2, 7);
      box.append(el("label", {for: id, text: x.label}));
      const input = x.multiline ? el("textarea", {id, name: x.key, rows: 3, maxlength: x.max_length, placeholder: x.placeholder})
                                : el("input", {id, name: x.key, maxlength: x.max_length, placeholder: x.placeholder});
      input.value = x.initial || "";
      box.append(input);
    }
    box.append(el("button", {type: "submit", text: "Send"}), el("button", {type: "button", text: "Close", onclick: () => box.remove()}));
    box.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const vals = {};
      for (const x of f.fields) vals[x.key] = box.elements[x.key].value;
      const out = await post("/api/form", {id: f.id, values: vals});
      box.remove();
      outcome(out, card);
    });
    (card || messages).append(box);
    box.querySelector("textarea, input").focus();
  }

  async function press(id, card, label) {
    const out = await post("/api/press", {id});
    outcome(out, card);
    if (label === "DICOM" && !(out.replies || []).some((r) => /no finished|cannot/i.test(r.text))) {
      watchExport(card.dataset.job);
    }
  }

  function outcome(out, card) {
    const jobIds = new Set((out.jobs || []).map((j) => j.id));
    for (const r of out.replies || []) {
      if (r.job_id && jobIds.has(r.job_id)) continue;  // shown as the job's own card
      note(r, card ? card.querySelector(".notes") : null);
    }
    for (const j of out.jobs || []) follow(j);
    if (out.form) showForm(out.form, card);
    if (out.case) appealForm(out.case);
  }

  function appealForm(caseId) {
    // A held or refused prompt can be appealed: the moderators see it in their queue.
    const id = "appeal-" + caseId;
    const box = el("form", {class: "card appeal", "aria-label": "Appeal"},
      el("label", {for: id, text: `Appeal (case ${caseId}): why this prompt is fine for teaching`}),
      el("textarea", {id, name: "text", rows: 2, maxlength: 1000}),
      el("button", {type: "submit", text: "Send appeal"}));
    box.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const res = await post("/api/appeal", {case: caseId, text: box.elements.text.value});
      box.replaceChildren(el("p", {class: res.error ? "error" : "ok", role: "status", text: res.error || res.message}));
    });
    messages.prepend(box);
  }

  function card(job) {
    let c = document.getElementById("job-" + job.id);
    if (c) return c;
    c = el("article", {class: "card job", id: "job-" + job.id, "data-job": job.id, "aria-label": "Job " + job.id.slice(0, 8)});
    c.append(el("h3", {}, el("code", {text: job.id.slice(0, 8)}), " ", el("span", {class: "kind", text: job.kind})),
             el("p", {class: "interpreted", text: job.interpreted ? "Interpreted as: " + job.interpreted : ""}),
             el("p", {class: "state", role: "status"}),
             el("progress", {max: 1, value: 0, "aria-label": "Progress"}),
             el("div", {class: "body"}), el("div", {class: "notes"}));
    jobsBox.prepend(c);
    return c;
  }

  function update(c, job) {
    const where = job.state === "queued" && job.position ? ` (#${job.position} in line)` : "";
    c.querySelector(".state").textContent = job.state === "running"
      ? `Running: ${job.stage || "starting"} ${Math.round(job.fraction * 100)}%` : job.state + where;
    c.dataset.state = job.state;
    const bar = c.querySelector("progress");
    bar.value = job.state === "done" ? 1 : job.fraction;
    bar.hidden = !["queued", "running", "held"].includes(job.state);
    const body = c.querySelector(".body");
    body.replaceChildren();
    const r = job.reply;
    if (!r) return;
    if (job.state !== "done") body.append(el("div", {class: "text", html: r.html}));
    for (const a of r.attachments || []) {
      if (/\.png$/i.test(a.name)) {
        body.append(el("img", {src: a.url, alt: job.alt || a.alt, class: "grid"}));
      } else {
        body.append(el("p", {}, el("a", {href: a.url, class: "button", download: a.name, text: "Download " + a.name})));
      }
    }
    for (const row of r.rows || []) {
      const bar = el("div", {class: "buttons", role: "group"});
      for (const b of row) {
        bar.append(el("button", {type: "button", class: b.style, "data-id": b.id,
                                 text: b.label, onclick: () => press(b.id, c, b.label)}));
      }
      body.append(bar);
    }
    if (job.state === "done" && job.variants && job.variants.length) {
      const links = el("p", {class: "viewers"}, "Case viewer: ");
      for (const n of job.variants) links.append(el("a", {href: `/case/${job.id}/${n}`, text: `variant ${n}`}), " ");
      body.append(links);
    }
  }

  function follow(job) {
    const c = card(job);
    update(c, job);
    const started = performance.now();
    const es = new EventSource(`/api/jobs/${job.id}/events`);
    es.addEventListener("job", (ev) => {
      const j = JSON.parse(ev.data);
      update(c, j);
      if (j.state === "done") c.dataset.shownMs = String(Math.round(performance.now() - started));
    });
    es.addEventListener("end", () => es.close());
    es.onerror = () => es.close();
  }

  async function watchExport(parent) {
    // The DICOM export is a job of its own (made by a worker); find it and follow it.
    for (let i = 0; i < 50; i++) {
      const recent = await get("/api/recent");
      const j = recent.jobs.find((x) => x.kind === "dicom" && x.parent_id === parent && !document.getElementById("job-" + x.id));
      if (j) { follow(j); return; }
      await new Promise((res) => setTimeout(res, 300));
    }
  }

  return {outcome, follow, note};
})();
