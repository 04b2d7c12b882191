// Weekly hours: an "Add another range" button under each day, which copies the day's last row empty.
// Only a convenience: without this script every day already shows an empty row, and each save adds another.
(function () {
  "use strict";

  function renumber(row, index) {
    // Field names and ids carry the row's index (hours-monday-2-start); the copy takes the next one.
    row.querySelectorAll("[name], [id], [for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/-\d+-(start|end)/, "-" + index + "-$1")); }
      });
    });
    row.querySelectorAll("[data-range-number]").forEach(function (el) { el.textContent = String(index + 1); });
  }

  function clean(row) {
    row.classList.remove("has-error");
    row.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    row.querySelectorAll("input").forEach(function (input) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
  }

  document.querySelectorAll("[data-ranges]").forEach(function (list) {
    var max = parseInt(list.getAttribute("data-max"), 10) || 6;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary add-range";
    button.textContent = "Add another range";
    var where = document.createElement("span");
    where.className = "visually-hidden";
    where.textContent = " on " + list.getAttribute("data-day-label");
    button.appendChild(where);

    function update() { button.hidden = list.querySelectorAll("[data-range-row]").length >= max; }

    button.addEventListener("click", function () {
      var rows = list.querySelectorAll("[data-range-row]");
      if (rows.length >= max) { return; }
      var copy = rows[rows.length - 1].cloneNode(true);
      clean(copy);
      renumber(copy, rows.length);
      list.appendChild(copy);
      update();
      copy.querySelector("input").focus();
    });
    list.parentNode.appendChild(button);
    update();
  });
}());
