// Keyboard verdicts on the review form: j/k move between findings, a agrees, d disagrees (then
// moves on), n opens the next study to review. Keys typed into the note or any other text field,
// and keys for the image viewer (focus inside the figure), are left alone. The form is looked up
// at each key: the result page adds it once the study is done.
(function () {
  "use strict";
  let current = -1;

  function rows(form) {
    return Array.from(form.querySelectorAll("table.verdicts tbody tr"));
  }

  function select(all, index) {
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    all[current].scrollIntoView({ block: "nearest" });
  }

  function verdict(all, value) {
    if (current < 0) select(all, 0);
    const radio = all[current].querySelector('input[type="radio"][value="' + value + '"]');
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    select(all, current + 1);
  }

  document.addEventListener("click", (event) => {
    const row = event.target.closest && event.target.closest("#review-form table.verdicts tbody tr");
    if (row) select(rows(document.getElementById("review-form")), rows(document.getElementById("review-form")).indexOf(row));
  });
  document.addEventListener("keydown", (event) => {
    const form = document.getElementById("review-form");
    if (!form || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("figure")) return;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
        (target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type))) return;
    const all = rows(form);
    if (!all.length) return;
    const key = event.key;
    if (key === "a") verdict(all, "agree");
    else if (key === "d") verdict(all, "disagree");
    else if (key === "j") select(all, current + 1);
    else if (key === "k") select(all, current - 1);
    else if (key === "n" && form.dataset.nextUrl) window.location.assign(form.dataset.nextUrl);
    else return;
    event.preventDefault();
  });
})();
