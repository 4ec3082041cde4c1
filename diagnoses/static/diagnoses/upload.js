// Several files at once, by drag and drop or picker: each is uploaded on its own with a progress
// bar, then followed live until its study is done or failed.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const dropzone = document.getElementById("dropzone");
  const table = document.getElementById("uploads");
  const rows = table.querySelector("tbody");
  const csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const chunkBytes = Number(form.dataset.chunkBytes) || 4194304;
  // Leaving the page (refresh, back, closing the tab) while a file is still being sent drops
  // it: the browser asks first.
  let sending = 0;
  window.addEventListener("beforeunload", (event) => {
    if (!sending) return;
    event.preventDefault();
    event.returnValue = "";
  });

  function el(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children);
    return node;
  }

  // The table's studies are followed together: one request waits for a change of any of them
  // (web/status.py) and is answered with all of them, then asked again. A row added meanwhile
  // asks again with the new set at once; the page's token ends the earlier wait on the server.
  // Retry-After: no wait was possible, the page asks again after that many seconds.
  const followed = new Map(); // study id -> { status, statusCell, resultCell, link }
  const pageToken = Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (byte) => byte.toString(16).padStart(2, "0")).join("");
  let asking = null;
  let timer = null;
  let delay = 1000;

  function follow(answer, statusCell, resultCell, link) {
    followed.set(answer.id, { status: answer.status, statusCell, resultCell, link });
    clearTimeout(timer);
    if (asking) asking.abort();
    ask();
  }

  function show(row, study) {
    row.status = study.status;
    row.statusCell.textContent = study.status_label + (study.failure_reason ? ": " + study.failure_reason : "");
    row.statusCell.className = "status status-" + study.status;
    if (!study.finished) return;
    followed.delete(study.id);
    row.resultCell.replaceChildren(row.link);
    if (study.prediction && study.prediction.flagged.length) {
      row.resultCell.append(" · flagged: " + study.prediction.flagged.join(", ").replaceAll("_", " "));
    }
  }

  async function ask() {
    if (!followed.size) return;
    const controller = new AbortController();
    asking = controller;
    const asked = Date.now();
    // At most as many as one request may name: the rest join as the first ones finish.
    const known = Array.from(followed, ([id, row]) => "&known=" + id + ":" + row.status)
      .slice(0, Number(form.dataset.statusesMax) || 50).join("");
    let wait = 0;
    try {
      const response = await fetch(form.dataset.statusesUrl + "?page=" + pageToken + known,
        { credentials: "same-origin", cache: "no-store", signal: controller.signal });
      if (response.ok) {
        let changed = false;
        for (const study of (await response.json()).studies) {
          const row = followed.get(study.id);
          if (!row) continue;
          changed = changed || row.status !== study.status;
          show(row, study);
        }
        delay = 1000;
        wait = 1000 * (Number(response.headers.get("Retry-After")) || 0);
        // Never faster than the old poll, whatever answers (a server that does not wait).
        if (!changed) wait = Math.max(wait, 1000 - (Date.now() - asked));
      } else {
        wait = delay = Math.min(delay * 2, 15000);
      }
    } catch (error) {
      if (controller.signal.aborted) return; // a newer request took over
      wait = delay = Math.min(delay * 2, 15000);
    }
    if (asking !== controller) return;
    asking = null;
    timer = setTimeout(ask, wait);
  }

  function upload(file, openResult) {
    table.hidden = false;
    const progress = el("progress", { max: 100, value: 0 });
    progress.setAttribute("aria-label", "Upload of " + file.name);
    const statusCell = el("td", {}, "Uploading");
    const resultCell = el("td");
    statusCell.dataset.label = "Status";
    resultCell.dataset.label = "Result";
    const nameCell = el("td", { className: "filename" }, file.name);
    nameCell.dataset.label = "File";
    const progressCell = el("td", {}, progress);
    progressCell.dataset.label = "Upload";
    const row = el("tr", {}, nameCell, progressCell, statusCell, resultCell);
    row.dataset.file = file.name;
    rows.append(row);
    const fields = new FormData(form);
    fields.delete("image");
    sending += 1;
    let sent = false;
    const settled = () => { if (!sent) { sent = true; sending -= 1; } };

    function answered(status, text) {
      settled(); // before a navigation to the result: nothing is in flight any more
      progress.value = 100;
      let answer = {};
      try { answer = JSON.parse(text); } catch (error) { /* not JSON */ }
      if (status >= 400 || !answer.url) {
        statusCell.textContent = "Refused: " + ((answer.error && answer.error.message) || "upload failed (" + status + ")");
        statusCell.className = "status status-failed";
        row.classList.add("refused");
        return;
      }
      const link = el("a", { href: answer.url }, answer.duplicate ? "Earlier result" : "Result");
      if (answer.duplicate) {
        statusCell.textContent = "Already uploaded";
        const rerun = el("form", { method: "post", action: answer.rerun_url, className: "inline" },
          el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf }),
          el("button", { type: "submit", className: "small" }, "Re-run"));
        resultCell.append(link, " ", rerun);
        return;
      }
      if (openResult) {
        window.location.assign(answer.url); // one study: follow it on its own page
        return;
      }
      follow(answer, statusCell, resultCell, link);
    }

    function failed(message) {
      settled();
      statusCell.textContent = message;
      statusCell.className = "status status-failed";
    }

    if (file.size > 2 * chunkBytes) {
      inPieces(file, fields, progress, statusCell, answered, failed);
      return;
    }
    fields.append("image", file);
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.uploadUrl);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrf);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((100 * event.loaded) / event.total);
    });
    request.addEventListener("loadend", settled);
    request.addEventListener("load", () => answered(request.status, request.responseText));
    request.addEventListener("error", () => failed("Upload failed: network error"));
    request.send(fields);
  }

  // A large file goes in pieces: after a dropped connection only the piece is sent again, from
  // the offset the server has (it waits 1, 2, 4 ... up to 30 s between tries, 20 tries a piece).
  async function inPieces(file, fields, progress, statusCell, answered, failed) {
    const headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    const post = (url, body, extra) => fetch(url, {
      method: "POST", body, credentials: "same-origin", headers: Object.assign({}, headers, extra || {}) });
    let started;
    try {
      const response = await post(form.dataset.piecesUrl, JSON.stringify({ filename: file.name, size: file.size }),
        { "Content-Type": "application/json" });
      if (!response.ok) return answered(response.status, await response.text());
      started = await response.json();
    } catch (error) { return failed("Upload failed: network error"); }
    let offset = 0;
    let tries = 0;
    while (offset < file.size) {
      try {
        const response = await post(started.url, file.slice(offset, offset + started.chunk_bytes),
          { "Content-Type": "application/octet-stream", "Upload-Offset": String(offset) });
        const answer = await response.json();
        if (response.ok || response.status === 409) {
          offset = answer.offset !== undefined ? answer.offset : answer.error.offset;
          tries = 0;
          progress.value = Math.round((100 * offset) / file.size);
          statusCell.textContent = "Uploading";
          continue;
        }
        return answered(response.status, JSON.stringify(answer));
      } catch (error) {
        tries += 1;
        if (tries > 20) return failed("Upload failed: network error; choose the file again");
        statusCell.textContent = "Connection lost; trying again";
        await new Promise((done) => setTimeout(done, Math.min(30000, 1000 * 2 ** (tries - 1))));
        try {
          const where = await fetch(started.url, { credentials: "same-origin", cache: "no-store" });
          if (where.ok) offset = (await where.json()).offset;
        } catch (ignored) { /* still offline: the next try says so */ }
      }
    }
    try {
      const response = await post(started.finish_url, fields);
      answered(response.status, await response.text());
    } catch (error) { failed("Upload failed: network error"); }
  }

  function uploadAll(files) {
    for (const file of files) upload(file, files.length === 1);
    input.value = "";
  }

  form.addEventListener("submit", (event) => {
    if (!input.files.length) return; // let the server say the file is missing
    event.preventDefault();
    uploadAll(input.files);
  });
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => { event.preventDefault(); dropzone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    dropzone.addEventListener(name, () => dropzone.classList.remove("over"));
  }
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    uploadAll(event.dataTransfer.files);
  });
})();
