// At the end of the job: every expected line must appear, in order, in the stub's event log.
const fs = require("fs");

const log = process.env["INPUT_LOG"];
const expected = (process.env["INPUT_EXPECT"] || "").split("\n").map((s) => s.trim()).filter(Boolean);
const received = fs.existsSync(log)
  ? fs.readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("received change event:"))
  : [];
console.log(`The stub received ${received.length} change events:\n${received.join("\n")}`);
let at = 0;
for (const want of expected) {
  while (at < received.length && !received[at].includes(want)) at++;
  if (at === received.length) {
    console.log(`::error title=Expected event missing::No event matching "${want}" (in order).`);
    process.exitCode = 1;
    break;
  }
  at++;
}
