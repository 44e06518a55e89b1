// Sends the login form to POST /admin/login and opens the dashboard on success.
(function () {
  "use strict";
  var form = document.getElementById("login");
  var error = document.getElementById("login-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    fetch("/admin/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
      credentials: "same-origin",
    })
      .then(function (response) {
        if (response.ok) {
          window.location.assign("/ui");
          return;
        }
        return response.json().then(function (body) {
          error.textContent = body.message || "Login failed.";
          error.hidden = false;
        });
      })
      .catch(function () {
        error.textContent = "The service did not answer; try again.";
        error.hidden = false;
      });
  });
})();
