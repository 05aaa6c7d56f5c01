// Shows the last event the custom elements dispatched, as an operator's
// page would listen for them.
const status = document.getElementById("last-event");
for (const name of ["granted", "denied", "revoked", "renew", "error"]) {
  document.addEventListener(`myna-${name}`, (event) => {
    status.textContent = `myna-${name}: ${JSON.stringify(event.detail).slice(0, 200)}`;
  });
}
