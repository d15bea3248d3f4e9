// A Node.js worker that dereferences a missing field.
function parseEvent(raw) {
  const event = JSON.parse(raw);
  return event.payload.customer.id;
}

function main() {
  const events = ['{"payload": {"customer": {"id": 7}}}', '{"payload": {}}'];
  for (const raw of events) {
    console.log("customer", parseEvent(raw));
  }
}

main();
