// Small progressive enhancement only: every page works without it.
// When a form comes back with errors, move the focus to the error summary so that keyboard and
// screen-reader users learn about the problem at once (the summary links to each field).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
