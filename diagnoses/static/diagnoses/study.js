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

  // The server answers when the status differs from the one shown (web/status.py), or after a
  // wait with the same one: the page asks again at once. Retry-After: no wait was possible, so
  // the page asks again after that many seconds, polling as it did before.
  let shown = statusEl.className.match(/\bstatus-([a-z_]+)/)[1];
  async function follow() {
    let wait = 0;
    const asked = Date.now();
    const before = shown;
    try {
      const url = root.dataset.statusUrl + "?after=" + encodeURIComponent(shown);
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const study = await response.json();
        shown = study.status;
        statusEl.textContent = study.status_label;
        statusEl.className = "status status-" + study.status;
        reasonEl.textContent = study.failure_reason;
        reasonEl.hidden = !study.failure_reason;
        if (study.finished) {
          await refreshFinishedParts();
          return;
        }
        delay = 1000;
        wait = 1000 * (Number(response.headers.get("Retry-After")) || 0);
        // Never faster than the old poll, whatever answers (a server that does not wait).
        if (study.status === before) wait = Math.max(wait, 1000 - (Date.now() - asked));
      } else {
        wait = delay = Math.min(delay * 2, 15000);
      }
    } catch (error) {
      wait = delay = Math.min(delay * 2, 15000);
    }
    setTimeout(follow, wait);
  }

  if (!["status-done", "status-failed", "status-not_eligible"].some((c) => statusEl.classList.contains(c))) {
    follow();
  }
})();
