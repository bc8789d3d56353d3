"use strict";
// The playground: the live "interpreted as / ignored" preview and the prompt's submission;
// the job cards are jobs.js's.
(() => {
  const {post, el} = IM;
  const form = document.getElementById("imagine");
  const prompt = document.getElementById("prompt");
  const preview = document.getElementById("preview");
  const {outcome, note} = IMJobs;
  const FIELDS = ["modality", "view", "sequence", "stain", "size", "seed"];

  function values() {
    const out = {prompt: prompt.value};
    for (const f of FIELDS) out[f] = form.elements[f].value;
    return out;
  }

  let timer = null, asked = 0;
  async function showPreview() {
    const n = ++asked;
    const data = await post("/api/preview", values());
    if (n !== asked) return;  // a newer keystroke's answer wins
    preview.replaceChildren();
    if (data.error) {
      preview.append(el("p", {class: "error", text: "Cannot read this prompt: " + data.error}));
      return;
    }
    data.cases.forEach((c, i) => {
      preview.append(el("p", {class: "interpreted"},
        el("strong", {text: data.cases.length > 1 ? `Case ${i + 1} interpreted as: ` : "Interpreted as: "}),
        el("span", {text: c.interpreted})));
      preview.append(el("p", {class: "ignored"}, el("strong", {text: "Ignored: "}),
        el("span", {class: "said", text: c.ignored.length ? c.ignored.join(", ") : "nothing"})));
    });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(showPreview, 200); }
  prompt.addEventListener("input", schedule);
  for (const f of FIELDS) form.elements[f].addEventListener("change", schedule);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btn = document.getElementById("submit");
    btn.disabled = true;
    try {
      outcome(await post("/api/imagine", values()));
    } catch (e) {
      note({html: "", text: String(e), attachments: []}).textContent = String(e);
    } finally {
      btn.disabled = false;
    }
  });
})();
