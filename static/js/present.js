// Meeting mode: step through tasks with the keyboard (no inline script, CSP-friendly).
document.addEventListener("keydown", (event) => {
  const root = document.querySelector("[data-present]");
  if (!root || event.altKey || event.ctrlKey || event.metaKey) return;
  const typing = event.target.closest("input, textarea, select");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const go = (url) => { if (url) window.location.assign(url); };
  switch (event.key) {
    case "ArrowRight": case "PageDown": case "n": case "N":
      event.preventDefault(); go(root.dataset.next); break;
    case "ArrowLeft": case "PageUp": case "p": case "P":
      event.preventDefault(); go(root.dataset.previous); break;
    case "s": case "S": {
      const score = root.querySelector("input[name=final_score]");
      if (score) { event.preventDefault(); score.focus(); score.select(); }
      break;
    }
  }
});
