// HTMX configuration shared by every page (see CONVENTIONS: no attribute inheritance).
htmx.config.disableInheritance = true;
document.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector('meta[name="csrf-token"]');
  if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
});
