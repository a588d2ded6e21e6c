// The staff area's only script, a progressive enhancement: every page works without it.
// 1. The day schedule refreshes itself: every few seconds the script fetches the schedule's
//    fragment (data-refresh-url) and swaps it in. It pauses while the tab is hidden or while the
//    keyboard focus is inside the schedule (a clerk about to press a button must not lose it), and
//    swaps in only answers marked X-Clerk-Fragment, so an expired session never shows a login form
//    in place of the schedule.
// 2. The print view's button calls the browser's print dialog.
// 3. A form that comes back with errors moves the focus to its error summary.
(function () {
  "use strict";

  function keepFresh(container) {
    var url = container.getAttribute("data-refresh-url");
    var seconds = parseInt(container.getAttribute("data-refresh-seconds"), 10) || 15;
    var stopped = false;

    function later() {
      if (!stopped) { window.setTimeout(tick, seconds * 1000); }
    }

    function tick() {
      if (document.hidden || container.contains(document.activeElement)) { later(); return; }
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok || response.headers.get("X-Clerk-Fragment") !== "1") {
            // Logged out or no access any more: stop; the refresh link still reloads the page.
            if (response.status === 403 || response.redirected) { stopped = true; }
            return null;
          }
          return response.text();
        })
        .then(function (html) {
          if (html !== null && !container.contains(document.activeElement)) { container.innerHTML = html; }
        })
        .catch(function () { /* offline for a moment: keep the last state, try again later */ })
        .then(later);
    }

    later();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-refresh-url]"), keepFresh);
    Array.prototype.forEach.call(document.querySelectorAll("[data-action='print']"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
