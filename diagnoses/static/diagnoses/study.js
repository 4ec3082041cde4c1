// Follows a study's status without a page reload and shows its findings when they arrive.
(function () {
  "use strict";
  const root = document.getElementById("study");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const statusEl = document.getElementById("study-status");
  const reasonEl = document.getElementById("failure-reason");
  const predictionEl = document.getElementById("prediction");
  let delay = 1000;

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function renderPrediction(prediction) {
    predictionEl.replaceChildren();
    const model = prediction.model;
    if (model.warning) {
      const warning = document.createElement("p");
      warning.className = "warning";
      warning.id = "model-warning";
      warning.setAttribute("role", "alert");
      warning.textContent = model.warning;
      predictionEl.append(warning);
    }
    const table = document.createElement("table");
    table.className = "findings";
    table.id = "findings";
    table.innerHTML = "<caption>14 findings, most probable first</caption>" +
      '<thead><tr><th scope="col">Finding</th><th scope="col">Probability</th></tr></thead>';
    const body = document.createElement("tbody");
    for (const finding of prediction.findings) {
      const row = document.createElement("tr");
      row.dataset.finding = finding.name;
      row.append(cell(finding.label));
      const value = cell("", "probability");
      const meter = document.createElement("meter");
      meter.min = 0; meter.max = 1; meter.value = finding.probability;
      const span = document.createElement("span");
      span.className = "value";
      span.textContent = finding.probability.toFixed(4);
      value.append(meter, " ", span);
      row.append(value);
      body.append(row);
    }
    table.append(body);
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.id = "model-info";
    meta.textContent = "Model: " + model.name + " (" + model.identity +
      (model.weights_verified ? ", verified published weights" : ", unverified weights") + ") · " +
      prediction.preprocessing_label + " · preprocessing " + prediction.preprocessing_ms +
      " ms · inference " + prediction.inference_ms + " ms";
    predictionEl.append(table, meta);
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
        if (study.finished) return;
        delay = 1000;
      } else {
        delay = Math.min(delay * 2, 15000);
      }
    } catch (error) {
      delay = Math.min(delay * 2, 15000);
    }
    setTimeout(poll, delay);
  }

  if (!["done", "failed"].includes(statusEl.className.replace(/.*status-/, ""))) {
    setTimeout(poll, delay);
  }
})();
