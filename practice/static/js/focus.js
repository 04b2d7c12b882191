// After a form comes back with problems (or a page opens with a message), move focus to the summary so keyboard
// and screen reader users start there.
(function () {
  "use strict";
  var target = document.querySelector("[data-focus-on-load]");
  if (target) {
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }
}());
