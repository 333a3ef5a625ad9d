// The approval queue from the keyboard (P2): j/k move, Enter opens, a approves,
// r sends back (focus goes to the reason field), e edits. Without this file every
// row still has its own buttons and links.
(function () {
  "use strict";
  const list = document.querySelector("[data-approval-queue]");
  if (!list) return;
  const rows = () => Array.from(list.querySelectorAll("[data-approval]"));
  let current = -1;

  function select(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    all[current].focus();
    all[current].scrollIntoView({ block: "nearest" });
  }

  function row() {
    const all = rows();
    return current >= 0 ? all[current] : null;
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  list.addEventListener("focusin", (event) => {
    const found = event.target.closest("[data-approval]");
    if (found) {
      current = rows().indexOf(found);
      rows().forEach((r, i) => r.classList.toggle("current", i === current));
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape" && row()) row().focus();
      return;
    }
    const here = row();
    switch (event.key) {
      case "j":
        select(current + 1);
        break;
      case "k":
        select(current < 0 ? 0 : current - 1);
        break;
      case "Enter":
        // Links and buttons answer Enter themselves; the row opens the post.
        if (!here || event.target !== here) return;
        window.location.assign(here.dataset.open);
        break;
      case "a":
        if (!here) return;
        here.querySelector("[data-approve]")?.click();
        break;
      case "r":
        if (!here) return;
        here.querySelector("[data-reason]")?.focus();
        break;
      case "e":
        if (!here) return;
        here.querySelector("[data-edit]")?.click();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  if (rows().length) select(0);
})();
