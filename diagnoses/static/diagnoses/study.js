// The result page: follows the study's status without a reload (the finished parts are taken
// from a fresh copy of this page, so there is one renderer: the server's), zooms the image, and
// lays a finding's heatmap over it with the opacity the reader chooses.
(function () {
  "use strict";
  const root = document.getElementById("study");
  if (!root) return;
  const statusEl = document.getElementById("study-status");
  const reasonEl = document.getElementById("failure-reason");
  const viewer = document.getElementById("viewer");
  const stack = document.getElementById("stack");
  const layer = document.getElementById("heat-layer");
  const choice = document.getElementById("heatmap-finding");
  const opacity = document.getElementById("heat-opacity");
  const zoomLevel = document.getElementById("zoom-level");
  let zoom = 1;
  let delay = 1000;

  function setZoom(value) {
    zoom = Math.min(8, Math.max(1, value));
    stack.style.width = zoom * 100 + "%";
    zoomLevel.textContent = Math.round(zoom * 100) + "%";
  }
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(zoom * 1.5));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(zoom / 1.5));
  document.getElementById("zoom-reset").addEventListener("click", () => setZoom(1));
  viewer.addEventListener("keydown", (event) => {
    const step = 60;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === "+" || event.key === "=") setZoom(zoom * 1.5);
    else if (event.key === "-") setZoom(zoom / 1.5);
    else if (moves[event.key]) viewer.scrollBy(moves[event.key][0], moves[event.key][1]);
    else return;
    event.preventDefault();
  });

  function fillHeatmapChoices() {
    const rows = document.querySelectorAll("#findings tbody tr");
    choice.replaceChildren(new Option("No heatmap", ""));
    for (const row of rows) {
      choice.append(new Option(row.dataset.finding.replaceAll("_", " "), row.dataset.heatmapUrl));
    }
    choice.disabled = rows.length === 0;
  }
  choice.addEventListener("change", () => {
    layer.hidden = !choice.value;
    opacity.disabled = !choice.value;
    if (choice.value) {
      layer.src = choice.value;
      layer.alt = "Heatmap of " + choice.selectedOptions[0].textContent;
    }
  });
  opacity.addEventListener("input", () => { layer.style.opacity = opacity.value / 100; });
  layer.style.opacity = opacity.value / 100;

  async function refreshFinishedParts() {
    const response = await fetch(window.location.href, { credentials: "same-origin", cache: "no-store" });
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["prediction", "actions"]) {
      const part = fresh.getElementById(id);
      if (part) document.getElementById(id).replaceWith(part);
    }
    const review = fresh.querySelector("section.review");
    if (review && !document.querySelector("section.review")) root.append(review);
    fillHeatmapChoices();
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

  fillHeatmapChoices();
  if (!["status-done", "status-failed"].some((c) => statusEl.classList.contains(c))) {
    setTimeout(poll, delay);
  }
})();
