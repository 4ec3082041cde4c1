// Follows a study's status without a page reload, shows its findings when they arrive, and
// swaps the X-ray for a finding's heatmap overlay.
(function () {
  "use strict";
  const root = document.getElementById("study");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const statusEl = document.getElementById("study-status");
  const reasonEl = document.getElementById("failure-reason");
  const predictionEl = document.getElementById("prediction");
  const rerunForm = document.getElementById("rerun");
  const xray = document.getElementById("xray");
  const heatmapSelect = document.getElementById("heatmap-finding");
  let delay = 1000;

  function element(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children);
    return node;
  }

  function fillHeatmapChoices(rows) {
    heatmapSelect.replaceChildren(element("option", { value: "" }, "No heatmap"));
    for (const row of rows) {
      heatmapSelect.append(element("option", { value: row.url }, row.label));
    }
    heatmapSelect.disabled = rows.length === 0;
  }

  function renderPrediction(prediction) {
    predictionEl.replaceChildren();
    const model = prediction.model;
    if (model.warning) {
      const warning = element("p", { className: "warning", id: "model-warning" }, model.warning);
      warning.setAttribute("role", "alert");
      predictionEl.append(warning);
    }
    const table = element("table", { className: "findings", id: "findings" });
    table.innerHTML = "<caption>14 findings, most probable first; ⚑ at or above the model " +
      "version's threshold</caption><thead><tr><th scope=\"col\">Finding</th>" +
      "<th scope=\"col\">Probability</th><th scope=\"col\">Threshold</th></tr></thead>";
    const body = element("tbody");
    for (const finding of prediction.findings) {
      const meter = element("meter", { min: 0, max: 1, value: finding.probability });
      const name = element("td", {}, finding.flagged ? "⚑ " : "", finding.label);
      const row = element("tr", { className: finding.flagged ? "flagged" : "" }, name,
        element("td", { className: "probability" }, meter, " ",
          element("span", { className: "value" }, finding.probability.toFixed(4))),
        element("td", { className: "threshold" }, finding.threshold.toFixed(2)));
      row.dataset.finding = finding.name;
      row.dataset.heatmapUrl = finding.heatmap_url;
      body.append(row);
    }
    table.append(body);
    const meta = element("p", { className: "meta", id: "model-info" },
      "Model: " + model.name + " (" + model.identity +
      (model.weights_verified ? ", verified published weights" : ", unverified weights") + ") · " +
      prediction.preprocessing_label + " · preprocessing " + prediction.preprocessing_ms +
      " ms · inference " + prediction.inference_ms + " ms");
    predictionEl.append(table, meta);
    fillHeatmapChoices(prediction.findings.map((f) => ({ url: f.heatmap_url, label: f.name.replace("_", " ") })));
  }

  async function poll() {
    try {
      const response = await fetch(statusUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const study = await response.json();
        statusEl.textContent = study.status_label;
        statusEl.className = "status status-" + study.status;
        reasonEl.textContent = study.failure_reason;
        reasonEl.hidden = !study.failure_reason;
        if (study.prediction) renderPrediction(study.prediction);
        else if (study.finished) predictionEl.replaceChildren();
        if (study.finished) {
          rerunForm.hidden = false;
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

  heatmapSelect.addEventListener("change", () => {
    xray.src = heatmapSelect.value || root.dataset.imageUrl;
    xray.alt = heatmapSelect.value
      ? "Heatmap of " + heatmapSelect.selectedOptions[0].textContent + " over the chest X-ray"
      : "Chest X-ray of this study";
  });

  const rows = Array.from(document.querySelectorAll("#findings tbody tr"));
  fillHeatmapChoices(rows.map((row) => ({ url: row.dataset.heatmapUrl, label: row.dataset.finding.replace("_", " ") })));
  if (!["status-done", "status-failed"].some((c) => statusEl.classList.contains(c))) {
    setTimeout(poll, delay);
  }
})();
