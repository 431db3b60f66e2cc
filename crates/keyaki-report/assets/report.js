// keyaki HTML report: offline filters over the findings' data- attributes.
(function () {
  "use strict";
  var list = document.getElementById("finding-list");
  if (!list) { return; }
  var findings = Array.prototype.slice.call(list.querySelectorAll("article.finding"));
  var control = document.getElementById("f-control");
  var status = document.getElementById("f-status");
  var severity = document.getElementById("f-severity");
  var search = document.getElementById("f-search");
  var showNa = document.getElementById("f-na");
  var count = document.getElementById("count");
  var empty = document.getElementById("empty");

  function apply() {
    var c = control.value, s = status.value, v = severity.value;
    var words = search.value.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    var na = showNa.checked;
    var shown = 0, hiddenNa = 0;
    findings.forEach(function (el) {
      var d = el.dataset;
      var ok = (!c || d.control === c) && (!s || d.status === s) && (!v || d.severity === v);
      if (ok && words.length) {
        var text = d.text;
        ok = words.every(function (w) { return text.indexOf(w) !== -1; });
      }
      if (ok && d.na === "1" && !na) { ok = false; hiddenNa += 1; }
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + findings.length + " findings shown" +
      (hiddenNa ? " (" + hiddenNa + " not applicable hidden)" : "");
    empty.hidden = shown !== 0;
  }

  [control, status, severity, showNa].forEach(function (el) { el.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });

  // Clicking a score card filters by its control.
  Array.prototype.forEach.call(document.querySelectorAll(".card[data-control]"), function (card) {
    card.addEventListener("click", function () {
      control.value = control.value === card.dataset.control ? "" : card.dataset.control;
      apply();
    });
  });
  apply();
})();
