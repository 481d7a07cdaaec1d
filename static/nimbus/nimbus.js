// HTMX configuration shared by every page (see CONVENTIONS: no attribute inheritance).
htmx.config.disableInheritance = true;
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector('meta[name="csrf-token"]');
  if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
});
// A header checkbox with data-select-all="<name>" ticks every checkbox of that name in its form (tables swapped in by
// htmx included, hence the listener on the document).
document.addEventListener("change", function (event) {
  var toggle = event.target.closest("input[data-select-all]");
  if (!toggle || !toggle.form) { return; }
  toggle.form.querySelectorAll('input[type="checkbox"][name="' + toggle.dataset.selectAll + '"]').forEach(function (box) {
    box.checked = toggle.checked;
  });
});
