// The intake's follow-up question, sooner: shown (and its crisis resources with it) the moment one of the
// questions it depends on is answered yes, hidden and left out of the form again when none is. Without this
// script the server shows both once the answer is saved, so the page works the same without JavaScript.
(function () {
  "use strict";
  var crisis = document.querySelector("[data-crisis]");
  document.querySelectorAll("[data-show-if]").forEach(function (block) {
    var form = block.closest("form");
    var names = block.getAttribute("data-show-if").split(" ");
    var shownByServer = !block.hidden;
    function anyYes() {
      return names.some(function (name) {
        var checked = form.querySelector('input[name="' + name + '"]:checked');
        return checked !== null && checked.value === "true";
      });
    }
    function update() {
      var show = shownByServer || anyYes();
      block.hidden = !show;
      block.querySelectorAll("input, textarea, select").forEach(function (input) { input.disabled = !show; });
      if (show && crisis && crisis.hidden) {
        crisis.hidden = false;
        crisis.setAttribute("role", "alert");
      }
    }
    form.addEventListener("change", update);
    update();
  });
}());
