// A held booking's countdown: only updates the text of [data-seconds-left]; the page already says until when.
// Counts from the server's figure rather than the device's clock, which may be wrong.
(function () {
  "use strict";
  document.querySelectorAll("[data-seconds-left]").forEach(function (el) {
    var left = parseInt(el.getAttribute("data-seconds-left"), 10);
    if (isNaN(left)) { return; }
    var ends = Date.now() + left * 1000;
    var timer;

    function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

    function render() {
      var seconds = Math.max(0, Math.round((ends - Date.now()) / 1000));
      if (seconds === 0) {
        el.textContent = el.getAttribute("data-expired-text") || "The hold has run out.";
        window.clearInterval(timer);
        return;
      }
      var minutes = Math.floor(seconds / 60);
      el.textContent = (minutes ? plural(minutes, "minute") + " " : "") + plural(seconds % 60, "second") + " left.";
    }

    timer = window.setInterval(render, 1000);
    render();
  });
}());
