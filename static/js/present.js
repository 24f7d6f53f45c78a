// Meeting mode: step through tasks with the keyboard (no inline script, CSP-friendly), and
// never lose a typed change without asking: leaving a task with unsaved edits asks first.
(() => {
  const root = document.querySelector("[data-present]");
  if (!root) return;
  const form = document.getElementById("rating-form");
  // A form the server sent back (refused) holds what was typed and not saved.
  let dirty = Boolean(form && form.hasAttribute("data-unsaved-changes"));
  let saving = false;
  if (form) {
    form.addEventListener("input", () => { dirty = true; });
    form.addEventListener("submit", () => { saving = true; });
  }
  const question = root.dataset.unsaved || "";
  // Closing the tab or following any link with unsaved edits: the browser asks.
  window.addEventListener("beforeunload", (event) => {
    if (dirty && !saving) { event.preventDefault(); event.returnValue = question; }
  });
  const leave = (url) => {
    if (!url) return;
    if (dirty && !window.confirm(question)) return;
    dirty = false;  // answered: do not ask again on unload
    window.location.assign(url);
  };
  root.querySelectorAll("a[rel=prev], a[rel=next]").forEach((link) => {
    link.addEventListener("click", (event) => { event.preventDefault(); leave(link.href); });
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const typing = event.target.closest("input, textarea, select");
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "ArrowRight": case "PageDown": case "n": case "N":
        event.preventDefault(); leave(root.dataset.next); break;
      case "ArrowLeft": case "PageUp": case "p": case "P":
        event.preventDefault(); leave(root.dataset.previous); break;
      case "s": case "S": {
        const score = root.querySelector("input[name=final_score]");
        if (score) { event.preventDefault(); score.focus(); score.select(); }
        break;
      }
    }
  });
})();
