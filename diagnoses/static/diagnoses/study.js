// The result page: follows the study's status without a reload (the finished parts are taken
// from a fresh copy of this page, so there is one renderer: the server's). The image and the
// heatmaps are the viewer's (viewer.js).
(function () {
  "use strict";
  const root = document.getElementById("study");
  if (!root) return;
  const statusEl = document.getElementById("study-status");
  const reasonEl = document.getElementById("failure-reason");
  let delay = 1000;

  async function refreshFinishedParts() {
    const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["prediction", "actions"]) {
      const part = fresh.getElementById(id);
      if (part) document.getElementById(id).replaceWith(part);
    }
    const review = fresh.querySelector("section.review");
    if (review && !document.querySelector("section.review")) root.append(review);
    document.dispatchEvent(new CustomEvent("chexweb:findings"));  // the viewer lists their heatmaps
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const study = await response.json();
        statusEl.textContent = study.status_label;
        statusEl.className = "status status-" + study.status;
        reasonEl.textContent = study.failure_reason;
        reasonEl.hidden = !study.failure_reason;
        if (study.finished) {
          await refreshFinishedParts();
          return;
        }
        delay = 1000;
      } else {
        delay = Math.min(delay * 2, 15000);
      }
    } catch (error) {
      delay = Math.min(delay * 2, 15000);
    }
    setTimeout(poll, delay);
  }

  if (!["status-done", "status-failed"].some((c) => statusEl.classList.contains(c))) {
    setTimeout(poll, delay);
  }
})();
