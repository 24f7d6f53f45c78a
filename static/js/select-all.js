// A checkbox that ticks (or clears) every checkbox of the same form named in data-select-all.
document.addEventListener("change", (event) => {
  const all = event.target.closest("input[data-select-all]");
  if (!all) return;
  all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`).forEach((box) => {
    box.checked = all.checked;
  });
});
