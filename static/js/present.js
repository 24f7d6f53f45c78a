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
  // Keyboard users moving task by task: the next page puts focus on the task's title, so a
  // screen reader reads it and Tab continues from there (a mouse click does not do this).
  const KEYED = "lightboard-present-keyed";
  const leave = (url, byKey = false) => {
    if (!url) return;
    if (dirty && !window.confirm(question)) return;
    dirty = false;  // answered: do not ask again on unload
    if (byKey) {
      try { window.sessionStorage.setItem(KEYED, "1"); } catch (error) { /* storage refused */ }
    }
    window.location.assign(url);
  };
  // The keys work only with this script, so it is the script that announces them.
  const keys = {"a[rel=prev]": "ArrowLeft P", "a[rel=next]": "ArrowRight N", "a[data-board]": "Escape"};
  Object.entries(keys).forEach(([selector, shortcut]) => {
    const link = root.querySelector(selector);
    if (link) link.setAttribute("aria-keyshortcuts", shortcut);
  });
  const title = root.querySelector(".present-title");
  if (title) title.setAttribute("tabindex", "-1");
  try {
    if (title && window.sessionStorage.getItem(KEYED)) title.focus();
    window.sessionStorage.removeItem(KEYED);
  } catch (error) { /* storage refused: focus stays where the browser puts it */ }
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
        event.preventDefault(); leave(root.dataset.next, true); break;
      case "ArrowLeft": case "PageUp": case "p": case "P":
        event.preventDefault(); leave(root.dataset.previous, true); break;
      case "Escape": {
        const board = root.querySelector("a[data-board]");
        if (board) { event.preventDefault(); leave(board.href); }
        break;
      }
      case "s": case "S": {
        const score = root.querySelector("input[name=final_score]");
        if (score) { event.preventDefault(); score.focus(); score.select(); }
        break;
      }
    }
  });
})();
