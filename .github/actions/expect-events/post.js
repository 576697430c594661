// At the end of the job: every expected line must appear, in order, in the fake's event log,
// read from its service container (which the runner removes only after every post step).
const { execFileSync } = require("child_process");

const container = process.env["INPUT_CONTAINER"] || "";
const expected = (process.env["INPUT_EXPECT"] || "").split("\n").map((s) => s.trim()).filter(Boolean);
let log = "";
try {
  log = execFileSync("docker", ["exec", container, "cat", "/fake/events.log"], { encoding: "utf8" });
} catch (error) {
  console.log(`::error title=Fake Last9 unreadable::docker exec ${container} failed: ${error.message}`);
  process.exit(1);
}
const received = log.split("\n").filter((l) => l.startsWith("received change event:"));
console.log(`The fake received ${received.length} change events:\n${received.join("\n")}`);
let at = 0;
// A line may name several texts joined by " && ": one event must hold them all.
const matches = (line, want) => want.split(" && ").every((part) => line.includes(part));
for (const want of expected) {
  while (at < received.length && !matches(received[at], want)) at++;
  if (at === received.length) {
    console.log(`::error title=Expected event missing::No event matching "${want}" (in order).`);
    process.exit(1);
  }
  at++;
}
console.log(`expect-events: all ${expected.length} expected events arrived, in order.`);
