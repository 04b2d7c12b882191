// The card form of payments/pay.html: Stripe.js takes the card (it never reaches the practice's server) and
// confirms the PaymentIntent; the practice confirms the booking when Stripe tells it so (its webhook), which this
// page waits for by reading the booking's status, then shows the booking.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.getAttribute("data-publishable-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var message = document.getElementById("payment-message");
  var progress = document.getElementById("payment-progress");
  var button = document.getElementById("pay-button");

  function waitForConfirmation(tries) {
    fetch(form.getAttribute("data-status-url"), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (booking) {
        if (booking.status === "confirmed" || tries <= 0) {
          window.location.assign(form.getAttribute("data-done-url"));
        } else {
          window.setTimeout(function () { waitForConfirmation(tries - 1); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { waitForConfirmation(tries - 1); }, 1000); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "";
    progress.textContent = "Paying…";
    stripe.confirmCardPayment(form.getAttribute("data-client-secret"), {payment_method: {card: card}})
      .then(function (result) {
        if (result.error) {
          progress.textContent = "";
          message.textContent = (result.error.message || "The payment didn't go through.") +
            " No money was taken. Please check the details or try another card.";
          button.disabled = false;
          return;
        }
        progress.textContent = "Payment received. Confirming your booking…";
        waitForConfirmation(30);
      })
      .catch(function () {
        progress.textContent = "";
        message.textContent = "We couldn't reach the payment service. Please check your connection and try again.";
        button.disabled = false;
      });
  });
}());
