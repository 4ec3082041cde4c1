// Keyboard verdicts on the review form: j/k move between findings, a agrees, d disagrees (then
// moves on), n opens the next study to review. Keys typed into the note or any other text field,
// and keys for the image viewer (focus inside the figure), are left alone.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  const rows = Array.from(form.querySelectorAll("table.verdicts tbody tr"));
  if (!rows.length) return;
  let current = 0;

  function select(index) {
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((row, i) => row.classList.toggle("current", i === current));
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function verdict(value) {
    const radio = rows[current].querySelector('input[type="radio"][value="' + value + '"]');
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    select(current + 1);
  }

  rows.forEach((row, i) => row.addEventListener("click", () => select(i)));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("figure")) return;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
        (target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type))) return;
    const key = event.key;
    if (key === "a") verdict("agree");
    else if (key === "d") verdict("disagree");
    else if (key === "j") select(current + 1);
    else if (key === "k") select(current - 1);
    else if (key === "n" && form.dataset.nextUrl) window.location.assign(form.dataset.nextUrl);
    else return;
    event.preventDefault();
  });
  select(0);
})();
