// Draw every chart of the page with the inlined Vega-Embed; mark each one when it is drawn.
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("revgov-specs").textContent);
  Object.keys(specs).forEach(function (id) {
    var el = document.getElementById("chart-" + id);
    window.vegaEmbed(el, specs[id], { actions: false, renderer: "svg" })
      .then(function () { el.setAttribute("data-rendered", "true"); })
      .catch(function (err) {
        el.setAttribute("data-error", String(err));
        console.error("revgov: chart " + id + " could not be drawn: " + err);
      });
  });
})();
