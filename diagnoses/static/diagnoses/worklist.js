// The worklist: re-reads its JSON every few seconds and redraws the rows (as text, never
// markup), keeping the selected study selected; j/k move the selection, Enter opens it.
(function () {
  "use strict";
  const table = document.getElementById("worklist");
  if (!table) return;
  const body = table.tBodies[0];
  const POLL_MS = 10000;
  let selected = null;

  function rows() { return Array.from(body.querySelectorAll("tr[data-id]")); }

  function select(row) {
    for (const other of rows()) {
      other.classList.remove("selected");
      other.removeAttribute("aria-current");
    }
    if (!row) { selected = null; return; }
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
    row.scrollIntoView({ block: "nearest" });
    selected = row.dataset.id;
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function draw(data) {
    const drawn = data.rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.id = row.id;
      tr.dataset.url = row.url;
      tr.className = "urgency-" + row.urgency;
      const urgency = cell(row.urgency_label + (row.urgent_findings.length ? ": " + row.urgent_findings.join(", ") : ""));
      urgency.className = "urgency";
      const flagged = cell(row.flagged.length ? row.flagged.join(", ") : "none");
      if (row.outside_intended_use) {
        const badge = document.createElement("span");
        badge.className = "badge-warning";
        badge.textContent = row.outside_intended_use;
        flagged.append(" ", badge);
      }
      const open = document.createElement("td");
      const link = document.createElement("a");
      link.href = row.url;
      link.textContent = "Open";
      open.append(link);
      tr.append(urgency, cell(row.patient_id || "—"), cell(row.accession_number || "—"), flagged,
                cell(row.waiting_label), open);
      return tr;
    });
    if (!drawn.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("Nothing waiting: every study read by the model is signed off.");
      td.colSpan = 6;
      tr.append(td);
      drawn.push(tr);
    }
    body.replaceChildren(...drawn);
    select(rows().find((row) => row.dataset.id === selected) || null);
    document.getElementById("worklist-total").textContent = data.labels.total;
    document.getElementById("worklist-urgent").textContent = data.labels.urgent_unread;
    document.getElementById("worklist-overdue").textContent = data.labels.overdue;
    const badge = document.getElementById("urgent-unread");
    if (badge) badge.textContent = data.labels.badge;
  }

  async function refresh() {
    try {
      const response = await fetch(table.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) draw(await response.json());
    } catch (error) { /* offline for a moment: the next poll tries again */ }
    setTimeout(refresh, POLL_MS);
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const all = rows();
    if (!all.length) return;
    const index = all.findIndex((row) => row.dataset.id === selected);
    if (event.key === "j") select(all[Math.min(index + 1, all.length - 1)]);
    else if (event.key === "k") select(all[Math.max(index - 1, 0)]);
    else if (event.key === "Enter" && index >= 0) window.location.assign(all[index].dataset.url);
    else return;
    event.preventDefault();
  });
  setTimeout(refresh, POLL_MS);
})();
