// The visitor's own time zone, once: when a page shows times in a default zone (marked data-zone-auto) and the
// address names none, reload it with ?tz= set to the zone the browser reports. Without this script the page
// already works, in the zone it names.
(function () {
  "use strict";
  var marker = document.querySelector("[data-zone-auto]");
  if (!marker || !window.URL || !window.Intl) { return; }
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone || zone === marker.getAttribute("data-zone")) { return; }
  var url = new URL(window.location.href);
  if (url.searchParams.has("tz")) { return; }  // already chosen, or already tried once
  url.searchParams.set("tz", zone);
  window.location.replace(url.toString());
}());
