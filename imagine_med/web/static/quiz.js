"use strict";
// The quiz page: the case and its choices when rendered (answers go through the chat
// buttons' ids), the reveal with the key and who answered what. Polls once a second.
(() => {
  const {post, get, el} = IM;
  const {outcome} = IMJobs;
  const root = document.getElementById("quiz");
  const qid = root.dataset.quiz;
  const state = document.getElementById("quiz-state");
  const postBox = document.getElementById("quiz-post");
  const revealBox = document.getElementById("quiz-reveal-box");
  let drawn = false, revealed = false;

  function showReply(box, r) {
    box.replaceChildren(el("div", {class: "reply", html: r.html}));
    for (const a of r.attachments || []) box.append(el("img", {class: "attachment", src: a.url, alt: a.alt}));
  }

  async function tick() {
    const q = await get(`/api/quiz/${qid}`);
    root.dataset.state = q.state;
    state.textContent = {rendering: `Rendering the case… ${Math.round((q.fraction || 0) * 100)}%`,
                         open: "Open: choose an answer (you can change it until the reveal).",
                         closed: "Closed.", failed: "The quiz's case failed: " + (q.error || "")}[q.state] || q.state;
    if (q.post && !drawn) {
      drawn = true;
      showReply(postBox, q.post);
      for (const row of q.post.rows || []) {
        const bar = el("div", {class: "buttons", role: "group", "aria-label": "Answers"});
        for (const b of row) {
          bar.append(el("button", {type: "button", "data-id": b.id, text: b.label, onclick: async () => {
            outcome(await post("/api/press", {id: b.id}));
          }}));
        }
        postBox.append(bar);
      }
    }
    if (q.reveal && !revealed) {
      revealed = true;
      showReply(revealBox, q.reveal);
      for (const b of postBox.querySelectorAll("button")) b.disabled = true;
    }
    if (!revealed && q.state !== "failed") setTimeout(tick, 1000);
  }
  const btn = document.getElementById("quiz-reveal");
  if (btn) btn.addEventListener("click", async () => {
    const res = await post(`/api/quiz/${qid}/reveal`, {});
    for (const r of res.replies) if (r.ephemeral) outcome({replies: [r]});
  });
  tick();
})();
