// The CRM API documentation page: Swagger UI on the OpenAPI document this
// server publishes, with everything loaded from this server (no CDN).
(function () {
  "use strict";
  var specURL = "/api/openapi.json";

  function show(msg) {
    var root = document.getElementById("swagger-ui");
    root.textContent = "";
    var p = document.createElement("p");
    p.className = "crm-error";
    p.textContent = msg;
    root.appendChild(p);
  }

  // After a successful "Try it out" of the login, authorize the page with the
  // new token, so the next calls are signed in without copying it by hand.
  function responseInterceptor(res) {
    try {
      if (res && res.ok && /\/api\/auth\/login\/?$/.test(new URL(res.url, location.href).pathname)) {
        var body = typeof res.body === "object" && res.body ? res.body : JSON.parse(res.text || "{}");
        if (body.token && window.ui) {
          window.ui.preauthorizeApiKey("Bearer", body.token);
        }
      }
    } catch (e) { /* a response that is not the login's */ }
    return res;
  }

  fetch(specURL, { headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    })
    .then(function (spec) {
      // "Try it out" goes to the server that serves this page first.
      var here = { url: location.origin, description: "This server" };
      spec.servers = [here].concat((spec.servers || []).filter(function (s) { return s.url !== here.url; }));
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        displayRequestDuration: true,
        filter: true,
        tryItOutEnabled: false,
        validatorUrl: null,
        withCredentials: false,
        responseInterceptor: responseInterceptor,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout"
      });
    })
    .catch(function (e) { show("Could not load the API description from " + specURL + ": " + e.message); });
})();
