// Draw every chart of the page with the inlined Vega-Embed; mark each one when it is drawn.
(function () {
  "use strict";
  var specs = JSON.parse(document.getElementById("revgov-specs").textContent);
  function logger(id) {
    // Vega's messages name the chart they came from.
    var level = 2;
    function say(fn, min) {
      return function () {
        if (level >= min) {
          fn("revgov chart " + id + ": " + Array.prototype.join.call(arguments, " "));
        }
        return this;
      };
    }
    return {
      level: function (l) { if (arguments.length) { level = l; return this; } return level; },
      error: say(console.error.bind(console), 1),
      warn: say(console.warn.bind(console), 2),
      info: say(console.info.bind(console), 3),
      debug: say(console.debug.bind(console), 4)
    };
  }
  Object.keys(specs).forEach(function (id) {
    var el = document.getElementById("chart-" + id);
    window.vegaEmbed(el, specs[id], { actions: false, renderer: "svg", logger: logger(id) })
      .then(function () { el.setAttribute("data-rendered", "true"); })
      .catch(function (err) {
        el.setAttribute("data-error", String(err));
        console.error("revgov chart " + id + " could not be drawn: " + err);
      });
  });
})();
