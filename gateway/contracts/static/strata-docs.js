// Starts Swagger UI on the page's #swagger-ui element. Kept out of the HTML so the docs
// pages need no inline script (a strict Content-Security-Policy stays possible).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  if (!root) { return; }
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
