// The review queue's keyboard (M4): j / k move, x selects, r releases, h keeps hidden.
// r and h act on the selected comments when some are selected, else on the current one.
// Plain progressive enhancement: every button works without this file.
(function () {
  const form = document.querySelector("[data-review-queue]");
  if (!form) return;
  const rows = () => Array.from(form.querySelectorAll("tr[data-hold]"));
  let current = 0;

  function show(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    all[current].focus({ preventScroll: true });
    all[current].scrollIntoView({ block: "nearest" });
  }

  function decide(decision) {
    const selected = form.querySelectorAll("input[name=hold]:checked");
    const button = selected.length
      ? form.querySelector(`[data-bulk="${decision}"]`)
      : rows()[current] && rows()[current].querySelector(`[data-action="${decision}"]`);
    if (button) form.requestSubmit(button);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("input[type=text], textarea, select")) return;
    const key = event.key;
    if (key === "j") show(current + 1);
    else if (key === "k") show(current - 1);
    else if (key === "x") {
      const box = rows()[current] && rows()[current].querySelector("input[name=hold]");
      if (box) box.checked = !box.checked;
    } else if (key === "r") decide("release");
    else if (key === "h") decide("keep_hidden");
    else return;
    event.preventDefault();
  });
  form.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-hold]");
    if (row) current = rows().indexOf(row);
  });
  show(0);
})();
