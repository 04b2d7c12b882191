// Inside the embed's frame: tell the page around it how tall this page is, so the frame fits without a scrollbar.
// The message holds a height and nothing else, so it can go to whichever site the practice embedded us in.
(function () {
  "use strict";
  if (window.parent === window) { return; }
  var last = 0;

  function send() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height === last) { return; }
    last = height;
    window.parent.postMessage({ type: "practice-booking:height", height: height }, "*");
  }

  if (window.ResizeObserver) { new ResizeObserver(send).observe(document.body); }
  window.addEventListener("load", send);
  send();
  window.parent.postMessage({ type: "practice-booking:page" }, "*");
}());
