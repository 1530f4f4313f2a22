// The JavaScript's words in the page's language: the server renders them as JSON in the
// data-msa-strings attribute of <html> (msa/accounts/context_processors.py, JS_STRINGS), so
// that no inline script is needed (CSP). msaText(key, fallback) is the English fallback when
// the key is missing (an old page, a cached script).
(function () {
  "use strict";
  let strings = {};
  try { strings = JSON.parse(document.documentElement.dataset.msaStrings || "{}"); } catch (e) { strings = {}; }
  window.msaText = function (key, fallback) {
    return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : fallback;
  };
})();
