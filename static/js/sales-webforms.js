// Web form admin page: <button data-copy-from="textarea-id"> copies the snippet to the clipboard.
// Without JavaScript (or clipboard access) the read-only textarea can be selected and copied by hand.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("[data-copy-from]") : null;
    if (!button) return;
    const source = document.getElementById(button.dataset.copyFrom);
    if (!source) return;
    source.select();
    const done = function () {
      if (button.dataset.copiedText) button.textContent = button.dataset.copiedText;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () {});
    } else {
      done();
    }
  });
})();
