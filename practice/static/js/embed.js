// The booking flow on a practice's own website. Paste where it should appear:
//   <script src="https://YOUR-PRACTICE/embed.js" data-counselor="maya-okafor" async></script>
// data-counselor (optional): one counselor's times; without it, all of the practice's counselors.
// data-service (optional): that counselor's service, e.g. couple-trial. data-title (optional): the frame's title.
// The site must be listed in the practice's EMBED_ALLOWED_ORIGINS, or browsers refuse to show the frame.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var origin = new URL(script.src, window.location.href).origin;
  var params = new URLSearchParams();
  ["counselor", "service"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) { params.set(name, value); }
  });
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) { params.set("tz", zone); }
  } catch (e) { /* the flow names its default zone and lets the visitor change it */ }

  var frame = document.createElement("iframe");
  var query = params.toString();
  frame.src = origin + "/embed/book" + (query ? "?" + query : "");
  frame.title = script.getAttribute("data-title") || "Book a session";
  frame.setAttribute("loading", "lazy");
  frame.style.display = "block";
  frame.style.width = "100%";
  frame.style.maxWidth = "48rem";
  frame.style.height = "640px";
  frame.style.border = "0";
  script.parentNode.insertBefore(frame, script.nextSibling);

  var pages = 0;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow || !event.data) { return; }
    if (event.data.type === "practice-booking:height") {
      var height = Math.max(320, Math.min(Number(event.data.height) || 0, 20000));
      frame.style.height = height + "px";
    } else if (event.data.type === "practice-booking:page") {
      pages += 1;
      // A new step of the flow: bring the top of the frame into view, as a page change would.
      if (pages > 1 && frame.getBoundingClientRect().top < 0) { frame.scrollIntoView(); }
    }
  });
}());
