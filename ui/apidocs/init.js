// The API page: Swagger UI over the server's own OpenAPI document, from files built into the
// server (nothing fetched from elsewhere). "Authorize" takes a bearer token from a sign-in.
window.addEventListener("load", () => {
  window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null,
  });
});
