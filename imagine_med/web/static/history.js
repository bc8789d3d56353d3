"use strict";
// A history list follows its unfinished jobs by the job cards' server-sent events, so a job
// that finishes while the page is open reads "done" and links to its case without a reload.
for (const li of document.querySelectorAll(".history li[data-live]")) {
  const es = new EventSource(`/api/jobs/${li.dataset.job}/events`);
  es.addEventListener("job", (ev) => {
    const job = JSON.parse(ev.data);
    li.querySelector(".state").textContent = job.state;
    if (job.state === "done" && "viewable" in li.dataset) {
      li.querySelector("a").href = `/case/${li.dataset.job}/1`;
    }
  });
  es.addEventListener("end", () => es.close());
  es.onerror = () => es.close();
}
